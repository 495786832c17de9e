// In-memory SIEM cursors (the real ones: src/adapters/store/siem-cursors.ts).
import type { SiemCursor, SiemCursorRepository } from '../../../src/services/ports/siem.ts';
import { byText, change, copy, put, type StoreContext } from './memory.ts';

export function memorySiemCursorRepository(ctx: StoreContext): SiemCursorRepository {
  const rows = ctx.state.siemCursors;
  const read = (target: string): SiemCursor => {
    const { leaseOwner: _owner, leaseUntil: _until, ...cursor } = rows.get(target)!;
    return copy(cursor);
  };
  return {
    async ensure(target, _at) {
      const created = !rows.has(target);
      if (created)
        put(ctx, rows, target, {
          target,
          lastSeq: 0,
          stalledSince: null,
          failures: 0,
          retryAt: null,
          backlogAlertedAt: null,
          lastSuccessAt: null,
          lastError: null,
          lastErrorAt: null,
          leaseOwner: null,
          leaseUntil: null,
        });
      return { cursor: read(target), created };
    },
    list: async () => [...rows.keys()].sort(byText).map(read),
    async advance(target, seq) {
      change(
        ctx,
        rows,
        target,
        (c) => c.lastSeq < seq,
        (c) => (c.lastSeq = seq),
      );
    },
    async update(target, patch) {
      change(
        ctx,
        rows,
        target,
        () => true,
        (c) => Object.assign(c, copy(Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)))),
      );
    },
    lease: async (target, owner, until, at) =>
      change(
        ctx,
        rows,
        target,
        (c) => c.leaseUntil === null || c.leaseUntil < at || c.leaseOwner === owner,
        (c) => Object.assign(c, { leaseOwner: owner, leaseUntil: until }),
      ),
    async release(target, owner) {
      change(
        ctx,
        rows,
        target,
        (c) => c.leaseOwner === owner,
        (c) => Object.assign(c, { leaseOwner: null, leaseUntil: null }),
      );
    },
  };
}
