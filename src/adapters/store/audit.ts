import type { Insertable, Kysely, Selectable } from 'kysely';
import { chainAuditEvent, type AuditAction, type AuditEvent, type AuditEventInput } from '../../domain/audit.ts';
import { auditDetailsProblem } from '../../domain/audit-catalogue.ts';
import type { AuditRepository } from '../../services/ports.ts';
import type { AuditEventsTable, Database } from './schema.ts';

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

export function auditRepository(db: Kysely<Database>): AuditRepository {
  return {
    async append(input, at) {
      assertCatalogued(input);
      // Bumping the head first takes the lock that orders concurrent appenders; RETURNING gives
      // the new sequence number and the previous event's hash.
      const head = await db
        .updateTable('audit_head')
        .set((eb) => ({ seq: eb('seq', '+', 1) }))
        .where('id', '=', 1)
        .returning(['seq', 'hash'])
        .executeTakeFirstOrThrow();
      const event = chainAuditEvent(input, Number(head.seq), head.hash, at);
      await db.updateTable('audit_head').set({ hash: event.hash }).where('id', '=', 1).execute();
      await db.insertInto('audit_events').values(toRow(event)).execute();
      return event;
    },

    async appendMany(inputs, at) {
      if (inputs.length === 0) return;
      inputs.forEach(assertCatalogued);
      const head = await db
        .updateTable('audit_head')
        .set((eb) => ({ seq: eb('seq', '+', inputs.length) }))
        .where('id', '=', 1)
        .returning(['seq', 'hash'])
        .executeTakeFirstOrThrow();
      let seq = Number(head.seq) - inputs.length;
      let prevHash = head.hash;
      const rows = inputs.map((input) => {
        const event = chainAuditEvent(input, ++seq, prevHash, at);
        prevHash = event.hash;
        return toRow(event);
      });
      await db.updateTable('audit_head').set({ hash: prevHash }).where('id', '=', 1).execute();
      // 11 columns a row: 80 rows stay under SQLite's default limit of bound parameters.
      for (let i = 0; i < rows.length; i += 80) await db.insertInto('audit_events').values(rows.slice(i, i + 80)).execute();
    },

    async list(filter) {
      let query = db.selectFrom('audit_events').selectAll();
      if (filter.from) query = query.where('at', '>=', filter.from.getTime());
      if (filter.to) query = query.where('at', '<', filter.to.getTime());
      if (filter.actor) query = query.where('actor', '=', filter.actor);
      if (filter.action) query = query.where('action', '=', filter.action);
      if (filter.tenantId) query = query.where('tenant_id', '=', filter.tenantId);
      if (filter.beforeSeq !== undefined) query = query.where('seq', '<', filter.beforeSeq);
      const rows = await query.orderBy('seq', 'desc').limit(filter.limit).execute();
      return rows.map(toEvent);
    },

    async range(fromSeq, limit) {
      const rows = await db
        .selectFrom('audit_events')
        .selectAll()
        .where('seq', '>=', fromSeq)
        .orderBy('seq', 'asc')
        .limit(limit)
        .execute();
      return rows.map(toEvent);
    },

    async head() {
      const row = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow();
      return { seq: Number(row.seq), hash: row.hash };
    },
  };
}
