// A tenant's Active Directory in memory: users, groups, nested membership, objectGUID and SIDs,
// the account attributes Stint changes, and hooks that make a call fail or hang on purpose. The
// protection check is the real adapter's (src/adapters/directory/tenant-directory.ts) over these
// objects: the group itself, then breadth first up memberOf, then any protected in-chain ancestor.
import { parseMemberRef } from '../../../src/domain/ad.ts';
import { DomainError } from '../../../src/domain/errors.ts';
import { protectionReason, type ProtectedFinding } from '../../../src/domain/protected-groups.ts';
import type { GroupNode } from '../../../src/domain/review.ts';
import type {
  AccountChanges,
  DirectoryAccount,
  DirectoryGateway,
  DirectoryGroup,
  DirectoryGroupWithParents,
  MemberRemoval,
  TenantDirectory,
} from '../../../src/services/ports/directory.ts';
import type { TenantRecord } from '../../../src/services/ports/tenants.ts';

export interface FakeUser {
  dn: string;
  guid: string;
  sid: string;
  samAccountName: string;
  userPrincipalName: string | null;
  userAccountControl: number;
  accountExpires: string;
  logonHours: Uint8Array | null;
  userWorkstations: string | null;
  lastLogonTimestamp: string | null;
  primaryGroupId: number;
  objectClasses: string[];
  adminCount: number | null;
  servicePrincipalNames: number;
}

export interface FakeGroup {
  dn: string;
  guid: string;
  sid: string;
  name: string;
  adminCount: number | null;
}

type Method = keyof TenantDirectory;

export interface FakeDomain {
  readonly baseDn: string;
  readonly domainSid: string;
  /** Domain Admins (RID 512) and Administrators (S-1-5-32-544), present from the start. */
  readonly domainAdmins: FakeGroup;
  readonly administrators: FakeGroup;
  addUser(samAccountName: string, attributes?: Partial<Omit<FakeUser, 'samAccountName'>>): FakeUser;
  addGroup(name: string, attributes?: Partial<Omit<FakeGroup, 'name'>> & { rid?: number }): FakeGroup;
  /** Makes `memberDn` (a user or a group) a direct member of `groupDn`. */
  addMember(groupDn: string, memberDn: string): void;
  removeMember(groupDn: string, memberDn: string): void;
  /** Direct members' DNs, as stored. */
  members(groupDn: string): string[];
  user(dnOrSam: string): FakeUser | undefined;
  /** Moves or renames an object (its GUID and SID stay, memberships follow). */
  rename(dn: string, newDn: string): void;
  /**
   * The next `times` calls of `method` throw `error` (default: a directory_unreachable DomainError);
   * with `after`, only once that many calls of it went through first (the second group's add, say).
   * `times` 0: the method answers again.
   */
  fail(method: Method, error?: Error, times?: number, after?: number): void;
  /** Calls of `method` wait until `release()`; answers the release. */
  hang(method: Method): { release(): void };
  /** Every call, in order: the method and its first argument. */
  readonly calls: Array<{ method: Method; arg: unknown }>;
  ttlSupported: boolean;
  /** TTL links: member DN (lower case) → seconds, per group DN (lower case), as asked by addMembers. */
  readonly ttls: Map<string, Map<string, number>>;
  readonly directory: TenantDirectory;
}

const lower = (dn: string) => dn.toLowerCase();
let objects = 0;
/** GUIDs unique across every fake domain of a test process. */
const nextGuid = () => `00000000-0000-4000-8000-${String(++objects).padStart(12, '0')}`;

