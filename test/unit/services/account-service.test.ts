// Linking a technician's account in a client's domain (docs/architecture.md, Tenant accounts):
// only an account that may be one, refused and audited otherwise, through nesting too; one per
// technician per tenant. Also the tenant access every directory use case goes through.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError } from '../../../src/domain/errors.ts';
import { systemContext } from '../../../src/services/context.ts';
import { createAccountService, createTenantAccess } from '../../../src/services/tenants/index.ts';
import { fakeWorld, seedTechnician, seedTenant } from '../../support/fakes/index.ts';

async function setup() {
  const w = fakeWorld();
  await seedTenant(w, 'acme');
  const access = createTenantAccess({ store: w.store, secrets: w.secrets, directory: w.directory });
  const accounts = createAccountService({ store: w.store, clock: w.clock, random: w.random, access });
  const tech = await seedTechnician(w, { username: 'alice' });
  return { w, acme: w.domains.acme!, access, accounts, tech };
}

const notEligible = (reason: RegExp) => (error: unknown) => {
  assert.ok(error instanceof DomainError, String(error));
  assert.equal(error.code, 'account_not_eligible');
  assert.match(String((error.details as { reason: string }).reason), reason);
  return true;
};

describe('account service', () => {
  it('when an ordinary user account is linked, then it is stored by GUID and audited', async () => {
    const { w, acme, accounts, tech } = await setup();
    const user = acme.addUser('msp-alice');
    const linked = await accounts.link('acme', tech.id, 'msp-alice', 'admin-1', systemContext);
    assert.equal(linked.guid, user.guid);
    assert.equal(linked.dn, user.dn);
    assert.deepEqual(await accounts.list('acme'), [linked]);
    const [event] = await w.store.audit.list({ action: 'account.linked', limit: 1 });
    assert.deepEqual(event!.details, { guid: user.guid, dn: user.dn });
  });

  it('when the account is a computer, then it is refused and the refusal is audited', async () => {
    const { w, acme, accounts, tech } = await setup();
    acme.addUser('ws01$', { objectClasses: ['top', 'person', 'organizationalPerson', 'user', 'computer'], userAccountControl: 0x1000 });
    await assert.rejects(accounts.link('acme', tech.id, 'ws01$', 'admin-1', systemContext), notEligible(/computer/));
    const [event] = await w.store.audit.list({ action: 'account.not_eligible', limit: 1 });
    assert.equal((event!.details as { step: string }).step, 'link');
    assert.deepEqual(await accounts.list('acme'), []);
  });

  it('when the account sits in Domain Admins through a nested group, then it is refused', async () => {
    const { acme, accounts, tech } = await setup();
    const user = acme.addUser('msp-alice');
    const ops = acme.addGroup('Ops');
    acme.addMember(acme.domainAdmins.dn, ops.dn);
    acme.addMember(ops.dn, user.dn);
    await assert.rejects(
      accounts.link('acme', tech.id, 'msp-alice', 'admin-1', systemContext),
      notEligible(/^a member of Domain Admins \(S-1-5-21-1-2-3-512\)$/),
    );
  });

  it('when the account reaches DnsAdmins (protected by name, not SID) through nesting, then it is refused naming that group', async () => {
    const { acme, accounts, tech } = await setup();
    const user = acme.addUser('msp-alice');
    const dns = acme.addGroup('DnsAdmins');
    const helpers = acme.addGroup('DNS Helpers');
    acme.addMember(dns.dn, helpers.dn);
    acme.addMember(helpers.dn, user.dn);
    await assert.rejects(
      accounts.link('acme', tech.id, 'msp-alice', 'admin-1', systemContext),
      notEligible(new RegExp(`^a member of the protected group ${dns.dn} \\(DnsAdmins\\)$`)),
    );
  });

  it('when the account is in a group the tenant protects, then it is refused', async () => {
    const { w, acme, accounts, tech } = await setup();
    const user = acme.addUser('msp-alice');
    const crown = acme.addGroup('Crown Jewels');
    acme.addMember(crown.dn, user.dn);
    await w.store.protectedGroups.add({
      tenantId: 'acme',
      guid: crown.guid,
      sid: crown.sid,
      dn: crown.dn,
      name: crown.name,
      addedAt: w.clock.now(),
    });
    await assert.rejects(
      accounts.link('acme', tech.id, 'msp-alice', 'admin-1', systemContext),
      notEligible(new RegExp(`^a member of a group the tenant protects \\(${crown.sid}\\)$`)),
    );
  });

  it('when a technician already has an account, or the account is linked to another, then the link is a conflict', async () => {
    const { w, acme, accounts, tech } = await setup();
    acme.addUser('msp-alice');
    acme.addUser('msp-alice2');
    await accounts.link('acme', tech.id, 'msp-alice', 'admin-1', systemContext);
    const conflict = (e: unknown) => e instanceof DomainError && e.code === 'conflict';
    await assert.rejects(accounts.link('acme', tech.id, 'msp-alice2', 'admin-1', systemContext), conflict);
    const bob = await seedTechnician(w, { username: 'bob' });
    await assert.rejects(accounts.link('acme', bob.id, 'msp-alice', 'admin-1', systemContext), conflict);
  });

  it('when the account does not exist, then the link is refused as not found', async () => {
    const { accounts, tech } = await setup();
    await assert.rejects(
      accounts.link('acme', tech.id, 'ghost', 'admin-1', systemContext),
      (e: unknown) => e instanceof DomainError && e.code === 'account_not_found',
    );
  });
});

describe('tenant access', () => {
  it('when a tenant is archived, then its directory is never opened again', async () => {
    const { w, access } = await setup();
    const at = w.clock.now();
    await w.store.tenants.freeze('acme', { at, by: 'admin-1', reason: null });
    assert.equal(await w.store.tenants.archive('acme', 'admin-1', at), true);
    await assert.rejects(
      access.directory(await access.tenant('acme')),
      (e: unknown) => e instanceof DomainError && e.code === 'tenant_archived',
    );
    assert.deepEqual(w.directory.opened, []);
  });

  it('when a tenant is unknown, then it is not found; its protected groups are given by SID', async () => {
    const { w, acme, access } = await setup();
    await assert.rejects(access.tenant('nowhere'), (e: unknown) => e instanceof DomainError && e.code === 'not_found');
    const g = acme.addGroup('Crown Jewels');
    await w.store.protectedGroups.add({ tenantId: 'acme', guid: g.guid, sid: g.sid, dn: g.dn, name: g.name, addedAt: w.clock.now() });
    assert.deepEqual(await access.protectedSids('acme'), [g.sid]);
  });
});
