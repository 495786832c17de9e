// In-memory tenants, linked accounts, protected groups and access profiles (the real ones:
// src/adapters/store/tenants.ts, accounts.ts, protected-groups.ts, profiles.ts).
import type { AccessProfile } from '../../../src/domain/profile.ts';
import type {
  ProfileRepository,
  TenantAccount,
  TenantAccountRepository,
  TenantProtectedGroupRepository,
  TenantRecord,
  TenantRepository,
} from '../../../src/services/ports/tenants.ts';
import { assertUnique, byText, change, conflict, copy, drop, foreignKeyViolation, put, type StoreContext } from './memory.ts';

const defined = <T extends object>(patch: T) => Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;

export function memoryTenantRepository(ctx: StoreContext): TenantRepository {
  const rows = ctx.state.tenants;
  const set = (id: string, where: (t: TenantRecord) => boolean, apply: (t: TenantRecord) => void) => change(ctx, rows, id, where, apply);
  return {
    async insert(t, at) {
      if (rows.has(t.id)) throw conflict(['id']);
      put(ctx, rows, t.id, { ...copy(t), frozen: null, archived: null, createdAt: at, updatedAt: at });
    },
    findById: async (id) => (rows.has(id) ? copy(rows.get(id)!) : null),
    list: async () => [...rows.values()].sort((a, b) => byText(a.id, b.id)).map(copy),
    async update(id, patch, at) {
      set(
        id,
        () => true,
        (t) => Object.assign(t, copy(defined(patch)), { updatedAt: at }),
      );
    },
    async delete(id) {
      // Accounts, profiles and elevations refer to the tenant without a cascade; the rest go with it.
      const s = ctx.state;
      const refers = (r: { tenantId: string }) => r.tenantId === id;
      if ([...s.accounts.values()].some(refers) || [...s.profiles.values()].some(refers) || [...s.elevations.values()].some(refers))
        throw foreignKeyViolation();
      if (!drop(ctx, rows, id)) return;
      for (const table of [s.protectedGroups, s.driftReports, s.reviews] as Array<Map<string, { tenantId: string }>>)
        for (const [key, row] of [...table]) if (row.tenantId === id) drop(ctx, table, key);
      for (const [key, f] of [...s.findings]) if (!s.reviews.has(f.reviewId)) drop(ctx, s.findings, key);
    },
    holdOpen: async (id) => {
      // No row lock in memory: only the state is checked (see the fakes' README notes in index.ts).
      const t = rows.get(id);
      return t !== undefined && t.frozen === null && t.archived === null;
    },
    freeze: async (id, freeze) =>
      set(
        id,
        (t) => t.frozen === null,
        (t) => Object.assign(t, { frozen: copy(freeze), updatedAt: freeze.at }),
      ),
    unfreeze: async (id, frozenAt, at) =>
      set(
        id,
        (t) => t.frozen !== null && t.frozen.at.getTime() === frozenAt.getTime() && t.archived === null,
        (t) => Object.assign(t, { frozen: null, updatedAt: at }),
      ),
    archive: async (id, by, at) =>
      set(
        id,
        (t) => t.frozen !== null && t.archived === null,
        (t) => Object.assign(t, { archived: { at, by }, updatedAt: at }),
      ),
    listSealedBindPasswords: async () => [...rows.values()].map((t) => ({ id: t.id, sealed: t.bindPasswordSealed })),
    async replaceSealedBindPassword(id, sealed) {
      set(
        id,
        () => true,
        (t) => Object.assign(t, { bindPasswordSealed: sealed }),
      );
    },
  };
}

const accountUnique = [
  { fields: ['tenantId', 'technicianId'], of: (a: TenantAccount) => `${a.tenantId}\u0000${a.technicianId}` },
  { fields: ['tenantId', 'objectGuid'], of: (a: TenantAccount) => `${a.tenantId}\u0000${a.guid}` },
];

