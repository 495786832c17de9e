// The audit catalogue and the hash chain (SPEC §10). Each event's hash is SHA-256 over the previous
// hash and a canonical (RFC 8785) encoding of the event, so any change, deletion, insertion or
// reordering breaks the chain from that record on.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

export const auditActions = [
  'auth.login.succeeded',
  'auth.login.failed',
  'auth.logout',
  'auth.refresh_reuse_detected',
  'mfa.enrolment.started',
  'mfa.enrolment.completed',
  'mfa.verify.succeeded',
  'mfa.verify.failed',
  'mfa.replay_refused',
  'mfa.locked',
  'mfa.reset',
  'technician.created',
  'technician.updated',
  'technician.suspended',
  'technician.reactivated',
  'tenant.created',
  'tenant.updated',
  'tenant.deleted',
  'keys.master_rotated',
  'keys.signing_rotated',
  'keys.audit_signing_rotated',
  'account.linked',
  'account.unlinked',
  'account.moved',
  'profile.created',
  'profile.updated',
  'profile.deleted',
  'profile.refused_protected_group',
  'profile.suspended',
  'elevation.requested',
  'elevation.activated',
  'elevation.failed',
  'elevation.revoking',
  'elevation.expired',
  'elevation.revoked',
  'elevation.revocation_overdue',
  'elevation.reconciled',
  'elevation.approved',
  'elevation.denied',
  'elevation.cancelled',
  'elevation.extension_requested',
  'elevation.extended',
  'elevation.extension_denied',
  'elevation.extension_expired',
  'kill_switch.technician',
  'kill_switch.tenant',
  'slack.interaction',
  'siem.forwarding_started',
  'siem.forwarding_stalled',
  'siem.forwarding_resumed',
  'siem.backlog_exceeded',
  'audit.exported',
  'audit.checkpoint_signed',
  'audit.purged',
  'elevation.history_exported',
  'drift.removed',
  'drift.reported',
  'drift.unexpected_member',
] as const;

export type AuditAction = (typeof auditActions)[number];

/** Who did it: a technician id, `system`, `anonymous` (before authentication), or a Slack user. */
export type AuditActor = string;

export interface AuditEventInput {
  actor: AuditActor;
  action: AuditAction;
  tenantId?: string | null;
  target?: string | null;
  requestId?: string | null;
  sourceIp?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditEvent {
  seq: number;
  at: Date;
  actor: AuditActor;
  action: AuditAction;
  tenantId: string | null;
  target: string | null;
  requestId: string | null;
  sourceIp: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export const genesisHash = '0'.repeat(64);

/** The exact fields that are hashed, in a form that survives a JSON round trip (export, verify). */
export function auditHashInput(event: Omit<AuditEvent, 'hash'>): Record<string, unknown> {
  return {
    seq: event.seq,
    at: event.at.toISOString(),
    actor: event.actor,
    action: event.action,
    tenantId: event.tenantId,
    target: event.target,
    requestId: event.requestId,
    sourceIp: event.sourceIp,
    details: event.details,
    prevHash: event.prevHash,
  };
}

export function computeAuditHash(event: Omit<AuditEvent, 'hash'>): string {
  const canonical = canonicalize(auditHashInput(event));
  if (canonical === undefined) throw new Error('audit event cannot be canonicalised');
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** Builds the next event of the chain from the head's hash. */
export function chainAuditEvent(input: AuditEventInput, seq: number, prevHash: string, at: Date): AuditEvent {
  const unhashed: Omit<AuditEvent, 'hash'> = {
    seq,
    at,
    actor: input.actor,
    action: input.action,
    tenantId: input.tenantId ?? null,
    target: input.target ?? null,
    requestId: input.requestId ?? null,
    sourceIp: input.sourceIp ?? null,
    details: input.details ?? {},
    prevHash,
  };
  return { ...unhashed, hash: computeAuditHash(unhashed) };
}

export type ChainBreak = {
  seq: number;
  reason: 'prev_hash_mismatch' | 'hash_mismatch' | 'sequence_gap' | 'checkpoint_mismatch' | 'truncated';
};

/** Checks a run of consecutive events; returns the first bad record, or null. */
export function findChainBreak(events: Iterable<AuditEvent>, expectedPrevHash?: string): ChainBreak | null {
  let prevHash = expectedPrevHash;
  let prevSeq: number | undefined;
  for (const event of events) {
    if (prevSeq !== undefined && event.seq !== prevSeq + 1) return { seq: event.seq, reason: 'sequence_gap' };
    if (prevHash !== undefined && event.prevHash !== prevHash) return { seq: event.seq, reason: 'prev_hash_mismatch' };
    const { hash, ...unhashed } = event;
    if (computeAuditHash(unhashed) !== hash) return { seq: event.seq, reason: 'hash_mismatch' };
    prevHash = hash;
    prevSeq = event.seq;
  }
  return null;
}
