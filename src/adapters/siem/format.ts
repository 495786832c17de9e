// Stint's syslog wire format: one audit event as an RFC 5424 message whose body is JSON or CEF,
// framed for TCP by octet counting (RFC 5425 §4.3 / RFC 6587 §3.4.1: "LENGTH SP MESSAGE", the
// length in bytes of the UTF-8 message). Octet counting is what keeps a record whole whatever it
// holds; on top of that neither body ever contains a raw CR or LF, so a line-oriented reader
// further down cannot be tricked into seeing a second record either.
import type { AuditEvent } from '../../domain/audit.ts';

export type SiemBodyFormat = 'json' | 'cef';

export interface SyslogIdentity {
  /** HOSTNAME field (RFC 5424 §6.2.4): printable US-ASCII, at most 255. */
  hostname: string;
  /** Syslog facility (default 13, "log audit"). */
  facility: number;
  /** Product version in the CEF header. */
  version: string;
}

/** The private enterprise number 32473 is the one RFC 5612 reserves for documentation and examples. */
export const structuredDataId = 'stint@32473';

/** Failures, refusals, drift and risky requests are warnings (4); everything else is a notice (5). */
export function syslogSeverity(action: string): number {
  return /\.(failed|denied|locked|replay_refused|refresh_reuse_detected|revocation_overdue|forwarding_stalled|backlog_exceeded|refused_protected_group|risk_flagged)$/.test(
    action,
  ) ||
    action.startsWith('kill_switch.') ||
    action.startsWith('drift.')
    ? 4
    : 5;
}

/** RFC 5424 header fields are PRINTUSASCII (33–126); anything else becomes `_`, and an empty value NILVALUE. */
function headerField(value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean === '' ? '-' : clean;
}

/** PARAM-VALUE escaping (RFC 5424 §6.3.3): `"`, `\` and `]`. */
const paramValue = (value: string) => value.replace(/["\\\]]/g, (c) => `\\${c}`);

/** The event as JSON: the same fields an export carries, so a SIEM can check the hash chain. */
export function jsonBody(event: AuditEvent): string {
  // JSON.stringify escapes every control character, CR and LF included.
  return JSON.stringify({
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
    hash: event.hash,
  });
}

/** A CEF header field: `\` and `|` escaped; a line break (never allowed in the header) becomes a space. */
export const cefHeader = (value: string) => value.replace(/[\\|]/g, (c) => `\\${c}`).replace(/\r\n|[\r\n]/g, ' ');

/** A CEF extension value: `\` and `=` escaped, line breaks written as `\n` / `\r` (CEF: "Multi-line fields"). */
export const cefValue = (value: string) =>
  value
    .replace(/[\\=]/g, (c) => `\\${c}`)
    .replace(/\r\n|\n/g, '\\n')
    .replace(/\r/g, '\\r');

/** CEF severity 0–10 from the syslog severity. */
const cefSeverity = (action: string) => (syslogSeverity(action) === 4 ? 7 : 3);

/** The event as CEF (ArcSight Common Event Format, version 0). */
export function cefBody(event: AuditEvent, version: string): string {
  const extension: Array<[string, string | null]> = [
    ['rt', String(event.at.getTime())],
    ['externalId', String(event.seq)],
    ['act', event.action],
    ['suser', event.actor],
    ['src', event.sourceIp],
    ['cs1Label', 'tenant'],
    ['cs1', event.tenantId],
    ['cs2Label', 'target'],
    ['cs2', event.target],
    ['cs3Label', 'requestId'],
    ['cs3', event.requestId],
    ['cs4Label', 'details'],
    ['cs4', JSON.stringify(event.details)],
    ['cs5Label', 'hash'],
    ['cs5', event.hash],
    ['cs6Label', 'prevHash'],
    ['cs6', event.prevHash],
  ];
  const header = ['CEF:0', 'Stint', 'Stint', version, event.action, event.action, String(cefSeverity(event.action))].map((field, i) =>
    i === 0 ? field : cefHeader(field),
  );
  const pairs = extension.filter((pair): pair is [string, string] => pair[1] !== null).map(([key, value]) => `${key}=${cefValue(value)}`);
  return `${header.join('|')}|${pairs.join(' ')}`;
}

/** One RFC 5424 message (without framing). */
export function syslogMessage(event: AuditEvent, format: SiemBodyFormat, identity: SyslogIdentity): string {
  const pri = identity.facility * 8 + syslogSeverity(event.action);
  const structured = `[${structuredDataId} seq="${event.seq}" hash="${paramValue(event.hash)}"]`;
  const body = format === 'cef' ? cefBody(event, identity.version) : jsonBody(event);
  // VERSION 1; PROCID NILVALUE; MSGID the action (at most 32 characters).
  return `<${pri}>1 ${event.at.toISOString()} ${headerField(identity.hostname, 255)} stint - ${headerField(event.action, 32)} ${structured} ${body}`;
}

/** Octet-counting frame: the length is the message's size in bytes, not in characters. */
export function octetCountedFrame(message: string): Buffer {
  const bytes = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${bytes.length} `, 'ascii'), bytes]);
}
