// Access reviews (docs/security-model.md, Access reviews): one tenant at a time, on a schedule (a
// repeatable job per tenant) or on demand. A review reads the tenant's directory and the store and
// records findings with a severity (the rules are in domain/review.ts): linked MSP accounts in
// protected groups, members of managed groups without a live grant, MSP accounts enabled without a
// grant, inactive MSP accounts (disabled where the tenant says so), MSP accounts outside Protected
// Users, and profiles suspended because a group became protected. A directory that cannot be read
// is a critical finding and the review is `incomplete`: it never passes silently. An auditor signs
// a review off with a fresh TOTP code; everything is audited; a summary goes to Slack.
//
// One file per use case: review-run.ts (request, schedule, run, resume), review-scan.ts (what a run
// reads), review-sign-off.ts, review-export.ts.
import type { RequestContext } from '../context.ts';
import type { StreamedExport } from '../audit/index.ts';
import type { Review, StoredFinding } from '../ports/reviews.ts';
import { mustFind, type ReviewDeps } from './review-deps.ts';
import { exportReview, type ReviewExportFormat } from './review-export.ts';
import { request, resumeWaiting, run, runScheduled, type RunOutcome } from './review-run.ts';
import { signOff } from './review-sign-off.ts';

export interface ReviewService {
  /**
   * On demand: recorded and audited, then run by the worker. Should the queue not take the job
   * (Redis unreachable), the review stays `queued` and resumeWaiting queues it again.
   */
  request(tenantId: string, actor: string, ctx: RequestContext): Promise<Review>;
  /**
   * On-demand reviews still `queued` or `running` a while after they were asked for whose job
   * Redis lost (flushed, or never taken) or gave up on: queued again. Run by the reconciler;
   * answers how many. Scheduled ones run under their scheduler's job (retried by it), not this id.
   */
  resumeWaiting(): Promise<number>;
  /** The tenant's scheduled run; a retried job resumes the review its first try created. */
  runScheduled(tenantId: string, scheduleKey: string): Promise<RunOutcome>;
  /** Runs a review the worker was handed (skipped when another run started it, or its tenant is gone). */
  run(reviewId: string): Promise<RunOutcome>;
  list(filter: { tenantId?: string; limit: number }): Promise<Review[]>;
  get(id: string): Promise<{ review: Review; findings: StoredFinding[] }>;
  /** An auditor signs a finished review off with a fresh TOTP code; once only. */
  signOff(id: string, input: { code: string; comment?: string | null }, technicianId: string, ctx: RequestContext): Promise<Review>;
  /** The findings as CSV (one row each) or one JSON document; the export is audited first (fail closed). */
  export(id: string, format: ReviewExportFormat, actor: string, ctx: RequestContext): Promise<StreamedExport>;
}

export function createReviewService(deps: ReviewDeps): ReviewService {
  return {
    request: (tenantId, actor, ctx) => request(deps, tenantId, actor, ctx),
    resumeWaiting: () => resumeWaiting(deps),
    runScheduled: (tenantId, scheduleKey) => runScheduled(deps, tenantId, scheduleKey),
    run: (reviewId) => run(deps, reviewId),
    list: (filter) => deps.store.reviews.list({ tenantIds: filter.tenantId ? [filter.tenantId] : undefined, limit: filter.limit }),
    get: (id) => get(deps, id),
    signOff: (id, input, technicianId, ctx) => signOff(deps, id, input, technicianId, ctx),
    export: async (id, format, actor, ctx) => exportReview(deps, await get(deps, id), format, actor, ctx),
  };
}

async function get(deps: ReviewDeps, id: string): Promise<{ review: Review; findings: StoredFinding[] }> {
  const review = await mustFind(deps, id);
  return { review, findings: await deps.store.reviews.findings(id) };
}
