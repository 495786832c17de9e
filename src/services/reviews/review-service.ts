// Access reviews (docs/security-model.md, Access reviews): one tenant at a time, on a schedule (a repeatable job per tenant) or on
// demand. A review reads the tenant's directory and the store and records findings with a
// severity (the rules are in domain/review.ts): linked MSP accounts in protected groups, members of
// managed groups without a live grant, MSP accounts enabled without a grant, inactive MSP accounts
// (disabled where the tenant says so), MSP accounts outside Protected Users, and profiles suspended
// because a group became protected. A directory that cannot be read is a critical finding and the
// review is `incomplete`: it never passes silently. An auditor signs a review off with a fresh
// TOTP code; everything is audited; a summary goes to Slack.
import { isAccountEnabled, withAccountEnabled } from '../../domain/ad.ts';
import type { ElevationState } from '../../domain/elevation-state.ts';
import { DomainError, isDomainError } from '../../domain/errors.ts';
import type { ProfileGroup } from '../../domain/profile.ts';
import {
  accountFindings,
  bySeverity,
  countBySeverity,
  findingsDigest,
  isProtectedUsers,
  protectedMembership,
  type ReviewFinding,
  type ReviewStatus,
} from '../../domain/review.ts';
import { accountWriteRefusal, auditNotEligible, recordAccountMove } from '../tenants/index.ts';
import { auditOrigin, systemContext, type RequestContext } from '../context.ts';
import type { MfaService } from '../access/index.ts';
import type { Clock, EventLog, RandomSource } from '../ports/runtime.ts';
import type { Elevation } from '../../domain/elevation.ts';
import type { Notifications } from '../ports/notifications.ts';
import type { Review, ReviewJobs, StoredFinding } from '../ports/reviews.ts';
import type { Store } from '../ports/store.ts';
import type { TableEncoder } from '../ports/audit.ts';
import type { TenantAccount, TenantRecord } from '../ports/tenants.ts';
import type { TenantDirectory } from '../ports/directory.ts';
import type { StreamedExport } from '../audit/index.ts';
import type { TenantAccess } from '../tenants/index.ts';

const liveStates: ElevationState[] = ['activating', 'active', 'revoking'];
/** Directory error codes that mean the review could not read the tenant's domain. */
const directoryFailures = new Set([
  'directory_unreachable',
  'directory_tls_untrusted',
  'directory_bad_credentials',
  'directory_base_dn_missing',
  'directory_insecure',
  'directory_error',
]);

export const reviewExportColumns = [
  'review_id',
  'tenant',
  'severity',
  'kind',
  'subject',
  'technician_id',
  'summary',
  'action',
  'details',
] as const;
export const reviewExportFormats = ['csv', 'json'] as const;
export type ReviewExportFormat = (typeof reviewExportFormats)[number];

export type ReviewService = ReturnType<typeof createReviewService>;

/** A review waiting this long after it was asked for has its job checked (and queued again if lost). */
const reviewResumeAfterMs = 120_000;

