// BullMQ job contracts. Payloads carry ids only, never secrets. One delayed revocation job per
// elevation, its id derived from the elevation id, so scheduling twice changes nothing.
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Clock, RevocationJobs } from '../../services/ports.ts';

export const queueNames = { revocations: 'revocations', reconcile: 'reconcile' } as const;

export interface RevocationJobData {
  elevationId: string;
}

export const revocationJobId = (elevationId: string) => `revoke-${elevationId}`;

/**
 * Besides each grant's own job, one "due batch" job per second of end time (shared by every
 * grant ending in that second, its id derived from the second): it runs `dueBatchLeadMs` early,
 * gets ready without changing anything, and ends each grant as its end passes, so thousands of
 * grants ending together do not first wait for thousands of delayed jobs to be promoted. The
 * grant's own job stays the one that is always there; the reconciler covers both.
 */
export const dueBatchBucketMs = 1000;
export const dueBatchLeadMs = 2000;
export const dueBatchJobId = (bucketStartMs: number) => `due-${bucketStartMs}`;

export interface DueBatchJobData {
  /** The bucket's grants end before this instant (ms since the epoch, by the service's clock). */
  untilMs: number;
}

export function parseDueBatchJob(data: unknown): DueBatchJobData {
  const until = (data as { untilMs?: unknown } | null)?.untilMs;
  if (typeof until !== 'number' || !Number.isSafeInteger(until) || until <= 0) throw new Error('a due-batch job names the end of its bucket');
  return { untilMs: until };
}

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
  const revocations = new Queue<RevocationJobData | DueBatchJobData>(queueNames.revocations, { connection: redis, prefix });
  const reconcile = new Queue(queueNames.reconcile, { connection: redis, prefix });
  return {
    revocations,
    reconcile,
    async close() {
      await Promise.all([revocations.close(), reconcile.close()]);
    },
  };
}

export type Queues = ReturnType<typeof createQueues>;

export function createRevocationJobs(queue: Queue<RevocationJobData | DueBatchJobData>, clock: Clock): RevocationJobs {
  const pendingStates = new Set(['delayed', 'waiting', 'active', 'prioritized', 'waiting-children']);
  /** Adds the due-batch job of `at`'s bucket unless it is already there (the job id makes a second add a no-op). */
  async function scheduleDueBatch(at: Date) {
    const bucketStart = Math.floor(at.getTime() / dueBatchBucketMs) * dueBatchBucketMs;
    const delay = Math.max(0, bucketStart - dueBatchLeadMs - clock.now().getTime());
    await queue.add('due', { untilMs: bucketStart + dueBatchBucketMs }, { ...revocationJobOptions, jobId: dueBatchJobId(bucketStart), delay });
  }
  return {
    async schedule(elevationId, at) {
      await scheduleDueBatch(at);
      const jobId = revocationJobId(elevationId);
      const delay = Math.max(0, at.getTime() - clock.now().getTime());
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
