// A review's life until it has findings (docs/security-model.md, Access reviews): asked for on
// demand or by the tenant's schedule (a repeatable job per tenant), recorded and audited, queued,
// run by the worker (review-scan.ts reads), finished and audited; a summary goes to Slack.
import { DomainError } from '../../domain/errors.ts';
import { bySeverity, countBySeverity, findingsDigest, type ReviewStatus } from '../../domain/review.ts';
import { auditOrigin, systemContext, type RequestContext } from '../context.ts';
import type { Review } from '../ports/reviews.ts';
import { mustFind, type ReviewDeps } from './review-deps.ts';
import { scan } from './review-scan.ts';

/** A review waiting this long after it was asked for has its job checked (and queued again if lost). */
const reviewResumeAfterMs = 120_000;

export type RunOutcome = { status: ReviewStatus | 'skipped'; findings: number };

async function create(
  deps: ReviewDeps,
  tenantId: string,
  trigger: Review['trigger'],
  requestedBy: string | null,
  scheduleKey: string | null,
  ctx: RequestContext,
): Promise<Review> {
  const now = deps.clock.now();
  const review: Review = {
    id: deps.random.id(),
    tenantId,
    trigger,
    requestedBy,
    status: 'queued',
    requestedAt: now,
    startedAt: null,
    finishedAt: null,
    counts: { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
    signedOffBy: null,
    signedOffAt: null,
    signOffComment: null,
  };
  await deps.store.transaction(async (tx) => {
    await tx.reviews.insert(review, scheduleKey);
    await tx.audit.append(
      {
        actor: requestedBy ?? 'system',
        action: 'review.requested',
        tenantId,
        target: review.id,
        details: { trigger },
        ...auditOrigin(ctx),
      },
      now,
    );
  });
  return review;
}

export async function request(deps: ReviewDeps, tenantId: string, actor: string, ctx: RequestContext): Promise<Review> {
  const tenant = await deps.access.tenant(tenantId);
  if (tenant.archived) throw new DomainError('tenant_archived', `Tenant ${tenantId} is archived; it has no reviews any more`, { tenantId });
  const review = await create(deps, tenantId, 'on_demand', actor, null, ctx);
  await deps.jobs.enqueue(review.id).catch((error: unknown) => {
    deps.log.warn(
      { reviewId: review.id, err: (error as Error).message },
      'the review could not be queued yet; the reconciler queues it again',
    );
  });
  return review;
}

export async function resumeWaiting(deps: ReviewDeps): Promise<number> {
  const waiting = await deps.store.reviews.list({
    statuses: ['queued', 'running'],
    requestedBefore: new Date(deps.clock.now().getTime() - reviewResumeAfterMs),
    limit: 100,
  });
  let resumed = 0;
  for (const review of waiting.filter((r) => r.trigger === 'on_demand')) {
    if (await deps.jobs.ensureQueued(review.id)) {
      resumed++;
      deps.log.warn({ reviewId: review.id, tenantId: review.tenantId, status: review.status }, 'a review had no live job; queued again');
    }
  }
  return resumed;
}

export async function runScheduled(deps: ReviewDeps, tenantId: string, scheduleKey: string): Promise<RunOutcome> {
  const tenant = await deps.store.tenants.findById(tenantId);
  if (!tenant || tenant.archived) return { status: 'skipped', findings: 0 };
  const existing = await deps.store.reviews.findByScheduleKey(scheduleKey);
  const review = existing ?? (await create(deps, tenantId, 'scheduled', null, scheduleKey, systemContext));
  return run(deps, review.id);
}

export async function run(deps: ReviewDeps, reviewId: string): Promise<RunOutcome> {
  const review = await mustFind(deps, reviewId);
  if (!(await deps.store.reviews.start(review.id, deps.clock.now()))) return { status: 'skipped', findings: 0 };
  const tenant = await deps.store.tenants.findById(review.tenantId);
  if (!tenant) return { status: 'skipped', findings: 0 };
  const { status, findings } = await scan(deps, tenant, review);
  const ordered = bySeverity(findings);
  const at = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    await tx.reviews.finish(review.id, status, ordered, at);
    const counts = countBySeverity(ordered);
    await tx.audit.append(
      {
        actor: 'system',
        action: 'review.completed',
        tenantId: tenant.id,
        target: review.id,
        details: { trigger: review.trigger, status, ...counts, findings: ordered.length, findingsDigest: findingsDigest(ordered) },
      },
      at,
    );
  });
  await deps.notifications
    .publish([{ kind: 'review_completed', reviewId: review.id }])
    .catch((error: unknown) =>
      deps.log.warn({ reviewId: review.id, err: (error as Error).message }, 'the review summary could not be queued'),
    );
  return { status, findings: ordered.length };
}
