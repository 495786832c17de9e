// The audit catalogue and the hash chain (docs/architecture.md, The audit chain). Each event's hash is SHA-256 over the previous
// hash and a canonical (RFC 8785) encoding of the event, so any change, deletion, insertion or
// reordering breaks the chain from that record on.
import { hash } from 'node:crypto';
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
  'tenant.frozen',
  'tenant.unfrozen',
  'tenant.archived',
  'tenant.protected_group_added',
  'tenant.protected_group_removed',
  'keys.master_rotated',
  'keys.signing_rotated',
  'keys.audit_signing_rotated',
  'account.linked',
  'account.unlinked',
  'account.moved',
  'account.not_eligible',
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
  'review.requested',
  'review.completed',
  'review.account_disabled',
  'review.signed_off',
  'review.exported',
  'elevation.risk_flagged',
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

const twoDigits = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const threeDigits = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the years toISOString writes with four digits. */
const isoFirstMs = -62_167_219_200_000;
const isoLastMs = 253_402_300_799_999;

/**
 * `date.toISOString()`, computed from the time value (days to civil date after Howard Hinnant's
 * `civil_from_days`): V8's own takes a third of the time of hashing an event. Outside years
 * 0000–9999 (six-digit years) and for an invalid date it is toISOString itself (which throws).
 */
export function isoTime(date: Date): string {
  const ms = date.getTime();
  if (!(ms >= isoFirstMs && ms <= isoLastMs)) return date.toISOString();
  const days = Math.floor(ms / 86_400_000);
  let inDay = ms - days * 86_400_000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(inDay / 3_600_000);
  inDay -= hours * 3_600_000;
  const minutes = Math.floor(inDay / 60_000);
  inDay -= minutes * 60_000;
  const seconds = Math.floor(inDay / 1000);
  return `${twoDigits[Math.floor(year / 100)]}${twoDigits[year % 100]}-${twoDigits[month]}-${twoDigits[day]}T${twoDigits[hours]}:${twoDigits[minutes]}:${twoDigits[seconds]}.${threeDigits[inDay - seconds * 1000]}Z`;
}

/** The exact fields that are hashed, in a form that survives a JSON round trip (export, verify). */
export function auditHashInput(event: Omit<AuditEvent, 'hash'>): Record<string, unknown> {
  return {
    seq: event.seq,
    at: isoTime(event.at),
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

/** Thrown by the fast path below for any value it does not handle itself; the library then decides. */
const notPlain = Symbol('not plain JSON data');

const printableAscii = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** JSON string per RFC 8785 §3.2.2.2 (ECMAScript JSON.stringify); lone surrogates are refused. */
function canonicalString(value: string): string {
  // Printable ASCII other than `"` and `\` is written as it is by JSON.stringify: skip the call.
  if (printableAscii.test(value)) return `"${value}"`;
  if (!value.isWellFormed()) throw notPlain;
  return JSON.stringify(value);
}

function canonicalTextOrNull(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'string') throw notPlain;
  return canonicalString(value);
}

/**
 * RFC 8785 for plain JSON data only: null, booleans, finite numbers, well-formed strings, arrays
 * without holes and plain objects without `toJSON`, at most 64 deep. Numbers are serialised by
 * ECMAScript's Number-to-string (JSON.stringify), object keys sorted by UTF-16 code units (the
 * default sort): the same rules, and the same calls, as the `canonicalize` library for these
 * values. Anything else (undefined, functions, symbols, bigints, NaN, Infinity, boxed primitives,
 * Dates, toJSON, cycles) throws `notPlain`.
 */
function canonicalValue(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return canonicalString(value);
    case 'number':
      if (!Number.isFinite(value)) throw notPlain;
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (depth > 64 || typeof (value as { toJSON?: unknown }).toJSON === 'function') throw notPlain;
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) throw notPlain;
          if (i > 0) out += ',';
          out += canonicalValue(value[i], depth + 1);
        }
        return `${out}]`;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw notPlain;
      const keys = Object.keys(value).sort();
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        if (i > 0) out += ',';
        out += `${canonicalString(key)}:${canonicalValue((value as Record<string, unknown>)[key], depth + 1)}`;
      }
      return `${out}}`;
    }
    default:
      throw notPlain;
  }
}