export function fakeDomain(options: { baseDn?: string; domainSid?: string } = {}): FakeDomain {
  const baseDn = options.baseDn ?? 'DC=acme,DC=test';
  const domainSid = options.domainSid ?? `S-1-5-21-1000-2000-${3000 + objects}`;
  const users = new Map<string, FakeUser>();
  const groups = new Map<string, FakeGroup>();
  const member = new Map<string, Set<string>>();
  const faults = new Map<Method, { error: Error; times: number; after: number }>();
  const hangs = new Map<Method, Promise<void>>();
  const calls: FakeDomain['calls'] = [];
  const ttls = new Map<string, Map<string, number>>();
  let rid = 1100;

  const object = (dn: string) => users.get(lower(dn)) ?? groups.get(lower(dn));
  const byGuid = (guid: string) => [...users.values(), ...groups.values()].find((o) => o.guid === guid.toLowerCase());
  const parentsOf = (dn: string) => [...member].filter(([, set]) => set.has(lower(dn))).map(([g]) => groups.get(g)!.dn);
  const withParents = (g: FakeGroup): DirectoryGroupWithParents => ({ ...g, memberOf: parentsOf(g.dn) });
  /** Every group containing `dn` at any depth (the in-chain rule). */
  function ancestors(dn: string): FakeGroup[] {
    const seen = new Map<string, FakeGroup>();
    const queue = parentsOf(dn);
    while (queue.length) {
      const next = queue.shift()!;
      if (seen.has(lower(next))) continue;
      seen.set(lower(next), groups.get(lower(next))!);
      queue.push(...parentsOf(next));
    }
    return [...seen.values()];
  }
  function toAccount(u: FakeUser, withTokenGroups: boolean): DirectoryAccount {
    const tokenGroupSids = [...ancestors(u.dn).map((g) => g.sid), `${domainSid}-${u.primaryGroupId}`];
    return {
      guid: u.guid,
      dn: u.dn,
      samAccountName: u.samAccountName,
      userPrincipalName: u.userPrincipalName,
      userAccountControl: u.userAccountControl,
      accountExpires: u.accountExpires,
      logonHours: u.logonHours ? new Uint8Array(u.logonHours) : null,
      userWorkstations: u.userWorkstations,
      lastLogonTimestamp: u.lastLogonTimestamp,
      primaryGroupId: u.primaryGroupId,
      eligibility: {
        objectClasses: [...u.objectClasses],
        sid: u.sid,
        userAccountControl: u.userAccountControl,
        adminCount: u.adminCount,
        primaryGroupId: u.primaryGroupId,
        tokenGroupSids: withTokenGroups ? tokenGroupSids : null,
        servicePrincipalNames: u.servicePrincipalNames,
      },
    };
  }
  const mustGroup = (dn: string) => {
    const g = groups.get(lower(dn));
    if (!g) throw new DomainError('directory_error', `The group ${dn} or a member no longer exists`);
    return g;
  };
  /** The object a member value names: by DN, or by GUID should the DN name none (memberRefWithDn). */
  const resolve = (value: string) => {
    const ref = parseMemberRef(value);
    return (ref.dn ? object(ref.dn) : undefined) ?? (ref.guid ? byGuid(ref.guid) : undefined);
  };
  const isMember = (groupDn: string, value: string) => {
    const o = resolve(value);
    return o !== undefined && (member.get(lower(groupDn))?.has(lower(o.dn)) ?? false);
  };

  async function call<T>(method: Method, arg: unknown, work: () => T | Promise<T>): Promise<T> {
    calls.push({ method, arg });
    await hangs.get(method);
    const fault = faults.get(method);
    if (fault && fault.after > 0) fault.after--;
    else if (fault) {
      if (--fault.times <= 0) faults.delete(method);
      throw fault.error;
    }
    return work();
  }

  const directory: TenantDirectory = {
    ping: () => call('ping', baseDn, () => undefined),
    findAccount: (identifier) =>
      call('findAccount', identifier, () => {
        const u = identifier.includes('=')
          ? users.get(lower(identifier))
          : [...users.values()].find((x) =>
              identifier.includes('@') ? x.userPrincipalName === identifier : lower(x.samAccountName) === lower(identifier),
            );
        // As the real search: tokenGroups only on a base read (by DN).
        return u ? toAccount(u, identifier.includes('=')) : null;
      }),
    accountByGuid: (guid) =>
      call('accountByGuid', guid, () => {
        const u = [...users.values()].find((x) => x.guid === guid.toLowerCase());
        return u ? toAccount(u, true) : null;
      }),
    accountDnsByGuid: (guids) =>
      call('accountDnsByGuid', guids, () => {
        const found = new Map<string, string>();
        for (const guid of guids) {
          const u = [...users.values()].find((x) => x.guid === guid.toLowerCase());
          if (u) found.set(u.guid, u.dn);
        }
        return found;
      }),
    groupByDn: (dn) => call('groupByDn', dn, () => (groups.has(lower(dn)) ? withParents(groups.get(lower(dn))!) : null)),
    groupByGuid: (guid) =>
      call('groupByGuid', guid, () => {
        const g = [...groups.values()].find((x) => x.guid === guid.toLowerCase());
        return g ? withParents(g) : null;
      }),
    searchGroups: (text, limit) =>
      call('searchGroups', text, () => {
        const name = lower(text.trim());
        const found = [...groups.values()].filter((g) => !name || lower(g.name).includes(name) || lower(g.dn).startsWith(`cn=${name}`));
        const groupsOut: DirectoryGroup[] = found.slice(0, limit).map((g) => ({ ...g }));
        groupsOut.sort((a, b) => a.name.localeCompare(b.name));
        return { groups: groupsOut, truncated: found.length > limit };
      }),
    findProtection: (group, extra, searched) =>
      call('findProtection', group.dn, async (): Promise<ProtectedFinding | null> => {
        const own = protectionReason(group, extra);
        if (own) {
          searched?.catch(() => undefined);
          return { protectedDn: group.dn, reason: own, path: [group.dn] };
        }
        const found = await (searched ?? Promise.resolve(ancestors(group.dn).map(withParents)));
        const byDn = new Map(found.map((a) => [lower(a.dn), a]));
        const previous = new Map<string, string | null>([[lower(group.dn), null]]);
        const queue = (group.memberOf ?? parentsOf(group.dn)).map((parent) => ({ parent, child: group.dn }));
        while (queue.length) {
          const { parent, child } = queue.shift()!;
          if (previous.has(lower(parent))) continue;
          previous.set(lower(parent), child);
          const node = byDn.get(lower(parent));
          if (!node) continue;
          const reason = protectionReason(node, extra);
          if (reason) {
            const path: string[] = [];
            for (let at: string | null | undefined = node.dn; at; at = previous.get(lower(at))) path.unshift(byDn.get(lower(at))?.dn ?? at);
            return { protectedDn: node.dn, reason, path };
          }
          for (const next of node.memberOf) queue.push({ parent: next, child: node.dn });
        }
        const any = found.find((a) => protectionReason(a, extra));
        return any ? { protectedDn: any.dn, reason: protectionReason(any, extra)!, path: [group.dn, any.dn] } : null;
      }),
    ancestorsOf: (dn) => call('ancestorsOf', dn, () => ancestors(dn).map(withParents)),
    updateAccount: (dn, changes: AccountChanges) =>
      call('updateAccount', dn, () => {
        const u = users.get(lower(dn));
        if (!u) throw new DomainError('directory_error', `No account ${dn}`);
        if (changes.logonHours && changes.logonHours.length !== 21) throw new DomainError('validation_failed', 'logonHours is 21 bytes');
        if (changes.userAccountControl !== undefined) u.userAccountControl = changes.userAccountControl;
        if (changes.accountExpires !== undefined) u.accountExpires = changes.accountExpires;
        if (changes.logonHours !== undefined) u.logonHours = changes.logonHours ? new Uint8Array(changes.logonHours) : null;
        if (changes.userWorkstations !== undefined) u.userWorkstations = changes.userWorkstations;
      }),
    addMembers: (groupDn, memberDns, ttlSeconds) =>
      call('addMembers', groupDn, () => {
        const g = mustGroup(groupDn);
        for (const dn of memberDns) {
          const o = object(dn);
          if (!o) throw new DomainError('directory_error', `The group ${groupDn} or a member no longer exists`);
          domain.addMember(g.dn, o.dn);
          if (ttlSeconds) {
            if (!ttls.has(lower(g.dn))) ttls.set(lower(g.dn), new Map());
            ttls.get(lower(g.dn))!.set(lower(o.dn), ttlSeconds);
          }
        }
      }),
    removeMembers: (groupDn, memberDns) =>
      call('removeMembers', groupDn, () => {
        const set = member.get(lower(mustGroup(groupDn).dn))!;
        for (const value of memberDns) {
          const o = resolve(value);
          if (o) set.delete(lower(o.dn));
        }
        return { stillMembers: memberDns.filter((value) => isMember(groupDn, value)) };
      }),
    currentMembers: (groupDn, memberDns) =>
      call('currentMembers', groupDn, () => new Set(memberDns.filter((value) => isMember(groupDn, value)).map(lower))),
    accountGroups: (accountDn) =>
      call('accountGroups', accountDn, () => {
        const u = users.get(lower(accountDn));
        if (!u) throw new DomainError('account_not_found', `The account ${accountDn} no longer exists`);
        const nodes: GroupNode[] = ancestors(u.dn).map(withParents);
        return { direct: parentsOf(u.dn), groups: nodes };
      }),
    groupMembers: (groupDn) => call('groupMembers', groupDn, () => domain.members(groupDn)),
    supportsTtlMembership: () => call('supportsTtlMembership', null, () => domain.ttlSupported),
  };

  const domain: FakeDomain = {
    baseDn,
    domainSid,
    domainAdmins: undefined as unknown as FakeGroup,
    administrators: undefined as unknown as FakeGroup,
    addUser(samAccountName, attributes = {}) {
      const u: FakeUser = {
        dn: `CN=${samAccountName},CN=Users,${baseDn}`,
        guid: nextGuid(),
        sid: `${domainSid}-${++rid}`,
        userPrincipalName: `${samAccountName}@${baseDn.replace(/DC=/gi, '').replace(/,/g, '.')}`,
        userAccountControl: 0x200,
        accountExpires: '0',
        logonHours: null,
        userWorkstations: null,
        lastLogonTimestamp: null,
        primaryGroupId: 513,
        objectClasses: ['top', 'person', 'organizationalPerson', 'user'],
        adminCount: null,
        servicePrincipalNames: 0,
        ...attributes,
        samAccountName,
      };
      users.set(lower(u.dn), u);
      return u;
    },
    addGroup(name, attributes = {}) {
      const { rid: wanted, ...rest } = attributes;
      const g: FakeGroup = {
        dn: `CN=${name},OU=Groups,${baseDn}`,
        guid: nextGuid(),
        sid: `${domainSid}-${wanted ?? ++rid}`,
        adminCount: null,
        ...rest,
        name,
      };
      groups.set(lower(g.dn), g);
      member.set(lower(g.dn), new Set());
      return g;
    },
    addMember(groupDn, memberDn) {
      const g = mustGroup(groupDn);
      if (!object(memberDn)) throw new Error(`no object ${memberDn} in the fake domain`);
      member.get(lower(g.dn))!.add(lower(memberDn));
    },
    removeMember(groupDn, memberDn) {
      member.get(lower(groupDn))?.delete(lower(memberDn));
    },
    members: (groupDn) => [...(member.get(lower(mustGroup(groupDn).dn)) ?? [])].map((dn) => object(dn)?.dn ?? dn),
    user: (dnOrSam) => users.get(lower(dnOrSam)) ?? [...users.values()].find((u) => lower(u.samAccountName) === lower(dnOrSam)),
    rename(dn, newDn) {
      const o = object(dn);
      if (!o) throw new Error(`no object ${dn} in the fake domain`);
      const table = (users.has(lower(dn)) ? users : groups) as Map<string, FakeUser | FakeGroup>;
      table.delete(lower(dn));
      o.dn = newDn;
      table.set(lower(newDn), o);
      for (const set of member.values()) if (set.delete(lower(dn))) set.add(lower(newDn));
      if (member.has(lower(dn))) {
        member.set(lower(newDn), member.get(lower(dn))!);
        member.delete(lower(dn));
      }
    },
    fail(method, error = new DomainError('directory_unreachable', 'The fake directory is down'), times = 1, after = 0) {
      if (times <= 0) faults.delete(method);
      else faults.set(method, { error, times, after });
    },
    hang(method) {
      let release!: () => void;
      hangs.set(
        method,
        new Promise<void>((resolve) => {
          release = () => {
            hangs.delete(method);
            resolve();
          };
        }),
      );
      return { release };
    },
    calls,
    ttlSupported: false,
    ttls,
    directory,
  };
  Object.assign(domain, {
    domainAdmins: domain.addGroup('Domain Admins', { dn: `CN=Domain Admins,CN=Users,${baseDn}`, rid: 512, adminCount: 1 }),
    administrators: domain.addGroup('Administrators', { dn: `CN=Administrators,CN=Builtin,${baseDn}`, sid: 'S-1-5-32-544', adminCount: 1 }),
  });
  domain.addGroup('Domain Users', { dn: `CN=Domain Users,CN=Users,${baseDn}`, rid: 513 });
  return domain;
}

