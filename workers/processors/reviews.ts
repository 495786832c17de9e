// The reviews queue (docs/security-model.md, Access reviews): a tenant's scheduled run (one job scheduler per tenant, its cron in
// the tenant's time zone) or an on-demand review. Parse the job, call the review service; a failure
// (the store briefly down) is retried by the queue and the review starts over.
import type { Job } from 'bullmq';
import { parseReviewJob } from '../../src/adapters/queue/jobs.ts';
import type { Services } from '../../src/container.ts';

export function reviewProcessor(services: Services) {
  return async (job: Job) => {
    const data = parseReviewJob(job.data);
    if ('reviewId' in data) return services.reviews.run(data.reviewId);
    // The scheduler gives each run its own job id: the key that lets a retry resume its review.
    return services.reviews.runScheduled(data.tenantId, `${job.id ?? job.name}`);
  };
}