/**
 * The RFC 8785 text of an event's hashed fields (auditHashInput). The top level is written in its
 * sorted key order directly; `details` and anything unusual go through the checks above, and a
 * value the fast path does not handle falls back to the `canonicalize` library, so the result is
 * the library's for every input (test/unit/audit-canonical.test.ts compares the two).
 */
export function canonicalAuditJson(event: Omit<AuditEvent, 'hash'>): string {
  try {
    if (
      typeof event.seq !== 'number' ||
      !Number.isFinite(event.seq) ||
      typeof event.actor !== 'string' ||
      typeof event.action !== 'string' ||
      typeof event.prevHash !== 'string'
    )
      throw notPlain;
    if (!(event.at instanceof Date)) throw notPlain;
    const { tenantId, target, requestId, sourceIp } = event;
    if (
      typeof tenantId === 'string' &&
      typeof target === 'string' &&
      typeof requestId === 'string' &&
      typeof sourceIp === 'string' &&
      // One test for all ten texts: their concatenation is printable ASCII without `"` or `\` iff
      // each of them is, and then each is written as it is (one regex call instead of ten).
      printableAscii.test(event.action + event.actor + event.prevHash + tenantId + target + requestId + sourceIp)
    ) {
      return (
        `{"action":"${event.action}","actor":"${event.actor}","at":"${isoTime(event.at)}","details":${canonicalValue(event.details, 1)}` +
        `,"prevHash":"${event.prevHash}","requestId":"${requestId}","seq":${JSON.stringify(event.seq)},"sourceIp":"${sourceIp}","target":"${target}","tenantId":"${tenantId}"}`
      );
    }
    return (
      `{"action":${canonicalString(event.action)},"actor":${canonicalString(event.actor)},"at":"${isoTime(event.at)}"` +
      `,"details":${canonicalValue(event.details, 1)},"prevHash":${canonicalString(event.prevHash)},"requestId":${canonicalTextOrNull(event.requestId)}` +
      `,"seq":${JSON.stringify(event.seq)},"sourceIp":${canonicalTextOrNull(event.sourceIp)},"target":${canonicalTextOrNull(event.target)}` +
      `,"tenantId":${canonicalTextOrNull(event.tenantId)}}`
    );
  } catch (error) {
    if (error !== notPlain) throw error;
  }
  const canonical = canonicalize(auditHashInput(event));
  if (canonical === undefined) throw new Error('audit event cannot be canonicalised');
  return canonical;
}

export function computeAuditHash(event: Omit<AuditEvent, 'hash'>): string {
  // One-shot SHA-256 of the UTF-8 text: the same digest as createHash().update().digest(), without
  // the Hash object (a third of the cost of verifying an event).
  return hash('sha256', canonicalAuditJson(event), 'hex');
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
  reason: 'prev_hash_mismatch' | 'hash_mismatch' | 'sequence_gap' | 'checkpoint_mismatch' | 'checkpoint_invalid' | 'truncated';
};

/** Checks a run of consecutive events; returns the first bad record, or null. */
export function findChainBreak(events: Iterable<AuditEvent>, expectedPrevHash?: string): ChainBreak | null {
  let prevHash = expectedPrevHash;
  let prevSeq: number | undefined;
  for (const event of events) {
    if (prevSeq !== undefined && event.seq !== prevSeq + 1) return { seq: event.seq, reason: 'sequence_gap' };
    if (prevHash !== undefined && event.prevHash !== prevHash) return { seq: event.seq, reason: 'prev_hash_mismatch' };
    if (computeAuditHash(event) !== event.hash) return { seq: event.seq, reason: 'hash_mismatch' };
    prevHash = event.hash;
    prevSeq = event.seq;
  }
  return null;
}
