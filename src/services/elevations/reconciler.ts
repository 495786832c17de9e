// The reconciler (docs/architecture.md, The reconciler): the safety net that runs every 30 s. It
// lapses overdue approvals, ends what suspended technicians and frozen tenants still hold, and
// decides per open grant (domain/elevation-plans.ts, reconcileDecision) what a crash, a lost job or
// an unreachable directory left behind.
import type { Elevation } from '../../domain/elevation.ts';
import { reconcileDecision } from '../../domain/elevation-plans.ts';
import { systemContext } from '../context.ts';
import { endOverdueApprovals } from './approvals.ts';
import type { Core } from './core.ts';
import { endClaimed } from './end-claimed.ts';
import { expire } from './expiry.ts';
import { cancelPending, endMany, endTenant } from './kill-switches.ts';
import { end } from './revocation.ts';
import { notify, syncAccountDns } from './shared.ts';
import { undoIfLapsed } from './undo.ts';

/** How far ahead of their end the reconciler refreshes grants' account DNs (several of its runs). */
const accountDnLookaheadMs = 120_000;

const system = { actor: 'system', ctx: systemContext };

/** What one run of the reconciler did. */
export interface ReconcileCounts {
  expired: number;
  resumed: number;
  undone: number;
  rescheduled: number;
  overdue: number;
  lapsed: number;
  suspended: number;
  frozen: number;
  errors: number;
}

export async function reconcile(c: Core): Promise<ReconcileCounts> {
  const now = c.clock.now();
  const counts: ReconcileCounts = {
    expired: 0,
    resumed: 0,
    undone: 0,
    rescheduled: 0,
    overdue: 0,
    lapsed: 0,
    suspended: 0,
    frozen: 0,
    errors: 0,
  };
  // Requests nobody decided on in time end `cancelled`; extension requests lapse.
  counts.lapsed = await endOverdueApprovals(c, await c.store.elevations.approvalsPastDeadline(now));
  counts.suspended = await endSuspended(c);
  await endFrozen(c, counts);
  const open = await c.store.elevations.list({ states: ['activating', 'active', 'revoking'], limit: 100_000 });
  const stuckExpiring = await settleEach(c, open, now, counts);
  await syncSoonEnding(c, open, now, counts);
  try {
    if (stuckExpiring.length) counts.resumed += await endClaimed(c, stuckExpiring);
    counts.expired = await expire(c, now);
  } catch (error) {
    counts.errors++;
    c.log.warn({ err: (error as Error).message }, 'reconcile could not end every grant past its end; will retry');
  }
  if (counts.expired + counts.resumed + counts.undone + counts.rescheduled + counts.lapsed + counts.suspended + counts.frozen > 0) {
    await c.store.transaction((tx) =>
      tx.audit.append({ actor: 'system', action: 'elevation.reconciled', details: { ...counts } }, c.clock.now()),
    );
  }
  return counts;
}

/**
 * A suspended technician keeps nothing: a grant that finished activating after a kill switch (or
 * a plain suspension) is ended here, and a request that slipped in while its requester was being
 * suspended is cancelled. Answers how many.
 */
async function endSuspended(c: Core): Promise<number> {
  const suspended = new Set((await c.store.technicians.list()).filter((t) => t.status !== 'active').map((t) => t.id));
  if (suspended.size === 0) return 0;
  const held = (await c.store.elevations.list({ states: ['active', 'pending_approval'], limit: 100_000 })).filter((e) =>
    suspended.has(e.technicianId),
  );
  const result = await endMany(c, held, 'policy', system);
  const waiting = held.filter((e) => e.state === 'pending_approval');
  return result.revoked + (await cancelPending(c, waiting, 'technician_suspended', system));
}

