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
