// The revocations queue: one job per elevation, due at its end. Parse the job, call the service;
// any failure (the directory unreachable, most often) is retried with a capped backoff, forever.
import type { Job } from 'bullmq';
import { parseRevocationJob } from '../../src/adapters/queue/jobs.ts';
import type { Services } from '../../src/container.ts';

export function revocationProcessor(services: Services) {
  return async (job: Job) => {
    const { elevationId } = parseRevocationJob(job.data);
    return services.elevations.revokeIfDue(elevationId, job.attemptsMade > 0);
  };
}

/** 0.5 s, 1 s, 2 s … capped at 30 s, with jitter so a recovering directory is not hit all at once. */
export function cappedBackoff(attemptsMade: number): number {
  const base = Math.min(30_000, 500 * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}
