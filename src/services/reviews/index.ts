// The reviews context's only entrance: what the rest of Stint may use from it.
export { createDriftService, type DriftCounts, type DriftService } from './drift-service.ts';
export { reviewExportFormats, type ReviewExportFormat } from './review-export.ts';
export { createReviewService, type ReviewService } from './review-service.ts';
