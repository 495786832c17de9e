// The groups a tenant adds to the protected list (docs/security-model.md, Protected groups: the
// tenant's own protected groups). Picked from the tenant's directory by DN or objectGUID and kept by objectGUID and
// objectSid; every protection check then honours them (profiles, activation, reviews, account
// eligibility) through TenantAccess.protectedSids.
import { guidPattern } from '../../domain/ad.ts';
import { DomainError } from '../../domain/errors.ts';
import { auditOrigin, type RequestContext } from '../context.ts';
import type { Clock } from '../ports/runtime.ts';
import type { Store } from '../ports/store.ts';
import type { TenantDirectory } from '../ports/directory.ts';
import type { TenantProtectedGroup } from '../ports/tenants.ts';
import type { TenantAccess } from './tenant-access.ts';

export interface ProtectedGroupServiceDeps {
  store: Pick<Store, 'protectedGroups' | 'transaction'>;
  clock: Clock;
  access: TenantAccess;
}

/** A tenant's own protected groups; each change audited. */
export interface ProtectedGroupService {
  list(tenantId: string): Promise<TenantProtectedGroup[]>;
  /** Adds the group `group` names (a DN or an objectGUID); `conflict` when it is listed already. */
  add(tenantId: string, group: string, actor: string, ctx: RequestContext): Promise<TenantProtectedGroup>;
  /** Removes the listed group with this objectGUID; `not_found` when it is not listed. */
  remove(tenantId: string, guid: string, actor: string, ctx: RequestContext): Promise<void>;
  /** Makes the list exactly `groups` (DNs or GUIDs), as `stint apply -f` does; answers what changed. */
  replace(tenantId: string, groups: readonly string[], actor: string, ctx: RequestContext): Promise<{ added: string[]; removed: string[] }>;
}

export function createProtectedGroupService(deps: ProtectedGroupServiceDeps): ProtectedGroupService {
  return {
    list: async (tenantId) => {
      await deps.access.tenant(tenantId);
      return deps.store.protectedGroups.listForTenant(tenantId);
    },
    add: (tenantId, group, actor, ctx) => add(deps, tenantId, group, actor, ctx),
    remove: (tenantId, guid, actor, ctx) => remove(deps, tenantId, guid, actor, ctx),
    replace: (tenantId, groups, actor, ctx) => replace(deps, tenantId, groups, actor, ctx),
  };
}

async function resolve(directory: TenantDirectory, group: string) {
  const found = guidPattern.test(group) ? await directory.groupByGuid(group) : await directory.groupByDn(group);
  if (!found) throw new DomainError('group_not_found', `No group ${group} in the tenant's domain`, { group });
  return found;
}

async function add(
  deps: ProtectedGroupServiceDeps,
  tenantId: string,
  group: string,
  actor: string,
  ctx: RequestContext,
): Promise<TenantProtectedGroup> {
  const directory = await deps.access.directory(await deps.access.tenant(tenantId));
  const found = await resolve(directory, group);
  const now = deps.clock.now();
  const entry: TenantProtectedGroup = {
    tenantId,
    guid: found.guid.toLowerCase(),
    sid: found.sid,
    dn: found.dn,
    name: found.name,
    addedAt: now,
  };
  await deps.store.transaction(async (tx) => {
    if (!(await tx.protectedGroups.add(entry))) throw new DomainError('conflict', `The tenant already protects ${found.dn}`);
    await tx.audit.append(
      {
        actor,
        action: 'tenant.protected_group_added',
        tenantId,
        target: tenantId,
        details: { guid: entry.guid, sid: entry.sid, dn: entry.dn, name: entry.name },
        ...auditOrigin(ctx),
      },
      now,
    );
  });
  return entry;
}

async function remove(deps: ProtectedGroupServiceDeps, tenantId: string, guid: string, actor: string, ctx: RequestContext): Promise<void> {
  await deps.access.tenant(tenantId);
  const listed = (await deps.store.protectedGroups.listForTenant(tenantId)).find((g) => g.guid === guid.toLowerCase());
  if (!listed) throw new DomainError('not_found', 'The tenant does not protect that group');
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    if (!(await tx.protectedGroups.remove(tenantId, listed.guid)))
      throw new DomainError('not_found', 'The tenant does not protect that group');
    await tx.audit.append(
      {
        actor,
        action: 'tenant.protected_group_removed',
        tenantId,
        target: tenantId,
        details: { guid: listed.guid, dn: listed.dn },
        ...auditOrigin(ctx),
      },
      now,
    );
  });
}

async function replace(
  deps: ProtectedGroupServiceDeps,
  tenantId: string,
  groups: readonly string[],
  actor: string,
  ctx: RequestContext,
): Promise<{ added: string[]; removed: string[] }> {
  const directory = await deps.access.directory(await deps.access.tenant(tenantId));
  const wanted = new Map<string, string>();
  for (const group of groups) {
    const found = await resolve(directory, group);
    wanted.set(found.guid.toLowerCase(), group);
  }
  const current = await deps.store.protectedGroups.listForTenant(tenantId);
  const added: string[] = [];
  const removed: string[] = [];
  for (const g of current) {
    if (wanted.has(g.guid)) continue;
    await remove(deps, tenantId, g.guid, actor, ctx);
    removed.push(g.dn);
  }
  for (const [guid, group] of wanted) {
    if (current.some((g) => g.guid === guid)) continue;
    added.push((await add(deps, tenantId, group, actor, ctx)).dn);
  }
  return { added, removed };
}
