// A tenant's domain as Stint uses it: find accounts and groups, check protection through nesting,
// change accounts, add and remove group members in batches, and read everything back. Values that
// go into filters are escaped by ldapts's filter classes (RFC 4515); DNs come from the directory.
import {
  AndFilter,
  Attribute,
  Change,
  Control,
  EqualityFilter,
  ExtensibleFilter,
  OrFilter,
  SubstringFilter,
  type Client,
  type Entry,
  type Filter,
} from 'ldapts';
import {
  AlreadyExistsError,
  InvalidSyntaxError,
  NoSuchAttributeError,
  NoSuchObjectError,
  TypeOrValueExistsError,
  UnwillingToPerformError,
} from 'ldapts';
import type { AccountEligibilityFacts } from '../../domain/account-eligibility.ts';
import { guidFromMemberRef, guidToBytes, guidToString, memberRefByGuid, parseMemberRef, sidToString } from '../../domain/ad.ts';
import { DomainError } from '../../domain/errors.ts';
import { protectionReason, type GroupFacts, type ProtectedFinding } from '../../domain/protected-groups.ts';
import type { AccountChanges, DirectoryAccount, DirectoryGroup, TenantDirectory } from '../../services/ports/directory.ts';
import { translateDirectoryError } from './errors.ts';

const inChain = '1.2.840.113556.1.4.1941';
const accountAttributes = [
  'distinguishedName',
  'objectGUID',
  'sAMAccountName',
  'userPrincipalName',
  'userAccountControl',
  'accountExpires',
  'logonHours',
  'userWorkstations',
  'lastLogonTimestamp',
  'primaryGroupID',
];
/**
 * What tells whether an account may be a tenant account (domain/account-eligibility.ts), read with
 * the account itself on base reads: tokenGroups (every group SID at any depth, the primary group
 * included) is constructed by the directory for base reads only.
 */
const eligibilityAttributes = ['objectClass', 'objectSid', 'adminCount', 'servicePrincipalName', 'tokenGroups'];
const groupAttributes = ['distinguishedName', 'objectGUID', 'objectSid', 'sAMAccountName', 'cn', 'adminCount', 'memberOf'];
const binary = ['objectGUID', 'objectSid', 'logonHours', 'tokenGroups'];
const readChunk = 200;
/** LDAP_SERVER_EXTENDED_DN_OID: linked values come back as `<GUID=hex>;<SID=hex>;dn`. */
const extendedDn = '1.2.840.113556.1.4.529';

export interface LdapSession {
  /** Runs `work` with a bound client; connection failures are retried once on a fresh connection. */
  use<T>(work: (client: Client) => Promise<T>): Promise<T>;
  baseDn: string;
  observe?(operation: string, ms: number): void;
}

