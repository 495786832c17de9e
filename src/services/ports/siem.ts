// SIEM forwarding: cursors per target and the sink events go to.
import type { AuditEvent } from '../../domain/audit.ts';

/** Where forwarding to one SIEM target stands (docs/architecture.md, SIEM forwarding): the last sequence number it has been sent. */
export interface SiemCursor {
  target: string;
  /** Every event up to and including this one has been written to the target and flushed (0: none yet). */
  lastSeq: number;
  /** Set while the target cannot be reached; cleared when it takes events again. */
  stalledSince: Date | null;
  /** Failed attempts in a row (the backoff grows with them). */
  failures: number;
  /** No attempt before this time (backoff); null: any time. */
  retryAt: Date | null;
  /** When the backlog alert was raised for the current outage; null when not raised. */
  backlogAlertedAt: Date | null;
  /** When a run last reached the target and sent everything it had (null: never). */
  lastSuccessAt: Date | null;
  /** The last failure's message (a connection or TLS error; never a secret) and time; kept after recovery. */
  lastError: string | null;
  lastErrorAt: Date | null;
}

export type SiemCursorPatch = Partial<
  Pick<SiemCursor, 'stalledSince' | 'failures' | 'retryAt' | 'backlogAlertedAt' | 'lastSuccessAt' | 'lastError' | 'lastErrorAt'>
>;

export interface SiemCursorRepository {
  /** The target's cursor; created at 0 when absent (answers `created: true` then). */
  ensure(target: string, at: Date): Promise<{ cursor: SiemCursor; created: boolean }>;
  list(): Promise<SiemCursor[]>;
  /** Moves the cursor forward only (a lower `seq` leaves it where it is). */
  advance(target: string, seq: number, at: Date): Promise<void>;
  update(target: string, patch: SiemCursorPatch, at: Date): Promise<void>;
  /**
   * Takes the target's lease until `until` unless another owner holds an unexpired one, so two
   * workers never send the same target's events at once (which could reorder them).
   */
  lease(target: string, owner: string, until: Date, at: Date): Promise<boolean>;
  release(target: string, owner: string): Promise<void>;
}

/**
 * How far every configured SIEM target has received the audit trail, so retention never purges an
 * event some target has not had. null: no target is configured; otherwise the lowest cursor across
 * the configured targets (0: nothing forwarded).
 */
export interface ForwardingProgress {
  lowestForwardedSeq(): Promise<number | null>;
}

/**
 * One configured SIEM target (syslog over TCP or TLS). `send` resolves once every event has been
 * written to the connection and flushed to the operating system, in the order given; it throws
 * when the target cannot take them. TCP syslog has no acknowledgement, so a connection that the
 * target closes may have lost what was written shortly before: `open` reports when that happened.
 */
export interface SiemSink {
  readonly name: string;
  /** Makes sure a connection is up; `lostAt` is when the previous connection was closed by the far end or failed (null: closed by us, or none). */
  open(): Promise<{ lostAt: Date | null }>;
  send(events: readonly AuditEvent[]): Promise<void>;
  close(): Promise<void>;
}