/** A frozen tenant keeps nothing either: what its kill switch could not reach (its process died after the freeze, or a directory did not answer) is ended here. */
async function endFrozen(c: Core, counts: ReconcileCounts): Promise<void> {
  for (const tenant of (await c.store.tenants.list()).filter((t) => t.frozen)) {
    try {
      const result = await endTenant(c, tenant.id, system);
      counts.frozen += result.revoked + result.cancelled;
    } catch (error) {
      counts.errors++;
      c.log.warn(
        { tenantId: tenant.id, err: (error as Error).message },
        'reconcile could not end everything in a frozen tenant; will retry',
      );
    }
  }
}

/** Tells that a grant's revocation is overdue (once: it is marked alerted). */
async function alertOverdue(c: Core, e: Elevation, now: Date): Promise<void> {
  c.log.warn({ elevationId: e.id, tenantId: e.tenantId, endsAt: e.endsAt }, 'revocation overdue');
  const overdueMs = now.getTime() - e.endsAt!.getTime();
  await c.store.transaction(async (tx) => {
    await tx.elevations.markOverdueAlerted(e.id, now);
    await tx.audit.append(
      {
        actor: 'system',
        action: 'elevation.revocation_overdue',
        tenantId: e.tenantId,
        target: e.id,
        details: { endsAt: e.endsAt!.toISOString(), overdueMs },
      },
      now,
    );
  });
  await notify(c, {
    kind: 'alert',
    alert: 'revocation_overdue',
    subject: `elevation ${e.id} in ${e.tenantId}`,
    details: { endsAt: e.endsAt!.toISOString(), overdueSeconds: Math.round(overdueMs / 1000) },
  });
}

/** Each open grant as reconcileDecision says, at once; answers the expired grants stuck `revoking` (ended together by the caller). */
async function settleEach(c: Core, open: Elevation[], now: Date, counts: ReconcileCounts): Promise<Elevation[]> {
  const stuckExpiring: Elevation[] = [];
  const attempt = async (work: () => Promise<unknown>, e: Elevation) => {
    try {
      await work();
      return true;
    } catch (error) {
      counts.errors++;
      c.log.warn({ elevationId: e.id, err: (error as Error).message }, 'reconcile could not finish an elevation; will retry');
      return false;
    }
  };
  await Promise.all(
    open.map(async (e) => {
      const decision = reconcileDecision(e, now, c.settings, c.co.ending.get(e.id));
      if (decision.alertOverdue) {
        counts.overdue++;
        await alertOverdue(c, e, now);
      }
      if (decision.action === 'resume') {
        if (await attempt(() => end(c, e.id, e.revocationReason ?? 'admin', 'system', systemContext), e)) counts.resumed++;
      } else if (decision.action === 'resume_expiring') {
        stuckExpiring.push(e);
      } else if (decision.action === 'undo_if_lapsed') {
        let undone = false;
        await attempt(async () => {
          undone = await undoIfLapsed(c, e, now);
        }, e);
        if (undone) counts.undone++;
      } else if (decision.action === 'reschedule_if_missing' && !(await c.jobs.isScheduled(e.id))) {
        await c.jobs.schedule(e.id, e.endsAt!);
        counts.rescheduled++;
      }
      // `expire`: past its end and still active (a job lost or late): ended together by the caller.
    }),
  );
  return stuckExpiring;
}

/**
 * Grants ending within the next few runs: the DNs of record of their accounts are brought up to
 * date now, off the expiry's path, so that the removal at the end (by DN, confirmed by GUID)
 * names the account where the directory has it, not where it was at activation.
 */
async function syncSoonEnding(c: Core, open: Elevation[], now: Date, counts: ReconcileCounts): Promise<void> {
  const endingSoon = open.filter((e) => e.state === 'active' && e.endsAt && e.endsAt.getTime() - now.getTime() <= accountDnLookaheadMs);
  for (const [tenantId, grants] of Map.groupBy(endingSoon, (e) => e.tenantId)) {
    try {
      await syncAccountDns(c, await c.access.directory(await c.access.tenant(tenantId)), grants);
    } catch (error) {
      counts.errors++;
      c.log.warn(
        { tenantId, err: (error as Error).message },
        'could not bring the DNs of grants ending soon up to date; their removal falls back to GUIDs',
      );
    }
  }
}
