// The audit catalogue (docs/architecture.md, The audit chain): every action with the exact shape of its details. Appends are
// checked against it (src/adapters/store/audit.ts), so an event can never carry a field the
// catalogue does not name: a password, a TOTP code or secret, a token or a bind password has no
// place here, and adding one means changing this file, where a reviewer sees it.
import { z } from 'zod';
import type { AuditAction, AuditEventInput } from './audit.ts';
import { riskSignals } from './risk.ts';

const text = (max: number) => z.string().max(max);
const name = text(256);
const dn = text(2048);
const count = z.number().int().min(0);
const iso = z.iso.datetime();
const none = z.strictObject({});

const protectedFinding = z.strictObject({ group: dn, protectedGroup: dn, reason: text(256), path: z.array(dn) });
const profileShape = z.strictObject({ name, groups: z.array(dn) });
const technicianChange = z.strictObject({
  changed: z.array(name),
  roles: z.array(name).optional(),
  endedSessions: count.optional(),
  cancelledRequests: count.optional(),
});
const mfaFailure = z.strictObject({ purpose: name, consecutiveFailures: count });
const ended = z.strictObject({ reason: name.nullable(), groups: z.array(dn), accountDisabled: z.boolean(), lagMs: z.number().optional() });
const decision = z.strictObject({
  round: count,
  approvals: count,
  required: count,
  reason: text(2000).nullable(),
  extensionSeconds: count.optional(),
});
const siemTarget = text(64);
const riskScore = z.number().int().min(0).max(100);
const riskThreshold = z.number().int().min(1).max(100);
const riskReason = z.strictObject({ signal: z.enum(riskSignals), points: count, detail: text(500) });
const risk = z.strictObject({ score: riskScore, reasons: z.array(riskReason), threshold: riskThreshold, flagged: z.boolean() });
/** Who (the technician and their account) was found in which managed group without a live grant. */
const technicianDrift = z.strictObject({
  technicianId: name,
  username: name,
  accountDn: dn,
  accountGuid: name,
  group: dn,
  groupName: name,
});

const severityCounts = { critical: count, high: count, medium: count, low: count, info: count };

