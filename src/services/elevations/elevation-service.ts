// Elevations (docs/architecture.md, A request, end to end): request → activation in the directory → revocation at the end,
// with the store as the source of truth. State is written before the directory is touched, every
// directory write is read back, a failed activation is undone, and the reconciler finishes or
// undoes whatever a crash left half-done.
import { isAccountEnabled, memberRefWithDn, toFileTime, withAccountEnabled } from '../../domain/ad.ts';
import { assertMayDecide, tally, type Decision, type DecisionKind } from '../../domain/approval.ts';
import type { AuditAction } from '../../domain/audit.ts';
import { checkRequest } from '../../domain/elevation.ts';
import { holdingStates, type ElevationState, type RevocationReason } from '../../domain/elevation-state.ts';
import { DomainError, type ErrorCode } from '../../domain/errors.ts';
import { isEligible, type AccessProfile } from '../../domain/profile.ts';
import { assertTenantOpen } from '../../domain/tenant.ts';
import type { ProtectedFinding } from '../../domain/protected-groups.ts';
import { assessRisk, isRiskFlagged, riskDefaults, type RiskAssessment, type RiskSettings } from '../../domain/risk.ts';
import { hasAnyRole, hasRole } from '../../domain/roles.ts';
import { checkWindow, localTime, logonHoursFor, unionLogonHours } from '../../domain/windows.ts';
import { accountWriteRefusal, auditNotEligible, recordAccountMove, type EligibilityStep } from '../tenants/index.ts';
import { auditOrigin, systemContext, type RequestContext } from '../context.ts';
import type { MemberRemoval } from '../ports/directory.ts';
import type { MfaService } from '../access/index.ts';
import { revocationLeadMs, type ActivationSteps, type Elevation, type ElevationGroup } from '../../domain/elevation.ts';
import type { AccountChanges, DirectoryAccount, DirectoryGroup, TenantDirectory } from '../ports/directory.ts';
import type { Clock, EventLog, RandomSource } from '../ports/runtime.ts';
import type { ElevationFilter, RevocationJobs } from '../ports/elevations.ts';
import type { Notice, Notifications } from '../ports/notifications.ts';
import type { Store, StoreRepositories } from '../ports/store.ts';
import type { TechnicianRecord } from '../ports/technicians.ts';
import type { TenantRecord } from '../ports/tenants.ts';
import type { TenantAccess } from '../tenants/index.ts';

export interface ElevationSettings {
  accountExpirySkewMs: number;
  overdueAfterMs: number;
  stuckAfterMs: number;
  /** The lease of an activation in flight (renewed every third of it while the activation works). */
  activationLeaseMs: number;
  /** Risk scoring's parameters (default: riskDefaults). */
  risk?: RiskSettings;
}

/** The most past requests risk scoring reads (the most recent ones). */
const riskHistoryLimit = 5000;

export interface ElevationRequestInput {
  tenantId: string;
  profile: string;
  durationSeconds?: number;
  justification?: string;
  ticket?: string;
  code: string;
}

const activeStates: ElevationState[] = ['activating', 'active'];
/** A job ready more than revocationLeadMs + this before its grant's end waits again (the end or the clock moved). */
const earlyToleranceMs = 1000;
/** Grants claimed per transaction when many end together: small first, so the directory starts early. */
const firstClaimChunk = 250;
const claimChunk = 1000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/**
 * Account writes at the end of grants in flight at once, across every batch of this process: the
 * directory applies writes one at a time, so more would not end accounts faster, only make the
 * membership removals of the batches after them wait behind the queue.
 */
const accountConcurrency = 4;
/** How long an account write at the end of a grant gives way to membership removals still under way, at most. */
const accountYieldMs = 2000;
/** How long a batch of expiries started by a job gathers the jobs due just after it, before it lists and claims. */
const expiryLingerMs = 40;
/** How far ahead of their end the reconciler refreshes grants' account DNs (several of its runs). */
const accountDnLookaheadMs = 120_000;

/** Runs `work` over `items`, at most `limit` at a time; answers the results that succeeded. */
/** At most `limit` of the work given to it runs at once; the rest waits its turn, first come first served. */
function limiter(limit: number) {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async function run<T>(work: () => Promise<T>): Promise<T> {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

async function mapLimit<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        try {
          results.push(await work(item));
        } catch {
          // Stays `revoking`; retried by the job or the reconciler.
        }
      }
    }),
  );
  return results;
}

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

/** Why an extension is refused by the system (audited `elevation.extension_denied` with that reason). */
const refusedExtension: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'group_protected',
  'technician_suspended',
  'not_eligible',
  'no_tenant_account',
  'profile_suspended',
  'conflict',
]);

/** One batch of expiries: see startExpiry. */
interface ExpiryBatch {
  claimed: Promise<Map<string, Promise<void>>>;
  done: Promise<number>;
}

const sameBytes = (a: Uint8Array | null, b: Uint8Array) => a !== null && Buffer.from(a).equals(Buffer.from(b));

export type ElevationService = ReturnType<typeof createElevationService>;

