// BullMQ job contracts. Payloads carry ids only, never secrets. One delayed revocation job per
// elevation, its id derived from the elevation id, so scheduling twice changes nothing. The
// notifications queue carries notices (what happened to which elevation) and the delayed
// "expires soon" reminders; the worker renders them from the store.
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { revocationLeadMs } from '../../domain/elevation.ts';
import type { Clock } from '../../services/ports/runtime.ts';
import type { ExpiryWarnings, Notice, Notifications } from '../../services/ports/notifications.ts';
import type { ReviewJobs, ReviewSchedules } from '../../services/ports/reviews.ts';
import type { RevocationJobs } from '../../services/ports/elevations.ts';

export const queueNames = {
  revocations: 'revocations',
  reconcile: 'reconcile',
  leases: 'leases',
  notifications: 'notifications',
  siem: 'siem',
  audit: 'audit',
  reviews: 'reviews',
} as const;

const uuid = /^[0-9a-f-]{36}$/;

/** The audit queue's repeatable jobs: sign a checkpoint of the chain head; run the retention purge. */
export const auditJobNames = ['checkpoint', 'purge'] as const;
export type AuditJobName = (typeof auditJobNames)[number];

export function parseAuditJob(name: string): AuditJobName {
  if (!(auditJobNames as readonly string[]).includes(name)) throw new Error(`unknown audit job ${name}`);
  return name as AuditJobName;
}

export interface RevocationJobData {
  elevationId: string;
}

export const revocationJobId = (elevationId: string) => `revoke-${elevationId}`;

/** Retried without limit while the directory is unreachable; the backoff is capped (see workers/). */
export const revocationJobOptions: JobsOptions = {
  attempts: Number.MAX_SAFE_INTEGER,
  backoff: { type: 'capped-exponential' },
  removeOnComplete: true,
  removeOnFail: false,
};

export function parseRevocationJob(data: unknown): RevocationJobData {
  const id = (data as { elevationId?: unknown } | null)?.elevationId;
  if (typeof id !== 'string' || !/^[0-9a-f-]{36}$/.test(id)) throw new Error('a revocation job names an elevation id');
  return { elevationId: id };
}

export function createQueues(redis: Redis, prefix: string) {
  const revocations = new Queue<RevocationJobData>(queueNames.revocations, { connection: redis, prefix });
  const reconcile = new Queue(queueNames.reconcile, { connection: redis, prefix });
  // A repeatable job with no data, every few seconds: activations whose lease lapsed are undone.
  const leases = new Queue(queueNames.leases, { connection: redis, prefix });
  const notifications = new Queue<NotificationJobData>(queueNames.notifications, { connection: redis, prefix });
  // A repeatable job with no data: each run forwards whatever the cursors have not reached yet.
  const siem = new Queue(queueNames.siem, { connection: redis, prefix });
  const audit = new Queue(queueNames.audit, { connection: redis, prefix });
  const reviews = new Queue<ReviewJobData>(queueNames.reviews, { connection: redis, prefix });
  // A queue re-emits its connection's errors and, heard by no one, prints each to the console: the
  // connection's own listener (container.ts) already logs an outage once.
  for (const queue of [revocations, reconcile, leases, notifications, siem, audit, reviews]) queue.on('error', () => undefined);
  return {
    revocations,
    reconcile,
    leases,
    notifications,
    siem,
    audit,
    reviews,
    async close() {
      await Promise.all([
        revocations.close(),
        reconcile.close(),
        leases.close(),
        notifications.close(),
        siem.close(),
        audit.close(),
        reviews.close(),
      ]);
    },
  };
}

export type Queues = ReturnType<typeof createQueues>;

export function createRevocationJobs(queue: Queue<RevocationJobData>, clock: Clock): RevocationJobs {
  const pendingStates = new Set(['delayed', 'waiting', 'active', 'prioritized', 'waiting-children']);
  return {
    async schedule(elevationId, at) {
      const jobId = revocationJobId(elevationId);
      const delay = Math.max(0, at.getTime() - revocationLeadMs - clock.now().getTime());
      const existing = await queue.getJob(jobId);
      if (existing) {
        const state = await existing.getState();
        if (state === 'delayed') {
          // Already scheduled: move it if the end changed (extend), otherwise leave it be.
          const due = existing.timestamp + (existing.delay ?? 0);
          if (Math.abs(due - (Date.now() + delay)) > 1000) await existing.changeDelay(delay);
          return;
        }
        if (pendingStates.has(state)) return;
        await existing.remove().catch(() => undefined);
      }
      await queue.add('revoke', { elevationId }, { ...revocationJobOptions, jobId, delay });
    },

    async isScheduled(elevationId) {
      const job = await queue.getJob(revocationJobId(elevationId));
      return job ? pendingStates.has(await job.getState()) : false;
    },

    async cancel(elevationId) {
      const job = await queue.getJob(revocationJobId(elevationId));
      if (job && (await job.getState()) === 'delayed') await job.remove();
    },
  };
}

// ---- Access reviews ---------------------------------------------------------------------------

/** A scheduled run names the tenant (the review is created when it runs); an on-demand run, its review. */
export type ReviewJobData = { tenantId: string } | { reviewId: string };

export const reviewSchedulerId = (tenantId: string) => `review-${tenantId}`;
export const reviewJobId = (reviewId: string) => `review-run-${reviewId}`;

