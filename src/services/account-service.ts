// Tenant accounts: a technician's own account in a client's domain, linked by objectGUID so a
// moved or renamed account is still found (SPEC §2). One per technician per tenant.
import { DomainError } from '../domain/errors.ts';
import { auditOrigin, type RequestContext } from './context.ts';
import type { Clock, RandomSource, Store, TenantAccount } from './ports.ts';
import type { TenantAccess } from './tenant-access.ts';

export type AccountService = ReturnType<typeof createAccountService>;

export function createAccountService(deps: { store: Store; clock: Clock; random: RandomSource; access: TenantAccess }) {
  const { store, clock } = deps;
  return {
    async link(tenantId: string, technicianId: string, identifier: string, actor: string, ctx: RequestContext): Promise<TenantAccount> {
      const tenant = await deps.access.tenant(tenantId);
      if (!(await store.technicians.findById(technicianId))) throw new DomainError('not_found', 'No such technician');
      if (await store.accounts.find(tenantId, technicianId)) {
        throw new DomainError('conflict', 'This technician already has a linked account in this tenant');
      }
      const directory = await deps.access.directory(tenant);
      const found = await directory.findAccount(identifier);
      if (!found) throw new DomainError('account_not_found', `No user account ${identifier} in the tenant's domain`);
      const other = await store.accounts.findByGuid(tenantId, found.guid);
      if (other) throw new DomainError('conflict', 'That account is already linked to another technician');
      const now = clock.now();
      const account: TenantAccount = {
        id: deps.random.id(),
        tenantId,
        technicianId,
        guid: found.guid,
        dn: found.dn,
        samAccountName: found.samAccountName,
        createdAt: now,
        updatedAt: now,
      };
      await store.transaction(async (tx) => {
        await tx.accounts.insert(account);
        await tx.audit.append(
          { actor, action: 'account.linked', tenantId, target: technicianId, details: { guid: found.guid, dn: found.dn }, ...auditOrigin(ctx) },
          now,
        );
      });
      return account;
    },

    list: (tenantId: string) => store.accounts.listForTenant(tenantId),

    async unlink(tenantId: string, accountId: string, actor: string, ctx: RequestContext): Promise<void> {
      const account = await store.accounts.findById(accountId);
      if (!account || account.tenantId !== tenantId) throw new DomainError('not_found', 'No such linked account');
      const holding = await store.elevations.holding(tenantId, account.technicianId, '');
      if (holding.length) throw new DomainError('conflict', 'The account holds an elevation; end it first');
      const now = clock.now();
      await store.transaction(async (tx) => {
        await tx.accounts.delete(accountId);
        await tx.audit.append(
          { actor, action: 'account.unlinked', tenantId, target: account.technicianId, details: { guid: account.guid }, ...auditOrigin(ctx) },
          now,
        );
      });
    },
  };
}
