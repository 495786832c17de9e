// Tenant accounts: a technician's own account in a client's domain, linked by objectGUID so a
// moved or renamed account is still found (docs/architecture.md, Tenant accounts). One per technician per tenant, and only an
// account that may be one (domain/account-eligibility.ts): never a computer, service, trust,
// built-in or protected account, checked at link time and again before every write to it.
import { accountIneligibility } from '../../domain/account-eligibility.ts';
import { DomainError } from '../../domain/errors.ts';
import { protectedMembership } from '../../domain/review.ts';
import { auditOrigin, type RequestContext } from '../context.ts';
import type { Clock, RandomSource } from '../ports/runtime.ts';
import type { DirectoryAccount, TenantDirectory } from '../ports/directory.ts';
import type { Store, StoreRepositories } from '../ports/store.ts';
import type { TenantAccount } from '../ports/tenants.ts';
import type { TenantAccess } from './tenant-access.ts';

/** Where an ineligible account was refused (the `account.not_eligible` audit event says which). */
export type EligibilityStep = 'link' | 'activation' | 'extension' | 'revocation' | 'review_disable';

/**
 * Why Stint must not write to this account, from the read it already did (by GUID, with
 * tokenGroups); null: it may. A read without the facts is refused too (fail closed).
 */
export function accountWriteRefusal(account: DirectoryAccount, extraSids: readonly string[]): string | null {
  if (!account.eligibility) return 'its eligibility could not be read';
  return accountIneligibility(account.eligibility, extraSids);
}

/** Audits a refusal; inside the caller's transaction. */
export function auditNotEligible(
  tx: Pick<StoreRepositories, 'audit'>,
  at: Date,
  input: { tenantId: string; technicianId: string; guid: string; dn: string; reason: string; step: EligibilityStep; elevationId?: string },
  actor = 'system',
  ctx?: RequestContext,
) {
  return tx.audit.append(
    {
      actor,
      action: 'account.not_eligible',
      tenantId: input.tenantId,
      target: input.technicianId,
      details: {
        guid: input.guid,
        dn: input.dn,
        reason: input.reason,
        step: input.step,
        ...(input.elevationId && { elevationId: input.elevationId }),
      },
      ...(ctx && auditOrigin(ctx)),
    },
    at,
  );
}

/**
 * Brings the stored DN of a linked account up to date and audits the move (`account.moved`), once:
 * nothing is written when the store already has that DN.
 */
export async function recordAccountMove(
  store: Pick<Store, 'transaction'>,
  at: Date,
  accountId: string,
  dn: string,
  samAccountName?: string,
): Promise<void> {
  await store.transaction(async (tx) => {
    const stored = await tx.accounts.findById(accountId);
    if (!stored || stored.dn === dn) return;
    await tx.accounts.updateDn(accountId, dn, samAccountName ?? stored.samAccountName, at);
    await tx.audit.append(
      {
        actor: 'system',
        action: 'account.moved',
        tenantId: stored.tenantId,
        target: stored.technicianId,
        details: { guid: stored.guid, from: stored.dn, to: dn },
      },
      at,
    );
  });
}

export interface AccountServiceDeps {
  store: Pick<Store, 'technicians' | 'accounts' | 'elevations' | 'transaction'>;
  clock: Clock;
  random: RandomSource;
  access: TenantAccess;
}

/** Linking technicians to their own accounts in a tenant's domain. */
export interface AccountService {
  /**
   * Links the account `identifier` names (sAMAccountName, UPN or DN) to the technician, by
   * objectGUID; an ineligible account is refused and the refusal audited (`account.not_eligible`).
   */
  link(tenantId: string, technicianId: string, identifier: string, actor: string, ctx: RequestContext): Promise<TenantAccount>;
  list(tenantId: string): Promise<TenantAccount[]>;
  /** Only while the account holds no elevation. */
  unlink(tenantId: string, accountId: string, actor: string, ctx: RequestContext): Promise<void>;
}

export function createAccountService(deps: AccountServiceDeps): AccountService {
  return {
    link: (tenantId, technicianId, identifier, actor, ctx) => link(deps, tenantId, technicianId, identifier, actor, ctx),
    list: (tenantId) => deps.store.accounts.listForTenant(tenantId),
    unlink: (tenantId, accountId, actor, ctx) => unlink(deps, tenantId, accountId, actor, ctx),
  };
}

/** Why the account may not be a tenant account (its own facts, then its protected memberships), or null. */
async function linkRefusal(deps: AccountServiceDeps, tenantId: string, directory: TenantDirectory, found: DirectoryAccount) {
  const extra = await deps.access.protectedSids(tenantId);
  const reason = accountWriteRefusal(found, extra);
  if (reason) return reason;
  // Groups protected by more than their SID (DnsAdmins, adminCount=1, the tenant's by DN), through nesting.
  const { direct, groups } = await directory.accountGroups(found.dn);
  const membership = protectedMembership(direct, groups, found.primaryGroupId ?? null, extra);
  return membership ? `a member of the protected group ${membership.protectedDn} (${membership.reason})` : null;
}

/** The account `identifier` names, read again by GUID; refused when missing or linked already. */
async function accountToLink(deps: AccountServiceDeps, tenantId: string, directory: TenantDirectory, identifier: string) {
  const named = await directory.findAccount(identifier);
  // Read again by GUID: a base read, which answers tokenGroups (every group at any depth).
  const found = named && (await directory.accountByGuid(named.guid));
  if (!found) throw new DomainError('account_not_found', `No user account ${identifier} in the tenant's domain`);
  const other = await deps.store.accounts.findByGuid(tenantId, found.guid);
  if (other) throw new DomainError('conflict', 'That account is already linked to another technician');
  return found;
}

async function link(
  deps: AccountServiceDeps,
  tenantId: string,
  technicianId: string,
  identifier: string,
  actor: string,
  ctx: RequestContext,
): Promise<TenantAccount> {
  const { store, clock } = deps;
  const tenant = await deps.access.tenant(tenantId);
  if (!(await store.technicians.findById(technicianId))) throw new DomainError('not_found', 'No such technician');
  if (await store.accounts.find(tenantId, technicianId)) {
    throw new DomainError('conflict', 'This technician already has a linked account in this tenant');
  }
  const directory = await deps.access.directory(tenant);
  const found = await accountToLink(deps, tenantId, directory, identifier);
  const reason = await linkRefusal(deps, tenantId, directory, found);
  if (reason) {
    await store.transaction((tx) =>
      auditNotEligible(tx, clock.now(), { tenantId, technicianId, guid: found.guid, dn: found.dn, reason, step: 'link' }, actor, ctx),
    );
    throw new DomainError('account_not_eligible', `${found.dn} cannot be a tenant account: ${reason}`, { account: found.dn, reason });
  }
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
}

async function unlink(deps: AccountServiceDeps, tenantId: string, accountId: string, actor: string, ctx: RequestContext): Promise<void> {
  const { store } = deps;
  const account = await store.accounts.findById(accountId);
  if (!account || account.tenantId !== tenantId) throw new DomainError('not_found', 'No such linked account');
  const holding = await store.elevations.holding(tenantId, account.technicianId, '');
  if (holding.length) throw new DomainError('conflict', 'The account holds an elevation; end it first');
  const now = deps.clock.now();
  await store.transaction(async (tx) => {
    await tx.accounts.delete(accountId);
    await tx.audit.append(
      { actor, action: 'account.unlinked', tenantId, target: account.technicianId, details: { guid: account.guid }, ...auditOrigin(ctx) },
      now,
    );
  });
}
