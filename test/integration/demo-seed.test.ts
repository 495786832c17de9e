// The demo's seed against the real acme Samba domain: run twice it changes nothing, and after the
// demo domain was reset (its account and group made again, with new objectGUIDs) the technician's
// link and the demo profile follow the new objects, so the printed demo still works.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { seedDemo } from '../../src/cli/demo-seed.ts';
import { createTestOu, deleteEntry } from '../support/directory.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { testServices } from '../support/services.ts';

const { acme } = testServices().domains;

describe('demo seed', () => {
  let h: Harness;
  let ou: Awaited<ReturnType<typeof createTestOu>>;
  let group: string;
  let accountDn: string;
  let accountName: string;

  const seed = () =>
    seedDemo(
      {
        store: h.container.store,
        clock: h.clock,
        secrets: h.container.secrets,
        totp: h.container.totp,
        technicians: h.container.services.technicians,
        tenants: h.container.services.tenants,
        accounts: h.container.services.accounts,
        profiles: h.container.services.profiles,
        access: h.container.access,
      },
      {
        domain: {
          name: 'acme',
          ldapsUrl: acme.ldapsUrl,
          baseDn: acme.baseDn,
          bindDn: acme.bindDn,
          bindPassword: acme.bindPassword,
          caCertificate: readFileSync(acme.caFile, 'utf8'),
        },
        admin: { username: 'demo-admin', password: 'Demo-admin-password-1' },
        technician: { username: 'demo-jdoe', password: 'Demo-jdoe-password-1' },
        grantable: { group, account: accountName },
      },
    );

  before(async () => {
    h = await startHarness();
    ou = await createTestOu(acme, 'demo');
    group = await ou.group(`Demo-Helpdesk-${Math.random().toString(36).slice(2, 7)}`);
    accountName = `msp-demo-${Math.random().toString(36).slice(2, 7)}`;
    accountDn = await ou.user(accountName, `Acct-${Math.random().toString(36).slice(2)}-9Z`);
  });
  after(async () => {
    await h.close();
    await ou.cleanup();
  });

  it('when the demo is seeded twice, then the second run changes nothing and the secret is given only once', async () => {
    const first = await seed();
    assert.match(first.technicianTotpSecret ?? '', /^[A-Z2-7]{32,}$/);
    const head = (await h.container.store.audit.head()).seq;
    const second = await seed();
    assert.equal(second.technicianTotpSecret, null);
    assert.equal((await h.container.store.audit.head()).seq, head, 'nothing audited: nothing changed');
  });

  it('when the demo domain was reset (account and group made again), then the link and the profile follow the new objects', async () => {
    const jdoe = (await h.container.store.technicians.findByUsername('demo-jdoe'))!;
    const before = {
      account: (await h.container.store.accounts.find('acme', jdoe.id))!,
      profile: (await h.container.store.profiles.findByName('acme', 'helpdesk'))!,
    };
    await deleteEntry(acme, group);
    await deleteEntry(acme, accountDn);
    await ou.group(group.slice(3, group.indexOf(',')));
    await ou.user(accountName, `Acct-${Math.random().toString(36).slice(2)}-9Z`);
    await seed();
    const account = (await h.container.store.accounts.find('acme', jdoe.id))!;
    const profile = (await h.container.store.profiles.findByName('acme', 'helpdesk'))!;
    assert.notEqual(account.guid, before.account.guid);
    assert.equal(profile.id, before.profile.id, 'the same profile, updated');
    assert.notEqual(profile.groups[0]!.guid, before.profile.groups[0]!.guid);
    // The stored GUIDs are the directory's own now.
    const directory = await h.container.access.directory(await h.container.access.tenant('acme'));
    assert.equal((await directory.accountByGuid(account.guid))?.dn.toLowerCase(), accountDn.toLowerCase());
    assert.equal((await directory.groupByGuid(profile.groups[0]!.guid))?.dn.toLowerCase(), group.toLowerCase());
  });
});
