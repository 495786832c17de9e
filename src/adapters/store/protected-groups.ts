// The groups each tenant adds to the protected list (migration 0010_tenant_protected_groups).
import type { Kysely } from 'kysely';
import type { TenantProtectedGroupRepository } from '../../services/ports/tenants.ts';
import type { Database } from './schema.ts';

export function tenantProtectedGroupRepository(db: Kysely<Database>): TenantProtectedGroupRepository {
  return {
    async listForTenant(tenantId) {
      const rows = await db
        .selectFrom('tenant_protected_groups')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('name')
        .orderBy('object_guid')
        .execute();
      return rows.map((row) => ({
        tenantId: row.tenant_id,
        guid: row.object_guid,
        sid: row.object_sid,
        dn: row.dn,
        name: row.name,
        addedAt: new Date(Number(row.added_at)),
      }));
    },

    async add(group) {
      const inserted = await db
        .insertInto('tenant_protected_groups')
        .values({
          tenant_id: group.tenantId,
          object_guid: group.guid.toLowerCase(),
          object_sid: group.sid,
          dn: group.dn,
          name: group.name,
          added_at: group.addedAt.getTime(),
        })
        .onConflict((oc) => oc.columns(['tenant_id', 'object_guid']).doNothing())
        .executeTakeFirst();
      return Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0;
    },

    async remove(tenantId, guid) {
      const deleted = await db
        .deleteFrom('tenant_protected_groups')
        .where('tenant_id', '=', tenantId)
        .where('object_guid', '=', guid.toLowerCase())
        .executeTakeFirst();
      return Number(deleted.numDeletedRows) > 0;
    },
  };
}
