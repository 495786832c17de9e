// Streamed exports of the audit trail with a signed manifest (docs/architecture.md, The audit chain):
// the range is fixed and the export audited before the first byte, then events are read page by
// page and written as they come; the manifest signs the digest of every line before it.
import type { AuditEvent } from '../../domain/audit.ts';
import {
  manifestType,
  matchesExportFilter,
  type ExportFilter,
  type ExportFormat,
  type ExportManifest,
  type ExportRecord,
  type OmittedRun,
} from '../../domain/audit-export.ts';
import { DomainError } from '../../domain/errors.ts';
import { auditOrigin, type RequestContext } from '../context.ts';
import type { AuditSigner, ExportEncoder, StoredCheckpoint } from '../ports/audit.ts';
import type { Hashing } from '../ports/crypto.ts';
import type { Clock } from '../ports/runtime.ts';
import type { Store } from '../ports/store.ts';
import { signCheckpoint } from './audit-checkpoints.ts';

export interface ExportDeps {
  store: Pick<Store, 'audit' | 'transaction'>;
  clock: Clock;
  signer: AuditSigner;
  /** The SHA-256 of the exported lines the manifest signs. */
  hashing: Hashing;
  encoder(format: ExportFormat): ExportEncoder;
  /** Events read per store query while exporting (memory stays at one page). */
  pageSize: number;
}

/** A streamed download: its lines are produced as they are read, never all held at once. */
export interface StreamedExport {
  contentType: string;
  filename: string;
  lines: AsyncIterable<string>;
}

interface SeqRange {
  fromSeq: number;
  toSeq: number;
}

/** Where an export stands in the chain while its lines are written. */
interface ExportWalk {
  next: number;
  prevHash: string | null;
  firstPrevHash: string | null;
  events: number;
  omitted: number;
  /** Events left out by the filter since the last one written, written as one `omitted` record. */
  run: OmittedRun | null;
}

/** Yield ~64 KB at a time rather than a whole page (~900 KB): strings that size stay out of V8's large-object space and the writer's buffers stay small. */
const chunkChars = 1 << 16;

const missingEvent = (seq: number) =>
  new DomainError('audit_chain_broken', `The stored chain has no event ${seq}; run GET /api/v1/audit/verify`);

/** An export of the trail: the range is fixed and the export audited before the first byte (fail closed). */
export async function exportTrail(
  deps: ExportDeps,
  filter: ExportFilter,
  format: ExportFormat,
  actor: string,
  ctx: RequestContext,
): Promise<StreamedExport & SeqRange> {
  if (filter.fromSeq !== undefined && filter.toSeq !== undefined && filter.fromSeq > filter.toSeq) {
    throw new DomainError('validation_failed', 'fromSeq is after toSeq');
  }
  const { store } = deps;
  const range = await exportRange(deps, filter);
  const now = deps.clock.now();
  const checkpoint =
    range.toSeq >= range.fromSeq ? ((await store.audit.checkpointCovering(range.toSeq)) ?? (await signCheckpoint(deps, now))) : null;
  await store.transaction((tx) =>
    tx.audit.append(
      {
        actor,
        action: 'audit.exported',
        tenantId: filter.tenantId ?? null,
        details: { format, filter: { ...filter }, ...range },
        ...auditOrigin(ctx),
      },
      now,
    ),
  );
  const encoder = deps.encoder(format);
  return {
    ...range,
    contentType: encoder.contentType,
    filename: `stint-audit-${range.fromSeq}-${range.toSeq}.${encoder.extension}`,
    lines: exportLines(deps, filter, format, range, checkpoint),
  };
}

/** The sequence range an export covers: the filter's, within what is stored. */
async function exportRange(deps: ExportDeps, filter: ExportFilter): Promise<SeqRange> {
  const { audit } = deps.store;
  const head = await audit.head();
  const anchor = await audit.anchor();
  let fromSeq = Math.max(filter.fromSeq ?? 1, anchor.purgedThroughSeq + 1);
  let toSeq = Math.min(filter.toSeq ?? head.seq, head.seq);
  if (filter.from) fromSeq = Math.max(fromSeq, (await audit.firstSeqAtOrAfter(new Date(filter.from))) ?? head.seq + 1);
  if (filter.to) toSeq = Math.min(toSeq, (await audit.lastSeqBefore(new Date(filter.to))) ?? 0);
  return { fromSeq, toSeq };
}

