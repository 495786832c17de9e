// Opens a tenant's directory with its sealed bind password; shared by the use cases that touch AD.
import { DomainError } from '../../domain/errors.ts';
import type { DirectoryGateway, TenantDirectory } from '../ports/directory.ts';
import type { SecretBox } from '../ports/crypto.ts';
import type { Store } from '../ports/store.ts';
import type { TenantRecord } from '../ports/tenants.ts';
import { bindPasswordContext } from './tenant-service.ts';

export interface TenantAccess {
  tenant(id: string): Promise<TenantRecord>;
  directory(tenant: TenantRecord): Promise<TenantDirectory>;
  /** The SIDs of the groups the tenant added to the protected list (docs/security-model.md, Protected groups), for every protection check. */
  protectedSids(tenantId: string): Promise<string[]>;
}

export function createTenantAccess(deps: { store: Store; secrets: SecretBox; directory: DirectoryGateway }): TenantAccess {
  return {
    async tenant(id) {
      const tenant = await deps.store.tenants.findById(id);
      if (!tenant) throw new DomainError('not_found', 'No such tenant');
      return tenant;
    },
    async directory(tenant) {
      // An archived tenant's directory is never opened again: nothing of it is live any more (an
      // archive waits until every grant is confirmed ended), so nothing needs it.
      if (tenant.archived)
        throw new DomainError('tenant_archived', `Tenant ${tenant.id} is archived; its directory is no longer used`, {
          tenantId: tenant.id,
        });
      return deps.directory.forTenant(tenant, () => deps.secrets.open(tenant.bindPasswordSealed, bindPasswordContext(tenant.id)));
    },
    async protectedSids(tenantId) {
      return (await deps.store.protectedGroups.listForTenant(tenantId)).map((g) => g.sid);
    },
  };
}
