// The expiry engine (`expire`): every active grant whose end has passed, claimed in chunks and
// ended together (end-claimed.ts), in batches that the revocation jobs due meanwhile join (due.ts).
import { revocationLeadMs, type Elevation } from '../../domain/elevation.ts';
import { systemContext } from '../context.ts';
import { membershipsSettled, type Core, type ExpiryBatch } from './core.ts';
import { endClaimed } from './end-claimed.ts';
import { moveMany } from './shared.ts';

/** A job ready more than revocationLeadMs + this before its grant's end waits again (the end or the clock moved). */
export const earlyToleranceMs = 1000;
/** Grants claimed per transaction when many end together: small first, so the directory starts early. */
const firstClaimChunk = 250;
const claimChunk = 1000;
/** How long a batch of expiries started by a job gathers the jobs due just after it, before it lists and claims. */
const expiryLingerMs = 40;

/**
 * Moves `due` grants from `active` to `revoking` because they expired, each with its audit event,
 * in one transaction: all of them or none. A grant whose end has moved past `endsBy` since it was
 * listed (extended meanwhile) is left alone.
 */
function claimExpired(c: Core, due: Elevation[], endsBy: Date): Promise<Elevation[]> {
  return moveMany(c, due, {
    from: ['active'],
    to: 'revoking',
    changes: { revocationReason: 'expired' },
    action: 'elevation.revoking',
    details: { reason: 'expired' },
    endsBy,
    actor: 'system',
    ctx: systemContext,
  });
}

/**
 * Claims every active grant whose end has passed (never one before its end) and ends them
 * together; answers how many it ended. Many at once are claimed in chunks, small first, and each
 * chunk's removals start as soon as its claim is committed, so the directory works on the first
 * memberships while the next chunk is being claimed (the batcher merges what arrives meanwhile).
 */
export function expire(c: Core, now: Date, limit = 50_000): Promise<number> {
  return startExpiry(c, now, limit).done;
}

/** Starts a batch of expiries that jobs due meanwhile join (see endIfDue), unless one is claiming. */
export function joinExpiry(c: Core): ExpiryBatch {
  const { co } = c;
  if (co.claiming) return co.claiming;
  const batch = startExpiry(c, 'after-linger');
  co.claiming = batch;
  const over = () => {
    if (co.claiming === batch) co.claiming = null;
  };
  batch.claimed.then(over, over);
  return batch;
}

/** Settles once every batch of expiries this process started is over (the worker waits for it on shutdown). */
export async function idle(c: Core): Promise<void> {
  const { co } = c;
  while (co.underWay.size) await Promise.allSettled([...co.underWay]);
  co.nextBatch?.timer.clear();
  co.nextBatch = null;
}

/**
 * After a batch started by a job, the next one starts at the next end among the grants whose jobs
 * are ready now: with thousands of ends a second, the worker takes jobs from Redis more slowly
 * than they fall due, and a grant's end must not wait for its own job to be taken. The jobs stay
 * the guarantee (a job whose grant is already ended has nothing to do); this only brings it forward.
 */
async function followUp(c: Core, now: Date): Promise<void> {
  const { co } = c;
  const soon = await c.store.elevations.list({
    states: ['active'],
    endsBefore: new Date(now.getTime() + revocationLeadMs + earlyToleranceMs),
    limit: 5000,
  });
  if (soon.length === 0) return;
  const at = Math.min(...soon.map((e) => e.endsAt!.getTime()));
  if (co.nextBatch && co.nextBatch.at <= at) return;
  co.nextBatch?.timer.clear();
  const run = () => {
    co.nextBatch = null;
    joinExpiry(c);
  };
  co.nextBatch = { at, timer: c.timers.timeout(Math.max(0, at - c.clock.now().getTime()), run, { background: true }) };
}

/** What a batch hands the jobs that joined it: a promise per grant claimed, settled once its memberships are gone. */
function deferredClaims() {
  let settle!: { resolve(grants: Map<string, Promise<void>>): void; reject(error: unknown): void };
  const claimed = new Promise<Map<string, Promise<void>>>((resolve, reject) => (settle = { resolve, reject }));
  claimed.catch(() => undefined); // heard by the jobs that joined, if any
  return { claimed, ...settle };
}

/**
 * expire in two parts (at 'after-linger': what is due once the jobs due just after have
 * joined, see endIfDue): `claimed` settles once the claims are committed, with a promise per
 * grant claimed that settles once its memberships are confirmed gone; `done` once every grant
 * claimed is final (accounts written, state and audit stored), answering how many ended.
 */
function startExpiry(c: Core, at: Date | 'after-linger', limit = 50_000): ExpiryBatch {
  const { co } = c;
  const claims = deferredClaims();
  const mine = new Map<string, Promise<void>>();
  const done = runExpiry(c, at, limit, mine, claims.resolve);
  co.underWay.add(done);
  const settled = (error: unknown) => {
    co.underWay.delete(done);
    if (error)
      c.log.warn(
        { err: (error as Error).message },
        'a batch of expiries did not finish; its jobs retry or the reconciler resumes what is left',
      );
    claims.reject(error);
    // A grant whose memberships were never settled (its tenant could not be opened) is not gone.
    for (const id of mine.keys()) {
      co.membershipsGone.get(id)?.reject(error ?? new Error('the expiry ended before its memberships were confirmed gone'));
      co.membershipsGone.delete(id);
    }
    membershipsSettled(co);
  };
  done.then(() => settled(null), settled);
  return { claimed: claims.claimed, done };
}

/** Registers a grant just claimed by this process: its job may wait for its memberships to be gone. */
function awaitMemberships(c: Core, id: string): Promise<void> {
  let settle!: { resolve(): void; reject(error: unknown): void };
  const gone = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  gone.catch(() => undefined); // heard by the job that waits for it, if any
  c.co.membershipsGone.set(id, { gone, ...settle });
  return gone;
}

async function runExpiry(
  c: Core,
  at: Date | 'after-linger',
  limit: number,
  mine: Map<string, Promise<void>>,
  claimedNow: (grants: Map<string, Promise<void>>) => void,
): Promise<number> {
  if (at === 'after-linger') await c.clock.sleep(expiryLingerMs);
  const now = at === 'after-linger' ? c.clock.now() : at;
  const due = await c.store.elevations.list({ states: ['active'], endsBefore: now, limit });
  const runs: Promise<number>[] = [];
  let claimError: unknown = null;
  try {
    for (let i = 0, size = firstClaimChunk; i < due.length; i += size, size = Math.min(size * 2, claimChunk)) {
      const chunk = await claimExpired(c, due.slice(i, i + size), now);
      for (const e of chunk) mine.set(e.id, awaitMemberships(c, e.id));
      runs.push(endClaimed(c, chunk));
    }
  } catch (error) {
    // What was claimed is still ended below; the rest stays `active` for its own job or the reconciler.
    claimError = error;
  }
  claimedNow(mine);
  if (at === 'after-linger' && mine.size > 0) {
    await followUp(c, now).catch((error: unknown) =>
      c.log.warn({ err: (error as Error).message }, 'could not look for the next grants to end; their jobs end them'),
    );
  }
  const results = await Promise.allSettled(runs);
  const failed = results.find((r) => r.status === 'rejected');
  if (claimError ?? failed) throw claimError ?? failed!.reason;
  return results.reduce((sum, r) => sum + (r.status === 'fulfilled' ? r.value : 0), 0);
}
