// The revocations queue: one job per elevation, due at its end, and one due-batch job per second
// of end times that ends together whatever ends in it. Parse the job, call the service;
// any failure (the directory unreachable, most often) is retried with a capped backoff, forever.
import type { Job } from 'bullmq';
import { parseDueBatchJob, parseRevocationJob } from '../../src/adapters/queue/jobs.ts';
import type { Services } from '../../src/container.ts';

export function revocationProcessor(services: Services) {
  return async (job: Job) => {
    if (job.name === 'due') {
      // The due-batch job of one second of end times (see jobs.ts).
      const { untilMs } = parseDueBatchJob(job.data);
      // A retry, or a run after its worker died (stalled), first finishes what an earlier run claimed.
      return services.elevations.expireBucket(untilMs, job.attemptsMade > 0 || job.stalledCounter > 0);
    }
    const { elevationId } = parseRevocationJob(job.data);
    return services.elevations.revokeIfDue(elevationId, job.attemptsMade > 0);
  };
}

/** 0.5 s, 1 s, 2 s … capped at 30 s, with jitter so a recovering directory is not hit all at once. */
export function cappedBackoff(attemptsMade: number): number {
  const base = Math.min(30_000, 500 * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}
