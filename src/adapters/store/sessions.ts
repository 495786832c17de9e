import type { Kysely, Selectable } from 'kysely';
import type { SessionRecord, SessionRepository } from '../../services/ports/technicians.ts';
import type { Database, SessionsTable } from './schema.ts';

function toRecord(row: Selectable<SessionsTable>): SessionRecord {
  return {
    id: row.id,
    technicianId: row.technician_id,
    refreshHash: row.refresh_hash,
    createdAt: new Date(row.created_at),
    lastRefreshedAt: new Date(row.last_refreshed_at),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
    sourceIp: row.source_ip,
    userAgent: row.user_agent,
  };
}

export function sessionRepository(db: Kysely<Database>): SessionRepository {
  return {
    async insert(s) {
      await db
        .insertInto('sessions')
        .values({
          id: s.id,
          technician_id: s.technicianId,
          refresh_hash: s.refreshHash,
          created_at: s.createdAt.getTime(),
          last_refreshed_at: s.lastRefreshedAt.getTime(),
          revoked_at: s.revokedAt?.getTime() ?? null,
          source_ip: s.sourceIp,
          user_agent: s.userAgent,
        })
        .execute();
    },

    async findById(id) {
      const row = await db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toRecord(row) : null;
    },

    async rotateRefresh(id, oldHash, newHash, at) {
      const result = await db
        .updateTable('sessions')
        .set({ refresh_hash: newHash, last_refreshed_at: at.getTime() })
        .where('id', '=', id)
        .where('refresh_hash', '=', oldHash)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async revoke(id, at) {
      await db.updateTable('sessions').set({ revoked_at: at.getTime() }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    },

    async revokeAllForTechnician(technicianId, at) {
      const result = await db
        .updateTable('sessions')
        .set({ revoked_at: at.getTime() })
        .where('technician_id', '=', technicianId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}
