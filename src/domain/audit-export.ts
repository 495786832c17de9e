// What an audit export is made of, and the rules that check one offline (docs/architecture.md, Exports and Offline verification).
//
// An export is a run of records in sequence order, then one signed manifest:
//   event    an event of the chain, every hashed field included, so its hash can be recomputed;
//   omitted  a run of consecutive events left out by the export's filter, given only by the
//            chain links at its two ends (the previous hash of its first event, the hash of its
//            last), so the events that were exported still link up without the others;
//   manifest a JWS (EdDSA) over the range, the counts, the first previous hash, the last hash,
//            the checkpoint that covers the range and the SHA-256 of every byte before it.
// The walk below checks records one by one and names the first that breaks the chain; what the
// walk cannot see (an event turned into an `omitted` run, a changed byte of CSV quoting) the
// signed digest catches.
import { computeAuditHash, type AuditAction, type AuditEvent } from './audit.ts';

export const exportFormats = ['ndjson', 'csv'] as const;
export type ExportFormat = (typeof exportFormats)[number];

export interface OmittedRun {
  record: 'omitted';
  fromSeq: number;
  toSeq: number;
  /** The previous hash of event fromSeq. */
  prevHash: string;
  /** The hash of event toSeq. */
  lastHash: string;
}

export type ExportRecord = ({ record: 'event' } & AuditEvent) | OmittedRun | { record: 'manifest'; jws: string };

export interface ExportFilter {
  fromSeq?: number;
  toSeq?: number;
  from?: string;
  to?: string;
  tenantId?: string;
  actor?: string;
  action?: AuditAction;
}

export const manifestType = 'stint-audit-manifest+json';
export const checkpointType = 'stint-audit-checkpoint+json';

export interface ExportManifest {
  kind: 'stint.audit.export';
  version: 1;
  createdAt: string;
  format: ExportFormat;
  filter: ExportFilter;
  /** The sequence range the export covers; every seq in it is an event or inside an omitted run. */
  fromSeq: number;
  toSeq: number;
  /** Events included, and events left out by the filter. */
  events: number;
  omitted: number;
  /** The previous hash of event fromSeq (the anchor the first record links to); null when empty. */
  firstPrevHash: string | null;
  /** The hash of event toSeq; null when empty. */
  lastHash: string | null;
  /** The signed checkpoint (JWS) of the chain head at or after toSeq. */
  checkpoint: string | null;
  /** `sha256:<hex>` over every byte of the file before the manifest's line. */
  contentDigest: string;
}

export interface Checkpoint {
  kind: 'stint.audit.checkpoint';
  seq: number;
  hash: string;
  at: string;
}

export interface BadRecord {
  /** 1-based line of the file (physical line where the record starts). */
  line: number;
  seq: number | null;
  reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap' | 'out_of_order' | 'duplicate' | 'malformed' | 'record_after_manifest';
  message: string;
}

/**
 * Whether a record starting at `seq` with previous hash `recordPrevHash` follows on from where a
 * walk stands (nothing yet: anything does).
 */
export function linkBreak(
  at: { expectedSeq: number | null; prevHash: string | null },
  line: number,
  seq: number,
  recordPrevHash: string,
): BadRecord | null {
  const { expectedSeq, prevHash } = at;
  if (expectedSeq !== null && seq !== expectedSeq) {
    if (seq < expectedSeq) {
      return {
        line,
        seq,
        reason: seq === expectedSeq - 1 ? 'duplicate' : 'out_of_order',
        message: `seq ${seq} comes after seq ${expectedSeq - 1}`,
      };
    }
    return {
      line,
      seq,
      reason: 'sequence_gap',
      message: `seq ${expectedSeq}${seq - 1 > expectedSeq ? `–${seq - 1}` : ''} missing before seq ${seq}`,
    };
  }
  if (prevHash !== null && recordPrevHash !== prevHash) {
    return { line, seq, reason: 'prev_hash_mismatch', message: `seq ${seq} does not link to the record before it` };
  }
  return null;
}

/**
 * Walks the records of an export in file order and returns the first that breaks the chain. Feed
 * every record before the manifest to `step`; `state` says where the walk has got to.
 */
