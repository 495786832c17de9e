// The leases queue: a repeatable job every few seconds (queue.leaseCheckIntervalSeconds) that undoes
// activations whose lease has lapsed, so one whose process died holds access for seconds rather
// than until the next full reconcile. Idempotent: an activation is taken over once.
import type { ElevationUpkeep } from '../../src/services/elevations/index.ts';

export function leaseProcessor(elevations: ElevationUpkeep) {
  return async () => ({ undone: await elevations.undoLapsedActivations() });
}