export function memoryAccountRepository(ctx: StoreContext): TenantAccountRepository {
  const rows = ctx.state.accounts;
  const find = (where: (a: TenantAccount) => boolean) => {
    const found = [...rows.values()].find(where);
    return found ? copy(found) : null;
  };
  return {
    async insert(a) {
      if (rows.has(a.id)) throw conflict(['id']);
      if (!ctx.state.tenants.has(a.tenantId) || !ctx.state.technicians.has(a.technicianId)) throw foreignKeyViolation();
      const row = { ...copy(a), guid: a.guid.toLowerCase() };
      assertUnique(rows, a.id, row, accountUnique);
      put(ctx, rows, a.id, row);
    },
    find: async (tenantId, technicianId) => find((a) => a.tenantId === tenantId && a.technicianId === technicianId),
    findById: async (id) => find((a) => a.id === id),
    findByGuid: async (tenantId, guid) => find((a) => a.tenantId === tenantId && a.guid === guid.toLowerCase()),
    listForTenant: async (tenantId) =>
      [...rows.values()]
        .filter((a) => a.tenantId === tenantId)
        .sort((a, b) => byText(a.samAccountName, b.samAccountName))
        .map(copy),
    async updateDn(id, dn, samAccountName, at) {
      change(
        ctx,
        rows,
        id,
        () => true,
        (a) => Object.assign(a, { dn, samAccountName, updatedAt: at }),
      );
    },
    async delete(id) {
      drop(ctx, rows, id);
    },
    countForTenant: async (tenantId) => [...rows.values()].filter((a) => a.tenantId === tenantId).length,
  };
}

export function memoryProtectedGroupRepository(ctx: StoreContext): TenantProtectedGroupRepository {
  const rows = ctx.state.protectedGroups;
  const key = (tenantId: string, guid: string) => `${tenantId}\u0000${guid.toLowerCase()}`;
  return {
    listForTenant: async (tenantId) =>
      [...rows.values()]
        .filter((g) => g.tenantId === tenantId)
        .sort((a, b) => byText(a.name, b.name) || byText(a.guid, b.guid))
        .map(copy),
    async add(group) {
      if (!ctx.state.tenants.has(group.tenantId)) throw foreignKeyViolation();
      const k = key(group.tenantId, group.guid);
      if (rows.has(k)) return false;
      put(ctx, rows, k, { ...group, guid: group.guid.toLowerCase() });
      return true;
    },
    remove: async (tenantId, guid) => drop(ctx, rows, key(tenantId, guid)),
  };
}

const profileUnique = [{ fields: ['tenantId', 'name'], of: (p: AccessProfile) => `${p.tenantId}\u0000${p.name}` }];

export function memoryProfileRepository(ctx: StoreContext): ProfileRepository {
  const rows = ctx.state.profiles;
  const sorted = (list: AccessProfile[]) => list.sort((a, b) => byText(a.tenantId, b.tenantId) || byText(a.name, b.name)).map(copy);
  return {
    async insert(p, at) {
      if (rows.has(p.id)) throw conflict(['id']);
      if (!ctx.state.tenants.has(p.tenantId)) throw foreignKeyViolation();
      const row: AccessProfile = { ...copy(p), status: 'active', suspendedReason: null, createdAt: at, updatedAt: at };
      assertUnique(rows, p.id, row, profileUnique);
      put(ctx, rows, p.id, row);
    },
    findById: async (id) => (rows.has(id) ? copy(rows.get(id)!) : null),
    findByName: async (tenantId, name) => {
      const found = [...rows.values()].find((p) => p.tenantId === tenantId && p.name === name);
      return found ? copy(found) : null;
    },
    listForTenant: async (tenantId) => sorted([...rows.values()].filter((p) => p.tenantId === tenantId)),
    listAll: async () => sorted([...rows.values()]),
    async update(id, p, at) {
      const existing = rows.get(id);
      if (!existing) return;
      const next: AccessProfile = { ...copy(existing), ...copy(p), updatedAt: at };
      assertUnique(rows, id, next, profileUnique);
      put(ctx, rows, id, next);
    },
    async setStatus(id, status, reason, at) {
      change(
        ctx,
        rows,
        id,
        () => true,
        (p) => Object.assign(p, { status, suspendedReason: reason, updatedAt: at }),
      );
    },
    async delete(id) {
      drop(ctx, rows, id);
    },
    countForTenant: async (tenantId) => [...rows.values()].filter((p) => p.tenantId === tenantId).length,
  };
}