const first = (entry: Entry, name: string): string | undefined => {
  const value = entry[name];
  if (Array.isArray(value)) return value.length ? String(value[0]) : undefined;
  return value === undefined ? undefined : String(value);
};
const buffer = (entry: Entry, name: string): Buffer | undefined => {
  const value = entry[name];
  const one = Array.isArray(value) ? value[0] : value;
  return Buffer.isBuffer(one) ? one : undefined;
};
const strings = (entry: Entry, name: string): string[] => {
  const value = entry[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
};

const buffers = (entry: Entry, name: string): Buffer[] => {
  const value = entry[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is Buffer => Buffer.isBuffer(v));
};

/** The eligibility facts of a base read (tokenGroups null where the read did not ask for it). */
function eligibilityOf(entry: Entry, withTokenGroups: boolean): AccountEligibilityFacts {
  const sid = buffer(entry, 'objectSid');
  const adminCount = first(entry, 'adminCount');
  const primary = first(entry, 'primaryGroupID');
  return {
    objectClasses: strings(entry, 'objectClass'),
    sid: sid ? sidToString(sid) : null,
    userAccountControl: Number(first(entry, 'userAccountControl') ?? '0'),
    adminCount: adminCount === undefined ? null : Number(adminCount),
    primaryGroupId: primary === undefined ? null : Number(primary),
    tokenGroupSids: withTokenGroups ? buffers(entry, 'tokenGroups').map(sidToString) : null,
    servicePrincipalNames: strings(entry, 'servicePrincipalName').length,
  };
}

function toAccount(entry: Entry, withTokenGroups = false): DirectoryAccount {
  const guid = buffer(entry, 'objectGUID');
  if (!guid) throw new DomainError('directory_error', 'An account has no objectGUID');
  return {
    eligibility: eligibilityOf(entry, withTokenGroups),
    guid: guidToString(guid),
    dn: entry.dn,
    samAccountName: first(entry, 'sAMAccountName') ?? '',
    userPrincipalName: first(entry, 'userPrincipalName') ?? null,
    userAccountControl: Number(first(entry, 'userAccountControl') ?? '0'),
    accountExpires: first(entry, 'accountExpires') ?? '0',
    logonHours: buffer(entry, 'logonHours') ?? null,
    userWorkstations: first(entry, 'userWorkstations') ?? null,
    lastLogonTimestamp: first(entry, 'lastLogonTimestamp') ?? null,
    primaryGroupId: first(entry, 'primaryGroupID') === undefined ? null : Number(first(entry, 'primaryGroupID')),
  };
}

function toGroup(entry: Entry): DirectoryGroup & { memberOf: string[] } {
  const guid = buffer(entry, 'objectGUID');
  const sid = buffer(entry, 'objectSid');
  if (!guid || !sid) throw new DomainError('directory_error', 'A group has no objectGUID or objectSid');
  const adminCount = first(entry, 'adminCount');
  return {
    guid: guidToString(guid),
    sid: sidToString(sid),
    dn: entry.dn,
    name: first(entry, 'sAMAccountName') ?? first(entry, 'cn') ?? entry.dn,
    adminCount: adminCount === undefined ? null : Number(adminCount),
    memberOf: strings(entry, 'memberOf'),
  };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function memberChange(operation: 'add' | 'delete', values: string[]): Change {
  return new Change({ operation, modification: new Attribute({ type: 'member', values }) });
}

/**
 * Errors that mean "some value in this batch was already in (or already out of) the group", or
 * names an object that no longer exists (a `<GUID=…>` value of a deleted account: 21).
 */
const isValueConflict = (error: unknown) =>
  error instanceof AlreadyExistsError ||
  error instanceof InvalidSyntaxError ||
  error instanceof TypeOrValueExistsError ||
  error instanceof UnwillingToPerformError ||
  error instanceof NoSuchAttributeError;

export function createTenantDirectory(session: LdapSession, what: string): TenantDirectory {
  // The forest's optional features change rarely; asked once per connection pool.
  let ttlSupport: Promise<boolean> | undefined;
  // Where the domain and its forest start (rootDSE): asked once per connection pool.
  let roots: Promise<{ domain: string; forestRoot: string }> | undefined;
  /**
   * Protected groups live at the domain's root (CN=Users, CN=Builtin), which a tenant's base DN
   * below the root does not contain: nesting is searched from the root (defaultNamingContext),
   * whatever the base DN. rootDomainNamingContext tells a child domain, whose protection also
   * reaches the forest root's Enterprise Admins and Schema Admins.
   */
  const namingContexts = () =>
    (roots ??= (async () => {
      const root = await searchOne('', '(objectClass=*)', ['defaultNamingContext', 'rootDomainNamingContext'], 'base');
      const domain = (root && first(root, 'defaultNamingContext')) || session.baseDn;
      return { domain, forestRoot: (root && first(root, 'rootDomainNamingContext')) || domain };
    })().catch((error: unknown) => {
      roots = undefined;
      throw error;
    }));
  const nestingBase = async () => (await namingContexts()).domain;

  /**
   * In a child domain, the groups of the forest root that contain `holders` (their memberOf values
   * outside the domain, as a global catalog keeps them), each with its objectSid from the
   * extended-DN form: those objects are not readable through this domain's DC.
   */
  async function forestRootParents(
    holders: ReadonlyArray<{ dn: string; memberOf: readonly string[] }>,
  ): Promise<Array<{ holder: string; dn: string; sid: string }>> {
    const { domain, forestRoot } = await namingContexts();
    if (forestRoot.toLowerCase() === domain.toLowerCase()) return [];
    const outside = (dn: string) => !dn.toLowerCase().endsWith(domain.toLowerCase());
    const found: Array<{ holder: string; dn: string; sid: string }> = [];
    for (const holder of holders.filter((h) => h.memberOf.some(outside))) {
      const entry = await run(
        'nesting',
        async (client) =>
          (
            await client.search(holder.dn, { scope: 'base', filter: '(objectClass=group)', attributes: ['memberOf'] }, [
              new Control(extendedDn),
            ])
          ).searchEntries[0],
      );
      for (const value of entry ? strings(entry, 'memberOf') : []) {
        const parsed = /^<GUID=[0-9a-f]+>;<SID=([0-9a-f]+)>;(.+)$/i.exec(value);
        if (parsed && outside(parsed[2]!))
          found.push({ holder: holder.dn, dn: parsed[2]!, sid: sidToString(Buffer.from(parsed[1]!, 'hex')) });
      }
    }
    return found;
  }
  async function run<T>(operation: string, work: (client: Client) => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await session.use(work);
    } catch (error) {
      if (error instanceof DomainError) throw error;
      if (isValueConflict(error) || error instanceof NoSuchObjectError) throw error;
      throw translateDirectoryError(error, `${operation} in ${what}`);
    } finally {
      session.observe?.(operation, performance.now() - started);
    }
  }

  async function searchOne(baseDn: string, filter: Filter | string, attributes: string[], scope: 'base' | 'sub' = 'sub') {
    return run('search', async (client) => {
      try {
        const { searchEntries } = await client.search(baseDn, {
          scope,
          filter,
          attributes,
          explicitBufferAttributes: binary,
          sizeLimit: 2,
        });
        if (searchEntries.length > 1) throw new DomainError('conflict', 'More than one directory object matches');
        return searchEntries[0] ?? null;
      } catch (error) {
        if (error instanceof NoSuchObjectError) return null;
        throw error;
      }
    });
  }

  /** Every group that contains the one named `dn` at any depth, in one query (the in-chain rule). */
  async function ancestorsOf(dn: string) {
    const filter = new AndFilter({
      filters: [
        new EqualityFilter({ attribute: 'objectClass', value: 'group' }),
        new ExtensibleFilter({ rule: inChain, matchType: 'member', value: dn }),
      ],
    });
    const base = await nestingBase();
    return run('nesting', async (client) =>
      (
        await client.search(base, {
          scope: 'sub',
          filter,
          attributes: groupAttributes,
          explicitBufferAttributes: binary,
          paged: { pageSize: 500 },
        })
      ).searchEntries.map(toGroup),
    );
  }

  async function groupWithParents(dn: string) {
    const entry = await searchOne(dn, '(objectClass=group)', groupAttributes, 'base');
    return entry ? toGroup(entry) : null;
  }

  /**
   * Every direct member of a group, as the directory spells the values. Windows returns large
   * `member` values in ranges (`member;range=0-1499`); Samba returns them all at once; both are
   * handled. With `extended` the values are read with the extended-DN control
   * (`<GUID=hex>;<SID=hex>;dn`).
   */
  async function memberValues(groupDn: string, extended = false): Promise<string[]> {
    const found: string[] = [];
    let start = 0;
    for (;;) {
      const attribute = start === 0 ? 'member' : `member;range=${start}-*`;
      const entry = extended
        ? await run('read-back', async (client) => {
            try {
              const { searchEntries } = await client.search(
                groupDn,
                { scope: 'base', filter: '(objectClass=group)', attributes: [attribute] },
                [new Control(extendedDn)],
              );
              return searchEntries[0] ?? null;
            } catch (error) {
              if (error instanceof NoSuchObjectError) return null;
              throw error;
            }
          })
        : await searchOne(groupDn, '(objectClass=group)', [attribute], 'base');
      if (!entry) throw new DomainError('directory_error', `The group ${groupDn} no longer exists`);
      const key = Object.keys(entry).find((k) => k.toLowerCase() === 'member' || k.toLowerCase().startsWith('member;range='));
      if (!key) return found;
      found.push(...strings(entry, key));
      const range = /;range=\d+-(\d+|\*)$/i.exec(key);
      if (!range || range[1] === '*') return found;
      start = Number(range[1]) + 1;
    }
  }

  /** Every direct member of a group, as the directory spells the DNs. */
  const groupMembers = (groupDn: string) => memberValues(groupDn);

  async function allMembers(groupDn: string): Promise<Set<string>> {
    return new Set((await groupMembers(groupDn)).map((dn) => dn.toLowerCase()));
  }

  /** Every direct member of a group by objectGUID (rename-proof); a value without its GUID fails the read rather than be guessed at. */
  async function allMemberGuids(groupDn: string): Promise<Set<string>> {
    const found = new Set<string>();
    for (const value of await memberValues(groupDn, true)) {
      const guid = /^<GUID=([0-9a-f]{32})>;/i.exec(value);
      if (!guid) throw new DomainError('directory_error', `The members of ${groupDn} did not come back with their GUIDs`);
      found.add(guidToString(Buffer.from(guid[1]!, 'hex')));
    }
    return found;
  }

  /** Which of `memberDns` are direct members of `groupDn` now (a read-back); `<GUID=…>` values are matched by GUID. */
  async function currentMembers(groupDn: string, memberDns: readonly string[]): Promise<Set<string>> {
    const refs = new Map<string, string>();
    const dns: string[] = [];
    for (const value of memberDns) {
      const guid = guidFromMemberRef(value);
      if (guid) refs.set(guid, value.toLowerCase());
      else dns.push(value);
    }
    const [byDn, byGuid] = await Promise.all([currentMembersByDn(groupDn, dns), currentMembersByGuid(groupDn, [...refs.keys()])]);
    return new Set([...byDn, ...[...byGuid].map((guid) => refs.get(guid)!)]);
  }

  async function currentMembersByDn(groupDn: string, memberDns: readonly string[]): Promise<Set<string>> {
    if (memberDns.length === 0) return new Set();
    // Many at once: one read of the group's member values is cheaper than filtered searches.
    if (memberDns.length > readChunk / 4) {
      const all = await allMembers(groupDn);
      return new Set(memberDns.map((dn) => dn.toLowerCase()).filter((dn) => all.has(dn)));
    }
    const found = new Set<string>();
    for (const part of chunks(memberDns, readChunk)) {
      const filter = new AndFilter({
        filters: [
          new EqualityFilter({ attribute: 'memberOf', value: groupDn }),
          new OrFilter({ filters: part.map((dn) => new EqualityFilter({ attribute: 'distinguishedName', value: dn })) }),
        ],
      });
      const entries = await run(
        'read-back',
        async (client) =>
          (await client.search(session.baseDn, { scope: 'sub', filter, attributes: ['distinguishedName'], paged: { pageSize: 500 } }))
            .searchEntries,
      );
      for (const entry of entries) found.add(entry.dn.toLowerCase());
    }
    return found;
  }

  /** Which of the accounts `guids` are direct members of `groupDn` now, wherever they were moved or renamed. */
  async function currentMembersByGuid(groupDn: string, guids: readonly string[]): Promise<Set<string>> {
    if (guids.length === 0) return new Set();
    if (guids.length > readChunk / 4) {
      const all = await allMemberGuids(groupDn);
      return new Set(guids.filter((guid) => all.has(guid)));
    }
    // A Buffer value: ldapts re-encodes escaped bytes of 0x80 and up in a filter string as UTF-8,
    // so such a filter would match nothing.
    const filter = new AndFilter({
      filters: [
        new EqualityFilter({ attribute: 'memberOf', value: groupDn }),
        new OrFilter({
          filters: guids.map((guid) => new EqualityFilter({ attribute: 'objectGUID', value: Buffer.from(guidToBytes(guid)) })),
        }),
      ],
    });
    const entries = await run(
      'read-back',
      async (client) =>
        (
          await client.search(session.baseDn, {
            scope: 'sub',
            filter,
            attributes: ['objectGUID'],
            explicitBufferAttributes: ['objectGUID'],
            paged: { pageSize: 500 },
          })
        ).searchEntries,
    );
    const found = new Set<string>();
    for (const entry of entries) {
      const guid = buffer(entry, 'objectGUID');
      if (!guid) throw new DomainError('directory_error', 'A member read back without its objectGUID');
      found.add(guidToString(guid));
    }
    return found;
  }

  /** Applies a batched member change, splitting the batch when one value conflicts (the modify is atomic). */
  async function changeMembers(operation: 'add' | 'delete', groupDn: string, values: string[], failures: string[]): Promise<void> {
    if (values.length === 0) return;
    try {
      await run(operation === 'add' ? 'add-members' : 'remove-members', (client) =>
        client.modify(groupDn, memberChange(operation, values)),
      );
    } catch (error) {
      if (!isValueConflict(error)) {
        if (error instanceof NoSuchObjectError)
          throw new DomainError('directory_error', `The group ${groupDn} or a member no longer exists`);
        throw error;
      }
      if (values.length === 1) {
        failures.push(values[0]!);
        return;
      }
      const middle = Math.ceil(values.length / 2);
      await changeMembers(operation, groupDn, values.slice(0, middle), failures);
      await changeMembers(operation, groupDn, values.slice(middle), failures);
    }
  }

  return {
    async ping() {
      const base = await searchOne(session.baseDn, '(objectClass=*)', ['distinguishedName'], 'base');
      if (!base) throw new DomainError('directory_base_dn_missing', `The base DN ${session.baseDn} does not exist in ${what}`);
    },

    async findAccount(identifier) {
      const filter = identifier.includes('=')
        ? null
        : identifier.includes('@')
          ? new EqualityFilter({ attribute: 'userPrincipalName', value: identifier })
          : new EqualityFilter({ attribute: 'sAMAccountName', value: identifier });
      const entry = filter
        ? // Any user object, computers included (they are users too), so a refusal says what it found.
          await searchOne(
            session.baseDn,
            new AndFilter({ filters: [new EqualityFilter({ attribute: 'objectClass', value: 'user' }), filter] }),
            [...accountAttributes, ...eligibilityAttributes.filter((a) => a !== 'tokenGroups')],
          )
        : await searchOne(identifier, '(objectClass=user)', [...accountAttributes, ...eligibilityAttributes], 'base');
      return entry ? toAccount(entry, !filter) : null;
    },

    async accountByGuid(guid) {
      // A binary value in a filter string is re-encoded by ldapts; the <GUID=…> base avoids that.
      guidToBytes(guid);
      const entry = await searchOne(`<GUID=${guid}>`, '(objectClass=user)', [...accountAttributes, ...eligibilityAttributes], 'base');
      return entry ? toAccount(entry, true) : null;
    },

    async accountDnsByGuid(guids) {
      const found = new Map<string, string>();
      // Chunks run side by side over the pooled connections (reads are not serialised like writes).
      await Promise.all(
        chunks(guids, readChunk).map(async (part) => {
          // A Buffer value: ldapts re-encodes escaped bytes of 0x80 and up in a filter string as
          // UTF-8, so such a filter would match nothing.
          const filter = new OrFilter({
            filters: part.map((guid) => new EqualityFilter({ attribute: 'objectGUID', value: Buffer.from(guidToBytes(guid)) })),
          });
          const entries = await run(
            'resolve-accounts',
            async (client) =>
              (
                await client.search(session.baseDn, {
                  scope: 'sub',
                  filter,
                  attributes: ['objectGUID'],
                  explicitBufferAttributes: ['objectGUID'],
                  paged: { pageSize: 500 },
                })
              ).searchEntries,
          );
          for (const entry of entries) {
            const guid = buffer(entry, 'objectGUID');
            if (guid) found.set(guidToString(guid), entry.dn);
          }
        }),
      );
      return found;
    },

    async groupByDn(dn) {
      return groupWithParents(dn);
    },

    async searchGroups(text, limit) {
      // The text goes into substring filters as a value (escaped by ldapts, RFC 4515), never
      // spliced into a filter string. One page of limit + 1 tells whether there were more.
      const name = text.trim();
      const filter = new AndFilter({
        filters: [
          new EqualityFilter({ attribute: 'objectClass', value: 'group' }),
          ...(name
            ? [new OrFilter({ filters: ['cn', 'sAMAccountName'].map((attribute) => new SubstringFilter({ attribute, any: [name] })) })]
            : []),
        ],
      });
      const entries = await run('search-groups', async (client) => {
        for await (const page of client.searchPaginated(session.baseDn, {
          scope: 'sub',
          filter,
          attributes: groupAttributes,
          explicitBufferAttributes: binary,
          paged: { pageSize: limit + 1 },
        })) {
          return page.searchEntries;
        }
        return [];
      });
      const groups = entries
        .slice(0, limit)
        .map(toGroup)
        .map(({ memberOf: _memberOf, ...group }) => group);
      groups.sort((a, b) => a.name.localeCompare(b.name));
      return { groups, truncated: entries.length > limit };
    },

    async groupByGuid(guid) {
      guidToBytes(guid);
      const entry = await searchOne(`<GUID=${guid}>`, '(objectClass=group)', groupAttributes, 'base');
      return entry ? toGroup(entry) : null;
    },

    ancestorsOf,

    async findProtection(group, extra, searched): Promise<ProtectedFinding | null> {
      const own = protectionReason(group, extra);
      if (own) {
        searched?.catch(() => undefined); // not needed after all
        return { protectedDn: group.dn, reason: own, path: [group.dn] };
      }
      const ancestors = await (searched ?? ancestorsOf(group.dn));
      const byDn = new Map(ancestors.map((a) => [a.dn.toLowerCase(), a]));
      // Breadth first along memberOf, so the nearest protected group is named, with its path.
      const parents = group.memberOf ?? (await groupWithParents(group.dn))?.memberOf ?? [];
      const previous = new Map<string, string | null>([[group.dn.toLowerCase(), null]]);
      const queue = parents.map((parent) => ({ parent, child: group.dn }));
      while (queue.length) {
        const { parent, child } = queue.shift()!;
        const key = parent.toLowerCase();
        if (previous.has(key)) continue;
        previous.set(key, child);
        const node = byDn.get(key);
        if (!node) continue;
        const reason = protectionReason(node as GroupFacts, extra);
        if (reason) {
          const path: string[] = [];
          for (let at: string | null | undefined = node.dn; at; at = previous.get(at.toLowerCase()))
            path.unshift(byDn.get(at.toLowerCase())?.dn ?? at);
          return { protectedDn: node.dn, reason, path };
        }
        for (const next of node.memberOf) queue.push({ parent: next, child: node.dn });
      }
      // The in-chain rule saw a protected ancestor that memberOf did not lead to (e.g. a primary group).
      const found = ancestors.map((a) => ({ group: a, reason: protectionReason(a as GroupFacts, extra) })).find((a) => a.reason);
      if (found) return { protectedDn: found.group.dn, reason: found.reason!, path: [group.dn, found.group.dn] };
      // A child domain: the forest root's Enterprise Admins and Schema Admins (its SID + 519, 518) and the like.
      for (const parent of await forestRootParents([{ dn: group.dn, memberOf: parents }, ...ancestors])) {
        const reason = protectionReason({ dn: parent.dn, sid: parent.sid, name: '', adminCount: null }, extra);
        if (reason)
          return {
            protectedDn: parent.dn,
            reason: `${reason} in the forest root`,
            path: parent.holder === group.dn ? [group.dn, parent.dn] : [group.dn, parent.holder, parent.dn],
          };
      }
      return null;
    },

    async updateAccount(dn, changes: AccountChanges) {
      const list: Change[] = [];
      const replace = (type: string, values: string[] | Buffer[]) =>
        list.push(new Change({ operation: 'replace', modification: new Attribute({ type, values }) }));
      if (changes.userAccountControl !== undefined) replace('userAccountControl', [String(changes.userAccountControl)]);
      if (changes.accountExpires !== undefined) replace('accountExpires', [changes.accountExpires]);
      if (changes.logonHours !== undefined) {
        if (changes.logonHours !== null && changes.logonHours.length !== 21)
          throw new DomainError('validation_failed', 'logonHours is 21 bytes');
        replace('logonHours', changes.logonHours === null ? ([] as string[]) : [Buffer.from(changes.logonHours)]);
      }
      if (changes.userWorkstations !== undefined)
        replace('userWorkstations', changes.userWorkstations === null ? [] : [changes.userWorkstations]);
      if (list.length === 0) return;
      await run('update-account', (client) => client.modify(dn, list));
    },

    async addMembers(groupDn, memberDns, ttlSeconds) {
      const failures: string[] = [];
      const values = ttlSeconds ? memberDns.map((dn) => `<TTL=${ttlSeconds},${dn}>`) : [...memberDns];
      await changeMembers('add', groupDn, values, failures);
      const present = await currentMembers(groupDn, memberDns);
      const missing = memberDns.filter((dn) => !present.has(dn.toLowerCase()));
      if (missing.length)
        throw new DomainError('directory_error', `The directory did not keep ${missing.length} new member(s) of ${groupDn}`);
    },

    async removeMembers(groupDn, memberDns) {
      if (memberDns.length === 0) return { stillMembers: [] };
      const refs = memberDns.map(parseMemberRef);
      // By DN where one is known (Samba resolves a DN faster than a GUID), otherwise by GUID.
      const byDn = new Map(refs.map((r, i) => [(r.dn ?? memberDns[i]!).toLowerCase(), r.dn ?? memberDns[i]!]));
      try {
        await run('remove-members', (client) => client.modify(groupDn, memberChange('delete', [...byDn.values()])));
      } catch (error) {
        if (!isValueConflict(error) && !(error instanceof NoSuchObjectError)) throw error;
        // The modify is atomic: one value that is not a member (already removed, or a DN that now
        // names another object or none) failed it whole. Read which still are, and remove exactly
        // those, by GUID where known; only a change racing this one splits the batch further.
        const present = await currentMembers(groupDn, memberDns);
        const left = refs.flatMap((r, i) =>
          present.has(memberDns[i]!.toLowerCase()) ? [r.guid ? memberRefByGuid(r.guid) : memberDns[i]!] : [],
        );
        await changeMembers('delete', groupDn, left, []);
      }
      // Absent counts as removed only once a read-back confirms it; so does every batched delete.
      const still = await currentMembers(groupDn, memberDns);
      return { stillMembers: memberDns.filter((dn) => still.has(dn.toLowerCase())) };
    },

    currentMembers: (groupDn, memberDns) => currentMembers(groupDn, memberDns),

    async accountGroups(accountDn) {
      const own = await searchOne(accountDn, '(objectClass=user)', ['memberOf'], 'base');
      if (!own) throw new DomainError('account_not_found', `The account ${accountDn} no longer exists`);
      // Every group that contains the account at any depth, in one query (the in-chain rule).
      const filter = new AndFilter({
        filters: [
          new EqualityFilter({ attribute: 'objectClass', value: 'group' }),
          new ExtensibleFilter({ rule: inChain, matchType: 'member', value: own.dn }),
        ],
      });
      const base = await nestingBase();
      const groups = await run('account-groups', async (client) =>
        (
          await client.search(base, {
            scope: 'sub',
            filter,
            attributes: groupAttributes,
            explicitBufferAttributes: binary,
            paged: { pageSize: 500 },
          })
        ).searchEntries.map(toGroup),
      );
      return { direct: strings(own, 'memberOf'), groups };
    },

    groupMembers: (groupDn) => groupMembers(groupDn),

    supportsTtlMembership: () =>
      (ttlSupport ??= detectTtlSupport().catch((error: unknown) => {
        ttlSupport = undefined;
        throw error;
      })),
  };

  async function detectTtlSupport(): Promise<boolean> {
    const root = await searchOne('', '(objectClass=*)', ['configurationNamingContext'], 'base');
    const configuration = root ? first(root, 'configurationNamingContext') : undefined;
    if (!configuration) return false;
    const partitions = await searchOne(`CN=Partitions,${configuration}`, '(objectClass=*)', ['msDS-EnabledFeature'], 'base');
    return partitions
      ? strings(partitions, 'msDS-EnabledFeature').some((f) => /^CN=Privileged Access Management Feature,/i.test(f))
      : false;
  }
}