export const auditCatalogue = {
  'auth.login.succeeded': z.strictObject({ stage: z.enum(['password']), identitySource: z.enum(['local', 'ldap']) }),
  'auth.login.failed': z.strictObject({ username: name, reason: name }),
  'auth.logout': none,
  'auth.refresh_reuse_detected': none,
  'mfa.enrolment.started': none,
  'mfa.enrolment.completed': z.strictObject({ demo: z.literal(true).optional() }),
  'mfa.verify.succeeded': z.strictObject({ purpose: name }),
  'mfa.verify.failed': mfaFailure,
  'mfa.replay_refused': mfaFailure,
  'mfa.locked': z.strictObject({ until: iso, failures: count }),
  'mfa.reset': z.strictObject({ endedSessions: count }),
  'technician.created': z.strictObject({ username: name, roles: z.array(name), identitySource: z.enum(['local', 'ldap']) }),
  'technician.updated': technicianChange,
  'technician.suspended': technicianChange,
  'technician.reactivated': technicianChange,
  'tenant.created': z.strictObject({
    url: text(2048),
    bindDn: dn,
    baseDn: dn,
    driftMode: z.enum(['remove', 'report']).optional(),
    riskThreshold: riskThreshold.optional(),
  }),
  'tenant.updated': z.strictObject({ changed: z.array(name) }),
  'tenant.deleted': none,
  'tenant.frozen': z.strictObject({ reason: text(2000).nullable(), via: z.enum(['kill_switch', 'archive']) }),
  'tenant.unfrozen': z.strictObject({ frozenAt: iso, frozenBy: name, frozenReason: text(2000).nullable() }),
  'tenant.archived': z.strictObject({ reason: text(2000).nullable(), revoked: count, cancelled: count }),
  'tenant.protected_group_added': z.strictObject({ guid: name, sid: name, dn, name }),
  'tenant.protected_group_removed': z.strictObject({ guid: name, dn }),
  'keys.master_rotated': z.strictObject({
    masterKeyId: name,
    tenantBindPasswords: count,
    totpSecrets: count,
    signingKeys: count,
    auditSigningKeys: count,
  }),
  'keys.signing_rotated': z.strictObject({ kid: name }),
  'account.linked': z.strictObject({ guid: name, dn }),
  'account.unlinked': z.strictObject({ guid: name }),
  'account.moved': z.strictObject({ guid: name, from: dn, to: dn }),
  /** An account that may not be a tenant account: refused at link time, or left untouched by a write (domain/account-eligibility.ts). */
  'account.not_eligible': z.strictObject({
    guid: name,
    dn,
    reason: text(512),
    step: z.enum(['link', 'activation', 'extension', 'revocation', 'review_disable']),
    elevationId: name.optional(),
  }),
  'profile.created': profileShape,
  'profile.updated': profileShape,
  'profile.deleted': none,
  'profile.refused_protected_group': protectedFinding,
  'profile.suspended': protectedFinding,
  'elevation.requested': z.strictObject({
    profile: name,
    durationSeconds: count,
    justification: text(2000).nullable(),
    ticket: text(256).nullable(),
    approvalsRequired: count,
    approvalDeadline: iso.optional(),
    /** Every request since risk scoring carries it (docs/security-model.md, Risk signals). */
    risk: risk.optional(),
  }),
  'elevation.risk_flagged': z.strictObject({
    profile: name,
    score: riskScore,
    threshold: riskThreshold,
    reasons: z.array(riskReason),
    approvalsRequired: count,
    profileApprovalsRequired: count,
  }),
  'elevation.activated': z.strictObject({
    endsAt: iso,
    groups: z.array(dn),
    ttlMembership: z.boolean(),
    accountEnabled: z.boolean(),
    clampedToWindowEnd: iso.optional(),
    logonHours: z
      .string()
      .regex(/^[0-9a-f]*$/)
      .optional(),
  }),
  'elevation.failed': z.strictObject({ reason: text(2000), undone: z.boolean().optional() }),
  'elevation.revoking': z.strictObject({ reason: name }),
  'elevation.expired': ended,
  'elevation.revoked': ended,
  'elevation.revocation_overdue': z.strictObject({ endsAt: iso, overdueMs: z.number() }),
  'elevation.reconciled': z.strictObject({
    expired: count,
    resumed: count,
    undone: count,
    rescheduled: count,
    overdue: count,
    lapsed: count,
    suspended: count,
    frozen: count,
    errors: count,
  }),
  'elevation.approved': decision,
  'elevation.denied': decision,
  'elevation.cancelled': z.strictObject({
    reason: z.enum(['approval_timeout', 'kill_switch', 'withdrawn', 'technician_suspended']),
    deadline: iso.nullable().optional(),
  }),
  'elevation.extension_requested': z.strictObject({ seconds: count, round: count, newEndsAt: iso }),
  'elevation.extended': z.strictObject({
    requestedSeconds: count,
    addedSeconds: z.number(),
    previousEndsAt: iso,
    endsAt: iso,
    clampedToWindowEnd: iso.optional(),
    requestedAt: iso,
  }),
  'elevation.extension_denied': z.strictObject({
    round: count.optional(),
    /** withdrawn by the owner, or refused by Stint when applied (a group became protected, the owner was suspended, the profile changed). */
    reason: z
      .enum(['withdrawn', 'technician_suspended', 'group_protected', 'not_eligible', 'no_tenant_account', 'profile_suspended', 'conflict'])
      .optional(),
  }),
  'elevation.extension_expired': z.strictObject({ round: count, deadline: iso }),
  'kill_switch.technician': z.strictObject({ reason: text(2000).nullable(), endedSessions: count, suspended: z.boolean() }),
  'kill_switch.tenant': z.strictObject({ reason: text(2000).nullable() }),
  'slack.interaction': z.strictObject({
    slackUserId: name,
    slackTeamId: name.nullable(),
    action: name,
    elevationId: name.optional(),
    profile: name.optional(),
    durationSeconds: count.nullable().optional(),
  }),
  'siem.forwarding_started': z.strictObject({ target: siemTarget, fromSeq: count }),
  'siem.forwarding_stalled': z.strictObject({ target: siemTarget, cursor: count, backlog: count, error: text(500) }),
  'siem.forwarding_resumed': z.strictObject({ target: siemTarget, cursor: count, backlog: count, stalledForMs: count }),
  'siem.backlog_exceeded': z.strictObject({
    target: siemTarget,
    cursor: count,
    backlog: count,
    threshold: count,
    behind: z.literal(true).optional(),
  }),
  'keys.audit_signing_rotated': z.strictObject({ kid: name }),
  'audit.exported': z.strictObject({
    format: z.enum(['ndjson', 'csv']),
    filter: z.strictObject({
      fromSeq: count.optional(),
      toSeq: count.optional(),
      from: text(64).optional(),
      to: text(64).optional(),
      tenantId: name.optional(),
      actor: name.optional(),
      action: name.optional(),
    }),
    fromSeq: count,
    toSeq: count,
  }),
  'audit.checkpoint_signed': none,
  'audit.purged': z.strictObject({
    purged: count,
    throughSeq: count,
    anchorHash: text(128),
    heldBy: z.enum(['retention', 'checkpoint', 'forwarding']),
    retentionDays: count,
    cutoff: iso,
  }),
  'elevation.history_exported': z.strictObject({
    format: z.enum(['ndjson', 'csv']),
    from: iso.nullable(),
    to: iso.nullable(),
    tenantId: name.nullable(),
    technicianId: name.nullable(),
  }),
  'drift.removed': technicianDrift,
  'drift.reported': technicianDrift,
  'drift.unexpected_member': z.strictObject({ member: dn, group: dn, groupName: name }),
  'review.requested': z.strictObject({ trigger: z.enum(['scheduled', 'on_demand']) }),
  'review.completed': z.strictObject({
    trigger: z.enum(['scheduled', 'on_demand']),
    status: z.enum(['completed', 'incomplete']),
    ...severityCounts,
    findings: count,
    findingsDigest: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  'review.account_disabled': z.strictObject({
    reviewId: name,
    technicianId: name,
    username: name,
    accountDn: dn,
    accountGuid: name,
    inactiveDays: count,
  }),
  'review.signed_off': z.strictObject({ comment: text(2000).nullable(), status: z.enum(['completed', 'incomplete']), ...severityCounts }),
  'review.exported': z.strictObject({ format: z.enum(['csv', 'json']), findings: count }),
} satisfies { [A in AuditAction]: z.ZodType };

export type AuditDetails<A extends AuditAction> = z.infer<(typeof auditCatalogue)[A]>;

/** Where an event's details leave the catalogue, in words (field paths, never values); null when they fit. */
export function auditDetailsProblem(input: Pick<AuditEventInput, 'action' | 'details'>): string | null {
  const schema: z.ZodType | undefined = auditCatalogue[input.action];
  if (!schema) return `unknown audit action ${input.action}`;
  const result = schema.safeParse(input.details ?? {});
  if (result.success) return null;
  return result.error.issues
    .map(
      (issue) =>
        `${issue.path.join('.') || '(details)'}: ${issue.code}${issue.code === 'unrecognized_keys' ? ` ${issue.keys.join(',')}` : ''}`,
    )
    .join('; ');
}
