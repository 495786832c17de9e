import type { Kysely, Selectable } from 'kysely';
import { assertTransition, holdingStates, type ElevationState, type RevocationReason } from '../../domain/elevation-state.ts';
import type { Decision, DecisionKind } from '../../domain/approval.ts';
import type { RiskReason } from '../../domain/risk.ts';
import type { Elevation, PendingExtension } from '../../domain/elevation.ts';
import type { ElevationRepository } from '../../services/ports/elevations.ts';
import type { Database, ElevationsTable } from './schema.ts';

const date = (ms: number | null) => (ms === null ? null : new Date(ms));
const ms = (d: Date | null | undefined) => (d ? d.getTime() : null);

function toElevation(row: Selectable<ElevationsTable>, decisions: Decision[] = []): Elevation {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    profileId: row.profile_id,
    profileName: row.profile_name,
    technicianId: row.technician_id,
    accountId: row.account_id,
    accountDn: row.account_dn,
    accountGuid: row.account_guid,
    groups: JSON.parse(row.groups),
    state: row.state as ElevationState,
    durationSeconds: row.duration_seconds,
    justification: row.justification,
    ticket: row.ticket,
    requestedAt: new Date(row.requested_at),
    activatedAt: date(row.activated_at),
    endsAt: date(row.ends_at),
    endedAt: date(row.ended_at),
    revocationReason: row.revocation_reason as RevocationReason | null,
    failureReason: row.failure_reason,
    steps: row.steps === null ? null : JSON.parse(row.steps),
    overdueAlertedAt: date(row.overdue_alerted_at),
    updatedAt: new Date(row.updated_at),
    approvalsRequired: row.approvals_required,
    approverIds: JSON.parse(row.approver_ids),
    approvalDeadline: date(row.approval_deadline),
    windowClosesAt: date(row.window_closes_at),
    extension: row.extension === null ? null : fromExtensionJson(row.extension),
    extendedSeconds: row.extended_seconds,
    decisions,
    risk:
      row.risk_score === null
        ? null
        : { score: row.risk_score, reasons: row.risk_reasons === null ? [] : (JSON.parse(row.risk_reasons) as RiskReason[]) },
    lease:
      row.lease_holder === null || row.lease_until === null ? null : { holder: row.lease_holder, until: new Date(Number(row.lease_until)) },
  };
}

function fromExtensionJson(text: string): PendingExtension {
  const e = JSON.parse(text) as { seconds: number; round: number; requestedAt: number; deadline: number };
  return { seconds: e.seconds, round: e.round, requestedAt: new Date(e.requestedAt), deadline: new Date(e.deadline) };
}

const extensionJson = (e: PendingExtension | null) =>
  e === null
    ? null
    : JSON.stringify({ seconds: e.seconds, round: e.round, requestedAt: e.requestedAt.getTime(), deadline: e.deadline.getTime() });

