// Starts the queue workers for a container: revocations (many at once; the batching happens in
// the service), the repeatable reconcile job, the audit checkpoint and retention jobs, each tenant's
// access reviews (scheduled in the tenant's time zone, and on demand), with Slack
// on the notifications, and with SIEM targets configured the repeatable siem job. `close()` lets
// the jobs in hand finish.
import { Worker } from 'bullmq';
import { queueNames } from '../src/adapters/queue/jobs.ts';
import { verifyQueueStore, type Container } from '../src/container.ts';
import { cappedBackoff, revocationProcessor } from './processors/revocation.ts';
import { notificationProcessor } from './processors/notifications.ts';
import { reconcileProcessor } from './processors/reconcile.ts';
import { leaseProcessor } from './processors/leases.ts';
import { siemProcessor } from './processors/siem.ts';
import { auditProcessor } from './processors/audit.ts';
import { reviewProcessor } from './processors/reviews.ts';

export interface RunningWorkers {
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
  for (const [name, worker] of [
    ['revocations', revocations],
    ['reconcile', reconcile],
    ['leases', leases],
    ['audit', audit],
    ['reviews', reviews],
    ...(notifications ? [['notifications', notifications] as const] : []),
    ...(siem ? [['siem', siem] as const] : []),
  ] as const) {
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
  return {
    async close() {
      clearInterval(keeper);
      await Promise.all([
        revocations.close(),
        reconcile.close(),
        leases.close(),
        audit.close(),
        reviews.close(),
        notifications?.close(),
        siem?.close(),
      ]);
      // A revocation job ends once its memberships are gone; its batch writes the accounts after.
      await container.elevationUpkeep.idle();
    },
  };
}
