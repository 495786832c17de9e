// Reading the audit trail (auditor/admin) and checking the stored chain.
import { findChainBreak, type ChainBreak } from '../domain/audit.ts';
import { genesisHash } from '../domain/audit.ts';
import type { AuditFilter, Store } from './ports.ts';

export type AuditService = ReturnType<typeof createAuditService>;

export function createAuditService(deps: { store: Store }) {
  const { store } = deps;
  return {
    list: (filter: AuditFilter) => store.audit.list(filter),

    /** Walks the whole stored chain in pages; returns the head and the first break, if any. */
    async verifyStoredChain(pageSize = 1000): Promise<{ count: number; head: string; firstBreak: ChainBreak | null }> {
      let prevHash = genesisHash;
      let next = 1;
      let count = 0;
      for (;;) {
        const page = await store.audit.range(next, pageSize);
        if (page.length === 0) break;
        if (page[0]!.seq !== next) return { count, head: prevHash, firstBreak: { seq: next, reason: 'sequence_gap' } };
        const firstBreak = findChainBreak(page, prevHash);
        if (firstBreak) return { count, head: prevHash, firstBreak };
        count += page.length;
        prevHash = page[page.length - 1]!.hash;
        next = page[page.length - 1]!.seq + 1;
      }
      return { count, head: prevHash, firstBreak: null };
    },
  };
}
