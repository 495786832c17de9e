// Ending grants already claimed (`revoking`: expired, or a kill switch), many at once: memberships
// first (batched per group), then each account, then the final states. Safe to run again: what is
// done stays done.
import { memberRefWithDn } from '../../domain/ad.ts';
import type { Elevation } from '../../domain/elevation.ts';
import { groupsStillNeeded, groupsToRemove, liveStates } from '../../domain/elevation-plans.ts';
import { DomainError } from '../../domain/errors.ts';
import { auditNotEligible } from '../tenants/index.ts';
import { auditOrigin, systemContext } from '../context.ts';
import type { TenantDirectory } from '../ports/directory.ts';
import type { StoreRepositories } from '../ports/store.ts';
import type { TenantRecord } from '../ports/tenants.ts';
import { mapLimit } from './concurrency.ts';
import { accountConcurrency, afterRemovals, membershipsSettled, type Core } from './core.ts';
import { restoreAccountAtEnd } from './revocation.ts';
import { endedNotices, notify, syncAccountDns, type Mover } from './shared.ts';

/** Per technician whose grants are ending: the groups their other live grants still need, and whether they keep any. */
type Needs = Map<string, { groups: Set<string>; live: boolean }>;

/** One tenant's grants being ended, with what they need to be. */
interface TenantEnding {
  tenantId: string;
  tenant: TenantRecord;
  directory: TenantDirectory;
  grants: Elevation[];
  needs: Needs;
  /** Grants whose account may not be written to: left as it is (memberships still removed), audited. */
  untouched: Map<string, { dn: string; reason: string }>;
}

/**
 * Ends grants already marked `revoking`; answers how many it ended. Those this process is already
 * ending are left to it (see Coordination.ending).
 */
export async function endClaimed(c: Core, claimed: Elevation[], by: Mover = { actor: 'system', ctx: systemContext }): Promise<number> {
  const { ending } = c.co;
  const mine = claimed.filter((e) => !ending.has(e.id));
  for (const e of mine) ending.set(e.id, 'memberships');
  try {
    const byTenant = Map.groupBy(mine, (e) => e.tenantId);
    const ended = await Promise.all([...byTenant.entries()].map(([tenantId, grants]) => endInTenant(c, tenantId, grants, by)));
    return ended.reduce((sum, n) => sum + n, 0);
  } finally {
    for (const e of mine) ending.delete(e.id);
  }
}

/** What the technicians' other live grants still need, and who keeps no live grant at all. */
async function needsOf(c: Core, tenantId: string, grants: Elevation[]): Promise<Needs> {
  const endingIds = new Set(grants.map((g) => g.id));
  const technicianIds = [...new Set(grants.map((e) => e.technicianId))];
  const others = (
    await c.store.elevations.list({ states: [...liveStates], tenantIds: [tenantId], technicianIds, limit: 1_000_000 })
  ).filter((o) => !endingIds.has(o.id));
  const byTechnician = Map.groupBy(others, (o) => o.technicianId);
  return new Map(technicianIds.map((t) => [t, { groups: groupsStillNeeded(byTechnician.get(t) ?? []), live: byTechnician.has(t) }]));
}

async function endInTenant(c: Core, tenantId: string, grants: Elevation[], by: Mover): Promise<number> {
  const tenant = await c.access.tenant(tenantId);
  const directory = await c.access.directory(tenant);
  const extraSids = await c.access.protectedSids(tenantId);
  const t: TenantEnding = { tenantId, tenant, directory, grants, needs: await needsOf(c, tenantId, grants), untouched: new Map() };
  const gone = await removeMemberships(c, t);
  // Bookkeeping once the memberships are settled (off their path): the stored DNs of accounts
  // moved or renamed during their grant.
  await syncAccountDns(c, directory, gone).catch((error: unknown) => {
    c.log.warn({ tenantId, err: (error as Error).message }, 'could not bring the stored DNs of ending grants up to date');
  });
  // Then the accounts, a few at a time, in slices: each slice of grants is final once both
  // its memberships and its accounts are done, so early grants do not wait for late ones.
  let ended = 0;
  let finishedCount = 0;
  for (let i = 0; i < gone.length; i += 200) {
    const finished = await mapLimit(gone.slice(i, i + 200), accountConcurrency, async (e) => {
      if (!t.needs.get(e.technicianId)!.live) {
        await afterRemovals(c);
        const refused = await c.co.accountWrites(() => restoreAccountAtEnd(c, e, directory, tenant, async () => extraSids));
        if (refused) t.untouched.set(e.id, refused);
      }
      return e;
    });
    const done = await c.store.transaction((tx) => finalize(c, tx, t, finished, by));
    ended += done.length;
    await notify(c, ...endedNotices(done.map((e) => e.id)));
    finishedCount += finished.length;
  }
  if (finishedCount < grants.length) {
    // Left in `revoking`: the job's retry or the reconciler finishes them.
    throw new DomainError('directory_unreachable', `${grants.length - finishedCount} grant(s) of ${tenantId} could not be revoked yet`);
  }
  return ended;
}

