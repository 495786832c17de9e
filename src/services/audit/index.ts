// The audit context's only entrance: what the rest of Stint may use from it.
export { type AuditService, createAuditService, noForwardingTargets } from './audit-service.ts';
export type { StoredChainReport } from './audit-checkpoints.ts';
export type { StreamedExport } from './audit-export.ts';
export type { PurgeReport } from './audit-purge.ts';
export { createExportVerifier, type ExportVerifier } from './audit-verify.ts';
