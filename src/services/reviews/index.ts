// The reviews context's only entrance: what the rest of Stint may use from it.
export { createDriftService } from './drift-service.ts';
export { createReviewService, reviewExportFormats } from './review-service.ts';
