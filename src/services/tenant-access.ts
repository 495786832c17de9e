// Opens a tenant's directory with its sealed bind password; shared by the use cases that touch AD.
import { DomainError } from '../domain/errors.ts';
import type { DirectoryGateway, SecretBox, Store, TenantDirectory, TenantRecord } from './ports.ts';
import { bindPasswordContext } from './tenant-service.ts';

export interface TenantAccess {
  tenant(id: string): Promise<TenantRecord>;
  directory(tenant: TenantRecord): Promise<TenantDirectory>;
}

export function createTenantAccess(deps: { store: Store; secrets: SecretBox; directory: DirectoryGateway }): TenantAccess {
  return {
    async tenant(id) {
      const tenant = await deps.store.tenants.findById(id);
      if (!tenant) throw new DomainError('not_found', 'No such tenant');
      return tenant;
    },
    async directory(tenant) {
      return deps.directory.forTenant(tenant, await deps.secrets.open(tenant.bindPasswordSealed, bindPasswordContext(tenant.id)));
    },
  };
}
