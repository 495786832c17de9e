// Coalesces member removals: every removal asked for the same group within a short linger is sent
// as one batched modify (Samba applies thousands of values per second that way, against a few
// hundred single modifies), and each caller hears back only once a read-back confirms its member
// is gone. Batches per tenant run a few at a time, so one tenant cannot starve the others.
import type { TenantDirectory } from './ports.ts';

export interface MemberRemovalSettings {
  lingerMs: number;
  maxBatch: number;
  concurrentBatchesPerTenant: number;
}

interface Waiter {
  memberDn: string;
  resolve(): void;
  reject(error: unknown): void;
}

interface Pending {
  tenantId: string;
  directory: TenantDirectory;
  groupDn: string;
  waiters: Waiter[];
  timer: NodeJS.Timeout | null;
}

export type MemberRemoval = ReturnType<typeof createMemberRemoval>;

export function createMemberRemoval(settings: MemberRemovalSettings) {
  const pending = new Map<string, Pending>();
  const running = new Map<string, number>();
  const queued = new Map<string, Array<() => void>>();

  async function slot(tenantId: string): Promise<() => void> {
    if ((running.get(tenantId) ?? 0) >= settings.concurrentBatchesPerTenant) {
      await new Promise<void>((resolve) => {
        const list = queued.get(tenantId) ?? [];
        list.push(resolve);
        queued.set(tenantId, list);
      });
    }
    running.set(tenantId, (running.get(tenantId) ?? 0) + 1);
    return () => {
      running.set(tenantId, (running.get(tenantId) ?? 1) - 1);
      queued.get(tenantId)?.shift()?.();
    };
  }

  async function flush(key: string) {
    const batch = pending.get(key);
    if (!batch) return;
    pending.delete(key);
    if (batch.timer) clearTimeout(batch.timer);
    const release = await slot(batch.tenantId);
    try {
      const members = [...new Set(batch.waiters.map((w) => w.memberDn))];
      const { stillMembers } = await batch.directory.removeMembers(batch.groupDn, members);
      const still = new Set(stillMembers.map((dn) => dn.toLowerCase()));
      for (const waiter of batch.waiters) {
        if (still.has(waiter.memberDn.toLowerCase())) waiter.reject(new Error(`${waiter.memberDn} is still a member of ${batch.groupDn}`));
        else waiter.resolve();
      }
    } catch (error) {
      for (const waiter of batch.waiters) waiter.reject(error);
    } finally {
      release();
    }
  }

  return {
    /** Resolves once `memberDn` is confirmed absent from `groupDn`. */
    remove(tenantId: string, directory: TenantDirectory, groupDn: string, memberDn: string): Promise<void> {
      const key = `${tenantId}\u0000${groupDn.toLowerCase()}`;
      return new Promise<void>((resolve, reject) => {
        let batch = pending.get(key);
        if (!batch || batch.directory !== directory) {
          if (batch) void flush(key);
          batch = { tenantId, directory, groupDn, waiters: [], timer: null };
          pending.set(key, batch);
          batch.timer = setTimeout(() => void flush(key), settings.lingerMs);
        }
        batch.waiters.push({ memberDn, resolve, reject });
        if (batch.waiters.length >= settings.maxBatch) void flush(key);
      });
    },
  };
}
