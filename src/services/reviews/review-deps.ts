// What the review use cases are given (review-service.ts builds it), and the look-up they share.
import type { ElevationState } from '../../domain/elevation-state.ts';
import { DomainError } from '../../domain/errors.ts';
import type { MfaService } from '../access/index.ts';
import type { TableEncoder } from '../ports/audit.ts';
import type { Notifications } from '../ports/notifications.ts';
import type { Review, ReviewJobs } from '../ports/reviews.ts';
import type { Clock, EventLog, RandomSource } from '../ports/runtime.ts';
import type { Store } from '../ports/store.ts';
import type { recordAccountMove, TenantAccess } from '../tenants/index.ts';

/** What a review reads and writes, plus whatever the tenants context's account move asks for. */
export type ReviewStore = Pick<Store, 'reviews' | 'tenants' | 'profiles' | 'accounts' | 'elevations' | 'technicians' | 'transaction'> &
  Parameters<typeof recordAccountMove>[0];

export interface ReviewDeps {
  store: ReviewStore;
  clock: Clock;
  random: RandomSource;
  access: TenantAccess;
  mfa: Pick<MfaService, 'verifyFreshCode'>;
  jobs: ReviewJobs;
  notifications: Notifications;
  encoder(format: 'csv'): TableEncoder;
  log: EventLog;
}

/** A grant in these states keeps (or is getting, or is giving up) its memberships. */
export const liveStates: ElevationState[] = ['activating', 'active', 'revoking'];

export async function mustFind(deps: Pick<ReviewDeps, 'store'>, id: string): Promise<Review> {
  const review = await deps.store.reviews.findById(id);
  if (!review) throw new DomainError('not_found', 'No such review');
  return review;
}
