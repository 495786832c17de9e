// The audit context's only entrance: what the rest of Stint may use from it.
export { createAuditService, noForwardingTargets, type PurgeReport, type StreamedExport } from './audit-service.ts';
export { createExportVerifier } from './audit-verify.ts';
