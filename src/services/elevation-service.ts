// Elevations (SPEC §3, §4, §7): request → activation in the directory → revocation at the end,
// with the store as the source of truth. State is written before the directory is touched, every
// directory write is read back, a failed activation is undone, and the reconciler finishes or
// undoes whatever a crash left half-done.
import { isAccountEnabled, memberRefByGuid, toFileTime, withAccountEnabled } from '../domain/ad.ts';
import type { AuditAction } from '../domain/audit.ts';
import { checkRequest, type ElevationState, type RevocationReason } from '../domain/elevation.ts';
import { DomainError } from '../domain/errors.ts';
import { isEligible } from '../domain/profile.ts';
import { hasAnyRole } from '../domain/roles.ts';
import { auditOrigin, systemContext, type RequestContext } from './context.ts';
import type { MemberRemoval } from './member-removal.ts';
import type { MfaService } from './mfa-service.ts';
import type {
  ActivationSteps,
  Clock,
  Elevation,
  ElevationFilter,
  EventLog,
  RandomSource,
  RevocationJobs,
  Store,
  TechnicianRecord,
  TenantDirectory,
  TenantRecord,
} from './ports.ts';
import type { TenantAccess } from './tenant-access.ts';

export interface ElevationSettings {
  accountExpirySkewMs: number;
  overdueAfterMs: number;
  stuckAfterMs: number;
}

export interface ElevationRequestInput {
  tenantId: string;
  profile: string;
  durationSeconds?: number;
  justification?: string;
  ticket?: string;
  code: string;
}

const activeStates: ElevationState[] = ['activating', 'active'];
/** A job that fires this early is treated as on time (timers are not exact). */
const dueToleranceMs = 1000;
const accountConcurrency = 16;
/** Grants claimed per transaction when many end together: small first, so the directory starts early. */
const firstClaimChunk = 250;
const claimChunk = 1000;
/** The longest a due-batch job waits for the ends of its grants. */
const bucketWaitCapMs = 10_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `work` over `items`, at most `limit` at a time; answers the results that succeeded. */
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

export type ElevationService = ReturnType<typeof createElevationService>;

