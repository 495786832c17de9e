// The whole in-memory Store: every repository over one set of tables, and transactions that undo
// their writes when the work throws. The real one: src/adapters/store/index.ts.
import type { Store, StoreRepositories } from '../../../src/services/ports/store.ts';
import { memoryAuditRepository, memorySigningKeyRepository } from './audit.ts';
import { memoryElevationRepository } from './elevations.ts';
import type { MemoryTables, StoreContext } from './memory.ts';
import { memoryDriftReportRepository, memoryReviewRepository } from './reviews.ts';
import { memorySiemCursorRepository } from './siem.ts';
import { memorySessionRepository, memoryTechnicianRepository } from './technicians.ts';
import { memoryAccountRepository, memoryProfileRepository, memoryProtectedGroupRepository, memoryTenantRepository } from './tenants.ts';

export interface MemoryStore extends Store {
  /** The tables themselves, for assertions (read them; write through the repositories). */
  readonly tables: MemoryTables;
  /** Transactions that committed and that rolled back so far. */
  readonly transactions: { committed: number; rolledBack: number };
  /** Makes ping/probeWritable fail (the store away), or answer again with null. */
  unavailable(error: Error | null): void;
}

function emptyTables(): MemoryTables {
  return {
    technicians: new Map(),
    sessions: new Map(),
    tenants: new Map(),
    accounts: new Map(),
    protectedGroups: new Map(),
    profiles: new Map(),
    elevations: new Map(),
    decisions: new Map(),
    auditEvents: new Map(),
    auditHead: new Map(),
    checkpoints: new Map(),
    signingKeys: new Map(),
    auditKeys: new Map(),
    siemCursors: new Map(),
    driftReports: new Map(),
    reviews: new Map(),
    findings: new Map(),
  };
}

function repositories(ctx: StoreContext): StoreRepositories {
  return {
    technicians: memoryTechnicianRepository(ctx),
    sessions: memorySessionRepository(ctx),
    tenants: memoryTenantRepository(ctx),
    audit: memoryAuditRepository(ctx),
    signingKeys: memorySigningKeyRepository(ctx, ctx.state.signingKeys),
    auditKeys: memorySigningKeyRepository(ctx, ctx.state.auditKeys),
    accounts: memoryAccountRepository(ctx),
    protectedGroups: memoryProtectedGroupRepository(ctx),
    profiles: memoryProfileRepository(ctx),
    elevations: memoryElevationRepository(ctx),
    siemCursors: memorySiemCursorRepository(ctx),
    driftReports: memoryDriftReportRepository(ctx),
    reviews: memoryReviewRepository(ctx),
  };
}

export function createMemoryStore(): MemoryStore {
  const tables = emptyTables();
  const transactions = { committed: 0, rolledBack: 0 };
  let away: Error | null = null;
  let closed = false;
  const live = () => {
    if (closed) throw new Error('the store is closed');
    if (away) throw away;
  };
  return {
    ...repositories({ state: tables, journal: null }),
    tables,
    transactions,
    async transaction(work) {
      live();
      const journal: Array<() => void> = [];
      try {
        const result = await work(repositories({ state: tables, journal }));
        transactions.committed++;
        return result;
      } catch (error) {
        // Undone newest first: every table is as it was before the transaction's first write.
        for (const undo of journal.reverse()) undo();
        transactions.rolledBack++;
        throw error;
      }
    },
    async ping() {
      live();
    },
    async probeWritable() {
      live();
    },
    async close() {
      closed = true;
    },
    unavailable(error) {
      away = error;
    },
  };
}
