// The revocations queue: one job per elevation, ready just before its end. Parse the job, call the
// service; a grant not due yet (extended while its job was ready) puts the same job back to wait;
// any failure (the directory unreachable, most often) is retried with a capped backoff, forever.
import { DelayedError, type Job } from 'bullmq';
import { parseRevocationJob } from '../../src/adapters/queue/jobs.ts';
import type { ElevationUpkeep } from '../../src/services/elevations/index.ts';

export function revocationProcessor(elevations: ElevationUpkeep) {
  return async (job: Job, token?: string) => {
    const { elevationId } = parseRevocationJob(job.data);
    const outcome = await elevations.endIfDue(elevationId, job.attemptsMade > 0);
    if (typeof outcome === 'string') return outcome;
    // A job cannot reschedule itself through the queue while it runs (its id is taken): it moves
    // itself back to delayed, and BullMQ's DelayedError tells the worker it is not finished.
    await job.moveToDelayed(Date.now() + outcome.rescheduleInMs, token);
    throw new DelayedError();
  };
}

/** 0.5 s, 1 s, 2 s … capped at 30 s, with jitter so a recovering directory is not hit all at once. */
export function cappedBackoff(attemptsMade: number): number {
  const base = Math.min(30_000, 500 * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}
