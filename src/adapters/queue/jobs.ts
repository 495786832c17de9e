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
  return {
    revocations,
    reconcile,
    async close() {
      await Promise.all([revocations.close(), reconcile.close()]);
    },
  };
}

export type Queues = ReturnType<typeof createQueues>;

export function createRevocationJobs(queue: Queue<RevocationJobData>, clock: Clock): RevocationJobs {
  const pendingStates = new Set(['delayed', 'waiting', 'active', 'prioritized', 'waiting-children']);
  return {
    async schedule(elevationId, at) {
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
