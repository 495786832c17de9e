// Opens a tenant's directory with its sealed bind password; shared by the use cases that touch AD.
import { DomainError } from '../../domain/errors.ts';
import type { DirectoryGateway, TenantDirectory } from '../ports/directory.ts';
import type { SecretBox } from '../ports/crypto.ts';
import type { Store } from '../ports/store.ts';
import type { TenantRecord } from '../ports/tenants.ts';
import { bindPasswordContext } from './tenant-service.ts';

export interface TenantAccess {
  /** The tenant, or `not_found`. */
  tenant(id: string): Promise<TenantRecord>;
  /** The tenant's directory, bound with its bind password; an archived tenant's is never opened (`tenant_archived`). */
  directory(tenant: TenantRecord): Promise<TenantDirectory>;
  /** The SIDs of the groups the tenant added to the protected list (docs/security-model.md, Protected groups), for every protection check. */
  protectedSids(tenantId: string): Promise<string[]>;
}

export interface TenantAccessDeps {
  store: Pick<Store, 'tenants' | 'protectedGroups'>;
  secrets: SecretBox;
  directory: DirectoryGateway;
}

export function createTenantAccess(deps: TenantAccessDeps): TenantAccess {
  return {
    tenant: (id) => tenant(deps, id),
    directory: (record) => directory(deps, record),
    protectedSids: async (tenantId) => (await deps.store.protectedGroups.listForTenant(tenantId)).map((g) => g.sid),
  };
}

async function tenant(deps: TenantAccessDeps, id: string): Promise<TenantRecord> {
  const found = await deps.store.tenants.findById(id);
  if (!found) throw new DomainError('not_found', 'No such tenant');
  return found;
}

async function directory(deps: TenantAccessDeps, tenant: TenantRecord): Promise<TenantDirectory> {
  // An archived tenant's directory is never opened again: nothing of it is live any more (an
  // archive waits until every grant is confirmed ended), so nothing needs it.
  if (tenant.archived)
    throw new DomainError('tenant_archived', `Tenant ${tenant.id} is archived; its directory is no longer used`, {
      tenantId: tenant.id,
    });
  return deps.directory.forTenant(tenant, () => deps.secrets.open(tenant.bindPasswordSealed, bindPasswordContext(tenant.id)));
}
