// Coalesces member removals: removals asked for the same group go to the directory together as
// one batched modify (Samba applies thousands of values a second that way, against a few hundred
// single modifies, and each modify of a large group costs more the larger it is). At most one
// batch per group is in flight; whatever arrives meanwhile forms the next batch, so batches grow
// with the load. Each caller hears back only once a read-back confirms its member is gone.
import type { TenantDirectory, MemberRemoval } from '../../services/ports/directory.ts';

export interface MemberRemovalSettings {
  /** How long the first removal for an idle group waits for company. */
  lingerMs: number;
  maxBatch: number;
  /** Groups of one tenant being changed at the same time. */
  concurrentBatchesPerTenant: number;
}

interface Waiter {
  memberDn: string;
  resolve(): void;
  reject(error: unknown): void;
}

interface GroupLane {
  tenantId: string;
  directory: TenantDirectory;
  groupDn: string;
  waiting: Waiter[];
  busy: boolean;
  timer: NodeJS.Timeout | null;
}

export function createMemberRemoval(settings: MemberRemovalSettings): MemberRemoval {
  const lanes = new Map<string, GroupLane>();
  const running = new Map<string, number>();
  const queued = new Map<string, Array<() => void>>();

  async function tenantSlot(tenantId: string): Promise<() => void> {
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

  async function drain(key: string, lane: GroupLane) {
    lane.timer = null;
    lane.busy = true;
    try {
      while (lane.waiting.length > 0) {
        const batch = lane.waiting.splice(0, settings.maxBatch);
        const release = await tenantSlot(lane.tenantId);
        try {
          const members = [...new Set(batch.map((w) => w.memberDn))];
          const { stillMembers } = await lane.directory.removeMembers(lane.groupDn, members);
          const still = new Set(stillMembers.map((dn) => dn.toLowerCase()));
          for (const waiter of batch) {
            if (still.has(waiter.memberDn.toLowerCase()))
              waiter.reject(new Error(`${waiter.memberDn} is still a member of ${lane.groupDn}`));
            else waiter.resolve();
          }
        } catch (error) {
          for (const waiter of batch) waiter.reject(error);
        } finally {
          release();
        }
      }
    } finally {
      lane.busy = false;
      if (lanes.get(key) === lane && lane.waiting.length === 0) lanes.delete(key);
    }
  }

  return {
    /** Resolves once `memberDn` is confirmed absent from `groupDn`. */
    remove(tenantId: string, directory: TenantDirectory, groupDn: string, memberDn: string): Promise<void> {
      const key = `${tenantId}\u0000${groupDn.toLowerCase()}`;
      return new Promise<void>((resolve, reject) => {
        let lane = lanes.get(key);
        if (!lane || lane.directory !== directory) {
          lane = { tenantId, directory, groupDn, waiting: [], busy: false, timer: null };
          lanes.set(key, lane);
        }
        lane.waiting.push({ memberDn, resolve, reject });
        if (!lane.busy && !lane.timer) {
          const current = lane;
          current.timer = setTimeout(() => void drain(key, current), settings.lingerMs);
        }
      });
    },
  };
}
