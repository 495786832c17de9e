// The revocation job (`endIfDue`): a due grant is ended together with every other grant due by now
// (expiry.ts): one claim transaction, one batched removal per group, then each account, then the
// final states.
import { revocationLeadMs } from '../../domain/elevation.ts';
import type { Core } from './core.ts';
import { endClaimed } from './end-claimed.ts';
import { earlyToleranceMs, joinExpiry } from './expiry.ts';

/** What a revocation job did: ended it, found nothing to do, or must run again in this long. */
export type DueOutcome = 'revoked' | 'nothing' | { rescheduleInMs: number };

/**
 * A grant not due yet (extended, or the clock moved) answers when its job should run again; one
 * another worker is already ending is left to it (the reconciler resumes it should that worker die).
 */
export async function endIfDue(c: Core, id: string, retry = false): Promise<DueOutcome> {
  const e = await c.store.elevations.findById(id);
  if (!e || !e.endsAt) return 'nothing';
  if (e.state === 'revoking') return retry ? finishLeftBehind(c, e.tenantId) : 'nothing';
  if (e.state !== 'active') return 'nothing';
  /** Ready again `revocationLeadMs` before `end`, as when first scheduled. */
  const later = (end: Date) => ({ rescheduleInMs: Math.max(0, end.getTime() - revocationLeadMs - c.clock.now().getTime()) });
  // The job is made ready a little before the end (revocationLeadMs, jobs.ts), so that BullMQ's
  // promotion of thousands of delayed jobs is not on the critical path; it waits here for the
  // end itself: a grant is never ended before its end. Timers may wake a millisecond early.
  let early = e.endsAt.getTime() - c.clock.now().getTime();
  if (early > revocationLeadMs + earlyToleranceMs) return later(e.endsAt);
  for (let waits = 0; early > 0 && waits < 5; waits++) {
    await c.clock.sleep(early);
    early = e.endsAt.getTime() - c.clock.now().getTime();
  }
  if (early > 0) return later(e.endsAt); // a clock that stands still (tests): try again then
  // Hundreds of jobs fall due together: the first starts a batch, those due while it is claiming
  // join it, the next after its claim starts another (its directory work overlaps the one
  // before; the removal batcher merges their modifies per group). A batch joined may have listed
  // its grants just before this one's end: then the next batch takes it. A job whose grant its
  // batch claimed finishes once the memberships are confirmed gone — the batch writes the
  // accounts and the final states after (a failure there leaves the grant `revoking`, finished
  // by the reconciler), so that jobs do not hold the worker's slots while accounts are written.
  // A few rounds at most; the reconciler covers anything left.
  for (let round = 0; round < 5; round++) {
    const batch = joinExpiry(c);
    // Claimed by this batch, or by another of this process still removing it: wait for that.
    const gone = (await batch.claimed).get(id) ?? c.co.membershipsGone.get(id)?.gone;
    if (gone) {
      await gone;
      return 'revoked';
    }
    const after = await c.store.elevations.findById(id);
    if (!after || after.state !== 'active' || !after.endsAt) return 'revoked';
    if (after.endsAt > c.clock.now()) return later(after.endsAt); // extended meanwhile
  }
  return 'revoked';
}

/**
 * First run of a job whose grant is `revoking`: another worker's batch claimed it and is ending it.
 * A retry means this job's own batch failed part-way: every expiring grant of the tenant left
 * behind is finished — once what this process's batches still have in hand is done.
 */
async function finishLeftBehind(c: Core, tenantId: string): Promise<'revoked'> {
  await Promise.allSettled([...c.co.underWay]);
  const left = await c.store.elevations.list({ states: ['revoking'], tenantIds: [tenantId], limit: 5000 });
  await endClaimed(
    c,
    left.filter((o) => o.revocationReason === 'expired'),
  );
  return 'revoked';
}
