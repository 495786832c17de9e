// The audit trail: its repository, checkpoints, signing keys and export formats.
import type { DecodedLine, ExportRecord, LineChunkResult } from '../../domain/audit-export.ts';
import type { AuditAction, AuditEvent, AuditEventInput } from '../../domain/audit.ts';

export interface AuditFilter {
  from?: Date;
  to?: Date;
  actor?: string;
  action?: AuditAction;
  tenantId?: string;
  target?: string;
  /** Return events with seq lower than this (paging newest first). */
  beforeSeq?: number;
  limit: number;
}

export interface AuditRepository {
  /** Appends one event to the chain; must run inside the transaction of the change it records. */
  append(input: AuditEventInput, at: Date): Promise<AuditEvent>;
  /** Appends many events in order, in far fewer statements (mass expiry). */
  appendMany(inputs: readonly AuditEventInput[], at: Date): Promise<void>;
  list(filter: AuditFilter): Promise<AuditEvent[]>;
  /** Events in sequence order, for verification. */
  range(fromSeq: number, limit: number): Promise<AuditEvent[]>;
  head(): Promise<{ seq: number; hash: string }>;
  /**
   * Where the stored chain starts: events up to `purgedThroughSeq` were purged, and `hash` is the
   * hash of the last of them (the genesis hash when nothing was), the oldest kept event's
   * previous hash.
   */
  anchor(): Promise<{ purgedThroughSeq: number; hash: string }>;
  /** The smallest seq of an event at or after `at`, or null. */
  firstSeqAtOrAfter(at: Date): Promise<number | null>;
  /** The largest seq of an event before `at`, or null. */
  lastSeqBefore(at: Date): Promise<number | null>;
  /** Deletes the events up to `throughSeq` and moves the anchor to the last of them (run in a transaction). */
  purgeThrough(throughSeq: number): Promise<{ purged: number; anchorHash: string }>;
  insertCheckpoint(checkpoint: StoredCheckpoint): Promise<void>;
  latestCheckpoint(): Promise<StoredCheckpoint | null>;
  /** The earliest checkpoint at or after `seq`: the one that covers an export ending there. */
  checkpointCovering(seq: number): Promise<StoredCheckpoint | null>;
  listCheckpoints(limit: number): Promise<StoredCheckpoint[]>;
}

/** A signed checkpoint of the chain head: `jws` signs { seq, hash, at } with an audit key. */
export interface StoredCheckpoint {
  seq: number;
  hash: string;
  at: Date;
  kid: string;
  jws: string;
}

export interface SigningKeyRecord {
  kid: string;
  algorithm: 'EdDSA';
  publicJwk: Record<string, unknown>;
  privateJwkSealed: string;
  createdAt: Date;
  retiredAt: Date | null;
}

export interface SigningKeyRepository {
  insert(key: SigningKeyRecord): Promise<void>;
  list(): Promise<SigningKeyRecord[]>;
  retireAllExcept(kid: string, at: Date): Promise<void>;
  replaceSealedPrivateKey(kid: string, sealed: string): Promise<void>;
}

/** Signs audit checkpoints and export manifests (JWS, EdDSA) with the current audit key. */
export interface AuditSigner {
  sign(payload: Record<string, unknown>, type: string, now: Date): Promise<{ jws: string; kid: string }>;
  /** Every audit public key ever used, retired ones included: old exports must keep verifying. */
  jwks(): Promise<{ keys: Array<Record<string, unknown>> }>;
  /** Creates the first key when there is none. */
  ensureKey(now: Date, keys: SigningKeyRepository): Promise<void>;
  /** A new signing key; the old ones stay published for verification. */
  rotate(now: Date, keys: SigningKeyRepository): Promise<string>;
}

/** Checks a JWS against a set of public keys, offline; throws DomainError `signature_invalid`. */
export interface AuditSignatureVerifier {
  verify(jws: string, type: string, jwks: { keys: Array<Record<string, unknown>> }): Promise<{ payload: unknown; kid: string }>;
}

/** Writes export records as lines of one format (the bytes the manifest's digest covers). */
export interface ExportEncoder {
  contentType: string;
  extension: string;
  /** Lines before the first record (CSV: the header row). */
  preamble(): string;
  record(record: ExportRecord): string;
}

/**
 * Reads an export back from its lines (without their newlines): each record with the 1-based line
 * it starts on; a line that is no record ends the reading with `malformed` saying why.
 */
export type DecodedRecord = DecodedLine;

/**
 * Checks chunks of whole NDJSON lines of an export (checkLineChunk), possibly on other threads;
 * answers in any order, the verifier joins them in file order.
 */
export interface LineChunkChecker {
  check(bytes: Buffer): Promise<LineChunkResult>;
  /** How many chunks it works on at once. */
  parallel: number;
  close(): Promise<void>;
}

export interface ExportDecoder {
  records(lines: AsyncIterable<string>): AsyncIterable<DecodedRecord>;
  /**
   * For formats with one record a line (NDJSON): decodes a line on its own, synchronously; null for
   * an empty line. `records` gives the same answers; this spares a verifier a promise per line.
   */
  line?(raw: string, line: number): DecodedRecord | null;
}

/** Row formats for the elevation history export (CSV or NDJSON). */
export interface TableEncoder {
  contentType: string;
  preamble(columns: readonly string[]): string;
  row(columns: readonly string[], values: Record<string, unknown>): string;
}
