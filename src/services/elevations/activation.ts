// Activation (docs/architecture.md, Activation): in order, under the elevation's activation lease —
// the reads and checks, the plan (domain/elevation-plans.ts), the steps recorded, the account and
// the memberships written and read back, then `active`; a failure undoes what was written (undo.ts).
import type { ActivationSteps, Elevation } from '../../domain/elevation.ts';
import { assertWindowOpen, planActivation, readBackMatches, type ActivationPlan } from '../../domain/elevation-plans.ts';
import { DomainError, type ErrorCode } from '../../domain/errors.ts';
import type { AccessProfile } from '../../domain/profile.ts';
import { accountWriteRefusal } from '../tenants/index.ts';
import type { RequestContext } from '../context.ts';
import type { DirectoryAccount, TenantDirectory } from '../ports/directory.ts';
import type { TenantRecord } from '../ports/tenants.ts';
import { activationReads, assertStillGrantable, refuseProtected, type ActivationReads } from './checks.ts';
import type { Core } from './core.ts';
import { keepLease, type LeaseKeeper } from './lease.ts';
import { followAccountMove, move, notify, othersActive, refuseAccount } from './shared.ts';
import { undoInDirectory } from './undo.ts';

/** Why an activation was refused, answered as such (the rest: `activation_failed`). */
const passedOn = new Set<ErrorCode>([
  'group_protected',
  'group_not_found',
  'account_not_found',
  'account_not_eligible',
  'outside_window',
  'technician_suspended',
  'not_eligible',
  'no_tenant_account',
  'profile_suspended',
  'conflict',
  // Redis or the store away: the activation is undone and the caller may try again shortly (503).
  'queue_unavailable',
  'store_unavailable',
]);

/** What the request already holds when it activates at once: the tenant, the profile, the directory and its reads. */
export interface ActivationReady {
  tenant: TenantRecord;
  profile: AccessProfile;
  directory: TenantDirectory;
  reads: ActivationReads;
}

type Resolved = Omit<ActivationReady, 'reads'>;

/**
 * Activates `e` (in `activating`, with its lease). `ready` carries what the request already holds
 * (started while the request's code and intent were being recorded).
 */
export async function activate(c: Core, e: Elevation, ctx: RequestContext, ready?: ActivationReady): Promise<Elevation> {
  const lease = keepLease(c, e.id, e.lease);
  try {
    return await activateLeased(c, e, ctx, lease, ready);
  } finally {
    lease.stop();
  }
}

async function activateLeased(c: Core, e: Elevation, ctx: RequestContext, lease: LeaseKeeper, ready?: ActivationReady): Promise<Elevation> {
  const tenant = ready?.tenant ?? (await c.access.tenant(e.tenantId));
  const profile = ready?.profile ?? (await c.store.profiles.findById(e.profileId));
  const directory = ready?.directory ?? (await c.access.directory(tenant));
  const run: { steps: ActivationSteps | null } = { steps: null };
  try {
    if (!profile) throw new DomainError('not_found', 'The profile no longer exists');
    const resolved = { tenant, profile, directory };
    const checked = await checkBeforeWriting(c, e, resolved, ready?.reads);
    await grant(c, e, ctx, lease, resolved, checked, run);
  } catch (error) {
    throw await failActivation(c, e, ctx, lease, error, { steps: run.steps, directory, tenant });
  }
  // Active from here on: nothing below undoes it (should the store fail now, the caller hears
  // 503 and the grant stands, ended by its job).
  await notify(c, { kind: 'activated', elevationId: e.id });
  return (await c.store.elevations.findById(e.id))!;
}

interface Checked {
  account: DirectoryAccount;
  othersRead: Promise<Elevation[]>;
  windowClosesAt: Date | null;
}

/** Reads only: the account, its eligibility, the groups' protection, what still allows the grant, the window. */
async function checkBeforeWriting(
  c: Core,
  e: Elevation,
  { tenant, profile, directory }: Resolved,
  given?: ActivationReads,
): Promise<Checked> {
  const reads = await (given ?? activationReads(c, directory, e));
  if (reads.account.status === 'rejected') throw reads.account.reason;
  const account = reads.account.value;
  if (!account) throw new DomainError('account_not_found', 'The linked account no longer exists in the domain');
  if (reads.extraSids.status === 'rejected') throw reads.extraSids.reason;
  const refusal = accountWriteRefusal(account, reads.extraSids.value);
  if (refusal) throw await refuseAccount(c, e, account.dn, refusal, 'activation');
  if (reads.groups.status === 'rejected') throw reads.groups.reason;
  // 1. A group about to be added that has become protected suspends the profiles holding it.
  await refuseProtected(c, e.tenantId, reads.groups.value);
  // However long it waited for approval: the requester, their link and the profile still allow
  // it. The other live grants of the account are read meanwhile (for the baseline of the plan).
  const othersRead = othersActive(c, e);
  othersRead.catch(() => undefined); // heard later, unless the checks refuse first
  await assertStillGrantable(c, e, profile, 'activation');
  if (account.dn !== e.accountDn) {
    await followAccountMove(c, e, account);
    e.accountDn = account.dn;
  }
  // Approval may have come after the window closed.
  const window = assertWindowOpen(profile, tenant.timeZone, c.clock.now(), 'activation');
  return { account, othersRead, windowClosesAt: window.closesAt };
}

