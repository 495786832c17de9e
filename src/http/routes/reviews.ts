// Access reviews (docs/security-model.md, Access reviews): start one on demand, read them with their findings, sign one off with a
// fresh TOTP code, export the findings. Auditors and admins see every tenant's reviews
// (docs/architecture.md, Words: auditors read reviews everywhere); only an auditor signs off.
import { z } from 'zod';
import type { Services } from '../../container.ts';
import { findingKinds, reviewStatuses, reviewTriggers, severities } from '../../domain/review.ts';
import type { Review, StoredFinding } from '../../services/ports/reviews.ts';
import { reviewExportFormats } from '../../services/reviews/index.ts';
import { defineRoute, idParams, type Route } from '../route.ts';

const tenantId = z.string().min(1).max(40);
const count = z.number().int().min(0);

const reviewView = z.object({
  id: z.string(),
  tenantId: z.string(),
  trigger: z.enum(reviewTriggers),
  requestedBy: z.string().nullable(),
  status: z.enum(reviewStatuses),
  requestedAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
  counts: z.object({ critical: count, high: count, medium: count, low: count, info: count }),
  signOff: z.object({ by: z.string(), at: z.iso.datetime(), comment: z.string().nullable() }).nullable(),
});

const findingView = z.object({
  severity: z.enum(severities),
  kind: z.enum(findingKinds),
  subject: z.string(),
  technicianId: z.string().nullable(),
  summary: z.string(),
  action: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function present(r: Review) {
  return {
    id: r.id,
    tenantId: r.tenantId,
    trigger: r.trigger,
    requestedBy: r.requestedBy,
    status: r.status,
    requestedAt: r.requestedAt.toISOString(),
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
    counts: r.counts,
    signOff: r.signedOffBy && r.signedOffAt ? { by: r.signedOffBy, at: r.signedOffAt.toISOString(), comment: r.signOffComment } : null,
  };
}

const presentFinding = ({ position: _position, ...f }: StoredFinding) => f;

export function reviewRoutes(services: Services): Route[] {
  return [
    defineRoute({
      method: 'post',
      path: '/api/v1/reviews',
      summary: 'Start an access review of one tenant now (audited); the worker runs it',
      tag: 'reviews',
      auth: 'session',
      roles: ['auditor', 'admin'],
      body: z.strictObject({ tenantId }),
      responses: {
        202: { description: 'Queued', schema: reviewView },
        404: { description: 'No such tenant' },
        409: { description: 'The tenant is archived' },
      },
      async handler({ body, principal, context }) {
        return { status: 202, body: present(await services.reviews.request(body.tenantId, principal!.technician.id, context)) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/reviews',
      summary: 'Access reviews, newest first',
      tag: 'reviews',
      auth: 'session',
      roles: ['auditor', 'admin'],
      query: z.strictObject({ tenant: tenantId.optional(), limit: z.coerce.number().int().min(1).max(500).default(100) }),
      responses: { 200: { description: 'Reviews', schema: z.object({ reviews: z.array(reviewView) }) } },
      async handler({ query }) {
        const reviews = await services.reviews.list({ tenantId: query.tenant, limit: query.limit });
        return { status: 200, body: { reviews: reviews.map(present) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/reviews/:id',
      summary: 'One review with its findings, most severe first',
      tag: 'reviews',
      auth: 'session',
      roles: ['auditor', 'admin'],
      params: idParams,
      responses: {
        200: { description: 'The review', schema: reviewView.extend({ findings: z.array(findingView) }) },
        404: { description: 'Not found' },
      },
      async handler({ params }) {
        const { review, findings } = await services.reviews.get(params.id);
        return { status: 200, body: { ...present(review), findings: findings.map(presentFinding) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/reviews/:id/signoff',
      summary: 'Sign a finished review off, with a fresh TOTP code (auditor; once)',
      tag: 'reviews',
      auth: 'session',
      roles: ['auditor'],
      params: idParams,
      body: z.strictObject({ code: z.string().min(1).max(16), comment: z.string().trim().max(2000).optional() }),
      responses: {
        200: { description: 'Signed off', schema: reviewView },
        401: { description: 'Wrong or replayed TOTP code' },
        404: { description: 'Not found' },
        409: { description: 'Already signed off, or not finished yet' },
      },
      async handler({ params, body, principal, context }) {
        return { status: 200, body: present(await services.reviews.signOff(params.id, body, principal!.technician.id, context)) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/reviews/:id/export',
      summary: 'The review’s findings as CSV (one row each) or JSON (audited)',
      tag: 'reviews',
      auth: 'session',
      roles: ['auditor', 'admin'],
      params: idParams,
      query: z.strictObject({ format: z.enum(reviewExportFormats).default('csv') }),
      responses: { 200: { description: 'The findings' }, 404: { description: 'Not found' } },
      async handler({ params, query, principal, context }) {
        return { status: 200, stream: await services.reviews.export(params.id, query.format, principal!.technician.id, context) };
      },
    }),
  ];
}
