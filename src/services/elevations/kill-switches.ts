// Kill switches (docs/security-model.md, Kill switches and the tenant freeze): a technician
// suspended with every grant ended and every request cancelled; a tenant frozen (then unfrozen, or
// archived) with the same done to everything in it. Also `endMany`, which the reconciler uses too.
import type { Elevation } from '../../domain/elevation.ts';
import { killSwitchOutcome, killSwitchSelection } from '../../domain/elevation-plans.ts';
import { holdingStates, type RevocationReason } from '../../domain/elevation-state.ts';
import { DomainError } from '../../domain/errors.ts';
import { hasRole } from '../../domain/roles.ts';
import { auditOrigin, type RequestContext } from '../context.ts';
import type { StoreRepositories } from '../ports/store.ts';
import type { TechnicianRecord } from '../ports/technicians.ts';
import type { TenantRecord } from '../ports/tenants.ts';
import type { Core } from './core.ts';
import { endClaimed } from './end-claimed.ts';
import { endedNotices, moveMany, notify, type Mover } from './shared.ts';

/** What a kill switch ended: grants ended, requests cancelled, and grants claimed but not confirmed ended yet. */
export type KillSwitchResult = ReturnType<typeof killSwitchOutcome>;

/**
 * Claims live grants for `reason` (one transaction), then ends them through the batched path.
 * Grants still `activating` are claimed too: their activation then finds them gone, undoes what
 * it wrote and never makes them active (activate's final move is guarded by the state).
 */
export async function endMany(
  c: Core,
  grants: Elevation[],
  reason: RevocationReason,
  by: Mover,
): Promise<{ claimed: number; revoked: number }> {
  const live = killSwitchSelection(grants).end;
  if (live.length === 0) return { claimed: 0, revoked: 0 };
  const claimed = await moveMany(c, live, {
    from: ['active', 'activating'],
    to: 'revoking',
    changes: { revocationReason: reason },
    action: 'elevation.revoking',
    details: { reason },
    ...by,
  });
  try {
    return { claimed: claimed.length, revoked: await endClaimed(c, claimed, by) };
  } catch (error) {
    // Those left `revoking` are finished by the reconciler once the directory answers.
    c.log.warn({ err: (error as Error).message, reason }, 'some grants could not be ended yet; the reconciler retries');
    const now = await Promise.all(claimed.map((e) => c.store.elevations.findById(e.id)));
    return { claimed: claimed.length, revoked: now.filter((e) => e?.state === 'revoked').length };
  }
}

/** Cancels requests still waiting for approval (one transaction, each audited, each told); answers how many. */
export async function cancelPending(
  c: Core,
  pending: Elevation[],
  reason: 'technician_suspended' | 'kill_switch',
  by: Mover,
): Promise<number> {
  const moved = await moveMany(c, pending, {
    from: ['pending_approval'],
    to: 'cancelled',
    changes: (at) => ({ endedAt: at }),
    action: 'elevation.cancelled',
    details: { reason },
    ...by,
  });
  if (pending.length) await notify(c, ...endedNotices(moved.map((e) => e.id)));
  return moved.length;
}

/** The kill switches' common part: pending requests cancelled, live grants (active or mid-activation) ended together. */
export async function endAndCancel(c: Core, open: Elevation[], by: Mover): Promise<KillSwitchResult> {
  const { cancel } = killSwitchSelection(open);
  const cancelled = await cancelPending(c, cancel, 'kill_switch', by);
  const { claimed, revoked } = await endMany(c, open, 'kill_switch', by);
  return killSwitchOutcome(claimed, revoked, cancelled);
}

/** Everything of a (frozen) tenant ended: pending requests cancelled, live grants ended, mid-activation ones included. */
export async function endTenant(c: Core, tenantId: string, by: Mover): Promise<KillSwitchResult> {
  const open = await c.store.elevations.list({
    tenantIds: [tenantId],
    states: ['pending_approval', 'activating', 'active'],
    limit: 1_000_000,
  });
  return endAndCancel(c, open, by);
}

/** Freezes the tenant in `tx` with its audit event; a tenant already frozen keeps its first freeze. */
async function freezeIn(
  tx: StoreRepositories,
  tenantId: string,
  admin: TechnicianRecord,
  reason: string | null,
  via: 'kill_switch' | 'archive',
  at: Date,
  ctx: RequestContext,
) {
  if (await tx.tenants.freeze(tenantId, { at, by: admin.id, reason })) {
    await tx.audit.append(
      { actor: admin.id, action: 'tenant.frozen', tenantId, target: tenantId, details: { reason, via }, ...auditOrigin(ctx) },
      at,
    );
  }
}

/**
 * Suspends a technician (their sessions end at once), cancels their pending requests and ends
 * every grant they hold, in every tenant, through the batched path.
 */
export async function killTechnician(
  c: Core,
  admin: TechnicianRecord,
  technicianId: string,
  input: { code: string; reason?: string },
  ctx: RequestContext,
) {
  const target = await c.store.technicians.findById(technicianId);
  if (!target) throw new DomainError('not_found', 'No such technician');
  if (hasRole(target.roles, 'admin') && target.status === 'active' && (await c.store.technicians.countActiveAdmins()) <= 1) {
    throw new DomainError('last_admin', 'This is the last active admin; make another admin first');
  }
  const endedSessions = await c.mfa.verifyFreshCode(admin, input.code, 'kill_switch.technician', ctx, async (tx, at) => {
    await tx.technicians.update(technicianId, { status: 'suspended' }, at);
    const ended = await tx.sessions.revokeAllForTechnician(technicianId, at);
    await tx.audit.append(
      {
        actor: admin.id,
        action: 'kill_switch.technician',
        target: technicianId,
        details: { reason: input.reason ?? null, endedSessions: ended, suspended: true },
        ...auditOrigin(ctx),
      },
      at,
    );
    return ended;
  });
  const open = await c.store.elevations.list({ technicianId, states: ['pending_approval', 'activating', 'active'], limit: 1_000_000 });
  const result = await endAndCancel(c, open, { actor: admin.id, ctx });
  await notify(c, {
    kind: 'alert',
    alert: 'kill_switch',
    subject: `technician ${target.username}`,
    details: { revoked: result.revoked, cancelled: result.cancelled, endedSessions },
  });
  return { ...result, endedSessions, suspended: true };
}