export function createElevationService(deps: {
  store: Store;
  clock: Clock;
  random: RandomSource;
  access: TenantAccess;
  mfa: MfaService;
  jobs: RevocationJobs;
  removal: MemberRemoval;
  log: EventLog;
  settings: ElevationSettings;
}) {
  const { store, clock, access, jobs, log, settings } = deps;
  /** The batch of expiries this process is running now, if any. */
  let expiring: Promise<number> | null = null;

  /** Moves the elevation and writes its audit event in one transaction; false if someone moved it first. */
  async function move(
    e: Elevation,
    to: ElevationState,
    changes: Parameters<Store['elevations']['transition']>[3],
    action: AuditAction,
    actor: string,
    details: Record<string, unknown>,
    ctx: RequestContext,
  ): Promise<boolean> {
    const at = clock.now();
    return store.transaction(async (tx) => {
      if (!(await tx.elevations.transition(e.id, e.state, to, changes, at))) return false;
      await tx.audit.append({ actor, action, tenantId: e.tenantId, target: e.id, details, ...auditOrigin(ctx) }, at);
      return true;
    });
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
    const changes: { userAccountControl?: number; accountExpires?: string } = {};
    if (steps.previousUserAccountControl !== null && tenant.keepAccountsDisabled) {
      changes.userAccountControl = withAccountEnabled(steps.previousUserAccountControl, false);
    }
    if (steps.previousAccountExpires !== null) changes.accountExpires = steps.previousAccountExpires;
    await directory.updateAccount(e.accountDn, changes);
  }

  async function activate(e: Elevation, ctx: RequestContext): Promise<Elevation> {
    const tenant = await access.tenant(e.tenantId);
    const profile = await store.profiles.findById(e.profileId);
    const directory = await access.directory(tenant);
    let steps: ActivationSteps | null = null;
    try {
      if (!profile) throw new DomainError('not_found', 'The profile no longer exists');
      // The account may have moved or been renamed since it was linked: find it by GUID.
      const account = await directory.accountByGuid(e.accountGuid);
      if (!account) throw new DomainError('account_not_found', 'The linked account no longer exists in the domain');
      if (account.dn !== e.accountDn) {
        await store.accounts.updateDn(e.accountId, account.dn, account.samAccountName, clock.now());
        await store.elevations.updateAccountDn(e.id, account.dn, clock.now());
        e.accountDn = account.dn;
      }
      // 1. Nesting may have changed since the profile was saved: check every group again.
      for (const group of profile.groups) {
        const current = await directory.groupByGuid(group.guid);
        if (!current) throw new DomainError('group_not_found', `The group ${group.dn} no longer exists`);
        const finding = await directory.findProtection(current, []);
        if (finding) {
          const at = clock.now();
          await store.transaction(async (tx) => {
            await tx.profiles.setStatus(profile.id, 'suspended', `${current.dn} is protected: ${finding.reason}`, at);
            await tx.audit.append(
              { actor: 'system', action: 'profile.suspended', tenantId: e.tenantId, target: profile.id, details: { group: current.dn, protectedGroup: finding.protectedDn, reason: finding.reason, path: finding.path } },
              at,
            );
          });
          throw new DomainError('group_protected', `${current.dn} has become protected (${finding.reason}); the profile is suspended`, {
            group: current.dn,
            protectedGroup: finding.protectedDn,
            path: finding.path,
          });
        }
      }
      // Remember what the account looked like before any write, so a failure or crash can undo.
      steps = {
        previousUserAccountControl: account.userAccountControl,
        previousAccountExpires: (await othersActive(e)).length ? null : account.accountExpires,
        enabled: false,
        groupsAdded: [],
        ttlMembership: await directory.supportsTtlMembership(),
      };
      await store.elevations.recordSteps(e.id, steps, clock.now());

      const activatedAt = clock.now();
      const endsAt = new Date(activatedAt.getTime() + e.durationSeconds * 1000);
      const latestEnd = Math.max(endsAt.getTime(), ...(await othersActive(e)).map((o) => o.endsAt?.getTime() ?? 0));
      // 2–4. Enable (where accounts are kept disabled), accountExpires = end + skew, workstations.
      const changes: { userAccountControl?: number; accountExpires: string; userWorkstations?: string } = {
        accountExpires: toFileTime(new Date(latestEnd + settings.accountExpirySkewMs)),
      };
      if (tenant.keepAccountsDisabled && !isAccountEnabled(account.userAccountControl)) {
        changes.userAccountControl = withAccountEnabled(account.userAccountControl, true);
        steps.enabled = true;
      }
      if (profile.workstations.length) changes.userWorkstations = profile.workstations.join(',');
      await directory.updateAccount(account.dn, changes);
      const written = await directory.accountByGuid(e.accountGuid);
      if (!written || written.accountExpires !== changes.accountExpires || (steps.enabled && !isAccountEnabled(written.userAccountControl))) {
        throw new DomainError('directory_error', 'The account settings did not read back as written');
      }
      // 5. Group membership, with a time-to-live where the forest supports it; read back inside.
      for (const group of e.groups) {
        steps.groupsAdded.push(group.dn);
        await store.elevations.recordSteps(e.id, steps, clock.now());
        await directory.addMembers(group.dn, [account.dn], steps.ttlMembership ? e.durationSeconds : undefined);
      }
      // 6. Active, then the revocation job (the reconciler re-creates it should this process die here).
      const moved = await move(
        e,
        'active',
        { activatedAt, endsAt, steps },
        'elevation.activated',
        'system',
        { endsAt: endsAt.toISOString(), groups: e.groups.map((g) => g.dn), ttlMembership: steps.ttlMembership, accountEnabled: steps.enabled },
        ctx,
      );
      if (!moved) throw new DomainError('conflict', 'The elevation changed while it was being activated');
      await jobs.schedule(e.id, endsAt);
      return (await store.elevations.findById(e.id))!;
    } catch (error) {
      const reason = error instanceof DomainError ? error.message : 'The directory refused a change';
      try {
        if (steps) await undoInDirectory(e, directory, steps, tenant);
      } catch (undoError) {
        // Left for the reconciler, which retries the undo of anything stuck in `activating`.
        log.error({ elevationId: e.id, err: (undoError as Error).message }, 'undo after a failed activation did not complete');
        throw new DomainError('activation_failed', `${reason}; undoing it is not finished yet and will be retried`, { elevationId: e.id });
      }
      await move(e, 'failed', { failureReason: reason, endedAt: clock.now() }, 'elevation.failed', 'system', { reason }, ctx);
      if (error instanceof DomainError && (error.code === 'group_protected' || error.code === 'account_not_found')) {
        throw new DomainError(error.code, error.message, { ...error.details, elevationId: e.id });
      }
      throw new DomainError('activation_failed', reason, { elevationId: e.id });
    }
  }

  /** Ends an elevation in the directory, then in the store. Idempotent: safe to run again after a crash. */
  async function revoke(id: string, reason: RevocationReason, actor: string, ctx: RequestContext): Promise<Elevation> {
    let e = await store.elevations.findById(id);
    if (!e) throw new DomainError('not_found', 'No such elevation');
    if (e.state === 'expired' || e.state === 'revoked') return e;
    if (e.state === 'active') {
      if (!(await move(e, 'revoking', { revocationReason: reason }, 'elevation.revoking', actor, { reason }, ctx))) return revoke(id, reason, actor, ctx);
      e = { ...e, state: 'revoking' };
    } else if (e.state !== 'revoking') {
      throw new DomainError('conflict', `An elevation that is ${e.state} cannot be revoked`);
    }
    const tenant = await access.tenant(e.tenantId);
    const directory = await access.directory(tenant);
    // The account may have been renamed or moved during the grant: remove it under its DN of now.
    const current = await directory.accountByGuid(e.accountGuid);
    if (current && current.dn !== e.accountDn) {
      await store.elevations.updateAccountDn(e.id, current.dn, clock.now());
      e = { ...e, accountDn: current.dn };
    }
    const others = await othersActive(e);
    const needed = new Set(others.flatMap((o) => o.groups.map((g) => g.dn.toLowerCase())));
    // Membership first, each removal confirmed by a read-back (a batch per group across grants).
    await Promise.all(
      e.groups.filter((g) => !needed.has(g.dn.toLowerCase())).map((g) => deps.removal.remove(e.tenantId, directory, g.dn, e.accountDn)),
    );
    const accountDisabled = others.length === 0 && tenant.keepAccountsDisabled;
    if (others.length === 0) {
      const account = await directory.accountByGuid(e.accountGuid);
      if (account) {
        await directory.updateAccount(account.dn, {
          ...(tenant.keepAccountsDisabled && { userAccountControl: withAccountEnabled(account.userAccountControl, false) }),
          accountExpires: tenant.keepAccountsDisabled ? toFileTime(clock.now()) : (e.steps?.previousAccountExpires ?? '0'),
        });
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
    return (await store.elevations.findById(id))!;
  }

  /**
   * Moves `due` grants from `active` to `revoking`, each with its audit event, in one transaction:
   * all of a chunk or none. With `endsBy`, a grant whose end has moved past it (extended since it
   * was listed) is left alone.
   */
  async function claim(due: Elevation[], endsBy?: Date): Promise<Elevation[]> {
    if (due.length === 0) return [];
    const claimedAt = clock.now();
    return store.transaction(async (tx) => {
      const moved = new Set(await tx.elevations.transitionMany(due.map((e) => e.id), 'active', 'revoking', { revocationReason: 'expired' }, claimedAt, endsBy));
      const mine = due.filter((e) => moved.has(e.id)).map((e) => ({ ...e, state: 'revoking' as const, revocationReason: 'expired' as const, updatedAt: claimedAt }));
      await tx.audit.appendMany(
        mine.map((e) => ({ actor: 'system', action: 'elevation.revoking' as const, tenantId: e.tenantId, target: e.id, details: { reason: 'expired' } })),
        claimedAt,
      );
      return mine;
    });
  }

  /**
   * Claims `due` in chunks and starts each chunk's removals as soon as its claim is committed, so
   * the directory works on the first memberships while the next chunk is being claimed; accounts
   * and final states follow once every membership is settled. Answers how many it ended.
   */
  async function claimAndEnd(due: Elevation[], endsBy?: Date): Promise<number> {
    const started: Ending[] = [];
    try {
      for (let i = 0, size = firstClaimChunk; i < due.length; i += size, size = Math.min(size * 2, claimChunk)) {
        const claimed = await claim(due.slice(i, i + size), endsBy);
        started.push(...(await startEnding(claimed)));
      }
    } catch (error) {
      // What was claimed is finished below; the rest stays `active` for its own job or the reconciler.
      await finishEnding(started).catch(() => undefined);
      throw error;
    }
    return finishEnding(started);
  }

  /** Claims every active grant due by `now` and ends them together; answers how many it ended. */
  async function expireDue(now: Date, limit = 5000): Promise<number> {
    const due = await store.elevations.list({ states: ['active'], endsBefore: new Date(now.getTime() + dueToleranceMs), limit });
    return claimAndEnd(due);
  }

  /** One tenant's share of grants being ended: what each still needs, and its removals under way. */
  interface Ending {
    tenantId: string;
    tenant: TenantRecord;
    directory: TenantDirectory;
    grants: Array<{ e: Elevation; live: boolean }>;
    /** The grants whose memberships are confirmed gone (a read-back); never rejects. */
    gone: Promise<Elevation[]>;
  }

  /** Brings the stored DN of each grant's account up to date (bookkeeping: removal goes by GUID). */
  async function syncAccountDns(directory: TenantDirectory, grants: Elevation[]): Promise<void> {
    const dns = await directory.accountDnsByGuid(grants.map((g) => g.accountGuid));
    for (const e of grants) {
      const dn = dns.get(e.accountGuid.toLowerCase());
      if (dn && dn !== e.accountDn) {
        await store.elevations.updateAccountDn(e.id, dn, clock.now());
        e.accountDn = dn;
      }
    }
  }

  /**
   * Starts removing the memberships of grants already marked `revoking` because they expired,
   * per tenant: each goes to the batcher (one modify per group), by objectGUID so an account
   * moved or renamed during its grant is still the one removed, and resolves only once a
   * read-back confirms it is gone.
   */
  async function startEnding(claimed: Elevation[]): Promise<Ending[]> {
    const byTenant = new Map<string, Elevation[]>();
    for (const e of claimed) byTenant.set(e.tenantId, [...(byTenant.get(e.tenantId) ?? []), e]);
    return Promise.all(
      [...byTenant.entries()].map(async ([tenantId, grants]): Promise<Ending> => {
        const tenant = await access.tenant(tenantId);
        const directory = await access.directory(tenant);
        const endingIds = new Set(grants.map((g) => g.id));
        // What the technicians' other live grants still need, and who keeps no live grant at all.
        const keep = new Map<string, { groups: Set<string>; live: boolean }>(grants.map((e) => [e.technicianId, { groups: new Set<string>(), live: false }]));
        const technicianIds = [...keep.keys()];
        for (const o of await store.elevations.list({ states: activeStates, tenantIds: [tenantId], technicianIds, limit: 1_000_000 })) {
          const entry = keep.get(o.technicianId);
          if (!entry || endingIds.has(o.id)) continue;
          entry.live = true;
          for (const g of o.groups) entry.groups.add(g.dn.toLowerCase());
        }
        // Memberships first: the batcher turns these into one modify per group (queue.maxBatch values at most).
        const removals = grants.map(async (e) => {
          const needed = keep.get(e.technicianId)!.groups;
          const member = memberRefByGuid(e.accountGuid);
          await Promise.all(e.groups.filter((g) => !needed.has(g.dn.toLowerCase())).map((g) => deps.removal.remove(tenantId, directory, g.dn, member)));
          return e;
        });
        const gone = Promise.allSettled(removals).then((settled) => settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])));
        return { tenantId, tenant, directory, grants: grants.map((e) => ({ e, live: keep.get(e.technicianId)!.live })), gone };
      }),
    );
  }

  /**
   * Ends grants whose removals `startEnding` began: once memberships are confirmed gone, each
   * account (disabled where no live grant is left), then the final state. Safe to run again: what
   * is done stays done; a grant not finished stays `revoking` for the job's retry or the reconciler.
   */
  async function finishEnding(endings: Ending[]): Promise<number> {
    const byTenant = new Map<string, Ending[]>();
    for (const part of endings) byTenant.set(part.tenantId, [...(byTenant.get(part.tenantId) ?? []), part]);
    let ended = 0;
    const failures: string[] = [];
    await Promise.all(
      [...byTenant.entries()].map(async ([tenantId, parts]) => {
        const { tenant, directory } = parts[0]!;
        const live = new Map(parts.flatMap((p) => p.grants.map(({ e, live: l }) => [e.id, l] as const)));
        const total = live.size;
        const gone = (await Promise.all(parts.map((p) => p.gone))).flat();
        // Bookkeeping once the memberships are settled (off their path): the stored DNs of accounts
        // moved or renamed during their grant. Removal went by GUID and does not depend on it.
        await syncAccountDns(directory, gone).catch((error: unknown) => {
          log.warn({ tenantId, err: (error as Error).message }, 'could not bring the stored DNs of ending grants up to date');
        });
        // Then the accounts, a few at a time, in slices: each slice of grants is final once both
        // its memberships and its accounts are done, so early grants do not wait for late ones.
        let finishedCount = 0;
        for (let i = 0; i < gone.length; i += 200) {
          const finished = await mapLimit(gone.slice(i, i + 200), accountConcurrency, async (e) => {
            if (!live.get(e.id)) {
              const account = await directory.accountByGuid(e.accountGuid);
              if (account) {
                await directory.updateAccount(account.dn, {
                  ...(tenant.keepAccountsDisabled && { userAccountControl: withAccountEnabled(account.userAccountControl, false) }),
                  accountExpires: tenant.keepAccountsDisabled ? toFileTime(clock.now()) : (e.steps?.previousAccountExpires ?? '0'),
                });
              }
            }
            return e;
          });
          const endedAt = clock.now();
          await store.transaction(async (tx) => {
            const moved = new Set(await tx.elevations.transitionMany(finished.map((e) => e.id), 'revoking', 'expired', { endedAt, revocationReason: 'expired' }, endedAt));
            const done = finished.filter((e) => moved.has(e.id));
            await tx.audit.appendMany(
              done.map((e) => ({
                actor: 'system',
                action: 'elevation.expired' as const,
                tenantId,
                target: e.id,
                details: { reason: 'expired', groups: e.groups.map((g) => g.dn), accountDisabled: !live.get(e.id) && tenant.keepAccountsDisabled, lagMs: endedAt.getTime() - e.endsAt!.getTime() },
              })),
              endedAt,
            );
            ended += done.length;
          });
          finishedCount += finished.length;
        }
        if (finishedCount < total) failures.push(`${total - finishedCount} grant(s) of ${tenantId}`);
      }),
    );
    // Left in `revoking`: the job's retry or the reconciler finishes them.
    if (failures.length) throw new DomainError('directory_unreachable', `${failures.join(', ')} could not be revoked yet`);
    return ended;
  }

  /** Ends grants already marked `revoking` because they expired (a retry, or the reconciler resuming). */
  async function endTogether(claimed: Elevation[]): Promise<number> {
    return finishEnding(await startEnding(claimed));
  }

  function canSeeAll(t: TechnicianRecord) {
    return hasAnyRole(t.roles, ['auditor', 'admin']);
  }

  function visible(t: TechnicianRecord, e: Elevation) {
    return canSeeAll(t) || e.technicianId === t.id || (t.roles.includes('approver') && t.approverTenants.includes(e.tenantId));
  }

  return {
    async request(technician: TechnicianRecord, input: ElevationRequestInput, ctx: RequestContext): Promise<Elevation> {
      const tenant = await store.tenants.findById(input.tenantId);
      const profile = tenant ? await store.profiles.findByName(tenant.id, input.profile) : null;
      // Same answer for "no such tenant/profile" and "not yours": nothing about other tenants leaks.
      if (!tenant || !profile || !isEligible(profile, technician)) {
        throw new DomainError('not_eligible', 'You are not eligible for that profile');
      }
      if (profile.status !== 'active') throw new DomainError('profile_suspended', `The profile is suspended: ${profile.suspendedReason ?? ''}`);
      const account = await store.accounts.find(tenant.id, technician.id);
      if (!account) throw new DomainError('no_tenant_account', 'You have no linked account in this tenant; ask an admin to link it');
      const durationSeconds = checkRequest(profile, input);
      const open = await store.elevations.holding(tenant.id, technician.id, '');
      if (open.some((o) => o.profileId === profile.id)) {
        throw new DomainError('already_active', 'You already hold this profile; extend it instead');
      }
      const now = clock.now();
      const e: Elevation = {
        id: deps.random.id(),
        tenantId: tenant.id,
        profileId: profile.id,
        profileName: profile.name,
        technicianId: technician.id,
        accountId: account.id,
        accountDn: account.dn,
        accountGuid: account.guid,
        groups: profile.groups.map((g) => ({ dn: g.dn, guid: g.guid, name: g.name })),
        state: 'activating',
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
      };
      // A fresh TOTP code; the intent and its audit land in the same transaction as the accepted code.
      await deps.mfa.verifyFreshCode(technician, input.code, 'elevation.request', ctx, async (tx, at) => {
        await tx.elevations.insert(e);
        await tx.audit.append(
          {
            actor: technician.id,
            action: 'elevation.requested',
            tenantId: tenant.id,
            target: e.id,
            details: { profile: profile.name, durationSeconds, justification: e.justification, ticket: e.ticket },
            ...auditOrigin(ctx),
          },
          at,
        );
      });
      return activate(e, ctx);
    },

    revoke,

    /** The owner ends their own grant early, or an admin ends anyone's. */
    async revokeByUser(technician: TechnicianRecord, id: string, ctx: RequestContext): Promise<Elevation> {
      const e = await store.elevations.findById(id);
      if (!e || !visible(technician, e)) throw new DomainError('not_found', 'No such elevation');
      const reason: RevocationReason = e.technicianId === technician.id ? 'self' : 'admin';
      if (reason === 'admin' && !technician.roles.includes('admin')) throw new DomainError('forbidden', 'Only the owner or an admin may revoke');
      return revoke(id, reason, technician.id, ctx);
    },

    /**
     * The revocation job. A due grant is ended together with every other grant due by now: one
     * claim transaction, one batched removal per group, then each account, then the final states.
     * A grant moved later (extended) is rescheduled; one another worker is already ending is left
     * to it (the reconciler resumes it should that worker die).
     */
    async revokeIfDue(id: string, retry = false): Promise<'revoked' | 'rescheduled' | 'nothing'> {
      const e = await store.elevations.findById(id);
      if (!e || !e.endsAt) return 'nothing';
      const now = clock.now();
      if (e.state === 'revoking') {
        // First run: another worker's batch claimed it and is ending it. A retry means this job's
        // own batch failed part-way: finish every expiring grant of the tenant left behind.
        if (!retry) return 'nothing';
        const left = await store.elevations.list({ states: ['revoking'], tenantIds: [e.tenantId], limit: 5000 });
        await endTogether(left.filter((o) => o.revocationReason === 'expired'));
        return 'revoked';
      }
      if (e.state !== 'active') return 'nothing';
      if (e.endsAt.getTime() > now.getTime() + dueToleranceMs) {
        await jobs.schedule(id, e.endsAt);
        return 'rescheduled';
      }
      // Hundreds of jobs fall due together: the first starts the batch, the rest join it.
      await (expiring ??= expireDue(now).finally(() => {
        expiring = null;
      }));
      const after = await store.elevations.findById(id);
      if (after?.state === 'active') await expireDue(clock.now());
      return 'revoked';
    },

    expireDue,

    /**
     * The due-batch job of one time bucket (see jobs.ts), run shortly before the bucket starts:
     * lists the grants ending by `untilMs` and gets their tenants' directories ready (no state
     * changes), then as each end passes claims every grant whose end has passed
     * (strictly: never before its end) and ends them together. An accelerator only: every grant
     * keeps its own job, and the reconciler covers both. A retry first finishes what an earlier
     * run claimed but could not end.
     */
    async expireBucket(untilMs: number, retry = false): Promise<number> {
      let ended = 0;
      if (retry) {
        const left = await store.elevations.list({ states: ['revoking'], endsBefore: new Date(untilMs), limit: 100_000 });
        ended += await endTogether(left.filter((o) => o.revocationReason === 'expired'));
      }
      const pending = (await store.elevations.list({ states: ['active'], endsBefore: new Date(untilMs - 1), limit: 100_000 }))
        .filter((e) => e.endsAt)
        .sort((a, b) => a.endsAt!.getTime() - b.endsAt!.getTime());
      if (pending.length === 0) return ended;
      // Ready before the end (tenant read, directory connection made), so the end costs a claim and a modify.
      await Promise.all(
        [...new Set(pending.map((e) => e.tenantId))].map(async (tenantId) => {
          const directory = await access.directory(await access.tenant(tenantId));
          await directory.supportsTtlMembership().catch(() => undefined);
        }),
      );
      // Waits at most until the bucket is over (by this clock, and by real time should the clock stand still).
      const waitUntil = performance.now() + Math.min(Math.max(0, untilMs - clock.now().getTime()), bucketWaitCapMs) + 50;
      const runs: Promise<number>[] = [];
      let next = 0;
      while (next < pending.length) {
        const now = clock.now();
        let upTo = next;
        while (upTo < pending.length && pending[upTo]!.endsAt!.getTime() <= now.getTime()) upTo++;
        if (upTo > next) {
          runs.push(claimAndEnd(pending.slice(next, upTo), now));
          next = upTo;
          continue;
        }
        const left = performance.now();
        if (left >= waitUntil) break; // The rest is left to its own jobs.
        await sleep(Math.max(1, Math.min(pending[next]!.endsAt!.getTime() - now.getTime(), waitUntil - left)));
      }
      const results = await Promise.allSettled(runs);
      for (const r of results) if (r.status === 'fulfilled') ended += r.value;
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      return ended;
    },

    /** SPEC §7: the safety net that runs every 30 s. */
    async reconcile(): Promise<{ expired: number; resumed: number; undone: number; rescheduled: number; overdue: number; errors: number }> {
      const now = clock.now();
      const counts = { expired: 0, resumed: 0, undone: 0, rescheduled: 0, overdue: 0, errors: 0 };
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
          if (overdue && !e.overdueAlertedAt && e.state !== 'activating') {
            counts.overdue++;
            log.warn({ elevationId: e.id, tenantId: e.tenantId, endsAt: e.endsAt }, 'revocation overdue');
            await store.transaction(async (tx) => {
              await tx.elevations.markOverdueAlerted(e.id, now);
              await tx.audit.append(
                { actor: 'system', action: 'elevation.revocation_overdue', tenantId: e.tenantId, target: e.id, details: { endsAt: e.endsAt!.toISOString(), overdueMs: now.getTime() - e.endsAt!.getTime() } },
                now,
              );
            });
          }
          if (e.state === 'active' && e.endsAt && e.endsAt.getTime() <= now.getTime()) {
            // Past its end and still active (a job lost or late): ended together below.
          } else if (e.state === 'revoking' && now.getTime() - e.updatedAt.getTime() > settings.stuckAfterMs) {
            if (e.revocationReason !== 'expired') {
              if (await attempt(() => revoke(e.id, e.revocationReason ?? 'admin', 'system', systemContext), e)) counts.resumed++;
            } else {
              stuckExpiring.push(e);
            }
          } else if (e.state === 'activating' && now.getTime() - e.updatedAt.getTime() > settings.stuckAfterMs) {
            const undone = await attempt(async () => {
              const tenant = await access.tenant(e.tenantId);
              const steps = e.steps ?? { previousUserAccountControl: null, previousAccountExpires: null, enabled: false, groupsAdded: [], ttlMembership: false };
              await undoInDirectory(e, await access.directory(tenant), steps, tenant);
              await move(e, 'failed', { failureReason: 'interrupted during activation; undone', endedAt: now }, 'elevation.failed', 'system', { reason: 'interrupted', undone: true }, systemContext);
            }, e);
            if (undone) counts.undone++;
          } else if (e.state === 'active' && e.endsAt && !(await jobs.isScheduled(e.id))) {
            await jobs.schedule(e.id, e.endsAt);
            counts.rescheduled++;
          }
        }),
      );
      try {
        if (stuckExpiring.length) counts.resumed += await endTogether(stuckExpiring);
        counts.expired = await expireDue(now);
      } catch (error) {
        counts.errors++;
        log.warn({ err: (error as Error).message }, 'reconcile could not end every grant past its end; will retry');
      }
      if (counts.expired + counts.resumed + counts.undone + counts.rescheduled > 0) {
        await store.transaction((tx) => tx.audit.append({ actor: 'system', action: 'elevation.reconciled', details: counts }, clock.now()));
      }
      return counts;
    },

    async list(technician: TechnicianRecord, filter: ElevationFilter): Promise<Elevation[]> {
      if (canSeeAll(technician)) return store.elevations.list(filter);
      const own = filter.technicianId && filter.technicianId !== technician.id ? [] : await store.elevations.list({ ...filter, technicianId: technician.id });
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