export interface FakeDirectoryGateway extends DirectoryGateway {
  /** Tenants whose directory was opened, and how many times the bind password was asked for. */
  readonly opened: Array<{ tenantId: string; bindPassword: string }>;
}

/** Hands each tenant its fake domain (by tenant id); a tenant without one fails as a directory that cannot be reached. */
export function fakeDirectoryGateway(domains: Record<string, FakeDomain>): FakeDirectoryGateway {
  const opened: FakeDirectoryGateway['opened'] = [];
  return {
    opened,
    async forTenant(tenant: TenantRecord, bindPassword) {
      const domain = domains[tenant.id];
      if (!domain) throw new DomainError('directory_unreachable', `No fake directory for tenant ${tenant.id}`);
      opened.push({ tenantId: tenant.id, bindPassword: await bindPassword() });
      return domain.directory;
    },
    async close() {},
  };
}

export interface FakeMemberRemoval extends MemberRemoval {
  /** Every removal asked for, in order. */
  readonly calls: Array<{ tenantId: string; groupDn: string; memberDn: string }>;
}

/**
 * Member removals without the batching (the real one: src/adapters/directory/member-removal.ts):
 * each removal is its own removeMembers call, answered as the real one answers each waiter —
 * resolved once the read-back confirms the member gone, rejected when it is still a member or the
 * directory failed. No linger, no timers.
 */
export function fakeMemberRemoval(): FakeMemberRemoval {
  const calls: FakeMemberRemoval['calls'] = [];
  return {
    calls,
    async remove(tenantId, directory, groupDn, memberDn) {
      calls.push({ tenantId, groupDn, memberDn });
      const { stillMembers } = await directory.removeMembers(groupDn, [memberDn]);
      if (stillMembers.some((dn) => dn.toLowerCase() === memberDn.toLowerCase()))
        throw new Error(`${memberDn} is still a member of ${groupDn}`);
    },
  };
}