export function createChainWalk() {
  let expectedSeq: number | null = null;
  let prevHash: string | null = null;
  let firstSeq: number | null = null;
  let firstPrevHash: string | null = null;
  let events = 0;
  let omitted = 0;

  function link(line: number, seq: number, recordPrevHash: string): BadRecord | null {
    const broken = linkBreak({ expectedSeq, prevHash }, line, seq, recordPrevHash);
    if (broken) return broken;
    if (firstSeq === null) {
      firstSeq = seq;
      firstPrevHash = recordPrevHash;
    }
    return null;
  }

  return {
    step(record: ExportRecord, line: number): BadRecord | null {
      if (record.record === 'event') {
        const broken = link(line, record.seq, record.prevHash);
        if (broken) return broken;
        const hash = record.hash;
        // computeAuditHash reads only the hashed fields (auditHashInput), so the record goes as it is.
        if (computeAuditHash(record) !== hash) {
          return {
            line,
            seq: record.seq,
            reason: 'hash_mismatch',
            message: `seq ${record.seq} was changed: its content does not match its hash`,
          };
        }
        expectedSeq = record.seq + 1;
        prevHash = hash;
        events++;
        return null;
      }
      if (record.record === 'omitted') {
        if (record.toSeq < record.fromSeq)
          return { line, seq: record.fromSeq, reason: 'malformed', message: 'an omitted run ends before it starts' };
        const broken = link(line, record.fromSeq, record.prevHash);
        if (broken) return broken;
        expectedSeq = record.toSeq + 1;
        prevHash = record.lastHash;
        omitted += record.toSeq - record.fromSeq + 1;
        return null;
      }
      return { line, seq: null, reason: 'record_after_manifest', message: 'a manifest before the last record' };
    },
    state() {
      return { firstSeq, lastSeq: expectedSeq === null ? null : expectedSeq - 1, firstPrevHash, lastHash: prevHash, events, omitted };
    },
  };
}

export type WalkState = ReturnType<ReturnType<typeof createChainWalk>['state']>;

/** A line decoded on its own (NDJSON): a record, or why it is none. */
export type DecodedLine = { record: ExportRecord; line: number } | { malformed: string; line: number };

/**
 * What one chunk of whole lines holds, checked on its own: a verifier may check chunks in any
 * order, on any thread, and join the results in file order (joinChunk). Lines count from 1 within
 * the chunk; sequence numbers are the records' own.
 */
export interface LineChunkResult {
  lines: number;
  /** The line of the chunk's first event or omitted run; null when it has none. */
  firstRecordLine: number | null;
  /** The walk over the chunk's records alone (its first record links to nothing). */
  walk: WalkState;
  manifest: { jws: string; line: number } | null;
  /** The first bad record inside the chunk (not counting how its first record links to the chunk before). */
  problem: BadRecord | null;
}

/** Checks a chunk of whole lines (`text`; its last line may lack the newline). */
export function checkLineChunk(text: string, decode: (raw: string, line: number) => DecodedLine | null): LineChunkResult {
  const parts = text.split('\n');
  const lines = text.endsWith('\n') ? parts.length - 1 : parts.length;
  const walk = createChainWalk();
  let firstRecordLine: number | null = null;
  let manifest: { jws: string; line: number } | null = null;
  let problem: BadRecord | null = null;
  for (let i = 0; i < lines; i++) {
    const item = decode(parts[i]!, i + 1);
    if (item === null) continue;
    if ('malformed' in item) {
      const lastSeq = walk.state().lastSeq;
      problem = { line: item.line, seq: lastSeq === null ? null : lastSeq + 1, reason: 'malformed', message: item.malformed };
      break;
    }
    if (manifest) {
      problem = { line: item.line, seq: null, reason: 'record_after_manifest', message: 'a record after the manifest' };
      break;
    }
    if (item.record.record === 'manifest') {
      manifest = { jws: item.record.jws, line: item.line };
      continue;
    }
    firstRecordLine ??= item.line;
    problem = walk.step(item.record, item.line);
    if (problem) break;
  }
  return { lines, firstRecordLine, walk: walk.state(), manifest, problem };
}

/** Where a verifier joining chunks in file order stands. */
export interface ChunkJoin {
  walk: WalkState;
  manifest: { jws: string; line: number } | null;
  /** Lines before the next chunk. */
  lines: number;
}

export const emptyJoin = (): ChunkJoin => ({
  walk: { firstSeq: null, lastSeq: null, firstPrevHash: null, lastHash: null, events: 0, omitted: 0 },
  manifest: null,
  lines: 0,
});

/**
 * Adds the next chunk's result (in file order) to a join: the first bad record of the file so far
 * (with file line numbers), or the join extended by the chunk. The same answer as walking the
 * file's records one by one.
 */
export function joinChunk(join: ChunkJoin, chunk: LineChunkResult): { problem: BadRecord } | { join: ChunkJoin } {
  const at = (problem: BadRecord): { problem: BadRecord } => ({ problem: { ...problem, line: problem.line + join.lines } });
  const { problem } = chunk;
  const before = join.walk;
  const nextSeq = before.lastSeq === null ? null : before.lastSeq + 1;
  // A line that is no record before the chunk's first record: the walk before the chunk decides its seq.
  if (problem && (chunk.firstRecordLine === null || problem.line < chunk.firstRecordLine)) {
    return at(problem.reason === 'malformed' && problem.seq === null ? { ...problem, seq: nextSeq } : problem);
  }
  if (join.manifest && (chunk.firstRecordLine !== null || chunk.manifest)) {
    const line = Math.min(chunk.firstRecordLine ?? Infinity, chunk.manifest?.line ?? Infinity);
    return at({ line, seq: null, reason: 'record_after_manifest', message: 'a record after the manifest' });
  }
  if (chunk.firstRecordLine !== null && chunk.walk.firstSeq !== null && chunk.walk.firstPrevHash !== null) {
    const broken = linkBreak(
      { expectedSeq: nextSeq, prevHash: before.lastHash },
      chunk.firstRecordLine,
      chunk.walk.firstSeq,
      chunk.walk.firstPrevHash,
    );
    if (broken) return at(broken);
  }
  if (problem) return at(problem);
  const after = chunk.walk;
  const walk =
    after.firstSeq === null
      ? { ...before, events: before.events + after.events, omitted: before.omitted + after.omitted }
      : before.firstSeq === null
        ? after
        : {
            ...before,
            lastSeq: after.lastSeq,
            lastHash: after.lastHash,
            events: before.events + after.events,
            omitted: before.omitted + after.omitted,
          };
  return {
    join: {
      walk,
      manifest: chunk.manifest ? { ...chunk.manifest, line: chunk.manifest.line + join.lines } : join.manifest,
      lines: join.lines + chunk.lines,
    },
  };
}

