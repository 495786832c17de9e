// Access reviews (docs/security-model.md, Access reviews): the rules that turn what a review read from one tenant's directory and
// from the store into findings, each with a severity. Pure: the time is an argument.
import { hash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { CronExpressionParser } from 'cron-parser';
import { accountDisableFlag, fromFileTime, ridOf } from './ad.ts';
import { protectedDomainRids, protectionReason, type GroupFacts } from './protected-groups.ts';

export const severities = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof severities)[number];

export const findingKinds = [
  'directory_unreachable',
  'protected_group_member',
  'member_without_grant',
  'enabled_without_grant',
  'inactive_account',
  'not_in_protected_users',
  'profile_suspended',
  'account_missing',
] as const;
export type FindingKind = (typeof findingKinds)[number];

export const reviewTriggers = ['scheduled', 'on_demand'] as const;
export type ReviewTrigger = (typeof reviewTriggers)[number];

/** `queued` → `running` → `completed`, or `incomplete` when the directory could not be read in full. */
export const reviewStatuses = ['queued', 'running', 'completed', 'incomplete'] as const;
export type ReviewStatus = (typeof reviewStatuses)[number];

export interface ReviewFinding {
  severity: Severity;
  kind: FindingKind;
  /** What the finding is about: an account or member DN, a profile name, the tenant. */
  subject: string;
  /** The technician the account belongs to, when it is a linked MSP account. */
  technicianId: string | null;
  /** One sentence an auditor reads. */
  summary: string;
  /** What the review did about it (e.g. `disabled`), or null. */
  action: string | null;
  details: Record<string, string | number | boolean | string[] | null>;
}

export type SeverityCounts = Record<Severity, number>;

export function countBySeverity(findings: readonly Pick<ReviewFinding, 'severity'>[]): SeverityCounts {
  const counts: SeverityCounts = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  return counts;
}

/** SHA-256 over the canonical JSON (RFC 8785) of the findings: the audit event pins down what a review found. */
export function findingsDigest(findings: readonly ReviewFinding[]): string {
  return hash('sha256', canonicalize(findings) ?? '[]');
}

/** Most severe first; the order an auditor reads them in. */
export function bySeverity<T extends Pick<ReviewFinding, 'severity' | 'kind' | 'subject'>>(findings: readonly T[]): T[] {
  const rank = (s: Severity) => severities.indexOf(s);
  return [...findings].sort(
    (a, b) => rank(a.severity) - rank(b.severity) || a.kind.localeCompare(b.kind) || a.subject.localeCompare(b.subject),
  );
}

// ---- Tenant settings --------------------------------------------------------------------------

/** Weekly, Monday 06:00 in the tenant's time zone. */
export const defaultReviewSchedule = '0 6 * * 1';
export const defaultInactiveDays = 45;
export const inactiveDaysRange = { min: 1, max: 3650 } as const;

/**
 * A five-field cron pattern (minute hour day-of-month month day-of-week) that fires at most once an
 * hour, so a typo cannot run a review every minute. Evaluated in the tenant's time zone.
 */
export function reviewScheduleProblem(pattern: string, timeZone: string): string | null {
  const fields = pattern.trim().split(/\s+/);
  if (fields.length !== 5) return 'a cron pattern has five fields: minute hour day-of-month month day-of-week';
  if (!/^\d{1,2}$/.test(fields[0]!)) return 'the minute field must be one number (a review runs at most once an hour)';
  try {
    const next = CronExpressionParser.parse(pattern, { tz: timeZone, currentDate: new Date(Date.UTC(2026, 0, 1)) });
    next.next();
  } catch (error) {
    return `not a valid cron pattern: ${(error as Error).message}`;
  }
  return null;
}

// ---- Accounts -----------------------------------------------------------------------------------

export const protectedUsersRid = 525;

export interface GroupNode extends GroupFacts {
  /** DNs of the groups this group is a direct member of. */
  memberOf: string[];
}

export interface ProtectedMembership {
  protectedDn: string;
  reason: string;
  /** From the account's own group up to the protected one. */
  path: string[];
}

/**
 * The nearest protected group the account belongs to, directly or through nesting, with the path.
 * `direct` are the account's own groups (its memberOf); `groups` every group that contains the
 * account at any depth (the in-chain matching rule), each with its own memberOf. A primary group
 * (primaryGroupID) that is protected counts too: it never shows in memberOf. `extra`: the tenant's
 * own protected groups (SIDs or DNs).
 */
export function protectedMembership(
  direct: readonly string[],
  groups: readonly GroupNode[],
  primaryGroupRid: number | null,
  extra: readonly string[] = [],
): ProtectedMembership | null {
  const byDn = new Map(groups.map((g) => [g.dn.toLowerCase(), g]));
  const previous = new Map<string, string | null>();
  const queue: Array<{ dn: string; from: string | null }> = direct.map((dn) => ({ dn, from: null }));
  while (queue.length) {
    const { dn, from } = queue.shift()!;
    const key = dn.toLowerCase();
    if (previous.has(key)) continue;
    previous.set(key, from);
    const node = byDn.get(key);
    if (!node) continue;
    const reason = protectionReason(node, extra);
    if (reason) {
      const path: string[] = [];
      for (let at: string | null | undefined = node.dn; at; at = previous.get(at.toLowerCase()))
        path.unshift(byDn.get(at.toLowerCase())?.dn ?? at);
      return { protectedDn: node.dn, reason, path };
    }
    for (const parent of node.memberOf) queue.push({ dn: parent, from: node.dn });
  }
  // The in-chain rule saw a protected group that memberOf did not lead to.
  for (const g of groups) {
    const reason = protectionReason(g, extra);
    if (reason) return { protectedDn: g.dn, reason, path: [g.dn] };
  }
  if (primaryGroupRid !== null && protectedDomainRids[primaryGroupRid]) {
    return {
      protectedDn: `primaryGroupID ${primaryGroupRid}`,
      reason: `${protectedDomainRids[primaryGroupRid]} as the primary group (RID ${primaryGroupRid})`,
      path: [],
    };
  }
  return null;
}

