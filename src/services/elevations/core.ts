// What every elevation use case is given: the ports, the settings, and the coordination state this
// process shares between its batches of expiries (created once by the factory, in index.ts).
import type { RiskSettings } from '../../domain/risk.ts';
import type { Elevation } from '../../domain/elevation.ts';
import type { MfaService } from '../access/index.ts';
import type { TenantAccess } from '../tenants/index.ts';
import type { MemberRemoval } from '../ports/directory.ts';
import type { RevocationJobs } from '../ports/elevations.ts';
import type { Timer, Timers } from '../ports/runtime.ts';
import type { Notifications } from '../ports/notifications.ts';
import type { Clock, EventLog, RandomSource } from '../ports/runtime.ts';
import type { Store } from '../ports/store.ts';
import { limiter, type Limiter } from './concurrency.ts';

export interface ElevationSettings {
  accountExpirySkewMs: number;
  overdueAfterMs: number;
  stuckAfterMs: number;
  /** The lease of an activation in flight (renewed every third of it while the activation works). */
  activationLeaseMs: number;
  /** Risk scoring's parameters (default: riskDefaults). */
  risk?: RiskSettings;
}

/** The ports and settings of the elevations context. */
export interface ElevationDeps {
  /** The repositories elevations read outside a transaction (inside one, `transaction` hands them all). */
  store: Pick<Store, 'elevations' | 'profiles' | 'technicians' | 'accounts' | 'tenants' | 'audit' | 'transaction'>;
  clock: Clock;
  timers: Timers;
  random: RandomSource;
  access: TenantAccess;
  mfa: MfaService;
  jobs: RevocationJobs;
  removal: MemberRemoval;
  notifications: Notifications;
  log: EventLog;
  settings: ElevationSettings;
}

/** One batch of expiries: see startExpiry (expiry.ts). */
export interface ExpiryBatch {
  claimed: Promise<Map<string, Promise<void>>>;
  done: Promise<number>;
}

/**
 * Account writes at the end of grants in flight at once, across every batch of this process: the
 * directory applies writes one at a time, so more would not end accounts faster, only make the
 * membership removals of the batches after them wait behind the queue.
 */
export const accountConcurrency = 4;

/** Process-local coordination between the batches of expiries, the revocation jobs and the reconciler. */
export interface Coordination {
  /**
   * The batch of expiries this process is still claiming, if any: a job whose grant's end has come
   * joins it; once its claim is committed, the next job starts a batch of its own at once rather
   * than wait behind the directory work of this one (ends spread over seconds would otherwise queue
   * behind every account write of the batch before).
   */
  claiming: ExpiryBatch | null;
  /** Every batch of expiries this process has under way (a job's retry waits for them first). */
  underWay: Set<Promise<number>>;
  /** Grants claimed by a batch of this process, settled once their memberships are confirmed gone (or are not). */
  membershipsGone: Map<string, { gone: Promise<void>; resolve(): void; reject(error: unknown): void }>;
  /** At most accountConcurrency account writes at once, across every batch. */
  accountWrites: Limiter;
  /** Account writes waiting for the membership removals of this process to settle (see afterRemovals). */
  quietWaiters: Set<() => void>;
  /** The next batch of expiries this process will start by itself (see followUp), if any. */
  nextBatch: { at: number; timer: Timer } | null;
  /**
   * Grants this process is ending now, and how far: the reconciler leaves them to it rather than
   * start the same work twice, and does not call one overdue whose memberships are confirmed gone
   * while its account waits its turn (a directory writes accounts one modify at a time, so the
   * last of thousands can take minutes). Another process may still resume them: it is harmless.
   */
  ending: Map<string, 'memberships' | 'accounts'>;
}

export function createCoordination(): Coordination {
  return {
    claiming: null,
    underWay: new Set(),
    membershipsGone: new Map(),
    accountWrites: limiter(accountConcurrency),
    quietWaiters: new Set(),
    nextBatch: null,
    ending: new Map(),
  };
}

/** What a use case function receives first: the deps and the coordination state. */
export interface Core extends ElevationDeps {
  co: Coordination;
}

/** A grant's copy as claimed: `revoking` for `reason`, updated at `at`. */
export type Claimed = Elevation & { state: 'revoking' };

/** How long an account write at the end of a grant gives way to membership removals still under way, at most. */
const accountYieldMs = 2000;

/** Called whenever grants leave membershipsGone: account writes waiting for quiet may go. */
export function membershipsSettled(co: Coordination): void {
  if (co.membershipsGone.size > 0) return;
  for (const go of [...co.quietWaiters]) go();
}

/**
 * Memberships first: the directory applies writes one at a time, so an account write queued
 * ahead of a batched removal delays every membership in it. Account writes wait while removals
 * are under way in this process (at most accountYieldMs, so a steady stream cannot starve them).
 */
export async function afterRemovals(c: Core): Promise<void> {
  const { co } = c;
  if (co.membershipsGone.size === 0) return;
  await new Promise<void>((resolve) => {
    const go = () => {
      timer.clear();
      co.quietWaiters.delete(go);
      resolve();
    };
    const timer = c.timers.timeout(accountYieldMs, go);
    co.quietWaiters.add(go);
  });
}
