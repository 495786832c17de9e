// Access reviews and their findings (migration 0008_reviews).
import type { Kysely, Selectable } from 'kysely';
import { findingKinds, reviewStatuses, severities, type FindingKind, type ReviewStatus, type Severity } from '../../domain/review.ts';
import type { Review, ReviewRepository, StoredFinding } from '../../services/ports/reviews.ts';
import type { Database, ReviewsTable } from './schema.ts';

const time = (value: number | string | null) => (value === null ? null : new Date(Number(value)));

function toReview(row: Selectable<ReviewsTable>): Review {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    trigger: row.trigger === 'scheduled' ? 'scheduled' : 'on_demand',
    requestedBy: row.requested_by,
    status: (reviewStatuses as readonly string[]).includes(row.status) ? (row.status as ReviewStatus) : 'incomplete',
    requestedAt: new Date(Number(row.requested_at)),
    startedAt: time(row.started_at),
    finishedAt: time(row.finished_at),
    counts: {
      critical: Number(row.critical),
      high: Number(row.high),
      medium: Number(row.medium),
      low: Number(row.low),
      info: Number(row.info),
    },
    signedOffBy: row.signed_off_by,
    signedOffAt: time(row.signed_off_at),
    signOffComment: row.signoff_comment,
  };
}

export function reviewRepository(db: Kysely<Database>): ReviewRepository {
  return {
    async insert(review, scheduleKey) {
      await db
        .insertInto('reviews')
        .values({
          id: review.id,
          tenant_id: review.tenantId,
          trigger: review.trigger,
          requested_by: review.requestedBy,
          schedule_key: scheduleKey,
          status: review.status,
          requested_at: review.requestedAt.getTime(),
          started_at: review.startedAt?.getTime() ?? null,
          finished_at: review.finishedAt?.getTime() ?? null,
          signed_off_by: null,
          signed_off_at: null,
          signoff_comment: null,
        })
        .execute();
    },

    async findById(id) {
      const row = await db.selectFrom('reviews').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toReview(row) : null;
    },

    async findByScheduleKey(key) {
      const row = await db.selectFrom('reviews').selectAll().where('schedule_key', '=', key).executeTakeFirst();
      return row ? toReview(row) : null;
    },

    async list(filter) {
      let query = db.selectFrom('reviews').selectAll().orderBy('requested_at', 'desc').orderBy('id', 'desc').limit(filter.limit);
      if (filter.tenantIds) {
        if (filter.tenantIds.length === 0) return [];
        query = query.where('tenant_id', 'in', filter.tenantIds);
      }
      if (filter.statuses) {
        if (filter.statuses.length === 0) return [];
        query = query.where('status', 'in', [...filter.statuses]);
      }
      if (filter.requestedBefore) query = query.where('requested_at', '<', filter.requestedBefore.getTime());
      return (await query.execute()).map(toReview);
    },

    async start(id, at) {
      const result = await db
        .updateTable('reviews')
        .set({ status: 'running', started_at: at.getTime() })
        .where('id', '=', id)
        .where('status', 'in', ['queued', 'running'])
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async finish(id, status, findings, at) {
      const counts = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
      for (const f of findings) counts[f.severity]++;
      await db.deleteFrom('review_findings').where('review_id', '=', id).execute();
      // Bounded batches: PostgreSQL and SQLite both limit the parameters of one statement.
      for (let i = 0; i < findings.length; i += 100) {
        await db
          .insertInto('review_findings')
          .values(
            findings.slice(i, i + 100).map((f, j) => ({
              review_id: id,
              position: i + j,
              severity: f.severity,
              kind: f.kind,
              subject: f.subject,
              technician_id: f.technicianId,
              summary: f.summary,
              action: f.action,
              details: JSON.stringify(f.details),
            })),
          )
          .execute();
      }
      await db
        .updateTable('reviews')
        .set({ status, finished_at: at.getTime(), ...counts })
        .where('id', '=', id)
        .execute();
    },

    async findings(id) {
      const rows = await db.selectFrom('review_findings').selectAll().where('review_id', '=', id).orderBy('position').execute();
      return rows.map((r): StoredFinding => ({
        position: Number(r.position),
        severity: (severities as readonly string[]).includes(r.severity) ? (r.severity as Severity) : 'info',
        kind: (findingKinds as readonly string[]).includes(r.kind) ? (r.kind as FindingKind) : 'directory_unreachable',
        subject: r.subject,
        technicianId: r.technician_id,
        summary: r.summary,
        action: r.action,
        details: JSON.parse(r.details) as StoredFinding['details'],
      }));
    },

    async signOff(id, by, comment, at) {
      const result = await db
        .updateTable('reviews')
        .set({ signed_off_by: by, signed_off_at: at.getTime(), signoff_comment: comment })
        .where('id', '=', id)
        .where('signed_off_by', 'is', null)
        .where('status', 'in', ['completed', 'incomplete'])
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}