export function createElevationService(deps: {
  store: Store;
  clock: Clock;
  random: RandomSource;
  access: TenantAccess;
  mfa: MfaService;
  jobs: RevocationJobs;
  removal: MemberRemoval;
  notifications: Notifications;
  log: EventLog;
  settings: ElevationSettings;
}) {
  const { store, clock, access, jobs, log, settings } = deps;
  /**
   * The batch of expiries this process is still claiming, if any: a job whose grant's end has come
   * joins it; once its claim is committed, the next job starts a batch of its own at once rather
   * than wait behind the directory work of this one (ends spread over seconds would otherwise queue
   * behind every account write of the batch before).
   */
  let claiming: ExpiryBatch | null = null;
  /** Every batch of expiries this process has under way (a job's retry waits for them first). */
  const underWay = new Set<Promise<number>>();
  /** Grants claimed by a batch of this process, settled once their memberships are confirmed gone (or are not). */
  const membershipsGone = new Map<string, { gone: Promise<void>; resolve(): void; reject(error: unknown): void }>();
  const accountWrites = limiter(accountConcurrency);
  const quietWaiters = new Set<() => void>();
  /** Called whenever grants leave membershipsGone: account writes waiting for quiet may go. */
  function membershipsSettled() {
    if (membershipsGone.size > 0) return;
    for (const go of [...quietWaiters]) go();
  }
  /**
   * Memberships first: the directory applies writes one at a time, so an account write queued
   * ahead of a batched removal delays every membership in it. Account writes wait while removals
   * are under way in this process (at most accountYieldMs, so a steady stream cannot starve them).
   */
  async function afterRemovals(): Promise<void> {
    if (membershipsGone.size === 0) return;
    await new Promise<void>((resolve) => {
      const go = () => {
        clearTimeout(timer);
        quietWaiters.delete(go);
        resolve();
      };
      const timer = setTimeout(go, accountYieldMs);
      quietWaiters.add(go);
    });
  }
  /** The next batch of expiries this process will start by itself (see followUp), if any. */
  let nextBatch: { at: number; timer: NodeJS.Timeout } | null = null;

  /** Starts a batch of expiries that jobs due meanwhile join (see revokeIfDue), unless one is claiming. */
  function joinExpiry(): ExpiryBatch {
    if (claiming) return claiming;
    const batch = startExpiry('after-linger');
    claiming = batch;
    const over = () => {
      if (claiming === batch) claiming = null;
    };
    batch.claimed.then(over, over);
    return batch;
  }

  /**
   * After a batch started by a job, the next one starts at the next end among the grants whose jobs
   * are ready now: with thousands of ends a second, the worker takes jobs from Redis more slowly
   * than they fall due, and a grant's end must not wait for its own job to be taken. The jobs stay
   * the guarantee (a job whose grant is already ended has nothing to do); this only brings it forward.
   */
  async function followUp(now: Date): Promise<void> {
    const soon = await store.elevations.list({
      states: ['active'],
      endsBefore: new Date(now.getTime() + revocationLeadMs + earlyToleranceMs),
      limit: 5000,
    });
    if (soon.length === 0) return;
    const at = Math.min(...soon.map((e) => e.endsAt!.getTime()));
    if (nextBatch && nextBatch.at <= at) return;
    if (nextBatch) clearTimeout(nextBatch.timer);
    const timer = setTimeout(
      () => {
        nextBatch = null;
        joinExpiry();
      },
      Math.max(0, at - clock.now().getTime()),
    );
    timer.unref();
    nextBatch = { at, timer };
  }
  /**
   * Grants this process is ending now, and how far: the reconciler leaves them to it rather than
   * start the same work twice, and does not call one overdue whose memberships are confirmed gone
   * while its account waits its turn (a directory writes accounts one modify at a time, so the
   * last of thousands can take minutes). Another process may still resume them: it is harmless.
   */
  const ending = new Map<string, 'memberships' | 'accounts'>();

  /** Moves the elevation and writes its audit event in one transaction; false if someone moved it first. */
  async function move(
    e: Elevation,
    to: ElevationState,
    changes: Parameters<Store['elevations']['transition']>[3],
    action: AuditAction,
    actor: string,
    details: Record<string, unknown>,
    ctx: RequestContext,
    leaseHolder?: string,
  ): Promise<boolean> {
    const at = clock.now();
    return store.transaction(async (tx) => {
      if (!(await tx.elevations.transition(e.id, e.state, to, changes, at, leaseHolder))) return false;
      await tx.audit.append({ actor, action, tenantId: e.tenantId, target: e.id, details, ...auditOrigin(ctx) }, at);
      return true;
    });
  }

  /** Tells whoever should hear (Slack); a notice that cannot be queued is logged, never fatal. */
  async function notify(...notices: Notice[]): Promise<void> {
    try {
      await deps.notifications.publish(notices);
    } catch (error) {
      log.warn({ err: (error as Error).message, notices: notices.map((n) => n.kind) }, 'a notification could not be queued');
    }
  }

  /**
   * In the transaction that starts something (a request, an approval, an extension): the tenant
   * must be open, and its row is held until the commit, so a kill switch committing meanwhile
   * either is seen here or finds what this transaction wrote (docs/security-model.md, Kill
   * switches and the tenant freeze).
   */
  async function holdTenantOpen(tx: StoreRepositories, tenantId: string): Promise<void> {
    if (await tx.tenants.holdOpen(tenantId)) return;
    const tenant = await tx.tenants.findById(tenantId);
    if (!tenant) throw new DomainError('not_found', 'No such tenant');
    assertTenantOpen(tenant);
  }

  /** Refused before any code is spent: a frozen or archived tenant starts nothing. */
  async function assertOpen(tenantId: string): Promise<void> {
    assertTenantOpen(await access.tenant(tenantId));
  }

  /** The account as it was before the technician's first live grant in the tenant, once the last one ends. */
  function restoredAccount(e: Elevation, tenant: TenantRecord, account: DirectoryAccount): AccountChanges {
    const steps = e.steps;
    return {
      ...(tenant.keepAccountsDisabled && { userAccountControl: withAccountEnabled(account.userAccountControl, false) }),
      accountExpires: tenant.keepAccountsDisabled ? toFileTime(clock.now()) : (steps?.previousAccountExpires ?? '0'),
      ...(steps?.previousLogonHours !== undefined && {
        logonHours: steps.previousLogonHours === null ? null : Buffer.from(steps.previousLogonHours, 'base64'),
      }),
      ...(steps?.previousUserWorkstations !== undefined && { userWorkstations: steps.previousUserWorkstations }),
    };
  }

  /** Other elevations of the same technician in the same tenant that keep (or are getting) access. */
  async function othersActive(e: Elevation): Promise<Elevation[]> {
    return (await store.elevations.holding(e.tenantId, e.technicianId, e.id)).filter((o) => activeStates.includes(o.state));
  }

  /** Puts the account back as it was before this elevation, keeping what other live grants need. */
  async function undoInDirectory(e: Elevation, directory: TenantDirectory, steps: ActivationSteps, tenant: TenantRecord) {
    const others = await othersActive(e);
    const needed = new Set(others.flatMap((o) => o.groups.map((g) => g.dn.toLowerCase())));
    for (const group of e.groups) {
      if (needed.has(group.dn.toLowerCase())) continue;
      await deps.removal.remove(e.tenantId, directory, group.dn, e.accountDn);
    }
    if (others.length > 0) return;
    const changes: AccountChanges = {};
    if (steps.previousUserAccountControl !== null && tenant.keepAccountsDisabled) {
      changes.userAccountControl = withAccountEnabled(steps.previousUserAccountControl, false);
    }
    if (steps.previousAccountExpires !== null) changes.accountExpires = steps.previousAccountExpires;
    if (steps.previousLogonHours !== undefined)
      changes.logonHours = steps.previousLogonHours === null ? null : Buffer.from(steps.previousLogonHours, 'base64');
    if (steps.previousUserWorkstations !== undefined) changes.userWorkstations = steps.previousUserWorkstations;
    await directory.updateAccount(e.accountDn, changes);
  }

  /**
   * Each of exactly the groups about to be added (the elevation's own copy, never the profile's
   * list of now), found again by GUID, with its protection finding: nesting may have changed since
   * the profile was saved or the request made. Stops at the first protected one. Reads only.
   */
  async function protectionOf(
    directory: TenantDirectory,
    groups: readonly ElevationGroup[],
    extraSids: readonly string[] | Promise<readonly string[]>,
  ) {
    const out: Array<{ group: DirectoryGroup; finding: ProtectedFinding | null }> = [];
    for (const stored of groups) {
      // The nesting search starts with the group's read, by the stored DN: should the read find the
      // group at another DN, the group is refused below and the search is not used.
      const ancestors = directory.ancestorsOf(stored.dn);
      ancestors.catch(() => undefined); // heard below, unless the group is refused first
      const group = await directory.groupByGuid(stored.guid);
      if (!group) throw new DomainError('group_not_found', `The group ${stored.dn} no longer exists`);
      // Members are added (and later removed) by the stored DN: it must still name the group checked.
      if (group.dn.toLowerCase() !== stored.dn.toLowerCase()) {
        throw new DomainError(
          'group_not_found',
          `The group ${stored.dn} was renamed or moved (it is now ${group.dn}); pick it again in the profile`,
          { group: stored.dn },
        );
      }
      const finding = await directory.findProtection(group, await extraSids, ancestors);
      out.push({ group, finding });
      if (finding) break;
    }
    return out;
  }

  /**
   * A group about to be added has become protected (docs/security-model.md, Protected groups): every active profile of the tenant
   * that holds it is suspended and audited, and the add is refused (fail closed).
   */
  async function refuseProtected(
    tenantId: string,
    found: Array<{ group: DirectoryGroup; finding: ProtectedFinding | null }>,
  ): Promise<void> {
    const hit = found.find((g) => g.finding);
    if (!hit) return;
    const { group, finding } = hit as { group: DirectoryGroup; finding: ProtectedFinding };
    const holders = (await store.profiles.listForTenant(tenantId)).filter(
      (p) => p.status === 'active' && p.groups.some((g) => g.guid.toLowerCase() === group.guid.toLowerCase()),
    );
    const at = clock.now();
    await store.transaction(async (tx) => {
      for (const profile of holders) {
        await tx.profiles.setStatus(profile.id, 'suspended', `${group.dn} is protected: ${finding.reason}`, at);
        await tx.audit.append(
          {
            actor: 'system',
            action: 'profile.suspended',
            tenantId,
            target: profile.id,
            details: { group: group.dn, protectedGroup: finding.protectedDn, reason: finding.reason, path: finding.path },
          },
          at,
        );
      }
    });
    const suspended = holders.length
      ? `; ${holders.length === 1 ? 'the profile holding it is' : 'the profiles holding it are'} suspended`
      : '';
    throw new DomainError('group_protected', `${group.dn} has become protected (${finding.reason})${suspended}`, {
      group: group.dn,
      protectedGroup: finding.protectedDn,
      path: finding.path,
    });
  }

  /**
   * What must still hold when a request is about to be granted (or a grant extended), however long
   * it waited: the requester is active, still eligible and still linked to the same account, and
   * the profile is active and grants exactly the groups the request copied (an admin who changed
   * them while it waited changed what was approved: it is refused, to be asked for again).
   */
  async function assertStillGrantable(e: Elevation, profile: AccessProfile, kind: 'activation' | 'extension'): Promise<void> {
    const [requester, link] = await Promise.all([
      store.technicians.findById(e.technicianId),
      store.accounts.find(e.tenantId, e.technicianId),
    ]);
    if (!requester || requester.status !== 'active')
      throw new DomainError(
        'technician_suspended',
        `The requester is suspended; the ${kind === 'activation' ? 'grant cannot start' : 'grant cannot be extended'}`,
      );
    if (!isEligible(profile, requester)) throw new DomainError('not_eligible', 'The requester is no longer eligible for this profile');
    if (!link || link.id !== e.accountId)
      throw new DomainError(
        'no_tenant_account',
        'The requester’s account in this tenant is no longer the one linked when the request was made',
      );
    if (profile.status !== 'active')
      throw new DomainError('profile_suspended', `The profile is suspended: ${profile.suspendedReason ?? ''}`);
    const asked = new Set(e.groups.map((g) => g.guid.toLowerCase()));
    const now = new Set(profile.groups.map((g) => g.guid.toLowerCase()));
    if (asked.size !== now.size || [...asked].some((g) => !now.has(g))) {
      throw new DomainError(
        'conflict',
        `The profile’s groups changed after the request was made; the ${kind === 'activation' ? 'request must be made again' : 'grant cannot be extended'}`,
        {
          requestedGroups: e.groups.map((g) => g.dn),
          profileGroups: profile.groups.map((g) => g.dn),
        },
      );
    }
    if (kind === 'activation' && e.durationSeconds > profile.maxDurationSeconds) {
      throw new DomainError(
        'conflict',
        `The profile’s maximum duration was lowered to ${profile.maxDurationSeconds} seconds after the request was made; the request must be made again`,
      );
    }
  }

  /**
   * What an activation reads before it writes anything, two reads at once: the account (it may have
   * moved or been renamed since it was linked: found by GUID), and the protection of every group
   * the elevation is about to add. Reads only.
   */
  async function activationReads(directory: TenantDirectory, e: Pick<Elevation, 'tenantId' | 'accountGuid' | 'groups'>) {
    // The tenant's own protected groups (docs/security-model.md, Protected groups), for the groups' check and the account's.
    const extra = access.protectedSids(e.tenantId);
    extra.catch(() => undefined); // reported through extraSids below
    const [account, groups, extraSids] = await Promise.allSettled([
      directory.accountByGuid(e.accountGuid),
      protectionOf(directory, e.groups, extra),
      extra,
    ]);
    return { account, groups, extraSids };
  }

  /** Audits that the account of `e` may not be written to (domain/account-eligibility.ts); the error to answer with. */
  async function refuseAccount(e: Elevation, account: DirectoryAccount, reason: string, step: EligibilityStep): Promise<DomainError> {
    await store.transaction((tx) =>
      auditNotEligible(tx, clock.now(), {
        tenantId: e.tenantId,
        technicianId: e.technicianId,
        guid: e.accountGuid,
        dn: account.dn,
        reason,
        step,
        elevationId: e.id,
      }),
    );
    return new DomainError('account_not_eligible', `The linked account ${account.dn} may not be elevated: ${reason}`, {
      account: account.dn,
      reason,
    });
  }

  type ActivationReads = ReturnType<typeof activationReads>;

  /** A new lease for an elevation entering `activating` (docs/architecture.md, Activation leases). */
  const newLease = (at: Date) => ({ holder: deps.random.id(), until: new Date(at.getTime() + settings.activationLeaseMs) });

  /**
   * Keeps the elevation's activation lease while this process works on it: renewed every third of
   * its length. Lost when a renewal finds it taken (the reconciler judged it lapsed) or when it ran
   * out before a renewal got through (the store did not answer): from then on this process writes
   * nothing more to the directory, and its final move is refused, so the one undoing it is never
   * raced by a grant completing under it.
   */
  function keepLease(id: string, lease: { holder: string; until: Date } | null | undefined) {
    let heldUntil = lease?.until.getTime() ?? Infinity;
    let lost = false;
    let renewing = false;
    const timer = lease
      ? setInterval(
          () => {
            if (renewing || lost) return;
            renewing = true;
            const until = new Date(clock.now().getTime() + settings.activationLeaseMs);
            store.elevations
              .renewLease(id, lease.holder, until)
              .then(
                (renewed) => {
                  if (renewed) heldUntil = until.getTime();
                  else lost = true;
                },
                (error: unknown) =>
                  log.warn({ elevationId: id, err: (error as Error).message }, 'could not renew an activation lease; retrying'),
              )
              .finally(() => {
                renewing = false;
              });
          },
          Math.max(250, Math.floor(settings.activationLeaseMs / 3)),
        )
      : null;
    return {
      holder: lease?.holder,
      assertHeld() {
        if (lost || clock.now().getTime() >= heldUntil) {
          lost = true;
          throw new DomainError('conflict', 'The activation ran past its lease and is being undone');
        }
      },
      stop() {
        if (timer) clearInterval(timer);
      },
    };
  }

  type LeaseKeeper = ReturnType<typeof keepLease>;

  /**
   * docs/architecture.md, Activation: in order, under the elevation's activation lease. `ready` carries what the request
   * already holds: the tenant, the profile, the directory and its reads (started while the
   * request's code and intent were being recorded).
   */
  async function activate(
    e: Elevation,
    ctx: RequestContext,
    ready?: { tenant: TenantRecord; profile: AccessProfile; directory: TenantDirectory; reads: ActivationReads },
  ): Promise<Elevation> {
    const lease = keepLease(e.id, e.lease);
    try {
      return await activateLeased(e, ctx, lease, ready);
    } finally {
      lease.stop();
    }
  }

  async function activateLeased(
    e: Elevation,
    ctx: RequestContext,
    lease: LeaseKeeper,
    ready?: { tenant: TenantRecord; profile: AccessProfile; directory: TenantDirectory; reads: ActivationReads },
  ): Promise<Elevation> {
    const tenant = ready?.tenant ?? (await access.tenant(e.tenantId));
    const profile = ready?.profile ?? (await store.profiles.findById(e.profileId));
    const directory = ready?.directory ?? (await access.directory(tenant));
    let steps: ActivationSteps | null = null;
    try {
      if (!profile) throw new DomainError('not_found', 'The profile no longer exists');
      const reads = await (ready?.reads ?? activationReads(directory, e));
      if (reads.account.status === 'rejected') throw reads.account.reason;
      const account = reads.account.value;
      if (!account) throw new DomainError('account_not_found', 'The linked account no longer exists in the domain');
      if (reads.extraSids.status === 'rejected') throw reads.extraSids.reason;
      const refusal = accountWriteRefusal(account, reads.extraSids.value);
      if (refusal) throw await refuseAccount(e, account, refusal, 'activation');
      if (reads.groups.status === 'rejected') throw reads.groups.reason;
      // 1. A group about to be added that has become protected suspends the profiles holding it.
      await refuseProtected(e.tenantId, reads.groups.value);
      // However long it waited for approval: the requester, their link and the profile still allow
      // it. The other live grants of the account are read meanwhile (for the baseline below).
      const othersRead = othersActive(e);
      othersRead.catch(() => undefined); // heard below, unless the checks refuse first
      await assertStillGrantable(e, profile, 'activation');
      if (account.dn !== e.accountDn) {
        await recordAccountMove(store, clock.now(), e.accountId, account.dn, account.samAccountName);
        await store.elevations.updateAccountDn(e.id, account.dn, clock.now());
        e.accountDn = account.dn;
      }
      // Approval may have come after the window closed.
      const window = checkWindow(profile.windows, tenant.timeZone, clock.now());
      if (!window.open) {
        throw new DomainError(
          'outside_window',
          `The profile's window closed before the grant could start; it opens again ${localTime(window.opensAt, tenant.timeZone)}`,
          {
            opensAt: window.opensAt.toISOString(),
          },
        );
      }
      // Remember what the account looked like before the technician's first live grant, so a
      // failure, a crash or the last grant's end can put it back.
      const others = await othersRead;
      const baseline = others.find((o) => o.steps)?.steps;
      steps = {
        previousUserAccountControl: account.userAccountControl,
        previousAccountExpires: others.length ? (baseline?.previousAccountExpires ?? null) : account.accountExpires,
        previousLogonHours: others.length
          ? baseline?.previousLogonHours
          : account.logonHours
            ? Buffer.from(account.logonHours).toString('base64')
            : null,
        previousUserWorkstations: others.length ? baseline?.previousUserWorkstations : account.userWorkstations,
        enabled: false,
        groupsAdded: [],
        ttlMembership: await directory.supportsTtlMembership(),
      };

      const activatedAt = clock.now();
      let endsAt = new Date(activatedAt.getTime() + e.durationSeconds * 1000);
      // A grant never outlives its window (docs/architecture.md, Weekly windows): cut short, and the answer says so.
      let windowClosesAt: Date | null = null;
      if (window.closesAt && window.closesAt < endsAt) {
        endsAt = window.closesAt;
        windowClosesAt = window.closesAt;
      }
      // The revocation job is queued while the directory works, and awaited once the grant is
      // active (as before); should activation fail, the job finds nothing to do at the end.
      const scheduling = jobs.schedule(e.id, endsAt);
      scheduling.catch(() => undefined);
      const latestEnd = Math.max(endsAt.getTime(), ...others.map((o) => o.endsAt?.getTime() ?? 0));
      // 2–4. Enable (where accounts are kept disabled), accountExpires = end + skew, logon hours, workstations.
      const changes: AccountChanges & { accountExpires: string } = {
        accountExpires: toFileTime(new Date(latestEnd + settings.accountExpirySkewMs)),
      };
      if (tenant.keepAccountsDisabled && !isAccountEnabled(account.userAccountControl)) {
        changes.userAccountControl = withAccountEnabled(account.userAccountControl, true);
        steps.enabled = true;
      }
      if (profile.windows.length) {
        const hours = logonHoursFor(profile.windows, tenant.timeZone, activatedAt);
        // Another live grant's hours stay allowed; one without any limit keeps the account unlimited.
        if (others.length === 0) changes.logonHours = hours;
        else if (account.logonHours) changes.logonHours = unionLogonHours(hours, account.logonHours);
      }
      if (profile.workstations.length) {
        const current = others.length && account.userWorkstations ? account.userWorkstations.split(',') : [];
        if (others.length === 0 || current.length) changes.userWorkstations = [...new Set([...current, ...profile.workstations])].join(',');
      }
      // Everything about to be written is recorded before the first write, so that whoever undoes
      // this activation (its own catch, or the lease check should this process die) knows the
      // account's previous settings, whether it enables it, and every group it may have added.
      steps.groupsAdded = e.groups.map((g) => g.dn);
      lease.assertHeld();
      await store.elevations.recordSteps(e.id, steps, clock.now());
      // 2–5 at once: the account's settings, and the group memberships (with a time-to-live where
      // the forest supports it, each read back inside); the settings are read back once written.
      // Neither grants anything before both are done and read back: the grant is active only then,
      // and a failure of either undoes both.
      const accountWritten = (async () => {
        await directory.updateAccount(account.dn, changes);
        return directory.accountByGuid(e.accountGuid);
      })();
      // A TTL link ends with the grant, which a window may have cut short of the requested duration.
      const ttlSeconds = Math.max(1, Math.ceil((endsAt.getTime() - clock.now().getTime()) / 1000));
      const added = (async () => {
        for (const group of e.groups) {
          lease.assertHeld();
          await directory.addMembers(group.dn, [account.dn], steps.ttlMembership ? ttlSeconds : undefined);
        }
      })();
      const [written, membership] = await Promise.allSettled([accountWritten, added]);
      if (written.status === 'rejected') throw written.reason;
      if (membership.status === 'rejected') throw membership.reason;
      const readBack = written.value;
      if (
        !readBack ||
        readBack.accountExpires !== changes.accountExpires ||
        (steps.enabled && !isAccountEnabled(readBack.userAccountControl)) ||
        (changes.logonHours && !sameBytes(readBack.logonHours, changes.logonHours)) ||
        (changes.userWorkstations !== undefined && readBack.userWorkstations !== changes.userWorkstations)
      ) {
        throw new DomainError('directory_error', 'The account settings did not read back as written');
      }
      // 6. The revocation job is in Redis (a grant is never active without it: with Redis away the
      // activation is undone and answers 503), then active.
      await scheduling;
      const moved = await move(
        e,
        'active',
        { activatedAt, endsAt, steps, windowClosesAt },
        'elevation.activated',
        'system',
        {
          endsAt: endsAt.toISOString(),
          groups: e.groups.map((g) => g.dn),
          ttlMembership: steps.ttlMembership,
          accountEnabled: steps.enabled,
          ...(windowClosesAt && { clampedToWindowEnd: windowClosesAt.toISOString() }),
          ...(changes.logonHours && { logonHours: Buffer.from(changes.logonHours).toString('hex') }),
        },
        ctx,
        lease.holder,
      );
      if (!moved) throw new DomainError('conflict', 'The elevation changed while it was being activated');
    } catch (error) {
      const reason = error instanceof DomainError ? error.message : 'The directory refused a change';
      try {
        if (steps) await undoInDirectory(e, directory, steps, tenant);
      } catch (undoError) {
        // Left for the reconciler, which retries the undo of anything stuck in `activating`.
        log.error({ elevationId: e.id, err: (undoError as Error).message }, 'undo after a failed activation did not complete');
        throw new DomainError('activation_failed', `${reason}; undoing it is not finished yet and will be retried`, { elevationId: e.id });
      }
      // Under the lease: once the lease check has taken it over, or a kill switch has claimed it
      // mid-activation, the other party ends the elevation; what this activation wrote is undone above.
      if (
        !(await move(
          e,
          'failed',
          { failureReason: reason, endedAt: clock.now() },
          'elevation.failed',
          'system',
          { reason },
          ctx,
          lease.holder,
        ))
      ) {
        const now = await store.elevations.findById(e.id);
        throw new DomainError(
          'conflict',
          `The grant was ended while it was being activated (${now?.revocationReason ?? now?.state ?? 'gone'}); what it had changed in the directory is undone`,
          {
            elevationId: e.id,
          },
        );
      }
      await notify({ kind: 'ended', elevationId: e.id });
      if (error instanceof DomainError && passedOn.has(error.code)) {
        throw new DomainError(error.code, error.message, { ...error.details, elevationId: e.id });
      }
      throw new DomainError('activation_failed', reason, { elevationId: e.id });
    }
    // Active from here on: nothing below undoes it (should the store fail now, the caller hears
    // 503 and the grant stands, ended by its job).
    await notify({ kind: 'activated', elevationId: e.id });
    return (await store.elevations.findById(e.id))!;
  }

  /**
   * An activation whose lease has lapsed (its process died or hung: docs/architecture.md,
   * Activation leases), or one
   * from before leases untouched for `stuckAfterMs`: its lease is taken over (so a process still
   * alive that renews it in time keeps it, and one that comes back finds it gone), then what it did
   * is undone and it ends `failed`. False when it is not lapsed or was renewed or moved meanwhile.
   */
  async function undoIfLapsed(listed: Elevation, now: Date): Promise<boolean> {
    const lapsed = listed.lease
      ? listed.lease.until.getTime() <= now.getTime()
      : now.getTime() - listed.updatedAt.getTime() > settings.stuckAfterMs;
    if (!lapsed) return false;
    const lease = newLease(clock.now());
    if (!(await store.elevations.takeLease(listed.id, lease.holder, lease.until, now, new Date(now.getTime() - settings.stuckAfterMs))))
      return false;
    const keeper = keepLease(listed.id, lease);
    try {
      // Read again under the lease: the steps as last recorded by the process that died.
      const e = (await store.elevations.findById(listed.id)) ?? listed;
      const tenant = await access.tenant(e.tenantId);
      const steps = e.steps ?? {
        previousUserAccountControl: null,
        previousAccountExpires: null,
        enabled: false,
        groupsAdded: [],
        ttlMembership: false,
      };
      await undoInDirectory(e, await access.directory(tenant), steps, tenant);
      await move(
        { ...e, state: 'activating' },
        'failed',
        { failureReason: 'interrupted during activation; undone', endedAt: clock.now() },
        'elevation.failed',
        'system',
        { reason: 'interrupted', undone: true },
        systemContext,
        lease.holder,
      );
      log.warn({ elevationId: e.id, tenantId: e.tenantId }, 'an activation whose lease lapsed was undone');
      return true;
    } finally {
      keeper.stop();
    }
  }

  /** Ends an elevation in the directory, then in the store. Idempotent: safe to run again after a crash. */
  async function revoke(id: string, reason: RevocationReason, actor: string, ctx: RequestContext): Promise<Elevation> {
    let e = await store.elevations.findById(id);
    if (!e) throw new DomainError('not_found', 'No such elevation');
    if (e.state === 'expired' || e.state === 'revoked') return e;
    if (e.state === 'active') {
      if (!(await move(e, 'revoking', { revocationReason: reason }, 'elevation.revoking', actor, { reason }, ctx)))
        return revoke(id, reason, actor, ctx);
      e = { ...e, state: 'revoking' };
    } else if (e.state !== 'revoking') {
      throw new DomainError('conflict', `An elevation that is ${e.state} cannot be revoked`);
    }
    const tenant = await access.tenant(e.tenantId);
    const directory = await access.directory(tenant);
    // The account may have been renamed or moved during the grant: remove it under its DN of now.
    const current = await directory.accountByGuid(e.accountGuid);
    if (current && current.dn !== e.accountDn) {
      await recordAccountMove(store, clock.now(), e.accountId, current.dn, current.samAccountName);
      await store.elevations.updateAccountDn(e.id, current.dn, clock.now());
      e = { ...e, accountDn: current.dn };
    }
    const others = await othersActive(e);
    const needed = new Set(others.flatMap((o) => o.groups.map((g) => g.dn.toLowerCase())));
    // Membership first, each removal confirmed by a read-back (a batch per group across grants).
    await Promise.all(
      e.groups.filter((g) => !needed.has(g.dn.toLowerCase())).map((g) => deps.removal.remove(e.tenantId, directory, g.dn, e.accountDn)),
    );
    let accountDisabled = others.length === 0 && tenant.keepAccountsDisabled;
    if (others.length === 0) {
      const account = await directory.accountByGuid(e.accountGuid);
      // An account that may not be a tenant account (it became one of a domain controller's, a
      // protected group's…) is never disabled or changed by Stint; its memberships are gone above.
      const refusal = account && accountWriteRefusal(account, await access.protectedSids(e.tenantId));
      if (account && refusal) {
        await refuseAccount(e, account, refusal, 'revocation');
        accountDisabled = false;
      } else if (account) {
        await directory.updateAccount(account.dn, restoredAccount(e, tenant, account));
      }
    }
    const final: ElevationState = reason === 'expired' ? 'expired' : 'revoked';
    const now = clock.now();
    const lagMs = e.endsAt ? now.getTime() - e.endsAt.getTime() : null;
    const moved = await move(
      e,
      final,
      { endedAt: now, revocationReason: reason },
      final === 'expired' ? 'elevation.expired' : 'elevation.revoked',
      actor,
      { reason, groups: e.groups.map((g) => g.dn), accountDisabled, ...(reason === 'expired' && lagMs !== null && { lagMs }) },
      ctx,
    );
    if (!moved) return (await store.elevations.findById(id))!;
    if (reason !== 'expired') await jobs.cancel(id).catch(() => undefined);
    await notify({ kind: 'ended', elevationId: id });
    return (await store.elevations.findById(id))!;
  }

  /**
   * Moves `due` grants from `active` to `revoking` because they expired, each with its audit event,
   * in one transaction: all of them or none. A grant whose end has moved past `endsBy` since it was
   * listed (extended meanwhile) is left alone.
   */
  async function claimExpired(due: Elevation[], endsBy: Date): Promise<Elevation[]> {
    const claimedAt = clock.now();
    return store.transaction(async (tx) => {
      const moved = new Set(
        await tx.elevations.transitionMany(
          due.map((e) => e.id),
          'active',
          'revoking',
          { revocationReason: 'expired' },
          claimedAt,
          endsBy,
        ),
      );
      const mine = due
        .filter((e) => moved.has(e.id))
        .map((e) => ({ ...e, state: 'revoking' as const, revocationReason: 'expired' as const, updatedAt: claimedAt }));
      await tx.audit.appendMany(
        mine.map((e) => ({
          actor: 'system',
          action: 'elevation.revoking' as const,
          tenantId: e.tenantId,
          target: e.id,
          details: { reason: 'expired' },
        })),
        claimedAt,
      );
      return mine;
    });
  }

  /**
   * Claims every active grant whose end has passed (never one before its end) and ends them
   * together; answers how many it ended. Many at once are claimed in chunks, small first, and each
   * chunk's removals start as soon as its claim is committed, so the directory works on the first
   * memberships while the next chunk is being claimed (the batcher merges what arrives meanwhile).
   */
  async function expireDue(now: Date, limit = 50_000): Promise<number> {
    return startExpiry(now, limit).done;
  }

  /**
   * expireDue in two parts (at 'after-linger': what is due once the jobs due just after have
   * joined, see revokeIfDue): `claimed` settles once the claims are committed, with a promise per
   * grant claimed that settles once its memberships are confirmed gone; `done` once every grant
   * claimed is final (accounts written, state and audit stored), answering how many ended.
   */
  function startExpiry(at: Date | 'after-linger', limit = 50_000): ExpiryBatch {
    let claimedNow!: (grants: Map<string, Promise<void>>) => void;
    let claimFailed!: (error: unknown) => void;
    const claimed = new Promise<Map<string, Promise<void>>>((resolve, reject) => {
      claimedNow = resolve;
      claimFailed = reject;
    });
    claimed.catch(() => undefined); // heard by the jobs that joined, if any
    const mine = new Map<string, Promise<void>>();
    const done = (async () => {
      if (at === 'after-linger') await sleep(expiryLingerMs);
      const now = at === 'after-linger' ? clock.now() : at;
      const due = await store.elevations.list({ states: ['active'], endsBefore: now, limit });
      const runs: Promise<number>[] = [];
      let claimError: unknown = null;
      try {
        for (let i = 0, size = firstClaimChunk; i < due.length; i += size, size = Math.min(size * 2, claimChunk)) {
          const chunk = await claimExpired(due.slice(i, i + size), now);
          for (const e of chunk) {
            let settle!: { resolve(): void; reject(error: unknown): void };
            const gone = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
            gone.catch(() => undefined); // heard by the job that waits for it, if any
            membershipsGone.set(e.id, { gone, ...settle });
            mine.set(e.id, gone);
          }
          runs.push(endTogether(chunk));
        }
      } catch (error) {
        // What was claimed is still ended below; the rest stays `active` for its own job or the reconciler.
        claimError = error;
      }
      claimedNow(mine);
      if (at === 'after-linger' && mine.size > 0) {
        await followUp(now).catch((error: unknown) =>
          log.warn({ err: (error as Error).message }, 'could not look for the next grants to end; their jobs end them'),
        );
      }
      const results = await Promise.allSettled(runs);
      const failed = results.find((r) => r.status === 'rejected');
      if (claimError ?? failed) throw claimError ?? failed!.reason;
      return results.reduce((sum, r) => sum + (r.status === 'fulfilled' ? r.value : 0), 0);
    })();
    underWay.add(done);
    const settled = (error: unknown) => {
      underWay.delete(done);
      if (error)
        log.warn(
          { err: (error as Error).message },
          'a batch of expiries did not finish; its jobs retry or the reconciler resumes what is left',
        );
      claimFailed(error);
      // A grant whose memberships were never settled (its tenant could not be opened) is not gone.
      for (const id of mine.keys()) {
        membershipsGone.get(id)?.reject(error ?? new Error('the expiry ended before its memberships were confirmed gone'));
        membershipsGone.delete(id);
      }
      membershipsSettled();
    };
    done.then(() => settled(null), settled);
    return { claimed, done };
  }

  /** Brings the stored DN of each grant's account up to date (removals try it first; they are confirmed by GUID). */
  async function syncAccountDns(directory: TenantDirectory, grants: Elevation[]): Promise<void> {
    if (grants.length === 0) return;
    const dns = await directory.accountDnsByGuid(grants.map((g) => g.accountGuid));
    for (const e of grants) {
      const dn = dns.get(e.accountGuid.toLowerCase());
      if (dn && dn !== e.accountDn) {
        await recordAccountMove(store, clock.now(), e.accountId, dn);
        await store.elevations.updateAccountDn(e.id, dn, clock.now());
        e.accountDn = dn;
      }
    }
  }

  /**
   * Ends grants already marked `revoking` (expired, or a kill switch): memberships first (batched
   * per group), then each account, then the final state. Safe to run again: what is done stays done.
   */
  async function endTogether(claimed: Elevation[], actor = 'system', ctx: RequestContext = systemContext): Promise<number> {
    const mine = claimed.filter((e) => !ending.has(e.id));
    for (const e of mine) ending.set(e.id, 'memberships');
    try {
      return await endEach(mine, actor, ctx);
    } finally {
      for (const e of mine) ending.delete(e.id);
    }
  }

  async function endEach(claimed: Elevation[], actor: string, ctx: RequestContext): Promise<number> {
    const byTenant = new Map<string, Elevation[]>();
    for (const e of claimed) byTenant.set(e.tenantId, [...(byTenant.get(e.tenantId) ?? []), e]);
    let ended = 0;
    await Promise.all(
      [...byTenant.entries()].map(async ([tenantId, grants]) => {
        const tenant = await access.tenant(tenantId);
        const directory = await access.directory(tenant);
        const extraSids = await access.protectedSids(tenantId);
        /** Grants whose account may not be written to: left as it is (memberships still removed), audited. */
        const untouched = new Map<string, { dn: string; reason: string }>();
        const endingIds = new Set(grants.map((g) => g.id));
        // What the technicians' other live grants still need, and who keeps no live grant at all.
        const keep = new Map<string, { groups: Set<string>; live: boolean }>(
          grants.map((e) => [e.technicianId, { groups: new Set<string>(), live: false }]),
        );
        for (const o of await store.elevations.list({
          states: activeStates,
          tenantIds: [tenantId],
          technicianIds: [...keep.keys()],
          limit: 1_000_000,
        })) {
          const entry = keep.get(o.technicianId);
          if (!entry || endingIds.has(o.id)) continue;
          entry.live = true;
          for (const g of o.groups) entry.groups.add(g.dn.toLowerCase());
        }
        // Memberships first: the batcher turns these into one modify per group (queue.maxBatch values at most).
        const removals = grants.map(async (e) => {
          const needed = keep.get(e.technicianId)!.groups;
          // By its DN of record, confirmed by objectGUID: an account moved or renamed during its
          // grant is still the one removed (by GUID, once the DN is found not to be a member).
          const member = memberRefWithDn(e.accountGuid, e.accountDn);
          await Promise.all(
            e.groups.filter((g) => !needed.has(g.dn.toLowerCase())).map((g) => deps.removal.remove(tenantId, directory, g.dn, member)),
          );
          return e;
        });
        const settledRemovals = await Promise.allSettled(removals);
        const gone = settledRemovals.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        for (const e of gone) ending.set(e.id, 'accounts');
        // The jobs of these grants may finish now: their memberships are confirmed gone (see revokeIfDue).
        grants.forEach((e, i) => {
          const outcome = settledRemovals[i]!;
          const waiter = membershipsGone.get(e.id);
          membershipsGone.delete(e.id);
          if (outcome.status === 'fulfilled') waiter?.resolve();
          else waiter?.reject(outcome.reason);
        });
        membershipsSettled();
        // Bookkeeping once the memberships are settled (off their path): the stored DNs of accounts
        // moved or renamed during their grant.
        await syncAccountDns(directory, gone).catch((error: unknown) => {
          log.warn({ tenantId, err: (error as Error).message }, 'could not bring the stored DNs of ending grants up to date');
        });
        // Then the accounts, a few at a time, in slices: each slice of grants is final once both
        // its memberships and its accounts are done, so early grants do not wait for late ones.
        let finishedCount = 0;
        for (let i = 0; i < gone.length; i += 200) {
          const finished = await mapLimit(gone.slice(i, i + 200), accountConcurrency, async (e) => {
            const rest = keep.get(e.technicianId)!;
            if (!rest.live) {
              await afterRemovals();
              await accountWrites(async () => {
                const account = await directory.accountByGuid(e.accountGuid);
                const refusal = account && accountWriteRefusal(account, extraSids);
                if (account && refusal) untouched.set(e.id, { dn: account.dn, reason: refusal });
                else if (account) await directory.updateAccount(account.dn, restoredAccount(e, tenant, account));
              });
            }
            return e;
          });
          const endedAt = clock.now();
          const done = await store.transaction(async (tx) => {
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
                actor,
                action: e.revocationReason === 'expired' ? ('elevation.expired' as const) : ('elevation.revoked' as const),
                tenantId,
                target: e.id,
                details: {
                  reason: e.revocationReason,
                  groups: e.groups.map((g) => g.dn),
                  accountDisabled: !keep.get(e.technicianId)!.live && tenant.keepAccountsDisabled && !untouched.has(e.id),
                  ...(e.revocationReason === 'expired' && { lagMs: endedAt.getTime() - e.endsAt!.getTime() }),
                },
                ...auditOrigin(ctx),
              })),
              endedAt,
            );
            for (const e of movedNow) {
              const refused = untouched.get(e.id);
              if (refused) {
                await auditNotEligible(tx, endedAt, {
                  tenantId,
                  technicianId: e.technicianId,
                  guid: e.accountGuid,
                  dn: refused.dn,
                  reason: refused.reason,
                  step: 'revocation',
                  elevationId: e.id,
                });
              }
            }
            return movedNow;
          });
          ended += done.length;
          await notify(...done.map((e) => ({ kind: 'ended' as const, elevationId: e.id })));
          finishedCount += finished.length;
        }
        if (finishedCount < grants.length) {
          // Left in `revoking`: the job's retry or the reconciler finishes them.
          throw new DomainError(
            'directory_unreachable',
            `${grants.length - finishedCount} grant(s) of ${tenantId} could not be revoked yet`,
          );
        }
      }),
    );
    return ended;
  }

  const pendingOf = (technicianId: string, tenantId: string) =>
    store.elevations.list({ states: ['pending_approval'], technicianId, tenantIds: [tenantId], limit: 1000 });

  /** Where an extension by `seconds` would end: within the profile's maximum total and the window. */
  function plannedExtension(
    e: Elevation,
    profile: AccessProfile,
    tenant: TenantRecord,
    seconds: number,
  ): { endsAt: Date; windowClosesAt: Date | null } {
    if (!Number.isInteger(seconds) || seconds <= 0)
      throw new DomainError('validation_failed', 'An extension is a positive number of seconds', { field: 'durationSeconds' });
    const latest = e.activatedAt!.getTime() + profile.maxTotalDurationSeconds * 1000;
    let endsAt = new Date(e.endsAt!.getTime() + seconds * 1000);
    if (endsAt.getTime() > latest) {
      throw new DomainError(
        'extension_refused',
        `A grant of this profile runs ${profile.maxTotalDurationSeconds} seconds at most in all; this one may run until ${new Date(latest).toISOString()}`,
        {
          maxTotalDurationSeconds: profile.maxTotalDurationSeconds,
          latestEndsAt: new Date(latest).toISOString(),
        },
      );
    }
    let windowClosesAt = e.windowClosesAt;
    const window = checkWindow(profile.windows, tenant.timeZone, clock.now());
    if (!window.open)
      throw new DomainError('outside_window', 'The profile’s window has closed; the grant cannot be extended', {
        opensAt: window.opensAt.toISOString(),
      });
    if (window.closesAt && window.closesAt < endsAt) {
      endsAt = window.closesAt;
      windowClosesAt = window.closesAt;
      if (endsAt.getTime() <= e.endsAt!.getTime()) {
        throw new DomainError(
          'extension_refused',
          `The window closes ${localTime(window.closesAt, tenant.timeZone)}; the grant already ends then`,
          {
            windowClosesAt: window.closesAt.toISOString(),
          },
        );
      }
    }
    return { endsAt, windowClosesAt };
  }

  /** Moves the end of an active grant: the directory first (accountExpires, TTL), then the store, then the job. */
  async function applyExtension(before: Elevation, seconds: number, actor: string, at: Date, ctx: RequestContext): Promise<Elevation> {
    const e = await store.elevations.findById(before.id);
    if (!e || e.state !== 'active') throw new DomainError('conflict', 'The grant ended before it could be extended');
    const profile = await store.profiles.findById(e.profileId);
    if (!profile) throw new DomainError('not_found', 'The profile no longer exists');
    const tenant = await access.tenant(e.tenantId);
    assertTenantOpen(tenant);
    const target = plannedExtension(e, profile, tenant, seconds);
    const directory = await access.directory(tenant);
    const account = await directory.accountByGuid(e.accountGuid);
    if (!account) throw new DomainError('account_not_found', 'The linked account no longer exists in the domain');
    const extraSids = await access.protectedSids(e.tenantId);
    // An extension keeps (and, with TTL membership, adds again) the grant's groups: checked like an
    // activation. The groups first: a group of the grant nested into a protected one also puts the
    // account inside it, and the group is what must be refused (and its profiles suspended).
    try {
      await refuseProtected(e.tenantId, await protectionOf(directory, e.groups, extraSids));
      await assertStillGrantable(e, profile, 'extension');
    } catch (error) {
      if (!(error instanceof DomainError) || !refusedExtension.has(error.code)) throw error;
      const now = clock.now();
      await store.transaction((tx) =>
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
    const refusal = accountWriteRefusal(account, extraSids);
    if (refusal) throw await refuseAccount(e, account, refusal, 'extension');
    const latestEnd = Math.max(target.endsAt.getTime(), ...(await othersActive(e)).map((o) => o.endsAt?.getTime() ?? 0));
    const accountExpires = toFileTime(new Date(latestEnd + settings.accountExpirySkewMs));
    // A later accountExpires first: should the store write fail, the directory errs on the side
    // of the revocation job, which still runs at the old end and takes everything away.
    await directory.updateAccount(account.dn, { accountExpires });
    if ((await directory.accountByGuid(e.accountGuid))?.accountExpires !== accountExpires) {
      throw new DomainError('directory_error', 'The new accountExpires did not read back as written');
    }
    if (e.steps?.ttlMembership) {
      const ttl = Math.ceil((target.endsAt.getTime() - clock.now().getTime()) / 1000);
      for (const group of e.groups) await directory.addMembers(group.dn, [account.dn], ttl);
    }
    const addedSeconds = (target.endsAt.getTime() - e.endsAt!.getTime()) / 1000;
    const now = clock.now();
    await store.transaction(async (tx) => {
      await holdTenantOpen(tx, e.tenantId);
      const changes = {
        endsAt: target.endsAt,
        windowClosesAt: target.windowClosesAt,
        extension: null,
        extendedSeconds: e.extendedSeconds + addedSeconds,
      };
      if (!(await tx.elevations.transition(e.id, 'active', 'active', changes, now)))
        throw new DomainError('conflict', 'The grant ended before it could be extended');
      await tx.audit.append(
        {
          actor,
          action: 'elevation.extended',
          tenantId: e.tenantId,
          target: e.id,
          details: {
            requestedSeconds: seconds,
            addedSeconds,
            previousEndsAt: e.endsAt!.toISOString(),
            endsAt: target.endsAt.toISOString(),
            ...(target.windowClosesAt &&
              target.windowClosesAt.getTime() === target.endsAt.getTime() && { clampedToWindowEnd: target.windowClosesAt.toISOString() }),
            requestedAt: at.toISOString(),
          },
          ...auditOrigin(ctx),
        },
        now,
      );
    });
    await jobs.schedule(e.id, target.endsAt);
    await notify({ kind: 'extended', elevationId: e.id });
    return (await store.elevations.findById(e.id))!;
  }

  /**
   * One approver's decision on a request (round 0) or on an extension (its round). The elevation
   * row is locked first, so concurrent decisions are counted one after the other.
   */
  async function decide(
    approver: TechnicianRecord,
    id: string,
    decision: DecisionKind,
    code: string,
    reason: string | null,
    ctx: RequestContext,
  ): Promise<Elevation> {
    const e = await store.elevations.findById(id);
    if (!e || !visible(approver, e)) throw new DomainError('not_found', 'No such elevation');
    const round = e.state === 'pending_approval' ? 0 : e.state === 'active' && e.extension ? e.extension.round : null;
    if (round === null) throw new DomainError('approval_closed', `Nothing of this elevation waits for approval (it is ${e.state})`);
    assertMayDecide(approver, e);
    const deadline = round === 0 ? e.approvalDeadline : e.extension!.deadline;
    if (deadline && deadline.getTime() <= clock.now().getTime()) {
      await endOverdueApprovals([e]);
      throw new DomainError('approval_closed', 'The request was not decided in time and has lapsed');
    }
    if (e.decisions.some((d) => d.round === round && d.approverId === approver.id)) {
      throw new DomainError('already_decided', 'You have already decided on this request; your decision counts once');
    }
    await assertOpen(e.tenantId);
    const from: ElevationState = round === 0 ? 'pending_approval' : 'active';
    const outcome = await deps.mfa.verifyFreshCode(approver, code, `elevation.${decision}`, ctx, async (tx, at) => {
      await holdTenantOpen(tx, e.tenantId);
      // The lock: a no-op update of the row, guarded by its state.
      if (!(await tx.elevations.transition(id, from, from, {}, at)))
        throw new DomainError('approval_closed', 'The request was decided meanwhile');
      const d: Decision = { round, approverId: approver.id, decision, reason, at };
      if (!(await tx.elevations.addDecision(id, d)))
        throw new DomainError('already_decided', 'You have already decided on this request; your decision counts once');
      const current = (await tx.elevations.findById(id))!;
      if (round > 0 && current.extension?.round !== round)
        throw new DomainError('approval_closed', 'The extension request was decided meanwhile');
      const result = tally(current.decisions, round, e.approvalsRequired);
      const details = {
        round,
        approvals: result.approvals,
        required: e.approvalsRequired,
        reason,
        ...(round > 0 && { extensionSeconds: current.extension!.seconds }),
      };
      await tx.audit.append(
        {
          actor: approver.id,
          action: decision === 'approve' ? 'elevation.approved' : 'elevation.denied',
          tenantId: e.tenantId,
          target: id,
          details,
          ...auditOrigin(ctx),
        },
        at,
      );
      if (result.outcome === 'denied' && round === 0) {
        await tx.elevations.transition(id, 'pending_approval', 'denied', { endedAt: at }, at);
      } else if (result.outcome === 'denied') {
        await tx.elevations.transition(id, 'active', 'active', { extension: null }, at);
        await tx.audit.append(
          {
            actor: approver.id,
            action: 'elevation.extension_denied',
            tenantId: e.tenantId,
            target: id,
            details: { round },
            ...auditOrigin(ctx),
          },
          at,
        );
      } else if (result.outcome === 'approved' && round === 0) {
        const lease = newLease(at);
        await tx.elevations.transition(id, 'pending_approval', 'activating', { lease }, at);
        return { outcome: result.outcome, extension: current.extension, at, lease };
      } else if (result.outcome === 'approved') {
        await tx.elevations.transition(id, 'active', 'active', { extension: null }, at);
      }
      return { outcome: result.outcome, extension: current.extension, at, lease: null };
    });
    await notify({ kind: 'decided', elevationId: id, approverId: approver.id, decision });
    if (outcome.outcome === 'denied' && round === 0) await notify({ kind: 'ended', elevationId: id });
    if (outcome.outcome === 'approved' && round === 0) return activate({ ...e, state: 'activating', lease: outcome.lease }, ctx);
    if (outcome.outcome === 'approved')
      return applyExtension(e, outcome.extension!.seconds, approver.id, outcome.extension!.requestedAt, ctx);
    return (await store.elevations.findById(id))!;
  }

  /** Requests (and extension requests) nobody decided on in time: the request ends `cancelled`, the extension lapses. */
  async function endOverdueApprovals(lapsed: Elevation[]): Promise<number> {
    let ended = 0;
    for (const e of lapsed) {
      const at = clock.now();
      const done = await store.transaction(async (tx) => {
        if (e.state === 'pending_approval') {
          if (!(await tx.elevations.transition(e.id, 'pending_approval', 'cancelled', { endedAt: at }, at))) return false;
          await tx.audit.append(
            {
              actor: 'system',
              action: 'elevation.cancelled',
              tenantId: e.tenantId,
              target: e.id,
              details: { reason: 'approval_timeout', deadline: e.approvalDeadline?.toISOString() ?? null },
            },
            at,
          );
          return true;
        }
        if (!e.extension || !(await tx.elevations.transition(e.id, 'active', 'active', { extension: null }, at))) return false;
        await tx.audit.append(
          {
            actor: 'system',
            action: 'elevation.extension_expired',
            tenantId: e.tenantId,
            target: e.id,
            details: { round: e.extension.round, deadline: e.extension.deadline.toISOString() },
          },
          at,
        );
        return true;
      });
      if (done) {
        ended++;
        if (e.state === 'pending_approval') await notify({ kind: 'ended', elevationId: e.id });
      }
    }
    return ended;
  }

  /**
   * Claims active grants for `reason` (one transaction), then ends them through the batched path.
   * Grants still `activating` are claimed too: their activation then finds them gone, undoes what
   * it wrote and never makes them active (activate's final move is guarded by the state).
   */
  async function revokeMany(
    grants: Elevation[],
    reason: RevocationReason,
    actor: string,
    ctx: RequestContext,
  ): Promise<{ claimed: number; revoked: number }> {
    const active = grants.filter((e) => e.state === 'active' || e.state === 'activating');
    if (active.length === 0) return { claimed: 0, revoked: 0 };
    const at = clock.now();
    const claimed = await store.transaction(async (tx) => {
      const moved = new Set([
        ...(await tx.elevations.transitionMany(
          active.filter((e) => e.state === 'active').map((e) => e.id),
          'active',
          'revoking',
          { revocationReason: reason },
          at,
        )),
        ...(await tx.elevations.transitionMany(
          active.filter((e) => e.state === 'activating').map((e) => e.id),
          'activating',
          'revoking',
          { revocationReason: reason },
          at,
        )),
      ]);
      const mine = active
        .filter((e) => moved.has(e.id))
        .map((e) => ({ ...e, state: 'revoking' as const, revocationReason: reason, updatedAt: at }));
      await tx.audit.appendMany(
        mine.map((e) => ({
          actor,
          action: 'elevation.revoking' as const,
          tenantId: e.tenantId,
          target: e.id,
          details: { reason },
          ...auditOrigin(ctx),
        })),
        at,
      );
      return mine;
    });
    try {
      return { claimed: claimed.length, revoked: await endTogether(claimed, actor, ctx) };
    } catch (error) {
      // Those left `revoking` are finished by the reconciler once the directory answers.
      log.warn({ err: (error as Error).message, reason }, 'some grants could not be ended yet; the reconciler retries');
      const now = await Promise.all(claimed.map((e) => store.elevations.findById(e.id)));
      return { claimed: claimed.length, revoked: now.filter((e) => e?.state === 'revoked').length };
    }
  }

  /** Withdraws requests still waiting for approval (one transaction, each audited); answers how many. */
  async function cancelPending(pending: Elevation[], actor: string, reason: 'technician_suspended', ctx: RequestContext): Promise<number> {
    if (pending.length === 0) return 0;
    const at = clock.now();
    const moved = await store.transaction(async (tx) => {
      const ids = await tx.elevations.transitionMany(
        pending.map((e) => e.id),
        'pending_approval',
        'cancelled',
        { endedAt: at },
        at,
      );
      const byId = new Map(pending.map((e) => [e.id, e]));
      await tx.audit.appendMany(
        ids.map((id) => ({
          actor,
          action: 'elevation.cancelled' as const,
          tenantId: byId.get(id)!.tenantId,
          target: id,
          details: { reason },
          ...auditOrigin(ctx),
        })),
        at,
      );
      return ids;
    });
    await notify(...moved.map((id) => ({ kind: 'ended' as const, elevationId: id })));
    return moved.length;
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

  /** Everything of a (frozen) tenant ended: pending requests withdrawn, live grants ended, mid-activation ones included. */
  async function endTenant(tenantId: string, actor: string, ctx: RequestContext) {
    const open = await store.elevations.list({
      tenantIds: [tenantId],
      states: ['pending_approval', 'activating', 'active'],
      limit: 1_000_000,
    });
    return killAll(open, actor, ctx);
  }

  /** The kill switches' common part: pending requests withdrawn, live grants (active or mid-activation) ended together. */
  async function killAll(
    open: Elevation[],
    actor: string,
    ctx: RequestContext,
  ): Promise<{ revoked: number; cancelled: number; stillRevoking: number }> {
    const pending = open.filter((e) => e.state === 'pending_approval');
    let cancelled = 0;
    if (pending.length) {
      const at = clock.now();
      const moved = await store.transaction(async (tx) => {
        const ids = await tx.elevations.transitionMany(
          pending.map((e) => e.id),
          'pending_approval',
          'cancelled',
          { endedAt: at },
          at,
        );
        const byId = new Map(pending.map((e) => [e.id, e]));
        await tx.audit.appendMany(
          ids.map((id) => ({
            actor,
            action: 'elevation.cancelled' as const,
            tenantId: byId.get(id)!.tenantId,
            target: id,
            details: { reason: 'kill_switch' },
            ...auditOrigin(ctx),
          })),
          at,
        );
        return ids;
      });
      cancelled = moved.length;
      await notify(...moved.map((id) => ({ kind: 'ended' as const, elevationId: id })));
    }
    const { claimed, revoked } = await revokeMany(open, 'kill_switch', actor, ctx);
    return { revoked, cancelled, stillRevoking: claimed - revoked };
  }

  /** docs/security-model.md, Risk signals: the request scored from the technician's own history and recent MFA failures. */
  async function assessRequestRisk(technicianId: string, tenant: TenantRecord, at: Date): Promise<RiskAssessment> {
    const risk = settings.risk ?? riskDefaults;
    const since = new Date(at.getTime() - Math.max(risk.baseline.lookbackDays * 86_400_000, risk.fanOut.windowMinutes * 60_000));
    const mfaSince = new Date(at.getTime() - risk.mfa.windowHours * 3_600_000);
    const until = new Date(at.getTime() + 1);
    const [history, elevated, failed, replayed, locked] = await Promise.all([
      store.elevations.requestHistory(technicianId, since, riskHistoryLimit),
      store.elevations.elevatedTenants(technicianId),
      store.audit.list({ actor: technicianId, action: 'mfa.verify.failed', from: mfaSince, to: until, limit: 100 }),
      store.audit.list({ actor: technicianId, action: 'mfa.replay_refused', from: mfaSince, to: until, limit: 100 }),
      store.audit.list({ action: 'mfa.locked', target: technicianId, from: mfaSince, to: until, limit: 1 }),
    ]);
    return assessRisk(
      {
        at,
        tenantId: tenant.id,
        timeZone: tenant.timeZone,
        history: history.filter((r) => r.requestedAt.getTime() <= at.getTime()),
        elevatedTenants: new Set(elevated),
        mfa: { failures: failed.length + replayed.length, lockedOut: locked.length > 0 },
      },
      risk,
    );
  }

  function canSeeAll(t: TechnicianRecord) {
    return hasAnyRole(t.roles, ['auditor', 'admin']);
  }

  function visible(t: TechnicianRecord, e: Elevation) {
    return canSeeAll(t) || e.technicianId === t.id || (t.roles.includes('approver') && t.approverTenants.includes(e.tenantId));
  }

  return {
    async request(technician: TechnicianRecord, input: ElevationRequestInput, ctx: RequestContext): Promise<Elevation> {
      // docs/architecture.md, Requesting: whatever session or open Slack modal it comes from (callers read the record
      // afresh; activation checks the requester again).
      if (technician.status !== 'active') throw new DomainError('technician_suspended', 'A suspended technician cannot request access');
      const tenant = await store.tenants.findById(input.tenantId);
      const profile = tenant ? await store.profiles.findByName(tenant.id, input.profile) : null;
      // Same answer for "no such tenant/profile" and "not yours": nothing about other tenants leaks.
      if (!tenant || !profile || !isEligible(profile, technician)) {
        throw new DomainError('not_eligible', 'You are not eligible for that profile');
      }
      assertTenantOpen(tenant);
      if (profile.status !== 'active')
        throw new DomainError('profile_suspended', `The profile is suspended: ${profile.suspendedReason ?? ''}`);
      const account = await store.accounts.find(tenant.id, technician.id);
      if (!account) throw new DomainError('no_tenant_account', 'You have no linked account in this tenant; ask an admin to link it');
      const durationSeconds = checkRequest(profile, input);
      const open = [...(await store.elevations.holding(tenant.id, technician.id, '')), ...(await pendingOf(technician.id, tenant.id))];
      if (open.some((o) => o.profileId === profile.id)) {
        throw new DomainError('already_active', 'You already hold or await this profile; extend it instead');
      }
      const now = clock.now();
      const window = checkWindow(profile.windows, tenant.timeZone, now);
      if (!window.open) {
        throw new DomainError(
          'outside_window',
          `This profile may be requested only in its windows; the next opens ${localTime(window.opensAt, tenant.timeZone)}`,
          {
            opensAt: window.opensAt.toISOString(),
            timeZone: tenant.timeZone,
          },
        );
      }
      const groups = profile.groups.map((g) => ({ dn: g.dn, guid: g.guid, name: g.name }));
      // Where the profile grants at once, the directory reads an activation begins with go out now,
      // while the risk is scored and the code and the intent are recorded; nothing is written to the
      // directory before all three are done (and a request the risk sends to approval drops them).
      const early =
        profile.approval.required === 0
          ? access.directory(tenant).then((directory) => ({
              directory,
              reads: activationReads(directory, { tenantId: tenant.id, accountGuid: account.guid, groups }),
            }))
          : null;
      early?.catch(() => undefined); // heard below where it is used
      // Scored on every request; at or above the tenant's threshold it waits for approval even where
      // the profile grants at once: the profile's own rule if it has one, else one approval by any
      // approver of the tenant (or of the profile's named approvers).
      const risk = await assessRequestRisk(technician.id, tenant, now);
      const flagged = isRiskFlagged(risk, tenant.riskThreshold);
      const approvalsRequired = profile.approval.required > 0 ? profile.approval.required : flagged ? 1 : 0;
      const needsApproval = approvalsRequired > 0;
      const e: Elevation = {
        id: deps.random.id(),
        tenantId: tenant.id,
        profileId: profile.id,
        profileName: profile.name,
        technicianId: technician.id,
        accountId: account.id,
        accountDn: account.dn,
        accountGuid: account.guid,
        groups,
        state: needsApproval ? 'pending_approval' : 'activating',
        lease: needsApproval ? null : newLease(now),
        durationSeconds,
        justification: input.justification?.trim() || null,
        ticket: input.ticket ?? null,
        requestedAt: now,
        activatedAt: null,
        endsAt: null,
        endedAt: null,
        revocationReason: null,
        failureReason: null,
        steps: null,
        overdueAlertedAt: null,
        updatedAt: now,
        approvalsRequired,
        approverIds: profile.approval.approvers,
        approvalDeadline: needsApproval ? new Date(now.getTime() + profile.approval.timeoutSeconds * 1000) : null,
        windowClosesAt: null,
        extension: null,
        extendedSeconds: 0,
        decisions: [],
        risk,
      };
      let ready: Parameters<typeof activate>[2];
      if (!needsApproval && early) ready = { tenant, profile, ...(await early) };
      // A fresh TOTP code; the intent and its audit land in the same transaction as the accepted code.
      await deps.mfa.verifyFreshCode(technician, input.code, 'elevation.request', ctx, async (tx, at) => {
        await holdTenantOpen(tx, tenant.id);
        await tx.elevations.insert(e);
        await tx.audit.append(
          {
            actor: technician.id,
            action: 'elevation.requested',
            tenantId: tenant.id,
            target: e.id,
            details: {
              profile: profile.name,
              durationSeconds,
              justification: e.justification,
              ticket: e.ticket,
              approvalsRequired: e.approvalsRequired,
              ...(e.approvalDeadline && { approvalDeadline: e.approvalDeadline.toISOString() }),
              risk: { score: risk.score, reasons: risk.reasons, threshold: tenant.riskThreshold, flagged },
            },
            ...auditOrigin(ctx),
          },
          at,
        );
        if (flagged) {
          await tx.audit.append(
            {
              actor: 'system',
              action: 'elevation.risk_flagged',
              tenantId: tenant.id,
              target: e.id,
              details: {
                profile: profile.name,
                score: risk.score,
                threshold: tenant.riskThreshold,
                reasons: risk.reasons,
                approvalsRequired,
                profileApprovalsRequired: profile.approval.required,
              },
              ...auditOrigin(ctx),
            },
            at,
          );
        }
      });
      if (flagged) {
        await notify({
          kind: 'alert',
          alert: 'risk',
          subject: `technician ${technician.username} asks for ${profile.name} in ${tenant.id}`,
          details: {
            score: risk.score,
            threshold: tenant.riskThreshold,
            reasons: risk.reasons.map((r) => `${r.signal} +${r.points}: ${r.detail}`).join('; '),
            outcome:
              profile.approval.required > 0 ? 'needs approval (as its profile asks)' : 'needs approval although its profile grants at once',
            elevation: e.id,
          },
        });
      }
      if (needsApproval) {
        await notify({ kind: 'approval_requested', elevationId: e.id });
        return e;
      }
      return activate(e, ctx, ready);
    },

    /** An approver's yes (docs/architecture.md, Approvals), with a fresh TOTP code; the last one needed starts the grant. */
    approve: (approver: TechnicianRecord, id: string, code: string, ctx: RequestContext) =>
      decide(approver, id, 'approve', code, null, ctx),

    /** An approver's no: one is enough to end the request (or the extension request). */
    deny: (approver: TechnicianRecord, id: string, code: string, reason: string | null, ctx: RequestContext) =>
      decide(approver, id, 'deny', code, reason, ctx),

    /** The requester withdraws a request still waiting for approval, or an extension still waiting. */
    async cancel(technician: TechnicianRecord, id: string, ctx: RequestContext): Promise<Elevation> {
      const e = await store.elevations.findById(id);
      if (!e || !visible(technician, e)) throw new DomainError('not_found', 'No such elevation');
      if (e.technicianId !== technician.id) throw new DomainError('forbidden', 'Only the requester may cancel a request');
      if (e.state === 'pending_approval') {
        if (!(await move(e, 'cancelled', { endedAt: clock.now() }, 'elevation.cancelled', technician.id, { reason: 'withdrawn' }, ctx))) {
          throw new DomainError('approval_closed', 'The request was decided meanwhile');
        }
        await notify({ kind: 'ended', elevationId: id });
      } else if (e.state === 'active' && e.extension) {
        const at = clock.now();
        await store.transaction(async (tx) => {
          if (!(await tx.elevations.transition(id, 'active', 'active', { extension: null }, at)))
            throw new DomainError('conflict', 'The elevation changed meanwhile');
          await tx.audit.append(
            {
              actor: technician.id,
              action: 'elevation.extension_denied',
              tenantId: e.tenantId,
              target: id,
              details: { reason: 'withdrawn' },
              ...auditOrigin(ctx),
            },
            at,
          );
        });
      } else {
        throw new DomainError('approval_closed', `Nothing of this elevation waits for approval (it is ${e.state})`);
      }
      return (await store.elevations.findById(id))!;
    },

    /**
     * The owner asks for more time (docs/architecture.md, Extending a grant): a fresh TOTP code, no further than the profile's
     * maximum total or the window's end; approval again where the profile asks for it.
     */
    async extend(
      technician: TechnicianRecord,
      id: string,
      input: { durationSeconds: number; code: string },
      ctx: RequestContext,
    ): Promise<Elevation> {
      const e = await store.elevations.findById(id);
      if (!e || !visible(technician, e)) throw new DomainError('not_found', 'No such elevation');
      if (e.technicianId !== technician.id) throw new DomainError('forbidden', 'Only the owner may extend a grant');
      if (e.state !== 'active' || !e.endsAt || !e.activatedAt)
        throw new DomainError('conflict', `Only an active grant can be extended (it is ${e.state})`);
      if (e.extension) throw new DomainError('conflict', 'An extension of this grant is already waiting for approval');
      const profile = await store.profiles.findById(e.profileId);
      if (!profile || profile.status !== 'active')
        throw new DomainError('profile_suspended', 'The profile is suspended or gone; the grant cannot be extended');
      const tenant = await access.tenant(e.tenantId);
      assertTenantOpen(tenant);
      const target = plannedExtension(e, profile, tenant, input.durationSeconds);
      const reapprove = profile.approval.required > 0 && profile.approval.reapproveExtensions;
      const at = clock.now();
      const round = Math.max(0, ...e.decisions.map((d) => d.round)) + 1;
      await deps.mfa.verifyFreshCode(technician, input.code, 'elevation.extend', ctx, async (tx, now) => {
        await holdTenantOpen(tx, e.tenantId);
        if (!reapprove) return;
        const extension = {
          seconds: input.durationSeconds,
          round,
          requestedAt: now,
          deadline: new Date(now.getTime() + profile.approval.timeoutSeconds * 1000),
        };
        if (!(await tx.elevations.transition(id, 'active', 'active', { extension }, now)))
          throw new DomainError('conflict', 'The grant ended meanwhile');
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
        await notify({ kind: 'approval_requested', elevationId: id });
        return (await store.elevations.findById(id))!;
      }
      return applyExtension(e, input.durationSeconds, technician.id, at, ctx);
    },

    /** What waits for this approver's decision: requests and extension requests of their tenants. */
    async pendingApprovals(approver: TechnicianRecord): Promise<Elevation[]> {
      if (!approver.roles.includes('approver') || approver.approverTenants.length === 0) return [];
      const waiting = await store.elevations.list({
        states: ['pending_approval', 'active'],
        tenantIds: approver.approverTenants,
        limit: 10_000,
      });
      return waiting.filter((e) => {
        if (e.state === 'active' && !e.extension) return false;
        const round = e.state === 'active' ? e.extension!.round : 0;
        if (e.decisions.some((d) => d.round === round && d.approverId === approver.id)) return false;
        try {
          assertMayDecide(approver, e);
          return true;
        } catch {
          return false;
        }
      });
    },

    /**
     * Kill switch (docs/security-model.md, Kill switches and the tenant freeze): suspends a technician (their sessions end at once), withdraws their
     * pending requests and ends every grant they hold, in every tenant, through the batched path.
     */
    async killTechnician(admin: TechnicianRecord, technicianId: string, input: { code: string; reason?: string }, ctx: RequestContext) {
      const target = await store.technicians.findById(technicianId);
      if (!target) throw new DomainError('not_found', 'No such technician');
      if (hasRole(target.roles, 'admin') && target.status === 'active' && (await store.technicians.countActiveAdmins()) <= 1) {
        throw new DomainError('last_admin', 'This is the last active admin; make another admin first');
      }
      const endedSessions = await deps.mfa.verifyFreshCode(admin, input.code, 'kill_switch.technician', ctx, async (tx, at) => {
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
      const open = await store.elevations.list({ technicianId, states: ['pending_approval', 'activating', 'active'], limit: 1_000_000 });
      const result = await killAll(open, admin.id, ctx);
      await notify({
        kind: 'alert',
        alert: 'kill_switch',
        subject: `technician ${target.username}`,
        details: { revoked: result.revoked, cancelled: result.cancelled, endedSessions },
      });
      return { ...result, endedSessions, suspended: true };
    },

    /**
     * Kill switch for one tenant: the tenant is frozen (nothing starts there until an admin lifts
     * it), then every pending request is withdrawn and every grant in it ended, those still being
     * activated included. The freeze commits first: whatever starts after it is refused, whatever
     * started before it is listed here (holdTenantOpen).
     */
    async killTenant(admin: TechnicianRecord, tenantId: string, input: { code: string; reason?: string }, ctx: RequestContext) {
      const tenant = await store.tenants.findById(tenantId);
      if (!tenant) throw new DomainError('not_found', 'No such tenant');
      await deps.mfa.verifyFreshCode(admin, input.code, 'kill_switch.tenant', ctx, async (tx, at) => {
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
      const result = await endTenant(tenantId, admin.id, ctx);
      await notify({
        kind: 'alert',
        alert: 'kill_switch',
        subject: `tenant ${tenantId}`,
        details: { revoked: result.revoked, cancelled: result.cancelled },
      });
      return { ...result, frozen: true as const };
    },

    /** Lifts a tenant's freeze (admin, fresh code); an archived tenant stays as it is. */
    async unfreezeTenant(admin: TechnicianRecord, tenantId: string, input: { code: string }, ctx: RequestContext): Promise<TenantRecord> {
      const tenant = await access.tenant(tenantId);
      if (tenant.archived) throw new DomainError('tenant_archived', `Tenant ${tenantId} is archived; archiving is final`, { tenantId });
      const frozen = tenant.frozen;
      if (!frozen) throw new DomainError('conflict', `Tenant ${tenantId} is not frozen`, { tenantId });
      await deps.mfa.verifyFreshCode(admin, input.code, 'tenant.unfreeze', ctx, async (tx, at) => {
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
      return access.tenant(tenantId);
    },

    /**
     * Archives a tenant (admin, fresh code): frozen first, then everything in it ended as by its
     * kill switch; once nothing of it is live any more it is archived — for good: it grants no
     * access, its directory is no longer opened, and its records stay for the audit. Should some
     * grant not be confirmed gone yet (directory unreachable), the tenant stays frozen and the
     * answer says so: archive it again once the reconciler has ended them.
     */
    async archiveTenant(admin: TechnicianRecord, tenantId: string, input: { code: string; reason?: string }, ctx: RequestContext) {
      const tenant = await access.tenant(tenantId);
      if (tenant.archived) throw new DomainError('tenant_archived', `Tenant ${tenantId} is already archived`, { tenantId });
      const reason = input.reason ?? null;
      await deps.mfa.verifyFreshCode(admin, input.code, 'tenant.archive', ctx, async (tx, at) => {
        await freezeIn(tx, tenantId, admin, reason, 'archive', at, ctx);
      });
      const result = await endTenant(tenantId, admin.id, ctx);
      const at = clock.now();
      await store.transaction(async (tx) => {
        const live = await tx.elevations.list({ tenantIds: [tenantId], states: ['pending_approval', ...holdingStates], limit: 1 });
        if (live.length > 0) {
          throw new DomainError(
            'tenant_in_use',
            `Tenant ${tenantId} is frozen, but some of its grants are not confirmed ended yet; archive it again once they are`,
            {
              stillRevoking: result.stillRevoking,
            },
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
      return { tenant: await access.tenant(tenantId), revoked: result.revoked, cancelled: result.cancelled };
    },

    revoke,

    /** The owner ends their own grant early, or an admin ends anyone's. */
    async revokeByUser(technician: TechnicianRecord, id: string, ctx: RequestContext): Promise<Elevation> {
      const e = await store.elevations.findById(id);
      if (!e || !visible(technician, e)) throw new DomainError('not_found', 'No such elevation');
      const reason: RevocationReason = e.technicianId === technician.id ? 'self' : 'admin';
      if (reason === 'admin' && !technician.roles.includes('admin'))
        throw new DomainError('forbidden', 'Only the owner or an admin may revoke');
      return revoke(id, reason, technician.id, ctx);
    },

    /**
     * The revocation job. A due grant is ended together with every other grant due by now: one
     * claim transaction, one batched removal per group, then each account, then the final states.
     * A grant not due yet (extended, or the clock moved) answers when its job should run again;
     * one another worker is already ending is left to it (the reconciler resumes it should that
     * worker die).
     */
    async revokeIfDue(id: string, retry = false): Promise<'revoked' | 'nothing' | { rescheduleInMs: number }> {
      const e = await store.elevations.findById(id);
      if (!e || !e.endsAt) return 'nothing';
      if (e.state === 'revoking') {
        // First run: another worker's batch claimed it and is ending it. A retry means this job's
        // own batch failed part-way: finish every expiring grant of the tenant left behind.
        if (!retry) return 'nothing';
        // What this process's batches still have in hand is theirs to finish first.
        await Promise.allSettled([...underWay]);
        const left = await store.elevations.list({ states: ['revoking'], tenantIds: [e.tenantId], limit: 5000 });
        await endTogether(left.filter((o) => o.revocationReason === 'expired'));
        return 'revoked';
      }
      if (e.state !== 'active') return 'nothing';
      /** Ready again `revocationLeadMs` before `end`, as when first scheduled. */
      const later = (end: Date) => ({ rescheduleInMs: Math.max(0, end.getTime() - revocationLeadMs - clock.now().getTime()) });
      // The job is made ready a little before the end (revocationLeadMs, jobs.ts), so that BullMQ's
      // promotion of thousands of delayed jobs is not on the critical path; it waits here for the
      // end itself: a grant is never ended before its end. Timers may wake a millisecond early.
      let early = e.endsAt.getTime() - clock.now().getTime();
      if (early > revocationLeadMs + earlyToleranceMs) return later(e.endsAt);
      for (let waits = 0; early > 0 && waits < 5; waits++) {
        await sleep(early);
        early = e.endsAt.getTime() - clock.now().getTime();
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
        const batch = joinExpiry();
        // Claimed by this batch, or by another of this process still removing it: wait for that.
        const gone = (await batch.claimed).get(id) ?? membershipsGone.get(id)?.gone;
        if (gone) {
          await gone;
          return 'revoked';
        }
        const after = await store.elevations.findById(id);
        if (!after || after.state !== 'active' || !after.endsAt) return 'revoked';
        if (after.endsAt > clock.now()) return later(after.endsAt); // extended meanwhile
      }
      return 'revoked';
    },

    expireDue,

    /**
     * The cheap check run every few seconds (queue.leaseCheckIntervalSeconds): activations whose
     * lease has lapsed are undone (docs/architecture.md, Activation leases). Answers how many.
     */
    async undoLapsedActivations(): Promise<number> {
      const now = clock.now();
      let undone = 0;
      for (const e of await store.elevations.list({ states: ['activating'], limit: 10_000 })) {
        try {
          if (await undoIfLapsed(e, now)) undone++;
        } catch (error) {
          log.warn({ elevationId: e.id, err: (error as Error).message }, 'could not undo an activation whose lease lapsed; will retry');
        }
      }
      return undone;
    },

    /** Settles once every batch of expiries this process started is over (the worker waits for it on shutdown). */
    async idle(): Promise<void> {
      while (underWay.size) await Promise.allSettled([...underWay]);
      if (nextBatch) clearTimeout(nextBatch.timer);
      nextBatch = null;
    },

    /** The safety net that runs every 30 s (docs/architecture.md, The reconciler). */
    async reconcile(): Promise<{
      expired: number;
      resumed: number;
      undone: number;
      rescheduled: number;
      overdue: number;
      lapsed: number;
      suspended: number;
      frozen: number;
      errors: number;
    }> {
      const now = clock.now();
      const counts = { expired: 0, resumed: 0, undone: 0, rescheduled: 0, overdue: 0, lapsed: 0, suspended: 0, frozen: 0, errors: 0 };
      // Requests nobody decided on in time end `cancelled`; extension requests lapse.
      counts.lapsed = await endOverdueApprovals(await store.elevations.approvalsPastDeadline(now));
      // A suspended technician keeps nothing: a grant that finished activating after a kill switch
      // (or a plain suspension) is ended here.
      const suspended = new Set((await store.technicians.list()).filter((t) => t.status !== 'active').map((t) => t.id));
      if (suspended.size) {
        const held = await store.elevations.list({ states: ['active', 'pending_approval'], limit: 100_000 });
        const result = await revokeMany(
          held.filter((e) => suspended.has(e.technicianId)),
          'policy',
          'system',
          systemContext,
        );
        // A request that slipped in while its requester was being suspended is withdrawn too.
        const waiting = held.filter((e) => e.state === 'pending_approval' && suspended.has(e.technicianId));
        counts.suspended = result.revoked + (await cancelPending(waiting, 'system', 'technician_suspended', systemContext));
      }
      // A frozen tenant keeps nothing either: what its kill switch could not reach (its process
      // died after the freeze, or a directory did not answer) is ended here.
      for (const tenant of (await store.tenants.list()).filter((t) => t.frozen)) {
        try {
          const result = await endTenant(tenant.id, 'system', systemContext);
          counts.frozen += result.revoked + result.cancelled;
        } catch (error) {
          counts.errors++;
          log.warn(
            { tenantId: tenant.id, err: (error as Error).message },
            'reconcile could not end everything in a frozen tenant; will retry',
          );
        }
      }
      const open = await store.elevations.list({ states: ['activating', 'active', 'revoking'], limit: 100_000 });
      const stuckExpiring: Elevation[] = [];
      const attempt = async (work: () => Promise<unknown>, e: Elevation) => {
        try {
          await work();
          return true;
        } catch (error) {
          counts.errors++;
          log.warn({ elevationId: e.id, err: (error as Error).message }, 'reconcile could not finish an elevation; will retry');
          return false;
        }
      };
      await Promise.all(
        open.map(async (e) => {
          const overdue = e.endsAt && now.getTime() - e.endsAt.getTime() > settings.overdueAfterMs;
          if (overdue && !e.overdueAlertedAt && e.state !== 'activating' && ending.get(e.id) !== 'accounts') {
            counts.overdue++;
            log.warn({ elevationId: e.id, tenantId: e.tenantId, endsAt: e.endsAt }, 'revocation overdue');
            await store.transaction(async (tx) => {
              await tx.elevations.markOverdueAlerted(e.id, now);
              await tx.audit.append(
                {
                  actor: 'system',
                  action: 'elevation.revocation_overdue',
                  tenantId: e.tenantId,
                  target: e.id,
                  details: { endsAt: e.endsAt!.toISOString(), overdueMs: now.getTime() - e.endsAt!.getTime() },
                },
                now,
              );
            });
            await notify({
              kind: 'alert',
              alert: 'revocation_overdue',
              subject: `elevation ${e.id} in ${e.tenantId}`,
              details: { endsAt: e.endsAt!.toISOString(), overdueSeconds: Math.round((now.getTime() - e.endsAt!.getTime()) / 1000) },
            });
          }
          if (e.state === 'active' && e.endsAt && e.endsAt.getTime() <= now.getTime()) {
            // Past its end and still active (a job lost or late): ended together below.
          } else if (e.state === 'revoking' && now.getTime() - e.updatedAt.getTime() > settings.stuckAfterMs && !ending.has(e.id)) {
            if (e.revocationReason !== 'expired') {
              if (await attempt(() => revoke(e.id, e.revocationReason ?? 'admin', 'system', systemContext), e)) counts.resumed++;
            } else {
              stuckExpiring.push(e);
            }
          } else if (e.state === 'activating') {
            let undone = false;
            await attempt(async () => {
              undone = await undoIfLapsed(e, now);
            }, e);
            if (undone) counts.undone++;
          } else if (e.state === 'active' && e.endsAt && !(await jobs.isScheduled(e.id))) {
            await jobs.schedule(e.id, e.endsAt);
            counts.rescheduled++;
          }
        }),
      );
      // Grants ending within the next few runs: the DNs of record of their accounts are brought up
      // to date now, off the expiry's path, so that the removal at the end (by DN, confirmed by
      // GUID) names the account where the directory has it, not where it was at activation.
      const endingSoon = open.filter((e) => e.state === 'active' && e.endsAt && e.endsAt.getTime() - now.getTime() <= accountDnLookaheadMs);
      const soonByTenant = Map.groupBy(endingSoon, (e) => e.tenantId);
      for (const [tenantId, grants] of soonByTenant) {
        try {
          await syncAccountDns(await access.directory(await access.tenant(tenantId)), grants);
        } catch (error) {
          counts.errors++;
          log.warn(
            { tenantId, err: (error as Error).message },
            'could not bring the DNs of grants ending soon up to date; their removal falls back to GUIDs',
          );
        }
      }
      try {
        if (stuckExpiring.length) counts.resumed += await endTogether(stuckExpiring);
        counts.expired = await expireDue(now);
      } catch (error) {
        counts.errors++;
        log.warn({ err: (error as Error).message }, 'reconcile could not end every grant past its end; will retry');
      }
      if (counts.expired + counts.resumed + counts.undone + counts.rescheduled + counts.lapsed + counts.suspended + counts.frozen > 0) {
        await store.transaction((tx) => tx.audit.append({ actor: 'system', action: 'elevation.reconciled', details: counts }, clock.now()));
      }
      return counts;
    },

    /**
     * What the technician may ask for now: active profiles they are eligible for, in tenants where
     * they hold a linked account (docs/architecture.md, Requesting). Windows and approval rules are answered, not checked.
     */
    async requestable(
      technician: TechnicianRecord,
    ): Promise<Array<{ tenant: { id: string; displayName: string; timeZone: string }; profile: AccessProfile }>> {
      if (technician.status !== 'active') return [];
      const eligible = (await store.profiles.listAll()).filter((p) => p.status === 'active' && isEligible(p, technician));
      const out: Array<{ tenant: { id: string; displayName: string; timeZone: string }; profile: AccessProfile }> = [];
      const tenants = new Map<string, { id: string; displayName: string; timeZone: string } | null>();
      for (const profile of eligible) {
        if (!tenants.has(profile.tenantId)) {
          const tenant = await store.tenants.findById(profile.tenantId);
          const linked = tenant ? await store.accounts.find(tenant.id, technician.id) : null;
          // A frozen or archived tenant offers nothing to ask for (requests there are refused).
          tenants.set(
            profile.tenantId,
            tenant && linked && !tenant.frozen && !tenant.archived
              ? { id: tenant.id, displayName: tenant.displayName, timeZone: tenant.timeZone }
              : null,
          );
        }
        const tenant = tenants.get(profile.tenantId);
        if (tenant) out.push({ tenant, profile });
      }
      return out.sort((a, b) => a.tenant.id.localeCompare(b.tenant.id) || a.profile.name.localeCompare(b.profile.name));
    },

    async list(technician: TechnicianRecord, filter: ElevationFilter): Promise<Elevation[]> {
      if (canSeeAll(technician)) return store.elevations.list(filter);
      const own =
        filter.technicianId && filter.technicianId !== technician.id
          ? []
          : await store.elevations.list({ ...filter, technicianId: technician.id });
      const approverTenants = technician.roles.includes('approver')
        ? technician.approverTenants.filter((t) => !filter.tenantIds || filter.tenantIds.includes(t))
        : [];
      const approvable = approverTenants.length ? await store.elevations.list({ ...filter, tenantIds: approverTenants }) : [];
      const merged = new Map([...own, ...approvable].map((e) => [e.id, e]));
      return [...merged.values()].sort((a, b) => b.requestedAt.getTime() - a.requestedAt.getTime()).slice(0, filter.limit ?? 1000);
    },

    async get(technician: TechnicianRecord, id: string): Promise<Elevation> {
      const e = await store.elevations.findById(id);
      if (!e || !visible(technician, e)) throw new DomainError('not_found', 'No such elevation');
      return e;
    },
  };
}
