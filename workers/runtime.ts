// Starts the queue workers for a container: revocations (many at once; the batching happens in
// the service) and the repeatable reconcile job. `close()` lets the jobs in hand finish.
import { Worker } from 'bullmq';
import { queueNames } from '../src/adapters/queue/jobs.ts';
import { verifyQueueStore, type Container } from '../src/container.ts';
import { cappedBackoff, revocationProcessor } from './processors/revocation.ts';
import { reconcileProcessor } from './processors/reconcile.ts';

export interface RunningWorkers {
  close(): Promise<void>;
}

export async function startWorkers(container: Container): Promise<RunningWorkers> {
  await verifyQueueStore(container);
  const { config, services, logger } = container;
  const connection = container.redis;
  const prefix = config.queue.prefix;

  const revocations = new Worker(queueNames.revocations, revocationProcessor(services), {
    connection,
    prefix,
    concurrency: config.queue.revocationConcurrency,
    settings: { backoffStrategy: (attemptsMade: number) => cappedBackoff(attemptsMade) },
  });
  const reconcile = new Worker(queueNames.reconcile, reconcileProcessor(services), { connection, prefix, concurrency: 1 });
  for (const [name, worker] of [
    ['revocations', revocations],
    ['reconcile', reconcile],
  ] as const) {
    worker.on('failed', (job, error) =>
      logger.warn({ queue: name, jobId: job?.id, attempts: job?.attemptsMade, err: error.message }, 'job failed; it will be retried'),
    );
    worker.on('error', (error) => logger.error({ queue: name, err: error.message }, 'worker error'));
  }
  await container.queues.reconcile.upsertJobScheduler(
    'reconcile',
    { every: config.queue.reconcileIntervalSeconds * 1000 },
    { name: 'reconcile', opts: { removeOnComplete: true, removeOnFail: 100 } },
  );
  await Promise.all([revocations.waitUntilReady(), reconcile.waitUntilReady()]);
  return {
    async close() {
      await Promise.all([revocations.close(), reconcile.close()]);
    },
  };
}
