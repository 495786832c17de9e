// Where forwarding to each SIEM target stands (migration 0005_siem_cursors).
import type { Kysely, Selectable } from 'kysely';
import type { SiemCursor, SiemCursorRepository } from '../../services/ports/siem.ts';
import type { Database, SiemCursorsTable } from './schema.ts';

const date = (ms: number | string | null) => (ms === null ? null : new Date(Number(ms)));

function toCursor(row: Selectable<SiemCursorsTable>): SiemCursor {
  return {
    target: row.target,
    lastSeq: Number(row.last_seq),
    stalledSince: date(row.stalled_since),
    failures: row.failures,
    retryAt: date(row.retry_at),
    backlogAlertedAt: date(row.backlog_alerted_at),
    lastSuccessAt: date(row.last_success_at),
    lastError: row.last_error,
    lastErrorAt: date(row.last_error_at),
  };
}

const ms = (value: Date | null | undefined) => (value === undefined ? undefined : value === null ? null : value.getTime());

export function siemCursorRepository(db: Kysely<Database>): SiemCursorRepository {
  const find = (target: string) => db.selectFrom('siem_cursors').selectAll().where('target', '=', target).executeTakeFirst();
  return {
    async ensure(target, at) {
      const inserted = await db
        .insertInto('siem_cursors')
        .values({ target, last_seq: 0, failures: 0, updated_at: at.getTime() })
        .onConflict((oc) => oc.column('target').doNothing())
        .executeTakeFirst();
      const row = await find(target);
      return { cursor: toCursor(row!), created: Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0 };
    },

    async list() {
      return (await db.selectFrom('siem_cursors').selectAll().orderBy('target').execute()).map(toCursor);
    },

    async advance(target, seq, at) {
      await db
        .updateTable('siem_cursors')
        .set({ last_seq: seq, updated_at: at.getTime() })
        .where('target', '=', target)
        .where('last_seq', '<', seq)
        .execute();
    },

    async update(target, patch, at) {
      await db
        .updateTable('siem_cursors')
        .set({
          stalled_since: ms(patch.stalledSince),
          failures: patch.failures,
          retry_at: ms(patch.retryAt),
          backlog_alerted_at: ms(patch.backlogAlertedAt),
          last_success_at: ms(patch.lastSuccessAt),
          last_error: patch.lastError,
          last_error_at: ms(patch.lastErrorAt),
          updated_at: at.getTime(),
        })
        .where('target', '=', target)
        .execute();
    },

    async lease(target, owner, until, at) {
      const result = await db
        .updateTable('siem_cursors')
        .set({ lease_owner: owner, lease_until: until.getTime() })
        .where('target', '=', target)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', at.getTime()), eb('lease_owner', '=', owner)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async release(target, owner) {
      await db
        .updateTable('siem_cursors')
        .set({ lease_owner: null, lease_until: null })
        .where('target', '=', target)
        .where('lease_owner', '=', owner)
        .execute();
    },
  };
}
