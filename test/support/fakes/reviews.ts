// In-memory access reviews, their findings and drift reports (the real ones:
// src/adapters/store/reviews.ts, drift-reports.ts), and review jobs and schedules that record.
import type { ReviewStatus } from '../../../src/domain/review.ts';
import type { DriftReportRepository, ReviewJobs, ReviewRepository, ReviewSchedules } from '../../../src/services/ports/reviews.ts';
import type { TenantRecord } from '../../../src/services/ports/tenants.ts';
import { byText, change, conflict, copy, drop, foreignKeyViolation, put, type StoreContext } from './memory.ts';

export function memoryReviewRepository(ctx: StoreContext): ReviewRepository {
  const { reviews: rows, findings } = ctx.state;
  const read = ({ scheduleKey: _key, ...review }: ReviewRow) => copy(review);
  type ReviewRow = typeof rows extends Map<string, infer R> ? R : never;
  return {
    async insert(review, scheduleKey) {
      if (rows.has(review.id)) throw conflict(['id']);
      if (scheduleKey !== null && [...rows.values()].some((r) => r.scheduleKey === scheduleKey)) throw conflict(['scheduleKey']);
      if (!ctx.state.tenants.has(review.tenantId)) throw foreignKeyViolation();
      // As the real insert: the counts start at 0 and no sign-off is taken from the input.
      put(ctx, rows, review.id, {
        ...review,
        counts: { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
        signedOffBy: null,
        signedOffAt: null,
        signOffComment: null,
        scheduleKey,
      });
    },
    findById: async (id) => (rows.has(id) ? read(rows.get(id)!) : null),
    findByScheduleKey: async (key) => {
      const found = [...rows.values()].find((r) => r.scheduleKey === key);
      return found ? read(found) : null;
    },
    async list(f) {
      return [...rows.values()]
        .filter(
          (r) =>
            (!f.tenantIds || f.tenantIds.includes(r.tenantId)) &&
            (!f.statuses || f.statuses.includes(r.status)) &&
            (!f.requestedBefore || r.requestedAt < f.requestedBefore),
        )
        .sort((a, b) => b.requestedAt.getTime() - a.requestedAt.getTime() || byText(b.id, a.id))
        .slice(0, f.limit)
        .map(read);
    },
    start: async (id, at) =>
      change(
        ctx,
        rows,
        id,
        (r) => r.status === 'queued' || r.status === 'running',
        (r) => Object.assign(r, { status: 'running' satisfies ReviewStatus, startedAt: at }),
      ),
    async finish(id, status, list, at) {
      for (const [key, f] of [...findings]) if (f.reviewId === id) drop(ctx, findings, key);
      list.forEach((f, position) =>
        put(ctx, findings, `${id}\u0000${String(position).padStart(9, '0')}`, { ...f, position, reviewId: id }),
      );
      const counts = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
      for (const f of list) counts[f.severity]++;
      change(
        ctx,
        rows,
        id,
        () => true,
        (r) => Object.assign(r, { status, finishedAt: at, counts }),
      );
    },
    findings: async (id) =>
      [...findings.values()]
        .filter((f) => f.reviewId === id)
        .sort((a, b) => a.position - b.position)
        .map(({ reviewId: _id, ...f }) => copy(f)),
    signOff: async (id, by, comment, at) =>
      change(
        ctx,
        rows,
        id,
        (r) => r.signedOffBy === null && (r.status === 'completed' || r.status === 'incomplete'),
        (r) => Object.assign(r, { signedOffBy: by, signedOffAt: at, signOffComment: comment }),
      ),
  };
}

export function memoryDriftReportRepository(ctx: StoreContext): DriftReportRepository {
  const rows = ctx.state.driftReports;
  const key = (tenantId: string, groupGuid: string, memberDn: string) =>
    `${tenantId}\u0000${groupGuid.toLowerCase()}\u0000${memberDn.toLowerCase()}`;
  return {
    listForTenant: async (tenantId) => [...rows.values()].filter((r) => r.tenantId === tenantId).map(copy),
    async add(report) {
      if (!ctx.state.tenants.has(report.tenantId)) throw foreignKeyViolation();
      const k = key(report.tenantId, report.groupGuid, report.memberDn);
      if (rows.has(k)) return false;
      put(ctx, rows, k, { ...report, groupGuid: report.groupGuid.toLowerCase() });
      return true;
    },
    async remove(tenantId, reports) {
      for (const r of reports) drop(ctx, rows, key(tenantId, r.groupGuid, r.memberDn));
    },
  };
}

export interface FakeReviewJobs extends ReviewJobs {
  readonly enqueued: string[];
}

/** Review jobs that record what was queued; `ensureQueued` queues what is not there yet. */
export function fakeReviewJobs(): FakeReviewJobs {
  const enqueued: string[] = [];
  return {
    enqueued,
    async enqueue(reviewId) {
      if (!enqueued.includes(reviewId)) enqueued.push(reviewId);
    },
    async ensureQueued(reviewId) {
      if (enqueued.includes(reviewId)) return false;
      enqueued.push(reviewId);
      return true;
    },
  };
}

export interface FakeReviewSchedules extends ReviewSchedules {
  readonly schedules: Map<string, Pick<TenantRecord, 'id' | 'reviewSchedule' | 'timeZone'>>;
}

export function fakeReviewSchedules(): FakeReviewSchedules {
  const schedules: FakeReviewSchedules['schedules'] = new Map();
  return {
    schedules,
    async upsert(tenant) {
      schedules.set(tenant.id, { id: tenant.id, reviewSchedule: tenant.reviewSchedule, timeZone: tenant.timeZone });
    },
    async remove(tenantId) {
      schedules.delete(tenantId);
    },
    async syncAll(tenants) {
      schedules.clear();
      for (const t of tenants) schedules.set(t.id, { id: t.id, reviewSchedule: t.reviewSchedule, timeZone: t.timeZone });
    },
  };
}
