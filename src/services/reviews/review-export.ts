// A review's findings as CSV (one row each) or one JSON document; the export is audited first
// (fail closed).
import { auditOrigin, type RequestContext } from '../context.ts';
import type { StreamedExport } from '../audit/index.ts';
import type { Review, StoredFinding } from '../ports/reviews.ts';
import type { ReviewDeps } from './review-deps.ts';

export const reviewExportColumns = [
  'review_id',
  'tenant',
  'severity',
  'kind',
  'subject',
  'technician_id',
  'summary',
  'action',
  'details',
] as const;
export const reviewExportFormats = ['csv', 'json'] as const;
export type ReviewExportFormat = (typeof reviewExportFormats)[number];

export async function exportReview(
  deps: ReviewDeps,
  reviewed: { review: Review; findings: StoredFinding[] },
  format: ReviewExportFormat,
  actor: string,
  ctx: RequestContext,
): Promise<StreamedExport> {
  const { review, findings } = reviewed;
  await deps.store.transaction((tx) =>
    tx.audit.append(
      {
        actor,
        action: 'review.exported',
        tenantId: review.tenantId,
        target: review.id,
        details: { format, findings: findings.length },
        ...auditOrigin(ctx),
      },
      deps.clock.now(),
    ),
  );
  const filename = `stint-review-${review.tenantId}-${review.id.slice(0, 8)}.${format}`;
  if (format === 'json') {
    const body = `${JSON.stringify({ review, findings: findings.map(({ position: _p, ...f }) => f) }, null, 2)}\n`;
    return {
      contentType: 'application/json; charset=utf-8',
      filename,
      lines: (async function* () {
        yield body;
      })(),
    };
  }
  const encoder = deps.encoder('csv');
  return { contentType: encoder.contentType, filename, lines: csvLines(encoder, review, findings) };
}

async function* csvLines(encoder: ReturnType<ReviewDeps['encoder']>, review: Review, findings: readonly StoredFinding[]) {
  yield encoder.preamble(reviewExportColumns);
  for (const f of findings) {
    yield encoder.row(reviewExportColumns, {
      review_id: review.id,
      tenant: review.tenantId,
      severity: f.severity,
      kind: f.kind,
      subject: f.subject,
      technician_id: f.technicianId,
      summary: f.summary,
      action: f.action,
      details: JSON.stringify(f.details),
    });
  }
}
