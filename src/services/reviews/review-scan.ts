// What a review reads (docs/security-model.md, Access reviews): the tenant's directory and the
// store, into findings with a severity (the rules are in domain/review.ts). A directory that cannot
// be read is a critical finding and the review is `incomplete`: it never passes silently.
import { isAccountEnabled, withAccountEnabled } from '../../domain/ad.ts';
import type { Elevation } from '../../domain/elevation.ts';
import { isDomainError } from '../../domain/errors.ts';
import type { ProfileGroup } from '../../domain/profile.ts';
import { accountFindings, isProtectedUsers, protectedMembership, type ReviewFinding, type ReviewStatus } from '../../domain/review.ts';
import type { TenantDirectory } from '../ports/directory.ts';
import type { Review } from '../ports/reviews.ts';
import type { TenantAccount, TenantRecord } from '../ports/tenants.ts';
import { accountWriteRefusal, auditNotEligible, recordAccountMove } from '../tenants/index.ts';
import { liveStates, type ReviewDeps } from './review-deps.ts';

/** Directory error codes that mean the review could not read the tenant's domain. */
const directoryFailures = new Set([
  'directory_unreachable',
  'directory_tls_untrusted',
  'directory_bad_credentials',
  'directory_base_dn_missing',
  'directory_insecure',
  'directory_error',
]);

/** One tenant's directory, opened, with the protected SIDs every check needs. */
interface Reading {
  tenant: TenantRecord;
  directory: TenantDirectory;
  review: Review;
  extra: readonly string[];
  findings: ReviewFinding[];
}

const liveGrants = (deps: ReviewDeps, tenantId: string) =>
  deps.store.elevations.list({ states: liveStates, tenantIds: [tenantId], limit: 1_000_000 });

