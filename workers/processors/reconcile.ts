// The reconcile queue: a repeatable job that runs the reconciler (docs/architecture.md, The reconciler): grants first (so what
// just expired is taken out by its own revocation), then drift in every managed group, then access
// reviews whose job Redis lost.
import type { Services } from '../../src/container.ts';

export function reconcileProcessor(services: Services) {
  return async () => {
    const grants = await services.elevations.reconcile();
    const drift = await services.drift.scan();
    const reviewsResumed = await services.reviews.resumeWaiting();
    return { ...grants, drift, reviewsResumed };
  };
}