export function elevationRepository(db: Kysely<Database>): ElevationRepository {
  const base = () => db.selectFrom('elevations').selectAll();

  /** Rows with their decisions (only rows that ask for approval can have any). */
  async function withDecisions(rows: Selectable<ElevationsTable>[]): Promise<Elevation[]> {
    const asking = rows.filter((r) => r.approvals_required > 0).map((r) => r.id);
    const byId = new Map<string, Decision[]>();
    for (let i = 0; i < asking.length; i += 500) {
      const found = await db
        .selectFrom('elevation_decisions')
        .selectAll()
        .where('elevation_id', 'in', asking.slice(i, i + 500))
        .orderBy('decided_at')
        .orderBy('approver_id')
        .execute();
      for (const d of found) {
        byId.set(d.elevation_id, [
          ...(byId.get(d.elevation_id) ?? []),
          { round: d.round, approverId: d.approver_id, decision: d.decision as DecisionKind, reason: d.reason, at: new Date(d.decided_at) },
        ]);
      }
    }
    return rows.map((r) => toElevation(r, byId.get(r.id)));
  }

  return {
    async insert(e) {
      await db
        .insertInto('elevations')
        .values({
          id: e.id,
          tenant_id: e.tenantId,
          profile_id: e.profileId,
          profile_name: e.profileName,
          technician_id: e.technicianId,
          account_id: e.accountId,
          account_dn: e.accountDn,
          account_guid: e.accountGuid,
          groups: JSON.stringify(e.groups),
          state: e.state,
          duration_seconds: e.durationSeconds,
          justification: e.justification,
          ticket: e.ticket,
          requested_at: e.requestedAt.getTime(),
          activated_at: ms(e.activatedAt),
          ends_at: ms(e.endsAt),
          ended_at: ms(e.endedAt),
          revocation_reason: e.revocationReason,
          failure_reason: e.failureReason,
          steps: e.steps === null ? null : JSON.stringify(e.steps),
          overdue_alerted_at: ms(e.overdueAlertedAt),
          updated_at: e.updatedAt.getTime(),
          approvals_required: e.approvalsRequired,
          approver_ids: JSON.stringify(e.approverIds),
          approval_deadline: ms(e.approvalDeadline),
          window_closes_at: ms(e.windowClosesAt),
          extension: extensionJson(e.extension),
          extended_seconds: e.extendedSeconds,
          risk_score: e.risk?.score ?? null,
          risk_reasons: e.risk ? JSON.stringify(e.risk.reasons) : null,
          lease_holder: e.lease?.holder ?? null,
          lease_until: ms(e.lease?.until),
        })
        .execute();
    },

    async history(q) {
      let query = base();
      if (q.from) query = query.where('requested_at', '>=', q.from.getTime());
      if (q.to) query = query.where('requested_at', '<', q.to.getTime());
      if (q.tenantId) query = query.where('tenant_id', '=', q.tenantId);
      if (q.technicianId) query = query.where('technician_id', '=', q.technicianId);
      const after = q.after;
      if (after) {
        query = query.where((eb) =>
          eb.or([
            eb('requested_at', '>', after.requestedAt.getTime()),
            eb.and([eb('requested_at', '=', after.requestedAt.getTime()), eb('id', '>', after.id)]),
          ]),
        );
      }
      return withDecisions(await query.orderBy('requested_at', 'asc').orderBy('id', 'asc').limit(q.limit).execute());
    },

    async findById(id) {
      const row = await base().where('id', '=', id).executeTakeFirst();
      return row ? (await withDecisions([row]))[0]! : null;
    },

    async list(filter) {
      let query = base();
      if (filter.states?.length) query = query.where('state', 'in', filter.states);
      if (filter.tenantIds) query = filter.tenantIds.length ? query.where('tenant_id', 'in', filter.tenantIds) : query.where('id', '=', '');
      if (filter.technicianId) query = query.where('technician_id', '=', filter.technicianId);
      if (filter.endsBefore) query = query.where('ends_at', '<=', filter.endsBefore.getTime());
      if (filter.technicianIds) {
        // Chunked: SQLite bounds the parameters of one statement.
        const ids = [...new Set(filter.technicianIds)];
        const found: Selectable<ElevationsTable>[] = [];
        for (let i = 0; i < ids.length; i += 500) {
          found.push(...(await query.where('technician_id', 'in', ids.slice(i, i + 500)).execute()));
        }
        found.sort((a, b) => b.requested_at - a.requested_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        return withDecisions(found.slice(0, filter.limit ?? 1000));
      }
      const rows = await query
        .orderBy('requested_at', 'desc')
        .orderBy('id')
        .limit(filter.limit ?? 1000)
        .execute();
      return withDecisions(rows);
    },

    async transition(id, from, to, changes, at, leaseHolder) {
      assertTransition(from, to);
      const lease = to === 'activating' ? changes.lease : null;
      const result = await db
        .updateTable('elevations')
        .set({
          ...(lease !== undefined && { lease_holder: lease?.holder ?? null, lease_until: ms(lease?.until) }),
          state: to,
          updated_at: at.getTime(),
          ...(changes.activatedAt !== undefined && { activated_at: ms(changes.activatedAt) }),
          ...(changes.endsAt !== undefined && { ends_at: ms(changes.endsAt) }),
          ...(changes.endedAt !== undefined && { ended_at: ms(changes.endedAt) }),
          ...(changes.revocationReason !== undefined && { revocation_reason: changes.revocationReason }),
          ...(changes.failureReason !== undefined && { failure_reason: changes.failureReason }),
          ...(changes.steps !== undefined && { steps: changes.steps === null ? null : JSON.stringify(changes.steps) }),
          ...(changes.windowClosesAt !== undefined && { window_closes_at: ms(changes.windowClosesAt) }),
          ...(changes.extension !== undefined && { extension: extensionJson(changes.extension) }),
          ...(changes.extendedSeconds !== undefined && { extended_seconds: changes.extendedSeconds }),
        })
        .where('id', '=', id)
        .where('state', '=', from)
        .$if(leaseHolder !== undefined, (q) => q.where('lease_holder', '=', leaseHolder!))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async amend(id, state, changes, at) {
      const result = await db
        .updateTable('elevations')
        .set({
          updated_at: at.getTime(),
          ...(changes.endsAt !== undefined && { ends_at: ms(changes.endsAt) }),
          ...(changes.windowClosesAt !== undefined && { window_closes_at: ms(changes.windowClosesAt) }),
          ...(changes.extension !== undefined && { extension: extensionJson(changes.extension) }),
          ...(changes.extendedSeconds !== undefined && { extended_seconds: changes.extendedSeconds }),
        })
        .where('id', '=', id)
        .where('state', '=', state)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async lock(id, state, at) {
      // An update of the row, guarded by its state: the row lock on PostgreSQL, the database's
      // write lock on SQLite (which has no SELECT … FOR UPDATE), both held until the commit.
      const result = await db
        .updateTable('elevations')
        .set({ updated_at: at.getTime() })
        .where('id', '=', id)
        .where('state', '=', state)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async renewLease(id, holder, until) {
      const result = await db
        .updateTable('elevations')
        .set({ lease_until: until.getTime() })
        .where('id', '=', id)
        .where('state', '=', 'activating')
        .where('lease_holder', '=', holder)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async takeLease(id, holder, until, lapsedBy, staleBefore) {
      const result = await db
        .updateTable('elevations')
        .set({ lease_holder: holder, lease_until: until.getTime() })
        .where('id', '=', id)
        .where('state', '=', 'activating')
        .where((eb) =>
          eb.or([
            eb.and([eb('lease_until', 'is not', null), eb('lease_until', '<=', lapsedBy.getTime())]),
            eb.and([eb('lease_until', 'is', null), eb('updated_at', '<', staleBefore.getTime())]),
          ]),
        )
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async transitionMany(ids, from, to, changes, at, endsBy) {
      assertTransition(from, to);
      const moved: string[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        const rows = await db
          .updateTable('elevations')
          .set({
            state: to,
            updated_at: at.getTime(),
            ...(changes.endedAt !== undefined && { ended_at: ms(changes.endedAt) }),
            ...(changes.revocationReason !== undefined && { revocation_reason: changes.revocationReason }),
          })
          .where('id', 'in', ids.slice(i, i + 500))
          .where('state', '=', from)
          .$if(endsBy !== undefined, (q) => q.where('ends_at', '<=', endsBy!.getTime()))
          .returning(['id'])
          .execute();
        moved.push(...rows.map((r) => r.id));
      }
      return moved;
    },

    async addDecision(elevationId, d) {
      const result = await db
        .insertInto('elevation_decisions')
        .values({
          elevation_id: elevationId,
          round: d.round,
          approver_id: d.approverId,
          decision: d.decision,
          reason: d.reason,
          decided_at: d.at.getTime(),
        })
        .onConflict((oc) => oc.columns(['elevation_id', 'round', 'approver_id']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
    },

    async approvalsPastDeadline(at) {
      const rows = await base()
        .where((eb) =>
          eb.or([
            eb.and([eb('state', '=', 'pending_approval'), eb('approval_deadline', '<=', at.getTime())]),
            eb.and([eb('state', '=', 'active'), eb('extension', 'is not', null)]),
          ]),
        )
        .execute();
      return (await withDecisions(rows)).filter((e) => e.state === 'pending_approval' || (e.extension && e.extension.deadline <= at));
    },

    async recordSteps(id, steps, at) {
      await db
        .updateTable('elevations')
        .set({ steps: JSON.stringify(steps), updated_at: at.getTime() })
        .where('id', '=', id)
        .execute();
    },

    async updateAccountDn(id, dn, at) {
      await db.updateTable('elevations').set({ account_dn: dn, updated_at: at.getTime() }).where('id', '=', id).execute();
    },

    async markOverdueAlerted(id, at) {
      await db.updateTable('elevations').set({ overdue_alerted_at: at.getTime() }).where('id', '=', id).execute();
    },

    async holding(tenantId, technicianId, exceptId) {
      const rows = await base()
        .where('tenant_id', '=', tenantId)
        .where('technician_id', '=', technicianId)
        .where('state', 'in', [...holdingStates])
        .where('id', '!=', exceptId)
        .execute();
      return withDecisions(rows);
    },

    async countByState() {
      const rows = await db
        .selectFrom('elevations')
        .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy('state')
        .execute();
      return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
    },

    async requestHistory(technicianId, since, limit) {
      const rows = await db
        .selectFrom('elevations')
        .select(['tenant_id', 'requested_at', 'state', 'activated_at'])
        .where('technician_id', '=', technicianId)
        .where('requested_at', '>=', since.getTime())
        .orderBy('requested_at', 'desc')
        .limit(limit)
        .execute();
      return rows.reverse().map((r) => ({
        tenantId: r.tenant_id,
        requestedAt: new Date(Number(r.requested_at)),
        state: r.state as ElevationState,
        activated: r.activated_at !== null,
      }));
    },

    async elevatedTenants(technicianId) {
      const rows = await db
        .selectFrom('elevations')
        .select('tenant_id')
        .distinct()
        .where('technician_id', '=', technicianId)
        .where('activated_at', 'is not', null)
        .execute();
      return rows.map((r) => r.tenant_id);
    },

    async revocationLags(since) {
      const rows = await db
        .selectFrom('elevations')
        .select(['ends_at', 'ended_at'])
        .where('state', '=', 'expired')
        .where('ended_at', '>=', since.getTime())
        .execute();
      return rows.filter((r) => r.ends_at !== null && r.ended_at !== null).map((r) => Math.max(0, (r.ended_at! - r.ends_at!) / 1000));
    },

    async countForTenant(tenantId) {
      const row = await db
        .selectFrom('elevations')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', tenantId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