/** Memberships first: the batcher turns these into one modify per group (queue.maxBatch values at most). Answers the grants whose memberships are gone. */
async function removeMemberships(c: Core, t: TenantEnding): Promise<Elevation[]> {
  const { ending, membershipsGone } = c.co;
  const removals = t.grants.map(async (e) => {
    // By its DN of record, confirmed by objectGUID: an account moved or renamed during its
    // grant is still the one removed (by GUID, once the DN is found not to be a member).
    const member = memberRefWithDn(e.accountGuid, e.accountDn);
    const remove = groupsToRemove(e, t.needs.get(e.technicianId)!.groups);
    await Promise.all(remove.map((g) => c.removal.remove(t.tenantId, t.directory, g.dn, member)));
    return e;
  });
  const settled = await Promise.allSettled(removals);
  const gone = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  for (const e of gone) ending.set(e.id, 'accounts');
  // The jobs of these grants may finish now: their memberships are confirmed gone (see endIfDue).
  t.grants.forEach((e, i) => {
    const outcome = settled[i]!;
    const waiter = membershipsGone.get(e.id);
    membershipsGone.delete(e.id);
    if (outcome.status === 'fulfilled') waiter?.resolve();
    else waiter?.reject(outcome.reason);
  });
  membershipsSettled(c.co);
  return gone;
}

/** The final states of a slice of grants (expired, or revoked), their audit events and the refusals to write their accounts. */
async function finalize(c: Core, tx: StoreRepositories, t: TenantEnding, finished: Elevation[], by: Mover): Promise<Elevation[]> {
  const endedAt = c.clock.now();
  const expiring = finished.filter((e) => e.revocationReason === 'expired');
  const revoking = finished.filter((e) => e.revocationReason !== 'expired');
  const moved = new Set([
    ...(await tx.elevations.transitionMany(
      expiring.map((e) => e.id),
      'revoking',
      'expired',
      { endedAt },
      endedAt,
    )),
    ...(await tx.elevations.transitionMany(
      revoking.map((e) => e.id),
      'revoking',
      'revoked',
      { endedAt },
      endedAt,
    )),
  ]);
  const movedNow = finished.filter((e) => moved.has(e.id));
  await tx.audit.appendMany(
    movedNow.map((e) => ({
      actor: by.actor,
      action: e.revocationReason === 'expired' ? ('elevation.expired' as const) : ('elevation.revoked' as const),
      tenantId: t.tenantId,
      target: e.id,
      details: {
        reason: e.revocationReason,
        groups: e.groups.map((g) => g.dn),
        accountDisabled: !t.needs.get(e.technicianId)!.live && t.tenant.keepAccountsDisabled && !t.untouched.has(e.id),
        ...(e.revocationReason === 'expired' && { lagMs: endedAt.getTime() - e.endsAt!.getTime() }),
      },
      ...auditOrigin(by.ctx),
    })),
    endedAt,
  );
  for (const e of movedNow) {
    const refused = t.untouched.get(e.id);
    if (!refused) continue;
    const { dn, reason } = refused;
    await auditNotEligible(tx, endedAt, {
      tenantId: t.tenantId,
      technicianId: e.technicianId,
      guid: e.accountGuid,
      dn,
      reason,
      step: 'revocation',
      elevationId: e.id,
    });
  }
  return movedNow;
}