/** The export's lines: the preamble, the events (runs of left-out ones as `omitted` records), then the signed manifest. */
async function* exportLines(
  deps: ExportDeps,
  filter: ExportFilter,
  format: ExportFormat,
  range: SeqRange,
  checkpoint: StoredCheckpoint | null,
): AsyncGenerator<string> {
  const encoder = deps.encoder(format);
  const digest = deps.hashing.sha256();
  const hashed = (text: string) => {
    digest.update(text);
    return text;
  };
  const preamble = encoder.preamble();
  if (preamble) yield hashed(preamble);
  const walk: ExportWalk = { next: range.fromSeq, prevHash: null, firstPrevHash: null, events: 0, omitted: 0, run: null };
  for await (const chunk of eventChunks(deps, encoder, filter, range, walk)) yield hashed(chunk);
  if (walk.run) yield hashed(encoder.record(walk.run));
  yield await manifestLine(deps, encoder, { filter, format, range, checkpoint, walk, contentDigest: `sha256:${digest.hex()}` });
}

/** The events of the range, page by page, as chunks of encoded records. */
async function* eventChunks(deps: ExportDeps, encoder: ExportEncoder, filter: ExportFilter, range: SeqRange, walk: ExportWalk) {
  const window = { from: filter.from ? new Date(filter.from) : null, to: filter.to ? new Date(filter.to) : null };
  while (walk.next <= range.toSeq) {
    const page = await deps.store.audit.range(walk.next, Math.min(deps.pageSize, range.toSeq - walk.next + 1));
    yield* pageChunks(encoder, page, filter, window, walk);
    if (page.length === 0) throw missingEvent(walk.next);
  }
}

function* pageChunks(
  encoder: ExportEncoder,
  page: readonly AuditEvent[],
  filter: ExportFilter,
  window: { from: Date | null; to: Date | null },
  walk: ExportWalk,
): Generator<string> {
  let chunk = '';
  for (const event of page) {
    // The export signs what the store holds, so it refuses a store whose links are broken.
    if (event.seq !== walk.next) throw missingEvent(walk.next);
    if (walk.prevHash !== null && event.prevHash !== walk.prevHash) {
      throw new DomainError(
        'audit_chain_broken',
        `Stored event ${event.seq} does not link to ${event.seq - 1}; run GET /api/v1/audit/verify`,
      );
    }
    walk.firstPrevHash ??= event.prevHash;
    if (matchesExportFilter(event, filter, window.from, window.to)) {
      if (walk.run) chunk += encoder.record(walk.run);
      walk.run = null;
      chunk += encoder.record({ record: 'event', ...event });
      walk.events++;
      if (chunk.length >= chunkChars) {
        yield chunk;
        chunk = '';
      }
    } else {
      walk.run ??= { record: 'omitted', fromSeq: event.seq, toSeq: event.seq, prevHash: event.prevHash, lastHash: event.hash };
      walk.run.toSeq = event.seq;
      walk.run.lastHash = event.hash;
      walk.omitted++;
    }
    walk.prevHash = event.hash;
    walk.next++;
  }
  if (chunk !== '') yield chunk;
}

/** The last line: the manifest of what was written, signed with the current audit key. */
async function manifestLine(
  deps: ExportDeps,
  encoder: ExportEncoder,
  written: {
    filter: ExportFilter;
    format: ExportFormat;
    range: SeqRange;
    checkpoint: StoredCheckpoint | null;
    walk: ExportWalk;
    contentDigest: string;
  },
): Promise<string> {
  const { filter, format, range, checkpoint, walk, contentDigest } = written;
  const now = deps.clock.now();
  const manifest: ExportManifest = {
    kind: 'stint.audit.export',
    version: 1,
    createdAt: now.toISOString(),
    format,
    filter,
    fromSeq: range.fromSeq,
    toSeq: range.toSeq,
    events: walk.events,
    omitted: walk.omitted,
    firstPrevHash: walk.firstPrevHash,
    lastHash: walk.prevHash,
    checkpoint: checkpoint?.jws ?? null,
    contentDigest,
  };
  const { jws } = await deps.signer.sign({ ...manifest }, manifestType, now);
  const record: ExportRecord = { record: 'manifest', jws };
  return encoder.record(record);
}
