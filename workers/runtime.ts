// Starts the queue workers for a container: revocations (many at once; the batching happens in
// the service), the repeatable reconcile job, the audit checkpoint and retention jobs, each tenant's
// access reviews (scheduled in the tenant's time zone, and on demand), with Slack
// on the notifications, and with SIEM targets configured the repeatable siem job. Its shutdown
// stages (src/lifecycle.ts) let the jobs in hand finish.
import { Worker } from 'bullmq';
import { queueNames } from '../src/adapters/queue/jobs.ts';
import { verifyQueueStore, type Container } from '../src/container.ts';
import { closeInStages, closer, type ShutdownStage } from '../src/lifecycle.ts';
import { cappedBackoff, revocationProcessor } from './processors/revocation.ts';
import { notificationProcessor } from './processors/notifications.ts';
import { reconcileProcessor } from './processors/reconcile.ts';
import { leaseProcessor } from './processors/leases.ts';
import { siemProcessor } from './processors/siem.ts';
import { auditProcessor } from './processors/audit.ts';
import { reviewProcessor } from './processors/reviews.ts';

export interface RunningWorkers {
  /** Drains the queue workers, then the expiry batches under way; the process's lifecycle runs the container's stages after. */
  shutdownStages: readonly ShutdownStage[];
  /** Runs shutdownStages (each closer once); rejects, once all have run, if a closer failed. */
  close(): Promise<void>;
}

export async function startWorkers(container: Container): Promise<RunningWorkers> {
  await verifyQueueStore(container);
  const { config, services, logger } = container;
  const connection = container.redis;
  const prefix = config.queue.prefix;

  const revocations = new Worker(queueNames.revocations, revocationProcessor(container.elevationUpkeep), {
    connection,
    prefix,
    concurrency: config.queue.revocationConcurrency,
    settings: { backoffStrategy: (attemptsMade: number) => cappedBackoff(attemptsMade) },
  });
  const reconcile = new Worker(queueNames.reconcile, reconcileProcessor(services, container.elevationUpkeep), {
    connection,
    prefix,
    concurrency: 1,
  });
  // Apart from the reconciler, so a long reconcile (drift in many tenants) never delays it.
  const leases = new Worker(queueNames.leases, leaseProcessor(container.elevationUpkeep), { connection, prefix, concurrency: 1 });
  const audit = new Worker(queueNames.audit, auditProcessor(services), { connection, prefix, concurrency: 1 });
  // Two reviews at a time: each reads one tenant's directory; a slow tenant does not hold up the next.
  const reviews = new Worker(queueNames.reviews, reviewProcessor(services), { connection, prefix, concurrency: 2 });
  // Slack off: notices are never queued (see the container), so there is nothing to serve.
  const notifications = container.slack
    ? new Worker(queueNames.notifications, notificationProcessor(container.slack.notices), { connection, prefix, concurrency: 8 })
    : null;
  // One run at a time per worker; across workers a lease per target in the store keeps sends in order.
  const siem = container.siem.hasTargets
    ? new Worker(queueNames.siem, siemProcessor(container.siem), { connection, prefix, concurrency: 1 })
    : null;
  const byQueue = [
    ['revocations', revocations],
    ['reconcile', reconcile],
    ['leases', leases],
    ['audit', audit],
    ['reviews', reviews],
    ...(notifications ? [['notifications', notifications] as const] : []),
    ...(siem ? [['siem', siem] as const] : []),
  ] as const;
  for (const [name, worker] of byQueue) {
    worker.on('failed', (job, error) =>
      logger.warn({ queue: name, jobId: job?.id, attempts: job?.attemptsMade, err: error.message }, 'job failed; it will be retried'),
    );
    worker.on('error', (error) => logger.error({ queue: name, err: error.message }, 'worker error'));
  }
  const intervalMs = config.queue.reconcileIntervalSeconds * 1000;
  const siemEveryMs = config.siem.intervalMs;
  const ensureSchedule = async () => {
    await container.queues.reconcile.upsertJobScheduler(
      'reconcile',
      { every: intervalMs },
      { name: 'reconcile', opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
    await container.queues.leases.upsertJobScheduler(
      'leases',
      { every: config.queue.leaseCheckIntervalSeconds * 1000 },
      { name: 'leases', opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
    await container.queues.audit.upsertJobScheduler(
      'audit-checkpoint',
      { every: config.audit.checkpointIntervalSeconds * 1000 },
      { name: 'checkpoint', opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
    await container.queues.audit.upsertJobScheduler(
      'audit-purge',
      { every: config.audit.purgeIntervalSeconds * 1000 },
      { name: 'purge', opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
    if (siem)
      await container.queues.siem.upsertJobScheduler(
        'siem',
        { every: siemEveryMs },
        { name: 'forward', opts: { removeOnComplete: true, removeOnFail: 100 } },
      );
    else await container.queues.siem.removeJobScheduler('siem');
    // An archived tenant has no review any more: its schedule is removed with those of deleted tenants.
    await container.reviewSchedules.syncAll((await container.store.tenants.list()).filter((t) => !t.archived));
  };
  await ensureSchedule();
  // Should Redis lose its data, the schedule is written again, and the reconciler rebuilds the rest.
  const keeper = setInterval(() => {
    ensureSchedule().catch((error: Error) =>
      logger.warn({ err: error.message }, 'could not renew the reconcile, audit, siem and review schedules'),
    );
  }, intervalMs);
  keeper.unref();
  await Promise.all([
    revocations.waitUntilReady(),
    reconcile.waitUntilReady(),
    leases.waitUntilReady(),
    audit.waitUntilReady(),
    reviews.waitUntilReady(),
    notifications?.waitUntilReady(),
    siem?.waitUntilReady(),
  ]);
  // Stage one: each queue's worker stops taking jobs and lets those in hand finish; stage two: a
  // revocation job ends once its memberships are gone, and its batch writes the accounts after.
  const shutdownStages: readonly ShutdownStage[] = [
    {
      name: 'queue workers',
      closers: [
        closer('schedule keeper', () => clearInterval(keeper)),
        ...byQueue.map(([name, worker]) => closer(`${name} worker`, () => worker.close())),
      ],
    },
    { name: 'expiry batches', closers: [closer('expiry batches', () => container.elevationUpkeep.idle())] },
  ];
  return {
    shutdownStages,
    close: () => closeInStages(shutdownStages, logger),
  };
}
