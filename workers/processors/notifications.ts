// The notifications queue: notices about elevations and the delayed "ends soon" reminders, sent
// to Slack. Parse the job, call the Slack notices service; a failure (Slack down, rate limited)
// is retried by the queue a few times with backoff, then given up and logged: a missed message
// never holds up or undoes a grant.
import { DelayedError, type Job } from 'bullmq';
import { parseNotificationJob } from '../../src/adapters/queue/jobs.ts';
import type { SlackNotices } from '../../src/services/slack/index.ts';

export function notificationProcessor(notices: SlackNotices) {
  return async (job: Job, token?: string) => {
    const data = parseNotificationJob(job.data);
    if ('notice' in data) return notices.deliver(data.notice);
    const result = await notices.warnExpiring(data.expiring.elevationId);
    if (result.outcome === 'later') {
      // The grant was extended after this reminder was queued: wait until its new time.
      await job.moveToDelayed(Date.now() + result.delayMs, token);
      throw new DelayedError();
    }
    return result.outcome;
  };
}
