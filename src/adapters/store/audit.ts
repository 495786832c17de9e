import type { Insertable, Kysely, Selectable } from 'kysely';
import { chainAuditEvent, type AuditAction, type AuditEvent, type AuditEventInput } from '../../domain/audit.ts';
import { auditDetailsProblem } from '../../domain/audit-catalogue.ts';
import type { AuditRepository, StoredCheckpoint } from '../../services/ports/audit.ts';
import type { AuditCheckpointsTable, AuditEventsTable, Database } from './schema.ts';

function toEvent(row: Selectable<AuditEventsTable>): AuditEvent {
  return {
    seq: row.seq,
    at: new Date(row.at),
    actor: row.actor,
    action: row.action as AuditAction,
    tenantId: row.tenant_id,
    target: row.target,
    requestId: row.request_id,
    sourceIp: row.source_ip,
    details: JSON.parse(row.details) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

function toRow(event: AuditEvent): Insertable<AuditEventsTable> {
  return {
    seq: event.seq,
    at: event.at.getTime(),
    actor: event.actor,
    action: event.action,
    tenant_id: event.tenantId,
    target: event.target,
    request_id: event.requestId,
    source_ip: event.sourceIp,
    details: JSON.stringify(event.details),
    prev_hash: event.prevHash,
    hash: event.hash,
  };
}

/** Fail closed: an event whose details leave the catalogue is not written, and so its change does not happen. */
function assertCatalogued(input: AuditEventInput): void {
  const problem = auditDetailsProblem(input);
  if (problem !== null) throw new Error(`audit event ${input.action} does not match the catalogue: ${problem}`);
}

/** Locks the chain head and reserves `count` sequence numbers; answers the previous head. */
async function reserve(db: Kysely<Database>, count: number): Promise<{ seq: number; hash: string }> {
  // Bumping the head first takes the lock that orders concurrent appenders (a row lock on
  // PostgreSQL held to commit, the write lock on SQLite); RETURNING gives the new sequence number
  // and the previous event's hash, both as committed by the appender before.
  const head = await db
    .updateTable('audit_head')
    .set((eb) => ({ seq: eb('seq', '+', count) }))
    .where('id', '=', 1)
    .returning(['seq', 'hash'])
    .executeTakeFirstOrThrow();
  return { seq: Number(head.seq) - count, hash: head.hash };
}

/**
 * The head's seq and hash must move together with the events in one transaction: outside one, a
 * second appender could read the bumped seq with the old hash and fork the chain. Callers are
 * meant to pass a transaction's repository; one that does not gets a transaction of its own.
 */
function inTransaction<T>(db: Kysely<Database>, work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

const toCheckpoint = (row: Selectable<AuditCheckpointsTable>): StoredCheckpoint => ({
  seq: Number(row.seq),
  hash: row.hash,
  at: new Date(Number(row.at)),
  kid: row.kid,
  jws: row.jws,
});

export function auditRepository(db: Kysely<Database>): AuditRepository {
  return {
    append: (input, at) => {
      assertCatalogued(input);
      return inTransaction(db, async (trx) => {
        const head = await reserve(trx, 1);
        const event = chainAuditEvent(input, head.seq + 1, head.hash, at);
        await trx.updateTable('audit_head').set({ hash: event.hash }).where('id', '=', 1).execute();
        await trx.insertInto('audit_events').values(toRow(event)).execute();
        return event;
      });
    },

    async appendMany(inputs, at) {
      if (inputs.length === 0) return;
      inputs.forEach(assertCatalogued);
      await inTransaction(db, async (trx) => {
        const head = await reserve(trx, inputs.length);
        let seq = head.seq;
        let prevHash = head.hash;
        const rows = inputs.map((input) => {
          const event = chainAuditEvent(input, ++seq, prevHash, at);
          prevHash = event.hash;
          return toRow(event);
        });
        await trx.updateTable('audit_head').set({ hash: prevHash }).where('id', '=', 1).execute();
        // 11 columns a row: 80 rows stay under SQLite's default limit of bound parameters.
        for (let i = 0; i < rows.length; i += 80)
          await trx
            .insertInto('audit_events')
            .values(rows.slice(i, i + 80))
            .execute();
      });
    },

    async list(filter) {
      let query = db.selectFrom('audit_events').selectAll();
      if (filter.from) query = query.where('at', '>=', filter.from.getTime());
      if (filter.to) query = query.where('at', '<', filter.to.getTime());
      if (filter.actor) query = query.where('actor', '=', filter.actor);
      if (filter.action) query = query.where('action', '=', filter.action);
      if (filter.tenantId) query = query.where('tenant_id', '=', filter.tenantId);
      if (filter.target) query = query.where('target', '=', filter.target);
      if (filter.beforeSeq !== undefined) query = query.where('seq', '<', filter.beforeSeq);
      const rows = await query.orderBy('seq', 'desc').limit(filter.limit).execute();
      return rows.map(toEvent);
    },

    async range(fromSeq, limit) {
      const rows = await db.selectFrom('audit_events').selectAll().where('seq', '>=', fromSeq).orderBy('seq', 'asc').limit(limit).execute();
      return rows.map(toEvent);
    },

    async head() {
      const row = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow();
      return { seq: Number(row.seq), hash: row.hash };
    },

    async anchor() {
      const row = await db
        .selectFrom('audit_head')
        .select(['purged_through_seq', 'anchor_hash'])
        .where('id', '=', 1)
        .executeTakeFirstOrThrow();
      return { purgedThroughSeq: Number(row.purged_through_seq), hash: row.anchor_hash };
    },

    async firstSeqAtOrAfter(at) {
      const row = await db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.min('seq').as('seq'))
        .where('at', '>=', at.getTime())
        .executeTakeFirst();
      return row?.seq == null ? null : Number(row.seq);
    },

    async lastSeqBefore(at) {
      const row = await db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .where('at', '<', at.getTime())
        .executeTakeFirst();
      return row?.seq == null ? null : Number(row.seq);
    },

    purgeThrough: (throughSeq) =>
      inTransaction(db, async (trx) => {
        // Lock the head first, as appenders do, so the anchor and the deletion are one step.
        const anchor = await trx
          .updateTable('audit_head')
          .set((eb) => ({ purged_through_seq: eb.ref('purged_through_seq') }))
          .where('id', '=', 1)
          .returning(['purged_through_seq', 'anchor_hash'])
          .executeTakeFirstOrThrow();
        if (throughSeq <= Number(anchor.purged_through_seq)) return { purged: 0, anchorHash: anchor.anchor_hash };
        const last = await trx.selectFrom('audit_events').select('hash').where('seq', '=', throughSeq).executeTakeFirst();
        if (!last) throw new Error(`audit event ${throughSeq} is not stored; nothing purged`);
        const deleted = await trx.deleteFrom('audit_events').where('seq', '<=', throughSeq).executeTakeFirst();
        await trx.updateTable('audit_head').set({ purged_through_seq: throughSeq, anchor_hash: last.hash }).where('id', '=', 1).execute();
        return { purged: Number(deleted.numDeletedRows), anchorHash: last.hash };
      }),

    async insertCheckpoint(c) {
      await db
        .insertInto('audit_checkpoints')
        .values({ seq: c.seq, hash: c.hash, at: c.at.getTime(), kid: c.kid, jws: c.jws })
        .onConflict((oc) => oc.column('seq').doNothing())
        .execute();
    },

    async latestCheckpoint() {
      const row = await db.selectFrom('audit_checkpoints').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirst();
      return row ? toCheckpoint(row) : null;
    },

    async checkpointCovering(seq) {
      const row = await db
        .selectFrom('audit_checkpoints')
        .selectAll()
        .where('seq', '>=', seq)
        .orderBy('seq', 'asc')
        .limit(1)
        .executeTakeFirst();
      return row ? toCheckpoint(row) : null;
    },

    async listCheckpoints(limit) {
      const rows = await db.selectFrom('audit_checkpoints').selectAll().orderBy('seq', 'desc').limit(limit).execute();
      return rows.map(toCheckpoint);
    },
  };
}
