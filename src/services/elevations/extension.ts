// Extending a grant (docs/architecture.md, Extending a grant): the owner asks with a fresh TOTP
// code; the plan (domain/elevation-plans.ts, planExtension) is no further than the profile's
// maximum total or the window's end; approval again where the profile asks for it, else applied.
import { toFileTime } from '../../domain/ad.ts';
import type { Elevation } from '../../domain/elevation.ts';
import { planExtension } from '../../domain/elevation-plans.ts';
import { DomainError, type ErrorCode } from '../../domain/errors.ts';
import { assertTenantOpen } from '../../domain/tenant.ts';
import { accountWriteRefusal } from '../tenants/index.ts';
import { auditOrigin, type RequestContext } from '../context.ts';
import type { TechnicianRecord } from '../ports/technicians.ts';
import { assertStillGrantable, protectionOf, refuseProtected } from './checks.ts';
import type { Core } from './core.ts';
import { findVisible } from './queries.ts';
import { holdTenantOpen, notify, othersActive, refuseAccount } from './shared.ts';

/** Why an extension is refused by the system (audited `elevation.extension_denied` with that reason). */
const refusedExtension: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'group_protected',
  'technician_suspended',
  'not_eligible',
  'no_tenant_account',
  'profile_suspended',
  'conflict',
]);

/** The owner asks for more time; answers the grant extended, or waiting for approval of the extension. */
export async function extend(
  c: Core,
  technician: TechnicianRecord,
  id: string,
  input: { durationSeconds: number; code: string },
  ctx: RequestContext,
): Promise<Elevation> {
  const e = await findVisible(c, technician, id);
  if (e.technicianId !== technician.id) throw new DomainError('forbidden', 'Only the owner may extend a grant');
  if (e.state !== 'active' || !e.endsAt || !e.activatedAt)
    throw new DomainError('conflict', `Only an active grant can be extended (it is ${e.state})`);
  if (e.extension) throw new DomainError('conflict', 'An extension of this grant is already waiting for approval');
  const profile = await c.store.profiles.findById(e.profileId);
  if (!profile || profile.status !== 'active')
    throw new DomainError('profile_suspended', 'The profile is suspended or gone; the grant cannot be extended');
  const tenant = await c.access.tenant(e.tenantId);
  assertTenantOpen(tenant);
  const target = planExtension(e, profile, tenant.timeZone, input.durationSeconds, c.clock.now());
  const reapprove = profile.approval.required > 0 && profile.approval.reapproveExtensions;
  const at = c.clock.now();
  const round = Math.max(0, ...e.decisions.map((d) => d.round)) + 1;
  await c.mfa.verifyFreshCode(technician, input.code, 'elevation.extend', ctx, async (tx, now) => {
    await holdTenantOpen(tx, e.tenantId);
    if (!reapprove) return;
    const extension = {
      seconds: input.durationSeconds,
      round,
      requestedAt: now,
      deadline: new Date(now.getTime() + profile.approval.timeoutSeconds * 1000),
    };
    if (!(await tx.elevations.amend(id, 'active', { extension }, now))) throw new DomainError('conflict', 'The grant ended meanwhile');
    await tx.audit.append(
      {
        actor: technician.id,
        action: 'elevation.extension_requested',
        tenantId: e.tenantId,
        target: id,
        details: { seconds: input.durationSeconds, round, newEndsAt: target.endsAt.toISOString() },
        ...auditOrigin(ctx),
      },
      now,
    );
  });
  if (reapprove) {
    await notify(c, { kind: 'approval_requested', elevationId: id });
    return (await c.store.elevations.findById(id))!;
  }
  return applyExtension(c, e, input.durationSeconds, technician.id, at, ctx);
}

/**
 * An extension keeps (and, with TTL membership, adds again) the grant's groups: checked like an
 * activation. The groups first: a group of the grant nested into a protected one also puts the
 * account inside it, and the group is what must be refused (and its profiles suspended). A refusal
 * by the system is audited `elevation.extension_denied`.
 */
