import type { Kysely, Selectable } from 'kysely';
import type { TenantAccount, TenantAccountRepository } from '../../services/ports/tenants.ts';
import type { Database, TenantAccountsTable } from './schema.ts';

function toAccount(row: Selectable<TenantAccountsTable>): TenantAccount {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    technicianId: row.technician_id,
    guid: row.object_guid,
    dn: row.dn,
    samAccountName: row.sam_account_name,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

export function tenantAccountRepository(db: Kysely<Database>): TenantAccountRepository {
  const base = () => db.selectFrom('tenant_accounts').selectAll();
  return {
    async insert(a) {
      await db
        .insertInto('tenant_accounts')
        .values({
          id: a.id,
          tenant_id: a.tenantId,
          technician_id: a.technicianId,
          object_guid: a.guid.toLowerCase(),
          dn: a.dn,
          sam_account_name: a.samAccountName,
          created_at: a.createdAt.getTime(),
          updated_at: a.updatedAt.getTime(),
        })
        .execute();
    },
    async find(tenantId, technicianId) {
      const row = await base().where('tenant_id', '=', tenantId).where('technician_id', '=', technicianId).executeTakeFirst();
      return row ? toAccount(row) : null;
    },
    async findById(id) {
      const row = await base().where('id', '=', id).executeTakeFirst();
      return row ? toAccount(row) : null;
    },
    async findByGuid(tenantId, guid) {
      const row = await base().where('tenant_id', '=', tenantId).where('object_guid', '=', guid.toLowerCase()).executeTakeFirst();
      return row ? toAccount(row) : null;
    },
    async listForTenant(tenantId) {
      return (await base().where('tenant_id', '=', tenantId).orderBy('sam_account_name').execute()).map(toAccount);
    },
    async updateDn(id, dn, samAccountName, at) {
      await db
        .updateTable('tenant_accounts')
        .set({ dn, sam_account_name: samAccountName, updated_at: at.getTime() })
        .where('id', '=', id)
        .execute();
    },
    async delete(id) {
      await db.deleteFrom('tenant_accounts').where('id', '=', id).execute();
    },
    async countForTenant(tenantId) {
      const row = await db
        .selectFrom('tenant_accounts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', tenantId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
