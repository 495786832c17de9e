// Prepares the demo domain for the demo: an OU with the technician's own (disabled) MSP account
// and an ordinary group to be granted. Idempotent. Usage: node scripts/demo-directory.ts DOMAINS_JSON
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AlreadyExistsError, Attribute, Change, Client } from 'ldapts';

const domain = JSON.parse(readFileSync(process.argv[2]!, 'utf8')).acme as {
  ldapsUrl: string;
  baseDn: string;
  bindDn: string;
  bindPassword: string;
  caFile: string;
  realm: string;
};
const client = new Client({ url: domain.ldapsUrl, tlsOptions: { ca: [readFileSync(domain.caFile)] } });
await client.bind(domain.bindDn, domain.bindPassword);
const ignoreExisting = (error: unknown) => {
  if (!(error instanceof AlreadyExistsError)) throw error;
};
try {
  const ou = `OU=Stint Demo,${domain.baseDn}`;
  await client.add(ou, { objectClass: ['top', 'organizationalUnit'] }).catch(ignoreExisting);
  const group = `CN=Demo Helpdesk,${ou}`;
  await client
    .add(group, { objectClass: ['top', 'group'], sAMAccountName: 'Demo Helpdesk', groupType: '-2147483646' })
    .catch(ignoreExisting);
  const user = `CN=msp-jdoe,${ou}`;
  const created = await client
    .add(user, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      sAMAccountName: 'msp-jdoe',
      userPrincipalName: `msp-jdoe@${domain.realm.toLowerCase()}`,
    })
    .then(
      () => true,
      (error: unknown) => (ignoreExisting(error), false),
    );
  if (created) {
    // The account's own password is never needed by the demo; it stays disabled between grants.
    const password = `Demo-${randomBytes(12).toString('base64url')}-1a`;
    await client.modify(user, [
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${password}"`, 'utf16le')] }),
      }),
      new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: ['514'] }) }),
    ]);
  }
  process.stdout.write(JSON.stringify({ group, account: 'msp-jdoe' }));
} finally {
  await client.unbind();
}