/** The writes, in order: the plan's steps recorded, the account and memberships written and read back, the job, `active`. */
async function grant(
  c: Core,
  e: Elevation,
  ctx: RequestContext,
  lease: LeaseKeeper,
  { tenant, profile, directory }: Resolved,
  { account, othersRead, windowClosesAt }: Checked,
  run: { steps: ActivationSteps | null },
): Promise<void> {
  // Remember what the account looked like before the technician's first live grant, so a
  // failure, a crash or the last grant's end can put it back.
  const others = await othersRead;
  const ttlMembership = await directory.supportsTtlMembership();
  const activatedAt = c.clock.now();
  const plan = planActivation({
    e,
    account,
    others,
    profile,
    tenant,
    activatedAt,
    windowClosesAt,
    ttlMembership,
    accountExpirySkewMs: c.settings.accountExpirySkewMs,
  });
  const { steps, endsAt, changes } = plan;
  run.steps = steps;
  // The revocation job is queued while the directory works, and awaited once the grant is
  // active; should activation fail, the job finds nothing to do at the end.
  const scheduling = c.jobs.schedule(e.id, endsAt);
  scheduling.catch(() => undefined);
  // Everything about to be written is recorded before the first write, so that whoever undoes
  // this activation (its own catch, or the lease check should this process die) knows the
  // account's previous settings, whether it enables it, and every group it may have added.
  lease.assertHeld();
  await c.store.elevations.recordSteps(e.id, steps, c.clock.now());
  await writeAndReadBack(c, e, directory, account, plan, lease);
  // 6. The revocation job is in Redis (a grant is never active without it: with Redis away the
  // activation is undone and answers 503), then active.
  await scheduling;
  const moved = await move(
    c,
    e,
    'active',
    { activatedAt, endsAt, steps, windowClosesAt: plan.windowClosesAt },
    {
      action: 'elevation.activated',
      actor: 'system',
      details: {
        endsAt: endsAt.toISOString(),
        groups: e.groups.map((g) => g.dn),
        ttlMembership: steps.ttlMembership,
        accountEnabled: steps.enabled,
        ...(plan.windowClosesAt && { clampedToWindowEnd: plan.windowClosesAt.toISOString() }),
        ...(changes.logonHours && { logonHours: Buffer.from(changes.logonHours).toString('hex') }),
      },
      ctx,
    },
    lease.holder,
  );
  if (!moved) throw new DomainError('conflict', 'The elevation changed while it was being activated');
}

/**
 * 2–5 at once: the account's settings, and the group memberships (with a time-to-live where the
 * forest supports it, each read back inside); the settings are read back once written. Neither
 * grants anything before both are done and read back: the grant is active only then, and a
 * failure of either undoes both.
 */
async function writeAndReadBack(
  c: Core,
  e: Elevation,
  directory: TenantDirectory,
  account: DirectoryAccount,
  plan: ActivationPlan,
  lease: LeaseKeeper,
): Promise<void> {
  const accountWritten = (async () => {
    await directory.updateAccount(account.dn, plan.changes);
    return directory.accountByGuid(e.accountGuid);
  })();
  // A TTL link ends with the grant, which a window may have cut short of the requested duration.
  const ttlSeconds = Math.max(1, Math.ceil((plan.endsAt.getTime() - c.clock.now().getTime()) / 1000));
  const added = (async () => {
    for (const group of e.groups) {
      lease.assertHeld();
      await directory.addMembers(group.dn, [account.dn], plan.steps.ttlMembership ? ttlSeconds : undefined);
    }
  })();
  const [written, membership] = await Promise.allSettled([accountWritten, added]);
  if (written.status === 'rejected') throw written.reason;
  if (membership.status === 'rejected') throw membership.reason;
  if (!readBackMatches(plan, written.value)) throw new DomainError('directory_error', 'The account settings did not read back as written');
}

/** After a failed activation: what it wrote undone, then `failed`; answers the error to throw. */
async function failActivation(
  c: Core,
  e: Elevation,
  ctx: RequestContext,
  lease: LeaseKeeper,
  error: unknown,
  { steps, directory, tenant }: { steps: ActivationSteps | null; directory: TenantDirectory; tenant: TenantRecord },
): Promise<DomainError> {
  const reason = error instanceof DomainError ? error.message : 'The directory refused a change';
  try {
    if (steps) await undoInDirectory(c, e, directory, steps, tenant);
  } catch (undoError) {
    // Left for the reconciler, which retries the undo of anything stuck in `activating`.
    c.log.error({ elevationId: e.id, err: (undoError as Error).message }, 'undo after a failed activation did not complete');
    return new DomainError('activation_failed', `${reason}; undoing it is not finished yet and will be retried`, { elevationId: e.id });
  }
  // Under the lease: once the lease check has taken it over, or a kill switch has claimed it
  // mid-activation, the other party ends the elevation; what this activation wrote is undone above.
  const failed = await move(
    c,
    e,
    'failed',
    { failureReason: reason, endedAt: c.clock.now() },
    { action: 'elevation.failed', actor: 'system', details: { reason }, ctx },
    lease.holder,
  );
  if (!failed) {
    const now = await c.store.elevations.findById(e.id);
    return new DomainError(
      'conflict',
      `The grant was ended while it was being activated (${now?.revocationReason ?? now?.state ?? 'gone'}); what it had changed in the directory is undone`,
      { elevationId: e.id },
    );
  }
  await notify(c, { kind: 'ended', elevationId: e.id });
  if (error instanceof DomainError && passedOn.has(error.code)) {
    return new DomainError(error.code, error.message, { ...error.details, elevationId: e.id });
  }
  return new DomainError('activation_failed', reason, { elevationId: e.id });
}
