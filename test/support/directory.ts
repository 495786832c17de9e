// Direct access to the test Samba domains, as their administrator, to set up what a test needs
// (users, OUs) and to read back what Stint did.
import { readFileSync } from 'node:fs';
import { Attribute, Change, Client } from 'ldapts';
import type { SambaDomain } from './services.ts';

export function adminClient(domain: SambaDomain): Client {
  return new Client({ url: domain.ldapsUrl, tlsOptions: { ca: [readFileSync(domain.caFile)] }, timeout: 10_000, connectTimeout: 10_000 });
}

export async function withAdmin<T>(domain: SambaDomain, work: (client: Client) => Promise<T>): Promise<T> {
  const client = adminClient(domain);
  await client.bind(domain.bindDn, domain.bindPassword);
  try {
    return await work(client);
  } finally {
    await client.unbind();
  }
}

const unicodePwd = (password: string) => Buffer.from(`"${password}"`, 'utf16le');

/** Creates an enabled user under CN=Users; returns its DN. */
export async function createUser(domain: SambaDomain, samAccountName: string, password: string): Promise<string> {
  const realm = domain.realm.toLowerCase();
  const dn = `CN=${samAccountName},CN=Users,${domain.baseDn}`;
  await withAdmin(domain, async (client) => {
    await client.add(dn, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      sAMAccountName: samAccountName,
      userPrincipalName: `${samAccountName}@${realm}`,
    });
    await client.modify(dn, [
      new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd(password)] }) }),
      new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: ['512'] }) }),
    ]);
  });
  return dn;
}

export async function deleteEntry(domain: SambaDomain, dn: string): Promise<void> {
  await withAdmin(domain, (client) => client.del(dn));
}

/** A throwaway OU for one test file, with helpers to populate and inspect it. */
export async function createTestOu(domain: SambaDomain, label: string) {
  const ou = `OU=${label}-${Math.random().toString(36).slice(2, 8)},${domain.baseDn}`;
  await withAdmin(domain, (client) => client.add(ou, { objectClass: ['top', 'organizationalUnit'] }));
  const created: string[] = [];
  return {
    dn: ou,
    /** A disabled user (as MSP accounts are kept between grants), with a password. */
    async user(name: string, password: string, enabled = false): Promise<string> {
      const dn = `CN=${name},${ou}`;
      await withAdmin(domain, async (client) => {
        await client.add(dn, {
          objectClass: ['top', 'person', 'organizationalPerson', 'user'],
          sAMAccountName: name,
          userPrincipalName: `${name}@${domain.realm.toLowerCase()}`,
        });
        await client.modify(dn, [
          new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd(password)] }) }),
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'userAccountControl', values: [enabled ? '512' : '514'] }),
          }),
        ]);
      });
      created.push(dn);
      return dn;
    },
    async group(name: string, extra: Record<string, string> = {}): Promise<string> {
      const dn = `CN=${name},${ou}`;
      await withAdmin(domain, (client) =>
        client.add(dn, { objectClass: ['top', 'group'], sAMAccountName: name, groupType: '-2147483646', ...extra }),
      );
      created.push(dn);
      return dn;
    },
    async cleanup() {
      await withAdmin(domain, async (client) => {
        for (const dn of created.reverse()) await client.del(dn).catch(() => undefined);
        await client.del(ou).catch(() => undefined);
      });
    },
  };
}

export async function addMember(domain: SambaDomain, groupDn: string, memberDn: string): Promise<void> {
  await withAdmin(domain, (client) =>
    client.modify(groupDn, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [memberDn] }) })),
  );
}

export async function removeMember(domain: SambaDomain, groupDn: string, memberDn: string): Promise<void> {
  await withAdmin(domain, (client) =>
    client.modify(groupDn, new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [memberDn] }) })),
  );
}

/** Direct members of a group, lower-cased DNs. */
export async function membersOf(domain: SambaDomain, groupDn: string): Promise<string[]> {
  return withAdmin(domain, async (client) => {
    const { searchEntries } = await client.search(groupDn, { scope: 'base', attributes: ['member'] });
    const value = searchEntries[0]?.member;
    return (value === undefined ? [] : Array.isArray(value) ? value : [value]).map((v) => String(v).toLowerCase());
  });
}

export async function readUser(
  domain: SambaDomain,
  dn: string,
): Promise<{ userAccountControl: number; accountExpires: string; logonHours: Buffer | null; userWorkstations: string | null }> {
  return withAdmin(domain, async (client) => {
    const { searchEntries } = await client.search(dn, {
      scope: 'base',
      attributes: ['userAccountControl', 'accountExpires', 'logonHours', 'userWorkstations'],
      explicitBufferAttributes: ['logonHours'],
    });
    const entry = searchEntries[0]!;
    return {
      userAccountControl: Number(entry.userAccountControl),
      accountExpires: String(entry.accountExpires),
      logonHours: Buffer.isBuffer(entry.logonHours) ? entry.logonHours : null,
      userWorkstations: entry.userWorkstations === undefined ? null : String(entry.userWorkstations),
    };
  });
}

/** Whether the account can bind now (what a logon would meet). */
export async function canBind(domain: SambaDomain, dn: string, password: string): Promise<boolean> {
  const client = adminClient(domain);
  try {
    await client.bind(dn, password);
    return true;
  } catch {
    return false;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

export const domainAdminsDn = (domain: SambaDomain) => `CN=Domain Admins,CN=Users,${domain.baseDn}`;

/** Renames an entry in place (a new CN), as an admin renaming an account would. */
export async function renameEntry(domain: SambaDomain, dn: string, newCn: string): Promise<string> {
  const parent = dn.slice(dn.indexOf(',') + 1);
  await withAdmin(domain, (client) => client.modifyDN(dn, `CN=${newCn},${parent}`));
  return `CN=${newCn},${parent}`;
}