async function assertStillExtendable(
  c: Core,
  e: Elevation,
  profile: Parameters<typeof assertStillGrantable>[2],
  check: { directory: Parameters<typeof protectionOf>[0]; extraSids: readonly string[] },
  ctx: RequestContext,
): Promise<void> {
  try {
    await refuseProtected(c, e.tenantId, await protectionOf(check.directory, e.groups, check.extraSids));
    await assertStillGrantable(c, e, profile, 'extension');
  } catch (error) {
    if (!(error instanceof DomainError) || !refusedExtension.has(error.code)) throw error;
    const now = c.clock.now();
    await c.store.transaction((tx) =>
      tx.audit.append(
        {
          actor: 'system',
          action: 'elevation.extension_denied',
          tenantId: e.tenantId,
          target: e.id,
          details: { reason: error.code },
          ...auditOrigin(ctx),
        },
        now,
      ),
    );
    throw error;
  }
}

/** Moves the end of an active grant: the directory first (accountExpires, TTL), then the store, then the job. */
export async function applyExtension(
  c: Core,
  before: Elevation,
  seconds: number,
  actor: string,
  at: Date,
  ctx: RequestContext,
): Promise<Elevation> {
  const e = await c.store.elevations.findById(before.id);
  if (!e || e.state !== 'active') throw new DomainError('conflict', 'The grant ended before it could be extended');
  const profile = await c.store.profiles.findById(e.profileId);
  if (!profile) throw new DomainError('not_found', 'The profile no longer exists');
  const tenant = await c.access.tenant(e.tenantId);
  assertTenantOpen(tenant);
  const target = planExtension(e, profile, tenant.timeZone, seconds, c.clock.now());
  const directory = await c.access.directory(tenant);
  const account = await directory.accountByGuid(e.accountGuid);
  if (!account) throw new DomainError('account_not_found', 'The linked account no longer exists in the domain');
  const extraSids = await c.access.protectedSids(e.tenantId);
  await assertStillExtendable(c, e, profile, { directory, extraSids }, ctx);
  const refusal = accountWriteRefusal(account, extraSids);
  if (refusal) throw await refuseAccount(c, e, account.dn, refusal, 'extension');
  const latestEnd = Math.max(target.endsAt.getTime(), ...(await othersActive(c, e)).map((o) => o.endsAt?.getTime() ?? 0));
  const accountExpires = toFileTime(new Date(latestEnd + c.settings.accountExpirySkewMs));
  // A later accountExpires first: should the store write fail, the directory errs on the side
  // of the revocation job, which still runs at the old end and takes everything away.
  await directory.updateAccount(account.dn, { accountExpires });
  if ((await directory.accountByGuid(e.accountGuid))?.accountExpires !== accountExpires) {
    throw new DomainError('directory_error', 'The new accountExpires did not read back as written');
  }
  if (e.steps?.ttlMembership) {
    const ttl = Math.ceil((target.endsAt.getTime() - c.clock.now().getTime()) / 1000);
    for (const group of e.groups) await directory.addMembers(group.dn, [account.dn], ttl);
  }
  await recordExtension(c, e, target, { seconds, actor, at, ctx });
  await c.jobs.schedule(e.id, target.endsAt);
  await notify(c, { kind: 'extended', elevationId: e.id });
  return (await c.store.elevations.findById(e.id))!;
}

/** The new end in the store, with its audit event (the tenant held open). */
async function recordExtension(
  c: Core,
  e: Elevation,
  target: ReturnType<typeof planExtension>,
  asked: { seconds: number; actor: string; at: Date; ctx: RequestContext },
): Promise<void> {
  const addedSeconds = (target.endsAt.getTime() - e.endsAt!.getTime()) / 1000;
  const now = c.clock.now();
  const clamped = target.windowClosesAt && target.windowClosesAt.getTime() === target.endsAt.getTime();
  await c.store.transaction(async (tx) => {
    await holdTenantOpen(tx, e.tenantId);
    const changes = {
      endsAt: target.endsAt,
      windowClosesAt: target.windowClosesAt,
      extension: null,
      extendedSeconds: e.extendedSeconds + addedSeconds,
    };
    if (!(await tx.elevations.amend(e.id, 'active', changes, now)))
      throw new DomainError('conflict', 'The grant ended before it could be extended');
    await tx.audit.append(
      {
        actor: asked.actor,
        action: 'elevation.extended',
        tenantId: e.tenantId,
        target: e.id,
        details: {
          requestedSeconds: asked.seconds,
          addedSeconds,
          previousEndsAt: e.endsAt!.toISOString(),
          endsAt: target.endsAt.toISOString(),
          ...(clamped && { clampedToWindowEnd: target.windowClosesAt!.toISOString() }),
          requestedAt: asked.at.toISOString(),
        },
        ...auditOrigin(asked.ctx),
      },
      now,
    );
  });
}
