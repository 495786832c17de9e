// In-memory elevations with their decisions (the real ones: src/adapters/store/elevations.ts), and
// revocation jobs that record what was scheduled.
import { assertTransition, holdingStates } from '../../../src/domain/elevation-state.ts';
import type { Elevation } from '../../../src/domain/elevation.ts';
import type { ElevationRepository, RevocationJobs } from '../../../src/services/ports/elevations.ts';
import { byText, change, conflict, copy, foreignKeyViolation, put, type StoreContext } from './memory.ts';

type Row = Omit<Elevation, 'decisions'>;

export function memoryElevationRepository(ctx: StoreContext): ElevationRepository {
  const { elevations: rows, decisions } = ctx.state;
  /** With decisions (only rows that ask for approval can have any), by decision time then approver. */
  const read = (row: Row): Elevation => ({
    ...copy(row),
    lease: row.lease ? copy(row.lease) : null,
    decisions:
      row.approvalsRequired > 0
        ? [...decisions.values()]
            .filter((d) => d.elevationId === row.id)
            .sort((a, b) => a.at.getTime() - b.at.getTime() || byText(a.approverId, b.approverId))
            .map(({ elevationId: _id, ...d }) => copy(d))
        : [],
  });
  const newestFirst = (a: Row, b: Row) => b.requestedAt.getTime() - a.requestedAt.getTime() || byText(a.id, b.id);
  const all = () => [...rows.values()];
  return {
    async history(q) {
      const after = q.after;
      return all()
        .filter(
          (e) =>
            (!q.from || e.requestedAt >= q.from) &&
            (!q.to || e.requestedAt < q.to) &&
            (!q.tenantId || e.tenantId === q.tenantId) &&
            (!q.technicianId || e.technicianId === q.technicianId) &&
            (!after ||
              e.requestedAt.getTime() > after.requestedAt.getTime() ||
              (e.requestedAt.getTime() === after.requestedAt.getTime() && e.id > after.id)),
        )
        .sort((a, b) => a.requestedAt.getTime() - b.requestedAt.getTime() || byText(a.id, b.id))
        .slice(0, q.limit)
        .map(read);
    },
    async insert(e) {
      if (rows.has(e.id)) throw conflict(['id']);
      if (!ctx.state.tenants.has(e.tenantId) || !ctx.state.technicians.has(e.technicianId)) throw foreignKeyViolation();
      const { decisions: _decisions, ...row } = e;
      put(ctx, rows, e.id, { ...row, lease: e.lease ?? null });
    },
    findById: async (id) => (rows.has(id) ? read(rows.get(id)!) : null),
    async list(f) {
      return all()
        .filter(
          (e) =>
            (!f.states?.length || f.states.includes(e.state)) &&
            (!f.tenantIds || f.tenantIds.includes(e.tenantId)) &&
            (!f.technicianId || e.technicianId === f.technicianId) &&
            (!f.technicianIds || f.technicianIds.includes(e.technicianId)) &&
            (!f.endsBefore || (e.endsAt !== null && e.endsAt <= f.endsBefore)),
        )
        .sort(newestFirst)
        .slice(0, f.limit ?? 1000)
        .map(read);
    },
    transition: async (id, from, to, changes, at, leaseHolder) => {
      assertTransition(from, to);
      return change(
        ctx,
        rows,
        id,
        (e) => e.state === from && (leaseHolder === undefined || e.lease?.holder === leaseHolder),
        (e) => {
          const lease = to === 'activating' ? changes.lease : null;
          const { lease: _lease, ...rest } = changes;
          Object.assign(e, copy(Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined))), { state: to, updatedAt: at });
          if (lease !== undefined) e.lease = lease ? copy(lease) : null;
        },
      );
    },
    amend: async (id, state, changes, at) =>
      change(
        ctx,
        rows,
        id,
        (e) => e.state === state,
        (e) => {
          Object.assign(e, copy(Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined))), { updatedAt: at });
        },
      ),
    // No row locks here (see index.ts): a guarded touch of the row, as the real one writes.
    lock: async (id, state, at) =>
      change(
        ctx,
        rows,
        id,
        (e) => e.state === state,
        (e) => (e.updatedAt = at),
      ),
    renewLease: async (id, holder, until) =>
      change(
        ctx,
        rows,
        id,
        (e) => e.state === 'activating' && e.lease?.holder === holder,
        (e) => (e.lease = { holder, until }),
      ),
    takeLease: async (id, holder, until, lapsedBy, staleBefore) =>
      change(
        ctx,
        rows,
        id,
        (e) => e.state === 'activating' && (e.lease ? e.lease.until <= lapsedBy : e.updatedAt < staleBefore),
        (e) => (e.lease = { holder, until }),
      ),
    async addDecision(elevationId, d) {
      if (!rows.has(elevationId) || !ctx.state.technicians.has(d.approverId)) throw foreignKeyViolation();
      const key = `${elevationId}\u0000${d.round}\u0000${d.approverId}`;
      if (decisions.has(key)) return false;
      put(ctx, decisions, key, { ...d, elevationId });
      return true;
    },
    approvalsPastDeadline: async (at) =>
      all()
        .filter(
          (e) =>
            (e.state === 'pending_approval' && e.approvalDeadline !== null && e.approvalDeadline <= at) ||
            (e.state === 'active' && e.extension !== null && e.extension.deadline <= at),
        )
        .map(read),
    async transitionMany(ids, from, to, changes, at, endsBy) {
      assertTransition(from, to);
      const moved: string[] = [];
      for (const id of ids) {
        const done = change(
          ctx,
          rows,
          id,
          (e) => e.state === from && (endsBy === undefined || (e.endsAt !== null && e.endsAt <= endsBy)),
          (e) => {
            Object.assign(e, { state: to, updatedAt: at });
            if (changes.endedAt !== undefined) e.endedAt = changes.endedAt;
            if (changes.revocationReason !== undefined) e.revocationReason = changes.revocationReason;
          },
        );
        if (done && !moved.includes(id)) moved.push(id);
      }
      return moved;
    },
    async recordSteps(id, steps, at) {
      change(
        ctx,
        rows,
        id,
        () => true,
        (e) => Object.assign(e, { steps: copy(steps), updatedAt: at }),
      );
    },
    async updateAccountDn(id, dn, at) {
      change(
        ctx,
        rows,
        id,
        () => true,
        (e) => Object.assign(e, { accountDn: dn, updatedAt: at }),
      );
    },
    async markOverdueAlerted(id, at) {
      change(
        ctx,
        rows,
        id,
        () => true,
        (e) => Object.assign(e, { overdueAlertedAt: at }),
      );
    },
    holding: async (tenantId, technicianId, exceptId) =>
      all()
        .filter((e) => e.tenantId === tenantId && e.technicianId === technicianId && holdingStates.includes(e.state) && e.id !== exceptId)
        .map(read),
    async countByState() {
      const counts: Record<string, number> = {};
      for (const e of all()) counts[e.state] = (counts[e.state] ?? 0) + 1;
      return counts;
    },
    countForTenant: async (tenantId) => all().filter((e) => e.tenantId === tenantId).length,
    requestHistory: async (technicianId, since, limit) =>
      all()
        .filter((e) => e.technicianId === technicianId && e.requestedAt >= since)
        .sort((a, b) => b.requestedAt.getTime() - a.requestedAt.getTime())
        .slice(0, limit)
        .reverse()
        .map((e) => ({ tenantId: e.tenantId, requestedAt: new Date(e.requestedAt), state: e.state, activated: e.activatedAt !== null })),
    elevatedTenants: async (technicianId) => [
      ...new Set(all().flatMap((e) => (e.technicianId === technicianId && e.activatedAt !== null ? [e.tenantId] : []))),
    ],
    revocationLags: async (since) =>
      all()
        .filter((e) => e.state === 'expired' && e.endedAt !== null && e.endedAt >= since && e.endsAt !== null)
        .map((e) => Math.max(0, (e.endedAt!.getTime() - e.endsAt!.getTime()) / 1000)),
  };
}

/** Revocation jobs in memory: what is scheduled, and for when (the job becomes due at `at`, no lead time applied). */
export interface FakeRevocationJobs extends RevocationJobs {
  readonly scheduled: Map<string, Date>;
  /** Every call, in order, for assertions. */
  readonly calls: Array<{ op: 'schedule' | 'cancel'; elevationId: string; at?: Date }>;
  /** The ids whose job is due at `now`. */
  due(now: Date): string[];
}

export function fakeRevocationJobs(): FakeRevocationJobs {
  const scheduled = new Map<string, Date>();
  const calls: FakeRevocationJobs['calls'] = [];
  return {
    scheduled,
    calls,
    async schedule(elevationId, at) {
      calls.push({ op: 'schedule', elevationId, at: new Date(at) });
      // One job per elevation: scheduling again moves it (an extension), as the queue's delayed job does.
      scheduled.set(elevationId, new Date(at));
    },
    isScheduled: async (elevationId) => scheduled.has(elevationId),
    async cancel(elevationId) {
      calls.push({ op: 'cancel', elevationId });
      scheduled.delete(elevationId);
    },
    due: (now) => [...scheduled].filter(([, at]) => at <= now).map(([id]) => id),
  };
}
