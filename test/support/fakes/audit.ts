// The in-memory audit chain, its checkpoints and the signing keys (the real ones:
// src/adapters/store/audit.ts, signing-keys.ts). Events are chained and checked against the
// catalogue by the domain's own functions, as the real repository does.
import { chainAuditEvent, genesisHash, type AuditEvent, type AuditEventInput } from '../../../src/domain/audit.ts';
import { auditDetailsProblem } from '../../../src/domain/audit-catalogue.ts';
import type { AuditRepository, SigningKeyRecord, SigningKeyRepository } from '../../../src/services/ports/audit.ts';
import { change, conflict, copy, drop, put, type Rows, type StoreContext } from './memory.ts';

/** Keys that sort as numbers. */
const seqKey = (seq: number) => String(seq).padStart(15, '0');

function assertCatalogued(input: AuditEventInput): void {
  const problem = auditDetailsProblem(input);
  if (problem !== null) throw new Error(`audit event ${input.action} does not match the catalogue: ${problem}`);
}

export function memoryAuditRepository(ctx: StoreContext): AuditRepository {
  const { auditEvents: events, auditHead, checkpoints } = ctx.state;
  const head = () => auditHead.get('1') ?? { seq: 0, hash: genesisHash, purgedThroughSeq: 0, anchorHash: genesisHash };
  const ordered = () => [...events.values()].sort((a, b) => a.seq - b.seq);
  function append(inputs: readonly AuditEventInput[], at: Date): AuditEvent[] {
    inputs.forEach(assertCatalogued);
    const h = head();
    let prev = h.hash;
    const chained = inputs.map((input, i) => {
      const event = chainAuditEvent(input, h.seq + i + 1, prev, at);
      prev = event.hash;
      return event;
    });
    for (const event of chained) put(ctx, events, seqKey(event.seq), event);
    put(ctx, auditHead, '1', { ...h, seq: h.seq + inputs.length, hash: prev });
    return chained;
  }
  const sortedCheckpoints = () => [...checkpoints.values()].sort((a, b) => a.seq - b.seq);
  return {
    append: async (input, at) => copy(append([input], at)[0]!),
    async appendMany(inputs, at) {
      if (inputs.length) append(inputs, at);
    },
    async list(f) {
      return ordered()
        .reverse()
        .filter(
          (e) =>
            (!f.from || e.at >= f.from) &&
            (!f.to || e.at < f.to) &&
            (!f.actor || e.actor === f.actor) &&
            (!f.action || e.action === f.action) &&
            (!f.tenantId || e.tenantId === f.tenantId) &&
            (!f.target || e.target === f.target) &&
            (f.beforeSeq === undefined || e.seq < f.beforeSeq),
        )
        .slice(0, f.limit)
        .map(copy);
    },
    range: async (fromSeq, limit) =>
      ordered()
        .filter((e) => e.seq >= fromSeq)
        .slice(0, limit)
        .map(copy),
    head: async () => ({ seq: head().seq, hash: head().hash }),
    anchor: async () => ({ purgedThroughSeq: head().purgedThroughSeq, hash: head().anchorHash }),
    firstSeqAtOrAfter: async (at) => ordered().find((e) => e.at >= at)?.seq ?? null,
    lastSeqBefore: async (at) =>
      ordered()
        .filter((e) => e.at < at)
        .pop()?.seq ?? null,
    async purgeThrough(throughSeq) {
      const h = head();
      if (throughSeq <= h.purgedThroughSeq) return { purged: 0, anchorHash: h.anchorHash };
      const last = events.get(seqKey(throughSeq));
      if (!last) throw new Error(`audit event ${throughSeq} is not stored; nothing purged`);
      let purged = 0;
      for (const e of ordered()) if (e.seq <= throughSeq && drop(ctx, events, seqKey(e.seq))) purged++;
      put(ctx, auditHead, '1', { ...h, purgedThroughSeq: throughSeq, anchorHash: last.hash });
      return { purged, anchorHash: last.hash };
    },
    async insertCheckpoint(c) {
      if (!checkpoints.has(seqKey(c.seq))) put(ctx, checkpoints, seqKey(c.seq), c);
    },
    latestCheckpoint: async () => copy(sortedCheckpoints().pop() ?? null),
    checkpointCovering: async (seq) => copy(sortedCheckpoints().find((c) => c.seq >= seq) ?? null),
    listCheckpoints: async (limit) => sortedCheckpoints().reverse().slice(0, limit).map(copy),
  };
}

export function memorySigningKeyRepository(ctx: StoreContext, rows: Rows<SigningKeyRecord>): SigningKeyRepository {
  return {
    async insert(k) {
      if (rows.has(k.kid)) throw conflict(['kid']);
      put(ctx, rows, k.kid, k);
    },
    list: async () => [...rows.values()].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()).map(copy),
    async retireAllExcept(kid, at) {
      for (const key of [...rows.keys()])
        change(
          ctx,
          rows,
          key,
          (k) => k.kid !== kid && k.retiredAt === null,
          (k) => Object.assign(k, { retiredAt: at }),
        );
    },
    async replaceSealedPrivateKey(kid, sealed) {
      change(
        ctx,
        rows,
        kid,
        () => true,
        (k) => Object.assign(k, { privateJwkSealed: sealed }),
      );
    },
  };
}