export function createReviewService(deps: {
  store: Store;
  clock: Clock;
  random: RandomSource;
  access: TenantAccess;
  mfa: MfaService;
  jobs: ReviewJobs;
  notifications: Notifications;
  encoder(format: 'csv'): TableEncoder;
  log: EventLog;
}) {
  const { store, clock, log } = deps;

  async function mustFind(id: string): Promise<Review> {
    const review = await store.reviews.findById(id);
    if (!review) throw new DomainError('not_found', 'No such review');
    return review;
  }

  async function create(
    tenantId: string,
    trigger: Review['trigger'],
    requestedBy: string | null,
    scheduleKey: string | null,
    ctx: RequestContext,
  ): Promise<Review> {
    const now = clock.now();
    const review: Review = {
      id: deps.random.id(),
      tenantId,
      trigger,
      requestedBy,
      status: 'queued',
      requestedAt: now,
      startedAt: null,
      finishedAt: null,
      counts: { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
      signedOffBy: null,
      signedOffAt: null,
      signOffComment: null,
    };
    await store.transaction(async (tx) => {
      await tx.reviews.insert(review, scheduleKey);
      await tx.audit.append(
        {
          actor: requestedBy ?? 'system',
          action: 'review.requested',
          tenantId,
          target: review.id,
          details: { trigger },
          ...auditOrigin(ctx),
        },
        now,
      );
    });
    return review;
  }

  /** Profiles: already suspended ones are reported; a group that has become protected suspends its profile now (docs/security-model.md, Protected groups). */
  async function profileFindings(
    tenant: TenantRecord,
    directory: TenantDirectory,
    findings: ReviewFinding[],
    extra: readonly string[],
  ): Promise<ProfileGroup[]> {
    const profiles = await store.profiles.listForTenant(tenant.id);
    for (const profile of profiles) {
      let reason = profile.status === 'suspended' ? (profile.suspendedReason ?? 'suspended') : null;
      if (profile.status === 'active') {
        for (const stored of profile.groups) {
          const group = await directory.groupByGuid(stored.guid);
          if (!group) continue;
          const finding = await directory.findProtection(group, extra);
          if (!finding) continue;
          reason = `${group.dn} is protected: ${finding.reason}`;
          const at = clock.now();
          await store.transaction(async (tx) => {
            await tx.profiles.setStatus(profile.id, 'suspended', reason, at);
            await tx.audit.append(
              {
                actor: 'system',
                action: 'profile.suspended',
                tenantId: tenant.id,
                target: profile.id,
                details: { group: group.dn, protectedGroup: finding.protectedDn, reason: finding.reason, path: finding.path },
              },
              at,
            );
          });
          break;
        }
      }
      if (reason !== null) {
        findings.push({
          severity: 'high',
          kind: 'profile_suspended',
          subject: profile.name,
          technicianId: null,
          summary: `The profile ${profile.name} is suspended: ${reason}`,
          action: profile.status === 'active' ? 'suspended' : null,
          details: { profileId: profile.id, reason },
        });
      }
    }
    return [...new Map(profiles.flatMap((p) => p.groups).map((g) => [g.guid.toLowerCase(), g])).values()];
  }

  /** Members of managed groups without a live grant for that group: linked MSP accounts (high) and anyone else (medium). */
  async function memberFindings(
    directory: TenantDirectory,
    groups: ProfileGroup[],
    byDn: Map<string, TenantAccount>,
    live: Elevation[],
    findings: ReviewFinding[],
  ) {
    const cover = new Set(live.flatMap((e) => e.groups.map((g) => `${e.technicianId}\u0000${g.guid.toLowerCase()}`)));
    for (const stored of groups) {
      const group = await directory.groupByGuid(stored.guid);
      if (!group) continue;
      for (const memberDn of await directory.groupMembers(group.dn)) {
        const account = byDn.get(memberDn.toLowerCase());
        if (account && cover.has(`${account.technicianId}\u0000${stored.guid.toLowerCase()}`)) continue;
        findings.push({
          severity: account ? 'high' : 'medium',
          kind: 'member_without_grant',
          subject: memberDn,
          technicianId: account?.technicianId ?? null,
          summary: account
            ? `A linked MSP account is in the managed group ${group.name} without an active grant`
            : `${memberDn} is a standing member of the managed group ${group.name}; Stint manages this group`,
          action: null,
          details: { group: group.dn, groupName: group.name, linked: account !== undefined },
        });
      }
    }
  }

  async function lastElevationAt(tenantId: string, technicianId: string): Promise<Date | null> {
    const recent = await store.elevations.list({ tenantIds: [tenantId], technicianId, limit: 50 });
    let last: number | null = null;
    for (const e of recent) {
      if (!e.activatedAt) continue;
      const used = (e.endedAt ?? e.activatedAt).getTime();
      if (last === null || used > last) last = used;
    }
    return last === null ? null : new Date(last);
  }

  /** Disables an inactive account (read back), unless a grant went live meanwhile; audited. */
  async function disableInactive(
    tenant: TenantRecord,
    directory: TenantDirectory,
    account: TenantAccount,
    review: Review,
    username: string,
    extra: readonly string[],
  ): Promise<'disabled' | 'disable_skipped' | 'disable_failed' | 'not_eligible'> {
    try {
      if ((await store.elevations.holding(tenant.id, account.technicianId, '')).length > 0) return 'disable_skipped';
      const current = await directory.accountByGuid(account.guid);
      if (!current) return 'disable_failed';
      // Never written to: an account that may not be a tenant account (domain/account-eligibility.ts).
      const refusal = accountWriteRefusal(current, extra);
      if (refusal) {
        await store.transaction((tx) =>
          auditNotEligible(tx, clock.now(), {
            tenantId: tenant.id,
            technicianId: account.technicianId,
            guid: account.guid,
            dn: current.dn,
            reason: refusal,
            step: 'review_disable',
          }),
        );
        return 'not_eligible';
      }
      await directory.updateAccount(current.dn, { userAccountControl: withAccountEnabled(current.userAccountControl, false) });
      const after = await directory.accountByGuid(account.guid);
      if (!after || isAccountEnabled(after.userAccountControl)) return 'disable_failed';
      const at = clock.now();
      await store.transaction((tx) =>
        tx.audit.append(
          {
            actor: 'system',
            action: 'review.account_disabled',
            tenantId: tenant.id,
            target: account.technicianId,
            details: {
              reviewId: review.id,
              technicianId: account.technicianId,
              username,
              accountDn: current.dn,
              accountGuid: account.guid,
              inactiveDays: tenant.inactiveDays,
            },
          },
          at,
        ),
      );
      return 'disabled';
    } catch (error) {
      log.warn(
        { tenantId: tenant.id, reviewId: review.id, err: (error as Error).message },
        'an inactive MSP account could not be disabled',
      );
      return 'disable_failed';
    }
  }

  async function accountFindingsFor(
    tenant: TenantRecord,
    directory: TenantDirectory,
    review: Review,
    accounts: TenantAccount[],
    live: Elevation[],
    findings: ReviewFinding[],
    extra: readonly string[],
  ) {
    const liveTechnicians = new Set(live.map((e) => e.technicianId));
    const now = clock.now();
    for (const account of accounts) {
      const technician = await store.technicians.findById(account.technicianId);
      const username = technician?.username ?? account.technicianId;
      const found = await directory.accountByGuid(account.guid);
      if (!found) {
        findings.push({
          severity: 'info',
          kind: 'account_missing',
          subject: account.dn,
          technicianId: account.technicianId,
          summary: `${username}'s linked account is no longer in the directory; unlink it`,
          action: null,
          details: { accountGuid: account.guid },
        });
        continue;
      }
      if (found.dn !== account.dn) await recordAccountMove(store, clock.now(), account.id, found.dn, found.samAccountName);
      const { direct, groups } = await directory.accountGroups(found.dn);
      const result = accountFindings(
        {
          technicianId: account.technicianId,
          username,
          dn: found.dn,
          userAccountControl: found.userAccountControl,
          lastLogonTimestamp: found.lastLogonTimestamp,
          lastElevationAt: await lastElevationAt(tenant.id, account.technicianId),
          hasLiveGrant: liveTechnicians.has(account.technicianId),
          protectedMembership: protectedMembership(direct, groups, found.primaryGroupId ?? null, extra),
          inProtectedUsers: groups.some(isProtectedUsers),
        },
        tenant,
        now,
      );
      if (result.disable) {
        const outcome = await disableInactive(tenant, directory, account, review, username, extra);
        for (const f of result.findings) if (f.kind === 'inactive_account') f.action = outcome;
      }
      findings.push(...result.findings);
    }
  }

  /** Reads everything; a directory that cannot be read ends the reading with a critical finding. */
  async function scan(tenant: TenantRecord, review: Review): Promise<{ status: ReviewStatus; findings: ReviewFinding[] }> {
    const findings: ReviewFinding[] = [];
    try {
      const directory = await deps.access.directory(tenant);
      await directory.ping();
      const extra = await deps.access.protectedSids(tenant.id);
      const groups = await profileFindings(tenant, directory, findings, extra);
      const accounts = await store.accounts.listForTenant(tenant.id);
      const dns = accounts.length ? await directory.accountDnsByGuid(accounts.map((a) => a.guid)) : new Map<string, string>();
      const byDn = new Map<string, TenantAccount>();
      for (const account of accounts) {
        const dn = dns.get(account.guid.toLowerCase());
        if (dn) byDn.set(dn.toLowerCase(), { ...account, dn });
      }
      // Grants are read after the members' accounts and again per part, as drift does: a grant
      // being activated writes its state before it touches the directory.
      await memberFindings(directory, groups, byDn, await liveGrants(tenant.id), findings);
      await accountFindingsFor(tenant, directory, review, accounts, await liveGrants(tenant.id), findings, extra);
      return { status: 'completed', findings };
    } catch (error) {
      if (!isDomainError(error) || !directoryFailures.has(error.code)) throw error;
      findings.push({
        severity: 'critical',
        kind: 'directory_unreachable',
        subject: tenant.directory.url,
        technicianId: null,
        summary: `The review could not read the tenant's directory (${error.code}); it is incomplete`,
        action: null,
        details: { code: error.code, message: error.message.slice(0, 500) },
      });
      return { status: 'incomplete', findings };
    }
  }

  const liveGrants = (tenantId: string) => store.elevations.list({ states: liveStates, tenantIds: [tenantId], limit: 1_000_000 });

  async function run(reviewId: string): Promise<{ status: ReviewStatus | 'skipped'; findings: number }> {
    const review = await mustFind(reviewId);
    if (!(await store.reviews.start(review.id, clock.now()))) return { status: 'skipped', findings: 0 };
    const tenant = await store.tenants.findById(review.tenantId);
    if (!tenant) return { status: 'skipped', findings: 0 };
    const { status, findings } = await scan(tenant, review);
    const ordered = bySeverity(findings);
    const at = clock.now();
    await store.transaction(async (tx) => {
      await tx.reviews.finish(review.id, status, ordered, at);
      const counts = countBySeverity(ordered);
      await tx.audit.append(
        {
          actor: 'system',
          action: 'review.completed',
          tenantId: tenant.id,
          target: review.id,
          details: { trigger: review.trigger, status, ...counts, findings: ordered.length, findingsDigest: findingsDigest(ordered) },
        },
        at,
      );
    });
    await deps.notifications
      .publish([{ kind: 'review_completed', reviewId: review.id }])
      .catch((error: unknown) =>
        log.warn({ reviewId: review.id, err: (error as Error).message }, 'the review summary could not be queued'),
      );
    return { status, findings: ordered.length };
  }

  async function get(id: string): Promise<{ review: Review; findings: StoredFinding[] }> {
    const review = await mustFind(id);
    return { review, findings: await store.reviews.findings(id) };
  }

  return {
    /**
     * On demand: recorded and audited, then run by the worker. Should the queue not take the job
     * (Redis unreachable), the review stays `queued` and resumeWaiting queues it again.
     */
    async request(tenantId: string, actor: string, ctx: RequestContext): Promise<Review> {
      const tenant = await deps.access.tenant(tenantId);
      if (tenant.archived)
        throw new DomainError('tenant_archived', `Tenant ${tenantId} is archived; it has no reviews any more`, { tenantId });
      const review = await create(tenantId, 'on_demand', actor, null, ctx);
      await deps.jobs.enqueue(review.id).catch((error: unknown) => {
        log.warn(
          { reviewId: review.id, err: (error as Error).message },
          'the review could not be queued yet; the reconciler queues it again',
        );
      });
      return review;
    },

    /**
     * On-demand reviews still `queued` or `running` a while after they were asked for whose job
     * Redis lost (flushed, or never taken) or gave up on: queued again. Run by the reconciler;
     * answers how many. Scheduled ones run under their scheduler's job (retried by it), not this id.
     */
    async resumeWaiting(): Promise<number> {
      const waiting = await store.reviews.list({
        statuses: ['queued', 'running'],
        requestedBefore: new Date(clock.now().getTime() - reviewResumeAfterMs),
        limit: 100,
      });
      let resumed = 0;
      for (const review of waiting.filter((r) => r.trigger === 'on_demand')) {
        if (await deps.jobs.ensureQueued(review.id)) {
          resumed++;
          log.warn({ reviewId: review.id, tenantId: review.tenantId, status: review.status }, 'a review had no live job; queued again');
        }
      }
      return resumed;
    },

    /** The tenant's scheduled run; a retried job resumes the review its first try created. */
    async runScheduled(tenantId: string, scheduleKey: string) {
      const tenant = await store.tenants.findById(tenantId);
      if (!tenant || tenant.archived) return { status: 'skipped' as const, findings: 0 };
      const existing = await store.reviews.findByScheduleKey(scheduleKey);
      const review = existing ?? (await create(tenantId, 'scheduled', null, scheduleKey, systemContext));
      return run(review.id);
    },

    run,

    list: (filter: { tenantId?: string; limit: number }) =>
      store.reviews.list({ tenantIds: filter.tenantId ? [filter.tenantId] : undefined, limit: filter.limit }),

    get,

    /** An auditor signs a finished review off with a fresh TOTP code; once only. */
    async signOff(
      id: string,
      input: { code: string; comment?: string | null },
      technicianId: string,
      ctx: RequestContext,
    ): Promise<Review> {
      const review = await mustFind(id);
      if (review.status === 'queued' || review.status === 'running') throw new DomainError('conflict', 'The review has not finished yet');
      if (review.signedOffBy !== null) throw new DomainError('conflict', 'The review is already signed off');
      const technician = await store.technicians.findById(technicianId);
      if (!technician) throw new DomainError('unauthenticated', 'Unknown technician');
      const comment = input.comment?.trim() || null;
      await deps.mfa.verifyFreshCode(technician, input.code, 'review.signoff', ctx, async (tx, at) => {
        if (!(await tx.reviews.signOff(id, technicianId, comment, at)))
          throw new DomainError('conflict', 'The review is already signed off');
        await tx.audit.append(
          {
            actor: technicianId,
            action: 'review.signed_off',
            tenantId: review.tenantId,
            target: id,
            details: { comment, status: review.status, ...review.counts },
            ...auditOrigin(ctx),
          },
          at,
        );
      });
      return mustFind(id);
    },

    /** The findings as CSV (one row each) or one JSON document; the export is audited first (fail closed). */
    async export(id: string, format: ReviewExportFormat, actor: string, ctx: RequestContext): Promise<StreamedExport> {
      const { review, findings } = await get(id);
      await store.transaction((tx) =>
        tx.audit.append(
          {
            actor,
            action: 'review.exported',
            tenantId: review.tenantId,
            target: id,
            details: { format, findings: findings.length },
            ...auditOrigin(ctx),
          },
          clock.now(),
        ),
      );
      const filename = `stint-review-${review.tenantId}-${review.id.slice(0, 8)}.${format}`;
      if (format === 'json') {
        const body = `${JSON.stringify({ review, findings: findings.map(({ position: _p, ...f }) => f) }, null, 2)}\n`;
        return {
          contentType: 'application/json; charset=utf-8',
          filename,
          lines: (async function* () {
            yield body;
          })(),
        };
      }
      const encoder = deps.encoder('csv');
      async function* lines() {
        yield encoder.preamble(reviewExportColumns);
        for (const f of findings) {
          yield encoder.row(reviewExportColumns, {
            review_id: review.id,
            tenant: review.tenantId,
            severity: f.severity,
            kind: f.kind,
            subject: f.subject,
            technician_id: f.technicianId,
            summary: f.summary,
            action: f.action,
            details: JSON.stringify(f.details),
          });
        }
      }
      return { contentType: encoder.contentType, filename, lines: lines() };
    },
  };
}