/** Why a walked export does not match its (authentic) manifest, or null when it does. */
export function manifestMismatch(walk: WalkState, manifest: ExportManifest, contentDigest: string): string | null {
  const empty = manifest.events + manifest.omitted === 0;
  if (empty) {
    if (walk.firstSeq !== null) return 'the manifest describes an empty export, but the file has records';
  } else {
    if (walk.firstSeq === null) return `the file has no records; the manifest covers seq ${manifest.fromSeq}–${manifest.toSeq}`;
    if (walk.firstSeq !== manifest.fromSeq)
      return `the file starts at seq ${walk.firstSeq}; the manifest starts at seq ${manifest.fromSeq}`;
    if (walk.firstPrevHash !== manifest.firstPrevHash) return 'the first record does not link to the manifest’s first previous hash';
    if (walk.lastSeq! < manifest.toSeq)
      return `the file ends at seq ${walk.lastSeq}; the manifest runs to seq ${manifest.toSeq} (seq ${walk.lastSeq! + 1} is the first missing)`;
    if (walk.lastSeq! > manifest.toSeq) return `the file runs to seq ${walk.lastSeq}; the manifest ends at seq ${manifest.toSeq}`;
    if (walk.lastHash !== manifest.lastHash) return 'the last record’s hash is not the manifest’s last hash';
  }
  if (walk.events !== manifest.events || walk.omitted !== manifest.omitted) {
    return `the file has ${walk.events} events and ${walk.omitted} omitted; the manifest says ${manifest.events} and ${manifest.omitted}`;
  }
  if (contentDigest !== manifest.contentDigest)
    return 'the content digest does not match the manifest (a record was changed without breaking the chain)';
  return null;
}

/** Why a checkpoint does not cover the export it came with, or null when it does. */
export function checkpointMismatch(checkpoint: Checkpoint, manifest: ExportManifest): string | null {
  if (manifest.lastHash === null) return null;
  if (checkpoint.seq < manifest.toSeq)
    return `the checkpoint (seq ${checkpoint.seq}) does not reach the end of the export (seq ${manifest.toSeq})`;
  if (checkpoint.seq === manifest.toSeq && checkpoint.hash !== manifest.lastHash)
    return 'the checkpoint’s hash is not the export’s last hash';
  return null;
}

/** Does an event pass the export's filter? (The sequence range is applied by the reader.) */
export function matchesExportFilter(event: AuditEvent, filter: ExportFilter, from: Date | null, to: Date | null): boolean {
  if (from && event.at < from) return false;
  if (to && event.at >= to) return false;
  if (filter.tenantId !== undefined && event.tenantId !== filter.tenantId) return false;
  if (filter.actor !== undefined && event.actor !== filter.actor) return false;
  if (filter.action !== undefined && event.action !== filter.action) return false;
  return true;
}

export const dayMs = 86_400_000;
export const minimumRetentionDays = 7;

/**
 * The last sequence number a purge may delete: past retention, covered by a signed checkpoint, and
 * forwarded to every SIEM target (null: none configured). 0 or less means nothing may go.
 */
export function purgeLimit(input: {
  /** The last seq of the run of oldest events all older than the retention cut-off. */
  expiredThroughSeq: number;
  checkpointSeq: number | null;
  forwardedThroughSeq: number | null;
}): { throughSeq: number; heldBy: 'retention' | 'checkpoint' | 'forwarding' } {
  let throughSeq = input.expiredThroughSeq;
  let heldBy: 'retention' | 'checkpoint' | 'forwarding' = 'retention';
  const checkpointSeq = input.checkpointSeq ?? 0;
  if (checkpointSeq < throughSeq) {
    throughSeq = checkpointSeq;
    heldBy = 'checkpoint';
  }
  if (input.forwardedThroughSeq !== null && input.forwardedThroughSeq < throughSeq) {
    throughSeq = input.forwardedThroughSeq;
    heldBy = 'forwarding';
  }
  return { throughSeq, heldBy };
}