/**
 * Kill switch for one tenant: the tenant is frozen (nothing starts there until an admin lifts
 * it), then every pending request is cancelled and every grant in it ended, those still being
 * activated included. The freeze commits first: whatever starts after it is refused, whatever
 * started before it is listed here (holdTenantOpen).
 */
export async function killTenant(
  c: Core,
  admin: TechnicianRecord,
  tenantId: string,
  input: { code: string; reason?: string },
  ctx: RequestContext,
) {
  const tenant = await c.store.tenants.findById(tenantId);
  if (!tenant) throw new DomainError('not_found', 'No such tenant');
  await c.mfa.verifyFreshCode(admin, input.code, 'kill_switch.tenant', ctx, async (tx, at) => {
    await freezeIn(tx, tenantId, admin, input.reason ?? null, 'kill_switch', at, ctx);
    await tx.audit.append(
      {
        actor: admin.id,
        action: 'kill_switch.tenant',
        tenantId,
        target: tenantId,
        details: { reason: input.reason ?? null },
        ...auditOrigin(ctx),
      },
      at,
    );
  });
  const result = await endTenant(c, tenantId, { actor: admin.id, ctx });
  await notify(c, {
    kind: 'alert',
    alert: 'kill_switch',
    subject: `tenant ${tenantId}`,
    details: { revoked: result.revoked, cancelled: result.cancelled },
  });
  return { ...result, frozen: true as const };
}

/** Lifts a tenant's freeze (admin, fresh code); an archived tenant stays as it is. */
export async function unfreezeTenant(
  c: Core,
  admin: TechnicianRecord,
  tenantId: string,
  input: { code: string },
  ctx: RequestContext,
): Promise<TenantRecord> {
  const tenant = await c.access.tenant(tenantId);
  if (tenant.archived) throw new DomainError('tenant_archived', `Tenant ${tenantId} is archived; archiving is final`, { tenantId });
  const frozen = tenant.frozen;
  if (!frozen) throw new DomainError('conflict', `Tenant ${tenantId} is not frozen`, { tenantId });
  await c.mfa.verifyFreshCode(admin, input.code, 'tenant.unfreeze', ctx, async (tx, at) => {
    if (!(await tx.tenants.unfreeze(tenantId, frozen.at, at)))
      throw new DomainError('conflict', 'The tenant changed meanwhile; look again', { tenantId });
    await tx.audit.append(
      {
        actor: admin.id,
        action: 'tenant.unfrozen',
        tenantId,
        target: tenantId,
        details: { frozenAt: frozen.at.toISOString(), frozenBy: frozen.by, frozenReason: frozen.reason },
        ...auditOrigin(ctx),
      },
      at,
    );
  });
  return c.access.tenant(tenantId);
}

/**
 * Archives a tenant (admin, fresh code): frozen first, then everything in it ended as by its
 * kill switch; once nothing of it is live any more it is archived — for good: it grants no
 * access, its directory is no longer opened, and its records stay for the audit. Should some
 * grant not be confirmed gone yet (directory unreachable), the tenant stays frozen and the
 * answer says so: archive it again once the reconciler has ended them.
 */
export async function archiveTenant(
  c: Core,
  admin: TechnicianRecord,
  tenantId: string,
  input: { code: string; reason?: string },
  ctx: RequestContext,
) {
  const tenant = await c.access.tenant(tenantId);
  if (tenant.archived) throw new DomainError('tenant_archived', `Tenant ${tenantId} is already archived`, { tenantId });
  const reason = input.reason ?? null;
  await c.mfa.verifyFreshCode(admin, input.code, 'tenant.archive', ctx, async (tx, at) => {
    await freezeIn(tx, tenantId, admin, reason, 'archive', at, ctx);
  });
  const result = await endTenant(c, tenantId, { actor: admin.id, ctx });
  const at = c.clock.now();
  await c.store.transaction(async (tx) => {
    const live = await tx.elevations.list({ tenantIds: [tenantId], states: ['pending_approval', ...holdingStates], limit: 1 });
    if (live.length > 0) {
      throw new DomainError(
        'tenant_in_use',
        `Tenant ${tenantId} is frozen, but some of its grants are not confirmed ended yet; archive it again once they are`,
        { stillRevoking: result.stillRevoking },
      );
    }
    if (!(await tx.tenants.archive(tenantId, admin.id, at)))
      throw new DomainError('conflict', 'The tenant changed meanwhile; look again', { tenantId });
    await tx.audit.append(
      {
        actor: admin.id,
        action: 'tenant.archived',
        tenantId,
        target: tenantId,
        details: { reason, revoked: result.revoked, cancelled: result.cancelled },
        ...auditOrigin(ctx),
      },
      at,
    );
  });
  return { tenant: await c.access.tenant(tenantId), revoked: result.revoked, cancelled: result.cancelled };
}
