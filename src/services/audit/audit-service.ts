// The audit trail's use cases (docs/architecture.md, The audit chain): reading it, checking the stored chain, signed
// checkpoints of its head, streamed exports with a signed manifest, and retention.
import { createHash } from 'node:crypto';
import { findChainBreak, genesisHash, type ChainBreak } from '../../domain/audit.ts';
import {
  checkpointType,
  dayMs,
  manifestType,
  matchesExportFilter,
  purgeLimit,
  type Checkpoint,
  type ExportFilter,
  type ExportFormat,
  type ExportManifest,
  type ExportRecord,
  type OmittedRun,
} from '../../domain/audit-export.ts';
import { DomainError } from '../../domain/errors.ts';
import { auditOrigin, systemContext, type RequestContext } from '../context.ts';
import type { AuditFilter, AuditSignatureVerifier, AuditSigner, ExportEncoder, StoredCheckpoint } from '../ports/audit.ts';
import type { Clock } from '../ports/runtime.ts';
import type { ForwardingProgress } from '../ports/siem.ts';
import type { Store } from '../ports/store.ts';

export type AuditService = ReturnType<typeof createAuditService>;

export interface AuditServiceDeps {
  store: Store;
  clock: Clock;
  signer: AuditSigner;
  /** Checks stored checkpoints against the published audit keys, as `stint audit verify` does. */
  signatures: AuditSignatureVerifier;
  encoder(format: ExportFormat): ExportEncoder;
  forwarding: ForwardingProgress;
  retentionDays: number;
  /** Events read per store query while exporting or checking (memory stays at one page). */
  pageSize?: number;
}

/** A streamed download: its lines are produced as they are read, never all held at once. */
export interface StreamedExport {
  contentType: string;
  filename: string;
  lines: AsyncIterable<string>;
}

export interface PurgeReport {
  purged: number;
  /** Events up to here are gone (before and after this purge). */
  purgedThroughSeq: number;
  /** What stopped the purge going further: the retention period, the newest checkpoint, or forwarding. */
  heldBy: 'retention' | 'checkpoint' | 'forwarding';
  cutoff: string;
}

