// The reconcile queue: a repeatable job that runs the reconciler (docs/architecture.md, The reconciler): grants first (so what
// just expired is taken out by its own revocation), then drift in every managed group, then access
// reviews whose job Redis lost.
import type { Services } from '../../src/container.ts';
import type { ElevationUpkeep } from '../../src/services/elevations/index.ts';

export function reconcileProcessor(services: Services, elevations: ElevationUpkeep) {
  return async () => {
    const grants = await elevations.reconcile();
    const drift = await services.drift.scan();
    const reviewsResumed = await services.reviews.resumeWaiting();
    return { ...grants, drift, reviewsResumed };
  };
}
