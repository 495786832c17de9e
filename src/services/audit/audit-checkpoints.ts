// Signed checkpoints of the audit chain's head, and the check of the stored chain against them
// (docs/architecture.md, The audit chain).
import { findChainBreak, genesisHash, type ChainBreak } from '../../domain/audit.ts';
import { checkpointType, type Checkpoint } from '../../domain/audit-export.ts';
import { DomainError } from '../../domain/errors.ts';
import type { AuditEvent } from '../../domain/audit.ts';
import type { AuditSignatureVerifier, AuditSigner, StoredCheckpoint } from '../ports/audit.ts';
import type { Store } from '../ports/store.ts';

export interface CheckpointDeps {
  store: Pick<Store, 'audit'>;
  signer: AuditSigner;
  /** Checks stored checkpoints against the published audit keys, as `stint audit verify` does. */
  signatures: AuditSignatureVerifier;
  /** Events read per store query while checking (memory stays at one page). */
  pageSize: number;
}

/** What a walk of the stored chain found. */
export interface StoredChainReport {
  count: number;
  fromSeq: number;
  head: string;
  headSeq: number;
  checkpoints: number;
  firstBreak: (ChainBreak & { message: string }) | null;
}

type Break = ChainBreak & { message: string };

/** Signs the head unless it is signed already; of two processes signing the same head, the first stands. */
export async function signCheckpoint(deps: Pick<CheckpointDeps, 'store' | 'signer'>, now: Date): Promise<StoredCheckpoint> {
  const { store } = deps;
  const head = await store.audit.head();
  const latest = await store.audit.latestCheckpoint();
  if (latest && latest.seq === head.seq) return latest;
  const payload: Checkpoint = { kind: 'stint.audit.checkpoint', seq: head.seq, hash: head.hash, at: now.toISOString() };
  const { jws, kid } = await deps.signer.sign({ ...payload }, checkpointType, now);
  const checkpoint = { seq: head.seq, hash: head.hash, at: now, kid, jws };
  await store.audit.insertCheckpoint(checkpoint);
  // Another process may have signed the same head a moment earlier: theirs stands.
  return (await store.audit.checkpointCovering(head.seq)) ?? checkpoint;
}

/**
 * The stored checkpoints as their signatures say (seq → hash), and why each one that does not
 * verify fails. A checkpoint counts only as what its signature says: a stored hash column can be
 * rewritten along with the chain; the signature over { seq, hash } cannot without the private key.
 */
async function verifiedCheckpoints(deps: CheckpointDeps): Promise<{ checkpoints: Map<number, string>; forged: Map<number, string> }> {
  const jwks = await deps.signer.jwks();
  const checkpoints = new Map<number, string>();
  const forged = new Map<number, string>();
  for (const c of await deps.store.audit.listCheckpoints(1_000_000)) {
    const signed = await deps.signatures.verify(c.jws, checkpointType, jwks).then(
      ({ payload }) => payload as Partial<Checkpoint> | null,
      (error: unknown) => {
        if (error instanceof DomainError && error.code === 'signature_invalid') return error.message;
        throw error;
      },
    );
    if (typeof signed === 'string')
      forged.set(c.seq, `the checkpoint at event ${c.seq} does not verify with the published audit keys: ${signed}`);
    else if (signed?.kind !== 'stint.audit.checkpoint') forged.set(c.seq, `the checkpoint at event ${c.seq} signs something else`);
    else if (signed.seq !== c.seq || signed.hash !== c.hash)
      forged.set(c.seq, `the checkpoint at event ${c.seq} is stored with another seq or hash than it signed`);
    else checkpoints.set(c.seq, signed.hash);
  }
  return { checkpoints, forged };
}

interface ChainWalk {
  prevHash: string;
  next: number;
  count: number;
  /** Checkpoints passed and matched. */
  checked: number;
}

interface Signatures {
  checkpoints: Map<number, string>;
  forged: Map<number, string>;
}

/** The first event of the page a checkpoint does not vouch for (forged, or signing another hash), or null. */
function checkpointBreak(page: readonly AuditEvent[], signatures: Signatures, walk: ChainWalk): Break | null {
  for (const event of page) {
    const notSigned = signatures.forged.get(event.seq);
    if (notSigned !== undefined) return { seq: event.seq, reason: 'checkpoint_invalid', message: notSigned };
    const signed = signatures.checkpoints.get(event.seq);
    if (signed === undefined) continue;
    if (signed !== event.hash)
      return { seq: event.seq, reason: 'checkpoint_mismatch', message: `event ${event.seq} is not the one the checkpoint signed` };
    walk.checked++;
  }
  return null;
}

/** Walks the stored events page by page from `walk`; the first break, or null at the head. */
async function walkStoredChain(deps: CheckpointDeps, walk: ChainWalk, signatures: Signatures): Promise<Break | null> {
  for (;;) {
    const page = await deps.store.audit.range(walk.next, deps.pageSize);
    if (page.length === 0) return null;
    if (page[0]!.seq !== walk.next) return { seq: walk.next, reason: 'sequence_gap', message: `event ${walk.next} is missing` };
    const broken = findChainBreak(page, walk.prevHash);
    if (broken) return { ...broken, message: `event ${broken.seq}: ${broken.reason.replace(/_/g, ' ')}` };
    const unsigned = checkpointBreak(page, signatures, walk);
    if (unsigned) return unsigned;
    walk.count += page.length;
    walk.prevHash = page[page.length - 1]!.hash;
    walk.next = page[page.length - 1]!.seq + 1;
  }
}

/** A checkpoint past the stored head: the chain was cut short, or a forged one lies beyond it. */
function beyondTheHead(walk: ChainWalk, signatures: Signatures): Break | null {
  const highest = Math.max(0, ...signatures.checkpoints.keys());
  if (highest > walk.next - 1)
    return { seq: walk.next, reason: 'truncated', message: `the chain ends at ${walk.next - 1}, but a checkpoint signed event ${highest}` };
  const [beyond] = [...signatures.forged].filter(([seq]) => seq > walk.next - 1).sort(([a], [b]) => a - b);
  return beyond ? { seq: beyond[0], reason: 'checkpoint_invalid', message: beyond[1] } : null;
}

/**
 * Walks the stored chain from its anchor (the genesis hash, or the last purged event's hash)
 * to the head, page by page, and checks it against every signed checkpoint it passes.
 */
export async function verifyStoredChain(deps: CheckpointDeps): Promise<StoredChainReport> {
  const anchor = await deps.store.audit.anchor();
  const signatures = await verifiedCheckpoints(deps);
  const walk: ChainWalk = {
    prevHash: anchor.purgedThroughSeq === 0 ? genesisHash : anchor.hash,
    next: anchor.purgedThroughSeq + 1,
    count: 0,
    checked: 0,
  };
  const firstBreak = (await walkStoredChain(deps, walk, signatures)) ?? beyondTheHead(walk, signatures);
  return {
    count: walk.count,
    fromSeq: anchor.purgedThroughSeq + 1,
    head: walk.prevHash,
    headSeq: walk.next - 1,
    checkpoints: walk.checked,
    firstBreak,
  };
}
