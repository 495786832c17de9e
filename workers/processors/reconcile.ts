// The reconcile queue: a repeatable job that runs the reconciler (SPEC §7).
import type { Services } from '../../src/container.ts';

export function reconcileProcessor(services: Services) {
  return async () => services.elevations.reconcile();
}
