// Ending one grant (`end`): the directory first (memberships no other live grant needs, then the
// account once no live grant is left), then the store. Idempotent: safe to run again after a crash.
import type { Elevation } from '../../domain/elevation.ts';
import { groupsStillNeeded, groupsToRemove, restoredAccount } from '../../domain/elevation-plans.ts';
import type { ElevationState, RevocationReason } from '../../domain/elevation-state.ts';
import { DomainError } from '../../domain/errors.ts';
import { accountWriteRefusal } from '../tenants/index.ts';
import type { RequestContext } from '../context.ts';
import type { TenantDirectory } from '../ports/directory.ts';
import type { TechnicianRecord } from '../ports/technicians.ts';
import type { TenantRecord } from '../ports/tenants.ts';
import type { Core } from './core.ts';
import { findVisible } from './queries.ts';
import { followAccountMove, move, notify, othersActive, refuseAccount } from './shared.ts';

/**
 * The account at the end of the technician's last live grant in the tenant: put back
 * (domain/elevation-plans.ts, restoredAccount) — unless it may not be a tenant account any more
 * (it became one of a domain controller's, a protected group's…): then Stint never disables or
 * changes it, and answers why. Nothing when the account is gone.
 */
export async function restoreAccountAtEnd(
  c: Core,
  e: Elevation,
  directory: TenantDirectory,
  tenant: TenantRecord,
  extraSids: () => Promise<readonly string[]>,
): Promise<{ dn: string; reason: string } | null> {
  const account = await directory.accountByGuid(e.accountGuid);
  if (!account) return null;
  const refusal = accountWriteRefusal(account, await extraSids());
  if (refusal) return { dn: account.dn, reason: refusal };
  await directory.updateAccount(
    account.dn,
    restoredAccount(e.steps, tenant.keepAccountsDisabled, { for: 'end', account, now: c.clock.now() }),
  );
  return null;
}

/** Claims a live grant for `reason` (`active` → `revoking`); answers it as claimed, or as it stands when nothing is left to claim. */
async function claim(c: Core, id: string, reason: RevocationReason, actor: string, ctx: RequestContext): Promise<Elevation> {
  const e = await c.store.elevations.findById(id);
  if (!e) throw new DomainError('not_found', 'No such elevation');
  if (e.state === 'expired' || e.state === 'revoked' || e.state === 'revoking') return e;
  if (e.state !== 'active') throw new DomainError('conflict', `An elevation that is ${e.state} cannot be revoked`);
  const claimed = await move(
    c,
    e,
    'revoking',
    { revocationReason: reason },
    { action: 'elevation.revoking', actor, details: { reason }, ctx },
  );
  return claimed ? { ...e, state: 'revoking' } : claim(c, id, reason, actor, ctx);
}

/** Ends one grant now, in the directory then in the store (the reconciler's resume; an authorised revokeByUser). */
export async function end(c: Core, id: string, reason: RevocationReason, actor: string, ctx: RequestContext): Promise<Elevation> {
  const claimed = await claim(c, id, reason, actor, ctx);
  if (claimed.state !== 'revoking') return claimed;
  const tenant = await c.access.tenant(claimed.tenantId);
  const directory = await c.access.directory(tenant);
  // The account may have been renamed or moved during the grant: remove it under its DN of now.
  const current = await directory.accountByGuid(claimed.accountGuid);
  const moved = current && current.dn !== claimed.accountDn;
  if (moved) await followAccountMove(c, claimed, current);
  const e = moved ? { ...claimed, accountDn: current.dn } : claimed;
  const others = await othersActive(c, e);
  // Membership first, each removal confirmed by a read-back (a batch per group across grants).
  await Promise.all(groupsToRemove(e, groupsStillNeeded(others)).map((g) => c.removal.remove(e.tenantId, directory, g.dn, e.accountDn)));
  let accountDisabled = others.length === 0 && tenant.keepAccountsDisabled;
  if (others.length === 0) {
    const refused = await restoreAccountAtEnd(c, e, directory, tenant, () => c.access.protectedSids(e.tenantId));
    if (refused) {
      await refuseAccount(c, e, refused.dn, refused.reason, 'revocation');
      accountDisabled = false;
    }
  }
  return finish(c, e, reason, actor, ctx, accountDisabled);
}

/** The final state and its audit event, the job cancelled (unless it is the job's own end), the notice. */
async function finish(c: Core, e: Elevation, reason: RevocationReason, actor: string, ctx: RequestContext, accountDisabled: boolean) {
  const final: ElevationState = reason === 'expired' ? 'expired' : 'revoked';
  const now = c.clock.now();
  const lagMs = e.endsAt ? now.getTime() - e.endsAt.getTime() : null;
  const moved = await move(
    c,
    e,
    final,
    { endedAt: now, revocationReason: reason },
    {
      action: final === 'expired' ? 'elevation.expired' : 'elevation.revoked',
      actor,
      details: { reason, groups: e.groups.map((g) => g.dn), accountDisabled, ...(reason === 'expired' && lagMs !== null && { lagMs }) },
      ctx,
    },
  );
  if (!moved) return (await c.store.elevations.findById(e.id))!;
  if (reason !== 'expired') await c.jobs.cancel(e.id).catch(() => undefined);
  await notify(c, { kind: 'ended', elevationId: e.id });
  return (await c.store.elevations.findById(e.id))!;
}

/** The owner ends their own grant early, or an admin ends anyone's. */
export async function revokeByUser(c: Core, technician: TechnicianRecord, id: string, ctx: RequestContext): Promise<Elevation> {
  const e = await findVisible(c, technician, id);
  const reason: RevocationReason = e.technicianId === technician.id ? 'self' : 'admin';
  if (reason === 'admin' && !technician.roles.includes('admin'))
    throw new DomainError('forbidden', 'Only the owner or an admin may revoke');
  return end(c, id, reason, technician.id, ctx);
}