export function createAuditService(deps: AuditServiceDeps) {
  const { store, clock, signer } = deps;
  const pageSize = deps.pageSize ?? 2000;

  async function signCheckpoint(now: Date): Promise<StoredCheckpoint> {
    const head = await store.audit.head();
    const latest = await store.audit.latestCheckpoint();
    if (latest && latest.seq === head.seq) return latest;
    const payload: Checkpoint = { kind: 'stint.audit.checkpoint', seq: head.seq, hash: head.hash, at: now.toISOString() };
    const { jws, kid } = await signer.sign({ ...payload }, checkpointType, now);
    const checkpoint = { seq: head.seq, hash: head.hash, at: now, kid, jws };
    await store.audit.insertCheckpoint(checkpoint);
    // Another process may have signed the same head a moment earlier: theirs stands.
    return (await store.audit.checkpointCovering(head.seq)) ?? checkpoint;
  }

  /** The sequence range an export covers: the filter's, within what is stored. */
  async function exportRange(filter: ExportFilter): Promise<{ fromSeq: number; toSeq: number }> {
    const head = await store.audit.head();
    const anchor = await store.audit.anchor();
    let fromSeq = Math.max(filter.fromSeq ?? 1, anchor.purgedThroughSeq + 1);
    let toSeq = Math.min(filter.toSeq ?? head.seq, head.seq);
    if (filter.from) fromSeq = Math.max(fromSeq, (await store.audit.firstSeqAtOrAfter(new Date(filter.from))) ?? head.seq + 1);
    if (filter.to) toSeq = Math.min(toSeq, (await store.audit.lastSeqBefore(new Date(filter.to))) ?? 0);
    return { fromSeq, toSeq };
  }

  async function* exportLines(
    filter: ExportFilter,
    format: ExportFormat,
    range: { fromSeq: number; toSeq: number },
    checkpoint: StoredCheckpoint | null,
  ): AsyncGenerator<string> {
    const encoder = deps.encoder(format);
    const digest = createHash('sha256');
    const from = filter.from ? new Date(filter.from) : null;
    const to = filter.to ? new Date(filter.to) : null;
    const preamble = encoder.preamble();
    if (preamble) {
      digest.update(preamble);
      yield preamble;
    }
    let next = range.fromSeq;
    let prevHash: string | null = null;
    let firstPrevHash: string | null = null;
    let events = 0;
    let omitted = 0;
    let run: OmittedRun | null = null;
    while (next <= range.toSeq) {
      const page = await store.audit.range(next, Math.min(pageSize, range.toSeq - next + 1));
      let chunk = '';
      for (const event of page) {
        // The export signs what the store holds, so it refuses a store whose links are broken.
        if (event.seq !== next)
          throw new DomainError('audit_chain_broken', `The stored chain has no event ${next}; run GET /api/v1/audit/verify`);
        if (prevHash !== null && event.prevHash !== prevHash) {
          throw new DomainError(
            'audit_chain_broken',
            `Stored event ${event.seq} does not link to ${event.seq - 1}; run GET /api/v1/audit/verify`,
          );
        }
        firstPrevHash ??= event.prevHash;
        if (matchesExportFilter(event, filter, from, to)) {
          if (run) chunk += encoder.record(run);
          run = null;
          chunk += encoder.record({ record: 'event', ...event });
          events++;
          // Yield ~64 KB at a time rather than a whole page (~900 KB): strings that size stay out
          // of V8's large-object space and the writer's buffers stay small.
          if (chunk.length >= 1 << 16) {
            digest.update(chunk);
            yield chunk;
            chunk = '';
          }
        } else {
          run ??= { record: 'omitted', fromSeq: event.seq, toSeq: event.seq, prevHash: event.prevHash, lastHash: event.hash };
          run.toSeq = event.seq;
          run.lastHash = event.hash;
          omitted++;
        }
        prevHash = event.hash;
        next++;
      }
      if (page.length === 0)
        throw new DomainError('audit_chain_broken', `The stored chain has no event ${next}; run GET /api/v1/audit/verify`);
      if (chunk !== '') {
        digest.update(chunk);
        yield chunk;
      }
    }
    if (run) {
      const line = encoder.record(run);
      digest.update(line);
      yield line;
    }
    const now = clock.now();
    const manifest: ExportManifest = {
      kind: 'stint.audit.export',
      version: 1,
      createdAt: now.toISOString(),
      format,
      filter,
      fromSeq: range.fromSeq,
      toSeq: range.toSeq,
      events,
      omitted,
      firstPrevHash,
      lastHash: prevHash,
      checkpoint: checkpoint?.jws ?? null,
      contentDigest: `sha256:${digest.digest('hex')}`,
    };
    const { jws } = await signer.sign({ ...manifest }, manifestType, now);
    const record: ExportRecord = { record: 'manifest', jws };
    yield encoder.record(record);
  }

  return {
    list: (filter: AuditFilter) => store.audit.list(filter),

    /** The audit keys' public halves (JWKS), every one ever used: what `stint audit verify` needs. */
    jwks: () => signer.jwks(),

    /** Creates the first audit signing key (first start). */
    async ensureSigningKey(): Promise<void> {
      await store.transaction((tx) => signer.ensureKey(clock.now(), tx.auditKeys));
    },

    async rotateSigningKey(actor: string, ctx: RequestContext = systemContext): Promise<string> {
      const now = clock.now();
      return store.transaction(async (tx) => {
        const kid = await signer.rotate(now, tx.auditKeys);
        await tx.audit.append({ actor, action: 'keys.audit_signing_rotated', target: kid, details: { kid }, ...auditOrigin(ctx) }, now);
        return kid;
      });
    },

    /** The interval job: signs the head unless it is already signed. */
    checkpoint: () => signCheckpoint(clock.now()),

    /** On demand: the request is audited first, so the checkpoint covers its own record. */
    async checkpointNow(actor: string, ctx: RequestContext): Promise<StoredCheckpoint> {
      const now = clock.now();
      await store.transaction((tx) => tx.audit.append({ actor, action: 'audit.checkpoint_signed', details: {}, ...auditOrigin(ctx) }, now));
      return signCheckpoint(now);
    },

    listCheckpoints: (limit: number) => store.audit.listCheckpoints(limit),

    /**
     * An export of the trail: the range is fixed and the export audited before the first byte
     * (fail closed), then events are read page by page and written as they come.
     */
    async export(
      filter: ExportFilter,
      format: ExportFormat,
      actor: string,
      ctx: RequestContext,
    ): Promise<StreamedExport & { fromSeq: number; toSeq: number }> {
      if (filter.fromSeq !== undefined && filter.toSeq !== undefined && filter.fromSeq > filter.toSeq) {
        throw new DomainError('validation_failed', 'fromSeq is after toSeq');
      }
      const range = await exportRange(filter);
      const now = clock.now();
      const checkpoint =
        range.toSeq >= range.fromSeq ? ((await store.audit.checkpointCovering(range.toSeq)) ?? (await signCheckpoint(now))) : null;
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
        lines: exportLines(filter, format, range, checkpoint),
      };
    },

    /**
     * Walks the stored chain from its anchor (the genesis hash, or the last purged event's hash)
     * to the head, page by page, and checks it against every signed checkpoint it passes.
     */
    async verifyStoredChain(): Promise<{
      count: number;
      fromSeq: number;
      head: string;
      headSeq: number;
      checkpoints: number;
      firstBreak: (ChainBreak & { message: string }) | null;
    }> {
      const anchor = await store.audit.anchor();
      // A checkpoint counts only as what its signature says: a stored hash column can be rewritten
      // along with the chain; the signature over { seq, hash } cannot without the private key.
      const jwks = await signer.jwks();
      const checkpoints = new Map<number, string>();
      const forged = new Map<number, string>();
      for (const c of await store.audit.listCheckpoints(1_000_000)) {
        const signed = await deps.signatures.verify(c.jws, checkpointType, jwks).then(
          ({ payload }) => payload as Partial<Checkpoint> | null,
          (error: unknown) => {
            if (error instanceof DomainError && error.code === 'signature_invalid') return error.message;
            throw error;
          },
        );
        if (typeof signed === 'string')
          forged.set(c.seq, `the checkpoint at event ${c.seq} does not verify with the published audit keys: ${signed}`);
        else if (signed?.kind !== 'stint.audit.checkpoint') forged.set(c.seq, `the checkpoint at event ${c.seq} signs something else`);
        else if (signed.seq !== c.seq || signed.hash !== c.hash)
          forged.set(c.seq, `the checkpoint at event ${c.seq} is stored with another seq or hash than it signed`);
        else checkpoints.set(c.seq, signed.hash);
      }
      let prevHash = anchor.purgedThroughSeq === 0 ? genesisHash : anchor.hash;
      let next = anchor.purgedThroughSeq + 1;
      let count = 0;
      let checked = 0;
      const result = (firstBreak: (ChainBreak & { message: string }) | null) => ({
        count,
        fromSeq: anchor.purgedThroughSeq + 1,
        head: prevHash,
        headSeq: next - 1,
        checkpoints: checked,
        firstBreak,
      });
      for (;;) {
        const page = await store.audit.range(next, pageSize);
        if (page.length === 0) break;
        if (page[0]!.seq !== next) return result({ seq: next, reason: 'sequence_gap', message: `event ${next} is missing` });
        const broken = findChainBreak(page, prevHash);
        if (broken) return result({ ...broken, message: `event ${broken.seq}: ${broken.reason.replace(/_/g, ' ')}` });
        for (const event of page) {
          const notSigned = forged.get(event.seq);
          if (notSigned !== undefined) return result({ seq: event.seq, reason: 'checkpoint_invalid', message: notSigned });
          const signed = checkpoints.get(event.seq);
          if (signed === undefined) continue;
          if (signed !== event.hash)
            return result({
              seq: event.seq,
              reason: 'checkpoint_mismatch',
              message: `event ${event.seq} is not the one the checkpoint signed`,
            });
          checked++;
        }
        count += page.length;
        prevHash = page[page.length - 1]!.hash;
        next = page[page.length - 1]!.seq + 1;
      }
      const highest = Math.max(0, ...checkpoints.keys());
      if (highest > next - 1)
        return result({
          seq: next,
          reason: 'truncated',
          message: `the chain ends at ${next - 1}, but a checkpoint signed event ${highest}`,
        });
      const [beyond] = [...forged].filter(([seq]) => seq > next - 1).sort(([a], [b]) => a - b);
      if (beyond) return result({ seq: beyond[0], reason: 'checkpoint_invalid', message: beyond[1] });
      return result(null);
    },

    /**
     * Retention: deletes the oldest events that are past retention, covered by a signed checkpoint
     * and forwarded to every SIEM target, and records the last deleted hash as the chain's anchor.
     */
    async purge(actor = 'system', ctx: RequestContext = systemContext): Promise<PurgeReport> {
      const now = clock.now();
      const cutoff = new Date(now.getTime() - deps.retentionDays * dayMs);
      const head = await store.audit.head();
      const firstKept = await store.audit.firstSeqAtOrAfter(cutoff);
      const limit = purgeLimit({
        expiredThroughSeq: firstKept === null ? head.seq : firstKept - 1,
        checkpointSeq: (await store.audit.latestCheckpoint())?.seq ?? null,
        forwardedThroughSeq: await deps.forwarding.lowestForwardedSeq(),
      });
      return store.transaction(async (tx) => {
        const anchor = await tx.audit.anchor();
        if (limit.throughSeq <= anchor.purgedThroughSeq) {
          return { purged: 0, purgedThroughSeq: anchor.purgedThroughSeq, heldBy: limit.heldBy, cutoff: cutoff.toISOString() };
        }
        const { purged, anchorHash } = await tx.audit.purgeThrough(limit.throughSeq);
        await tx.audit.append(
          {
            actor,
            action: 'audit.purged',
            details: {
              purged,
              throughSeq: limit.throughSeq,
              anchorHash,
              heldBy: limit.heldBy,
              retentionDays: deps.retentionDays,
              cutoff: cutoff.toISOString(),
            },
            ...auditOrigin(ctx),
          },
          now,
        );
        return { purged, purgedThroughSeq: limit.throughSeq, heldBy: limit.heldBy, cutoff: cutoff.toISOString() };
      });
    },
  };
}

/** Until SIEM forwarding lands (issue 6, item 6): no target is configured, so nothing holds a purge back. */
export const noForwardingTargets: ForwardingProgress = {
  lowestForwardedSeq: async () => null,
};
