// The leases queue: a repeatable job every few seconds (queue.leaseCheckIntervalSeconds) that undoes
// activations whose lease has lapsed, so one whose process died holds access for seconds rather
// than until the next full reconcile. Idempotent: an activation is taken over once.
import type { Services } from '../../src/container.ts';

export function leaseProcessor(services: Services) {
  return async () => ({ undone: await services.elevations.undoLapsedActivations() });
}