/** Reads everything; a directory that cannot be read ends the reading with a critical finding. */
export async function scan(
  deps: ReviewDeps,
  tenant: TenantRecord,
  review: Review,
): Promise<{ status: ReviewStatus; findings: ReviewFinding[] }> {
  const findings: ReviewFinding[] = [];
  try {
    const directory = await deps.access.directory(tenant);
    await directory.ping();
    const reading: Reading = { tenant, directory, review, extra: await deps.access.protectedSids(tenant.id), findings };
    const groups = await profileFindings(deps, reading);
    const accounts = await deps.store.accounts.listForTenant(tenant.id);
    const dns = accounts.length ? await directory.accountDnsByGuid(accounts.map((a) => a.guid)) : new Map<string, string>();
    const byDn = new Map<string, TenantAccount>();
    for (const account of accounts) {
      const dn = dns.get(account.guid.toLowerCase());
      if (dn) byDn.set(dn.toLowerCase(), { ...account, dn });
    }
    // Grants are read after the members' accounts and again per part, as drift does: a grant
    // being activated writes its state before it touches the directory.
    await memberFindings(reading, groups, byDn, await liveGrants(deps, tenant.id));
    await accountFindingsFor(deps, reading, accounts, await liveGrants(deps, tenant.id));
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

/** Profiles: already suspended ones are reported; a group that has become protected suspends its profile now (docs/security-model.md, Protected groups). */
async function profileFindings(deps: ReviewDeps, reading: Reading): Promise<ProfileGroup[]> {
  const { tenant } = reading;
  const profiles = await deps.store.profiles.listForTenant(tenant.id);
  for (const profile of profiles) {
    let reason = profile.status === 'suspended' ? (profile.suspendedReason ?? 'suspended') : null;
    if (profile.status === 'active') reason = (await suspendIfProtected(deps, reading, profile.id, profile.groups)) ?? reason;
    if (reason !== null) {
      reading.findings.push({
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

/** Suspends an active profile the first of whose groups has become protected (audited); answers why, or null. */
async function suspendIfProtected(
  deps: ReviewDeps,
  { tenant, directory, extra }: Reading,
  profileId: string,
  groups: readonly ProfileGroup[],
): Promise<string | null> {
  for (const stored of groups) {
    const group = await directory.groupByGuid(stored.guid);
    if (!group) continue;
    const finding = await directory.findProtection(group, extra);
    if (!finding) continue;
    const reason = `${group.dn} is protected: ${finding.reason}`;
    const at = deps.clock.now();
    await deps.store.transaction(async (tx) => {
      await tx.profiles.setStatus(profileId, 'suspended', reason, at);
      await tx.audit.append(
        {
          actor: 'system',
          action: 'profile.suspended',
          tenantId: tenant.id,
          target: profileId,
          details: { group: group.dn, protectedGroup: finding.protectedDn, reason: finding.reason, path: finding.path },
        },
        at,
      );
    });
    return reason;
  }
  return null;
}

/** Members of managed groups without a live grant for that group: linked MSP accounts (high) and anyone else (medium). */
async function memberFindings(
  { directory, findings }: Reading,
  groups: ProfileGroup[],
  byDn: Map<string, TenantAccount>,
  live: Elevation[],
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

async function lastElevationAt(deps: ReviewDeps, tenantId: string, technicianId: string): Promise<Date | null> {
  const recent = await deps.store.elevations.list({ tenantIds: [tenantId], technicianId, limit: 50 });
  let last: number | null = null;
  for (const e of recent) {
    if (!e.activatedAt) continue;
    const used = (e.endedAt ?? e.activatedAt).getTime();
    if (last === null || used > last) last = used;
  }
  return last === null ? null : new Date(last);
}

async function accountFindingsFor(deps: ReviewDeps, reading: Reading, accounts: TenantAccount[], live: Elevation[]) {
  const { tenant, directory, extra, findings } = reading;
  const liveTechnicians = new Set(live.map((e) => e.technicianId));
  const now = deps.clock.now();
  for (const account of accounts) {
    const technician = await deps.store.technicians.findById(account.technicianId);
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
    if (found.dn !== account.dn) await recordAccountMove(deps.store, deps.clock.now(), account.id, found.dn, found.samAccountName);
    const { direct, groups } = await directory.accountGroups(found.dn);
    const result = accountFindings(
      {
        technicianId: account.technicianId,
        username,
        dn: found.dn,
        userAccountControl: found.userAccountControl,
        lastLogonTimestamp: found.lastLogonTimestamp,
        lastElevationAt: await lastElevationAt(deps, tenant.id, account.technicianId),
        hasLiveGrant: liveTechnicians.has(account.technicianId),
        protectedMembership: protectedMembership(direct, groups, found.primaryGroupId ?? null, extra),
        inProtectedUsers: groups.some(isProtectedUsers),
      },
      tenant,
      now,
    );
    if (result.disable) {
      const outcome = await disableInactive(deps, reading, account, username);
      for (const f of result.findings) if (f.kind === 'inactive_account') f.action = outcome;
    }
    findings.push(...result.findings);
  }
}

/** Disables an inactive account (read back), unless a grant went live meanwhile; audited. */
async function disableInactive(
  deps: ReviewDeps,
  { tenant, directory, review, extra }: Reading,
  account: TenantAccount,
  username: string,
): Promise<'disabled' | 'disable_skipped' | 'disable_failed' | 'not_eligible'> {
  try {
    if ((await deps.store.elevations.holding(tenant.id, account.technicianId, '')).length > 0) return 'disable_skipped';
    const current = await directory.accountByGuid(account.guid);
    if (!current) return 'disable_failed';
    // Never written to: an account that may not be a tenant account (domain/account-eligibility.ts).
    const refusal = accountWriteRefusal(current, extra);
    if (refusal) {
      await deps.store.transaction((tx) =>
        auditNotEligible(tx, deps.clock.now(), {
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
    const details = {
      reviewId: review.id,
      technicianId: account.technicianId,
      username,
      accountDn: current.dn,
      accountGuid: account.guid,
      inactiveDays: tenant.inactiveDays,
    };
    const at = deps.clock.now();
    await deps.store.transaction((tx) =>
      tx.audit.append(
        { actor: 'system', action: 'review.account_disabled', tenantId: tenant.id, target: account.technicianId, details },
        at,
      ),
    );
    return 'disabled';
  } catch (error) {
    deps.log.warn(
      { tenantId: tenant.id, reviewId: review.id, err: (error as Error).message },
      'an inactive MSP account could not be disabled',
    );
    return 'disable_failed';
  }
}