export const isProtectedUsers = (group: Pick<GroupFacts, 'sid'>) => ridOf(group.sid) === protectedUsersRid;

/** When the account was last used: the later of its last elevation and its last logon; null: never. */
export function lastActivity(lastElevationAt: Date | null, lastLogonTimestamp: string | null): Date | null {
  let logon: Date | null = null;
  if (lastLogonTimestamp && /^\d+$/.test(lastLogonTimestamp)) logon = fromFileTime(lastLogonTimestamp);
  if (!logon) return lastElevationAt;
  if (!lastElevationAt) return logon;
  return logon > lastElevationAt ? logon : lastElevationAt;
}

/** No elevation in N days and no logon (lastLogonTimestamp) in N days, or none at all. */
export function isInactive(input: {
  lastElevationAt: Date | null;
  lastLogonTimestamp: string | null;
  now: Date;
  inactiveDays: number;
}): boolean {
  const cutoff = input.now.getTime() - input.inactiveDays * 86_400_000;
  const last = lastActivity(input.lastElevationAt, input.lastLogonTimestamp);
  return last === null || last.getTime() < cutoff;
}

export const isDisabled = (userAccountControl: number) => (userAccountControl & accountDisableFlag) !== 0;

/** What the review knows about one linked MSP account. */
export interface AccountFacts {
  technicianId: string;
  username: string;
  dn: string;
  userAccountControl: number;
  lastLogonTimestamp: string | null;
  lastElevationAt: Date | null;
  /** The technician holds a live grant in this tenant (activating, active or revoking). */
  hasLiveGrant: boolean;
  protectedMembership: ProtectedMembership | null;
  inProtectedUsers: boolean;
}

export interface TenantReviewSettings {
  keepAccountsDisabled: boolean;
  inactiveDays: number;
  disableInactive: boolean;
}

/** The account is in a protected group (directly or through nesting). */
function protectedMemberFinding(a: AccountFacts, p: NonNullable<AccountFacts['protectedMembership']>): ReviewFinding {
  return {
    technicianId: a.technicianId,
    subject: a.dn,
    severity: 'critical',
    kind: 'protected_group_member',
    summary: `${a.username}'s account is in the protected group ${p.protectedDn} (${p.reason})${p.path.length > 1 ? ', through nesting' : ''}`,
    action: null,
    details: { protectedGroup: p.protectedDn, reason: p.reason, path: p.path, nested: p.path.length > 1 },
  };
}

/**
 * The findings for one linked account. `disable` says whether the review should disable it now
 * (inactive, enabled, no live grant, and the tenant asks for it); the caller marks the finding's
 * action once the directory confirms.
 */
export function accountFindings(
  a: AccountFacts,
  settings: TenantReviewSettings,
  now: Date,
): { findings: ReviewFinding[]; disable: boolean } {
  const findings: ReviewFinding[] = [];
  const who = { technicianId: a.technicianId, subject: a.dn };
  const enabled = !isDisabled(a.userAccountControl);
  if (a.protectedMembership) findings.push(protectedMemberFinding(a, a.protectedMembership));
  if (enabled && !a.hasLiveGrant) {
    findings.push({
      ...who,
      // A tenant that keeps MSP accounts disabled between grants did not expect this one enabled.
      severity: settings.keepAccountsDisabled ? 'high' : 'low',
      kind: 'enabled_without_grant',
      summary: `${a.username}'s account is enabled without an active grant`,
      action: null,
      details: { keepAccountsDisabled: settings.keepAccountsDisabled },
    });
  }
  const inactive =
    !a.hasLiveGrant &&
    isInactive({ lastElevationAt: a.lastElevationAt, lastLogonTimestamp: a.lastLogonTimestamp, now, inactiveDays: settings.inactiveDays });
  const disable = inactive && enabled && settings.disableInactive;
  if (inactive) {
    const last = lastActivity(a.lastElevationAt, a.lastLogonTimestamp);
    findings.push({
      ...who,
      severity: 'medium',
      kind: 'inactive_account',
      summary: `${a.username}'s account has had no elevation and no logon for ${settings.inactiveDays} days${last ? ` (last ${last.toISOString()})` : ' (never used)'}`,
      action: enabled ? null : 'already_disabled',
      details: {
        inactiveDays: settings.inactiveDays,
        lastElevationAt: a.lastElevationAt?.toISOString() ?? null,
        lastLogonAt:
          a.lastLogonTimestamp && /^\d+$/.test(a.lastLogonTimestamp) ? (fromFileTime(a.lastLogonTimestamp)?.toISOString() ?? null) : null,
        disableInactive: settings.disableInactive,
      },
    });
  }
  if (!a.inProtectedUsers) {
    findings.push({
      ...who,
      severity: 'low',
      kind: 'not_in_protected_users',
      summary: `${a.username}'s account is not in Protected Users (RID ${protectedUsersRid})`,
      action: null,
      details: {},
    });
  }
  return { findings, disable };
}
