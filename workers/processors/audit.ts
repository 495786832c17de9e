// The audit queue: the repeatable checkpoint job (signs the chain head when it has moved) and the
// retention purge. Both are idempotent, so a duplicate or retried run changes nothing more.
import type { Job } from 'bullmq';
import { parseAuditJob } from '../../src/adapters/queue/jobs.ts';
import type { Services } from '../../src/container.ts';

export function auditProcessor(services: Services) {
  return async (job: Job) => {
    const name = parseAuditJob(job.name);
    if (name === 'checkpoint') {
      const c = await services.audit.checkpoint();
      return { seq: c.seq };
    }
    return services.audit.purge();
  };
}
