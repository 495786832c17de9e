// The audit trail's use cases (docs/architecture.md, The audit chain): reading it, checking the stored chain, signed
// checkpoints of its head (audit-checkpoints.ts), streamed exports with a signed manifest (audit-export.ts), and
// retention (audit-purge.ts).
import type { AuditEvent } from '../../domain/audit.ts';
import type { ExportFilter, ExportFormat } from '../../domain/audit-export.ts';
import { auditOrigin, systemContext, type RequestContext } from '../context.ts';
import type { AuditFilter, AuditSignatureVerifier, AuditSigner, ExportEncoder, StoredCheckpoint } from '../ports/audit.ts';
import type { Hashing } from '../ports/crypto.ts';
import type { Clock } from '../ports/runtime.ts';
import type { ForwardingProgress } from '../ports/siem.ts';
import type { Store } from '../ports/store.ts';
import { signCheckpoint, verifyStoredChain, type StoredChainReport } from './audit-checkpoints.ts';
import { exportTrail, type StreamedExport } from './audit-export.ts';
import { purge, type PurgeReport } from './audit-purge.ts';

export interface AuditServiceDeps {
  store: Pick<Store, 'audit' | 'transaction'>;
  clock: Clock;
  signer: AuditSigner;
  /** Checks stored checkpoints against the published audit keys, as `stint audit verify` does. */
  signatures: AuditSignatureVerifier;
  /** The SHA-256 of an export's lines, which its manifest signs. */
  hashing: Hashing;
  encoder(format: ExportFormat): ExportEncoder;
  forwarding: ForwardingProgress;
  retentionDays: number;
  /** Events read per store query while exporting or checking (memory stays at one page). */
  pageSize?: number;
}

/** Reading, signing, checking, exporting and purging the audit trail. */
export interface AuditService {
  list(filter: AuditFilter): Promise<AuditEvent[]>;
  /** The audit keys' public halves (JWKS), every one ever used: what `stint audit verify` needs. */
  jwks(): Promise<{ keys: Array<Record<string, unknown>> }>;
  /** Creates the first audit signing key (first start). */
  ensureSigningKey(): Promise<void>;
  /** A new audit signing key, audited in the same transaction; answers its kid. */
  rotateSigningKey(actor: string, ctx?: RequestContext): Promise<string>;
  /** The interval job: signs the head unless it is already signed. */
  checkpoint(): Promise<StoredCheckpoint>;
  /** On demand: the request is audited first, so the checkpoint covers its own record. */
  checkpointNow(actor: string, ctx: RequestContext): Promise<StoredCheckpoint>;
  listCheckpoints(limit: number): Promise<StoredCheckpoint[]>;
  /**
   * An export of the trail: the range is fixed and the export audited before the first byte
   * (fail closed), then events are read page by page and written as they come.
   */
  export(
    filter: ExportFilter,
    format: ExportFormat,
    actor: string,
    ctx: RequestContext,
  ): Promise<StreamedExport & { fromSeq: number; toSeq: number }>;
  /**
   * Walks the stored chain from its anchor (the genesis hash, or the last purged event's hash)
   * to the head, page by page, and checks it against every signed checkpoint it passes.
   */
  verifyStoredChain(): Promise<StoredChainReport>;
  /**
   * Retention: deletes the oldest events that are past retention, covered by a signed checkpoint
   * and forwarded to every SIEM target, and records the last deleted hash as the chain's anchor.
   */
  purge(actor?: string, ctx?: RequestContext): Promise<PurgeReport>;
}

export function createAuditService(deps: AuditServiceDeps): AuditService {
  const used = { ...deps, pageSize: deps.pageSize ?? 2000 };
  const { store, clock, signer } = used;
  return {
    list: (filter) => store.audit.list(filter),
    jwks: () => signer.jwks(),
    ensureSigningKey: () => store.transaction((tx) => signer.ensureKey(clock.now(), tx.auditKeys)),
    rotateSigningKey: (actor, ctx = systemContext) => rotateSigningKey(used, actor, ctx),
    checkpoint: () => signCheckpoint(used, clock.now()),
    checkpointNow: (actor, ctx) => checkpointNow(used, actor, ctx),
    listCheckpoints: (limit) => store.audit.listCheckpoints(limit),
    export: (filter, format, actor, ctx) => exportTrail(used, filter, format, actor, ctx),
    verifyStoredChain: () => verifyStoredChain(used),
    purge: (actor = 'system', ctx = systemContext) => purge(used, actor, ctx),
  };
}

async function rotateSigningKey(deps: AuditServiceDeps, actor: string, ctx: RequestContext): Promise<string> {
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const kid = await deps.signer.rotate(now, tx.auditKeys);
    await tx.audit.append({ actor, action: 'keys.audit_signing_rotated', target: kid, details: { kid }, ...auditOrigin(ctx) }, now);
    return kid;
  });
}

async function checkpointNow(deps: AuditServiceDeps, actor: string, ctx: RequestContext): Promise<StoredCheckpoint> {
  const now = deps.clock.now();
  await deps.store.transaction((tx) =>
    tx.audit.append({ actor, action: 'audit.checkpoint_signed', details: {}, ...auditOrigin(ctx) }, now),
  );
  return signCheckpoint(deps, now);
}

/** Until SIEM forwarding lands (issue 6, item 6): no target is configured, so nothing holds a purge back. */
export const noForwardingTargets: ForwardingProgress = {
  lowestForwardedSeq: async () => null,
};
