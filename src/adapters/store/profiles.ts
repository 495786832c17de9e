import type { Kysely, Selectable } from 'kysely';
import type { AccessProfile, ProfileStatus } from '../../domain/profile.ts';
import type { Role } from '../../domain/roles.ts';
import type { ProfileRepository } from '../../services/ports/tenants.ts';
import type { AccessProfilesTable, Database } from './schema.ts';

function toProfile(row: Selectable<AccessProfilesTable>): AccessProfile {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    description: row.description,
    groups: JSON.parse(row.groups),
    eligibleTechnicians: JSON.parse(row.eligible_technicians),
    eligibleRoles: JSON.parse(row.eligible_roles) as Role[],
    defaultDurationSeconds: row.default_duration_seconds,
    maxDurationSeconds: row.max_duration_seconds,
    maxTotalDurationSeconds: row.max_total_duration_seconds ?? row.max_duration_seconds,
    approval: JSON.parse(row.approval),
    windows: JSON.parse(row.windows),
    workstations: JSON.parse(row.workstations),
    requireJustification: row.require_justification === 1,
    ticketPattern: row.ticket_pattern,
    status: row.status as ProfileStatus,
    suspendedReason: row.suspended_reason,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function columns(p: Omit<AccessProfile, 'id' | 'tenantId' | 'createdAt' | 'updatedAt' | 'status' | 'suspendedReason'>) {
  return {
    name: p.name,
    description: p.description,
    groups: JSON.stringify(p.groups),
    eligible_technicians: JSON.stringify(p.eligibleTechnicians),
    eligible_roles: JSON.stringify(p.eligibleRoles),
    default_duration_seconds: p.defaultDurationSeconds,
    max_duration_seconds: p.maxDurationSeconds,
    max_total_duration_seconds: p.maxTotalDurationSeconds,
    approval: JSON.stringify(p.approval),
    windows: JSON.stringify(p.windows),
    workstations: JSON.stringify(p.workstations),
    require_justification: p.requireJustification ? 1 : 0,
    ticket_pattern: p.ticketPattern,
  };
}

export function profileRepository(db: Kysely<Database>): ProfileRepository {
  const base = () => db.selectFrom('access_profiles').selectAll();
  return {
    async insert(p, at) {
      await db
        .insertInto('access_profiles')
        .values({
          id: p.id,
          tenant_id: p.tenantId,
          ...columns(p),
          status: 'active',
          suspended_reason: null,
          created_at: at.getTime(),
          updated_at: at.getTime(),
        })
        .execute();
    },
    async findById(id) {
      const row = await base().where('id', '=', id).executeTakeFirst();
      return row ? toProfile(row) : null;
    },
    async findByName(tenantId, name) {
      const row = await base().where('tenant_id', '=', tenantId).where('name', '=', name).executeTakeFirst();
      return row ? toProfile(row) : null;
    },
    async listForTenant(tenantId) {
      return (await base().where('tenant_id', '=', tenantId).orderBy('name').execute()).map(toProfile);
    },
    async listAll() {
      return (await base().orderBy('tenant_id').orderBy('name').execute()).map(toProfile);
    },
    async update(id, p, at) {
      await db
        .updateTable('access_profiles')
        .set({ ...columns(p), updated_at: at.getTime() })
        .where('id', '=', id)
        .execute();
    },
    async setStatus(id, status, reason, at) {
      await db
        .updateTable('access_profiles')
        .set({ status, suspended_reason: reason, updated_at: at.getTime() })
        .where('id', '=', id)
        .execute();
    },
    async delete(id) {
      await db.deleteFrom('access_profiles').where('id', '=', id).execute();
    },
    async countForTenant(tenantId) {
      const row = await db
        .selectFrom('access_profiles')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', tenantId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