/** A review that fails (the store briefly down) is tried again a few times; each try starts it over. */
export const reviewJobOptions: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 5000 },
  removeOnComplete: { age: 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export function parseReviewJob(data: unknown): ReviewJobData {
  const given = data as { tenantId?: unknown; reviewId?: unknown } | null;
  if (typeof given?.reviewId === 'string' && uuid.test(given.reviewId)) return { reviewId: given.reviewId };
  if (typeof given?.tenantId === 'string' && /^[a-z0-9-]{1,40}$/.test(given.tenantId)) return { tenantId: given.tenantId };
  throw new Error('a review job names a review id or a tenant id');
}

export function createReviewJobs(queue: Queue<ReviewJobData>): ReviewJobs {
  const enqueue = async (reviewId: string) => {
    await queue.add('on_demand', { reviewId }, { ...reviewJobOptions, jobId: reviewJobId(reviewId) });
  };
  return {
    enqueue,
    async ensureQueued(reviewId) {
      const job = await queue.getJob(reviewJobId(reviewId));
      if (!job) {
        await enqueue(reviewId);
        return true;
      }
      if ((await job.getState()) !== 'failed') return false;
      await job.retry('failed');
      return true;
    },
  };
}

/** One BullMQ job scheduler per tenant: the cron pattern with the tenant's IANA zone as `tz`. */
export function createReviewSchedules(queue: Queue<ReviewJobData>): ReviewSchedules {
  const upsert: ReviewSchedules['upsert'] = async (tenant) => {
    await queue.upsertJobScheduler(
      reviewSchedulerId(tenant.id),
      { pattern: tenant.reviewSchedule, tz: tenant.timeZone },
      { name: 'scheduled', data: { tenantId: tenant.id }, opts: reviewJobOptions },
    );
  };
  return {
    upsert,
    async remove(tenantId) {
      await queue.removeJobScheduler(reviewSchedulerId(tenantId));
    },
    async syncAll(tenants) {
      for (const tenant of tenants) await upsert(tenant);
      const wanted = new Set(tenants.map((t) => reviewSchedulerId(t.id)));
      for (const scheduler of await queue.getJobSchedulers(0, -1)) {
        if (scheduler.key.startsWith('review-') && !wanted.has(scheduler.key)) await queue.removeJobScheduler(scheduler.key);
      }
    },
  };
}

// ---- Notifications --------------------------------------------------------------------------

export type NotificationJobData = { notice: Notice } | { expiring: { elevationId: string } };

/** A notice's Slack messages are retried a few times (Slack may be briefly down), then given up. */
export const notificationJobOptions: JobsOptions = {
  attempts: 6,
  backoff: { type: 'exponential', delay: 2000 },
  // Kept a day, so publishing the same once-only notice again is dropped by its job id.
  removeOnComplete: { age: 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

const noticeKinds = new Set(['approval_requested', 'decided', 'activated', 'extended', 'ended', 'review_completed', 'alert']);

/** Once-only notices get a job id derived from the elevation, so a repeated publish is harmless. */
function noticeJobId(notice: Notice): string | undefined {
  switch (notice.kind) {
    case 'activated':
    case 'ended':
      return `${notice.kind}-${notice.elevationId}`;
    case 'review_completed':
      return `${notice.kind}-${notice.reviewId}`;
    default:
      // Requests for approval (extensions ask again), decisions, extensions and alerts may each
      // happen more than once per elevation; their messages are rendered from the store, so a
      // duplicate repeats the same content rather than contradicting it.
      return undefined;
  }
}

export const expiryWarningJobId = (elevationId: string) => `expiring-${elevationId}`;

export function parseNotificationJob(data: unknown): NotificationJobData {
  const given = data as { notice?: { kind?: unknown; elevationId?: unknown }; expiring?: { elevationId?: unknown } } | null;
  if (given?.expiring) {
    const id = given.expiring.elevationId;
    if (typeof id !== 'string' || !uuid.test(id)) throw new Error('an expiry warning job names an elevation id');
    return { expiring: { elevationId: id } };
  }
  const notice = given?.notice;
  if (!notice || typeof notice.kind !== 'string' || !noticeKinds.has(notice.kind)) throw new Error('a notification job carries a notice');
  if (notice.kind === 'review_completed') {
    const reviewId = (notice as { reviewId?: unknown }).reviewId;
    if (typeof reviewId !== 'string' || !uuid.test(reviewId)) throw new Error('a review notice names a review id');
    return { notice: { kind: 'review_completed', reviewId } };
  }
  if (notice.kind !== 'alert' && (typeof notice.elevationId !== 'string' || !uuid.test(notice.elevationId))) {
    throw new Error('a notice names an elevation id');
  }
  return { notice: notice as Notice };
}

/** Notifications queued for the worker, which tells people in Slack. */
export function createQueuedNotifications(queue: Queue<NotificationJobData>): Notifications {
  return {
    async publish(notices) {
      if (notices.length === 0) return;
      await queue.addBulk(
        notices.map((notice) => ({ name: notice.kind, data: { notice }, opts: { ...notificationJobOptions, jobId: noticeJobId(notice) } })),
      );
    },
  };
}

/** The delayed "your access ends in 10 minutes" reminder: one per elevation, moved when it is extended. */
export function createExpiryWarnings(queue: Queue<NotificationJobData>, clock: Clock): ExpiryWarnings {
  return {
    async schedule(elevationId, at) {
      const jobId = expiryWarningJobId(elevationId);
      const delay = Math.max(0, at.getTime() - revocationLeadMs - clock.now().getTime());
      const existing = await queue.getJob(jobId);
      if (existing) {
        const state = await existing.getState();
        if (state === 'delayed') {
          await existing.changeDelay(delay);
          return;
        }
        if (state === 'active') return;
        await existing.remove().catch(() => undefined);
      }
      await queue.add('expiring', { expiring: { elevationId } }, { ...notificationJobOptions, removeOnComplete: true, jobId, delay });
    },
    async cancel(elevationId) {
      const job = await queue.getJob(expiryWarningJobId(elevationId));
      if (job && (await job.getState()) === 'delayed') await job.remove();
    },
  };
}
