// Retention (docs/architecture.md, The audit chain): deletes the oldest events that are past
// retention, covered by a signed checkpoint and forwarded to every SIEM target, and records the
// last deleted hash as the chain's anchor.
import { dayMs, purgeLimit } from '../../domain/audit-export.ts';
import { auditOrigin, type RequestContext } from '../context.ts';
import type { Clock } from '../ports/runtime.ts';
import type { ForwardingProgress } from '../ports/siem.ts';
import type { Store } from '../ports/store.ts';

export interface PurgeDeps {
  store: Pick<Store, 'audit' | 'transaction'>;
  clock: Clock;
  forwarding: ForwardingProgress;
  retentionDays: number;
}

export interface PurgeReport {
  purged: number;
  /** Events up to here are gone (before and after this purge). */
  purgedThroughSeq: number;
  /** What stopped the purge going further: the retention period, the newest checkpoint, or forwarding. */
  heldBy: 'retention' | 'checkpoint' | 'forwarding';
  cutoff: string;
}

export async function purge(deps: PurgeDeps, actor: string, ctx: RequestContext): Promise<PurgeReport> {
  const { store } = deps;
  const now = deps.clock.now();
  const cutoff = new Date(now.getTime() - deps.retentionDays * dayMs);
  const head = await store.audit.head();
  const firstKept = await store.audit.firstSeqAtOrAfter(cutoff);
  const limit = purgeLimit({
    expiredThroughSeq: firstKept === null ? head.seq : firstKept - 1,
    checkpointSeq: (await store.audit.latestCheckpoint())?.seq ?? null,
    forwardedThroughSeq: await deps.forwarding.lowestForwardedSeq(),
  });
  return store.transaction(async (tx) => {
    const anchor = await tx.audit.anchor();
    if (limit.throughSeq <= anchor.purgedThroughSeq) {
      return { purged: 0, purgedThroughSeq: anchor.purgedThroughSeq, heldBy: limit.heldBy, cutoff: cutoff.toISOString() };
    }
    const { purged, anchorHash } = await tx.audit.purgeThrough(limit.throughSeq);
    await tx.audit.append(
      {
        actor,
        action: 'audit.purged',
        details: {
          purged,
          throughSeq: limit.throughSeq,
          anchorHash,
          heldBy: limit.heldBy,
          retentionDays: deps.retentionDays,
          cutoff: cutoff.toISOString(),
        },
        ...auditOrigin(ctx),
      },
      now,
    );
    return { purged, purgedThroughSeq: limit.throughSeq, heldBy: limit.heldBy, cutoff: cutoff.toISOString() };
  });
}
