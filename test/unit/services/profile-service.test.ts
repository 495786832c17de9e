// Access profiles against the fake directory (docs/security-model.md, Protected groups): groups are
// resolved by DN and stored by GUID and SID; a protected group is refused, itself or through
// nesting at any depth, and the refusal names the protected group and the path, audited.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError } from '../../../src/domain/errors.ts';
import { systemContext } from '../../../src/services/context.ts';
import { createProfileService, createTenantAccess } from '../../../src/services/tenants/index.ts';
import { fakeWorld, seedTenant } from '../../support/fakes/index.ts';

async function setup() {
  const w = fakeWorld();
  await seedTenant(w, 'acme');
  const access = createTenantAccess({ store: w.store, secrets: w.secrets, directory: w.directory });
  const profiles = createProfileService({ store: w.store, clock: w.clock, random: w.random, access });
  const acme = w.domains.acme!;
  return { w, acme, profiles };
}

const input = (groups: string[], name = 'helpdesk') => ({ name, groups, defaultDurationSeconds: 3600, maxDurationSeconds: 7200 });
const refused = (check: (details: Record<string, unknown>) => void) => (error: unknown) => {
  assert.ok(error instanceof DomainError, String(error));
  assert.equal(error.code, 'group_protected');
  check(error.details as Record<string, unknown>);
  return true;
};

describe('profile service', () => {
  it('when a profile names ordinary groups, then it is stored with their GUIDs and SIDs and audited', async () => {
    const { w, acme, profiles } = await setup();
    const helpdesk = acme.addGroup('Helpdesk');
    const created = await profiles.create('acme', input([helpdesk.dn]), 'admin-1', systemContext);
    assert.deepEqual(created.groups, [{ dn: helpdesk.dn, guid: helpdesk.guid, sid: helpdesk.sid, name: 'Helpdesk' }]);
    assert.equal(created.status, 'active');
    const [event] = await w.store.audit.list({ action: 'profile.created', limit: 5 });
    assert.deepEqual(event!.details, { name: 'helpdesk', groups: [helpdesk.dn] });
    // The bind password was opened from its sealed form to reach the directory.
    assert.deepEqual(w.directory.opened, [{ tenantId: 'acme', bindPassword: 'bind-acme' }]);
  });

  it('when a profile names Domain Admins itself, then it is refused with a one-step path, audited, and nothing is stored', async () => {
    const { w, acme, profiles } = await setup();
    await assert.rejects(
      profiles.create('acme', input([acme.domainAdmins.dn]), 'admin-1', systemContext),
      refused((d) => {
        assert.equal(d.protectedGroup, acme.domainAdmins.dn);
        assert.deepEqual(d.path, [acme.domainAdmins.dn]);
        assert.match(String(d.reason), /Domain Admins \(RID 512\)/);
      }),
    );
    assert.deepEqual(await profiles.list('acme'), []);
    const [event] = await w.store.audit.list({ action: 'profile.refused_protected_group', limit: 5 });
    assert.equal(event!.target, acme.domainAdmins.dn);
  });

  it('when a group is nested two levels inside a protected group, then the refusal names the protected group and the whole path', async () => {
    const { acme, profiles } = await setup();
    const outer = acme.addGroup('Tier0 Operators');
    const inner = acme.addGroup('Server Helpers');
    acme.addMember(acme.administrators.dn, outer.dn);
    acme.addMember(outer.dn, inner.dn);
    await assert.rejects(
      profiles.create('acme', input([inner.dn]), 'admin-1', systemContext),
      (error: unknown) =>
        refused((d) => {
          assert.equal(d.protectedGroup, acme.administrators.dn);
          assert.deepEqual(d.path, [inner.dn, outer.dn, acme.administrators.dn]);
        })(error) && /nested inside the protected group/.test((error as Error).message),
    );
  });

  it('when the tenant protects a group of its own, then a group nested in it is refused too', async () => {
    const { w, acme, profiles } = await setup();
    const crown = acme.addGroup('Crown Jewels');
    const child = acme.addGroup('Jewel Readers');
    acme.addMember(crown.dn, child.dn);
    await w.store.protectedGroups.add({
      tenantId: 'acme',
      guid: crown.guid,
      sid: crown.sid,
      dn: crown.dn,
      name: crown.name,
      addedAt: w.clock.now(),
    });
    await assert.rejects(
      profiles.create('acme', input([child.dn]), 'admin-1', systemContext),
      refused((d) => assert.equal(d.reason, 'protected by the tenant')),
    );
  });

  it('when groups are searched, then a protected one is shown with its protection before it is tried', async () => {
    const { acme, profiles } = await setup();
    acme.addGroup('Helpdesk');
    const found = await profiles.searchGroups('acme', 'Domain', 10);
    const admins = found.groups.find((g) => g.dn === acme.domainAdmins.dn)!;
    assert.equal(admins.protection?.protectedGroup, acme.domainAdmins.dn);
    assert.equal(found.groups.find((g) => g.name === 'Domain Users')!.protection, null);
  });

  it('when a group does not exist, or the name is taken, then the profile is refused', async () => {
    const { acme, profiles } = await setup();
    await assert.rejects(profiles.create('acme', input(['CN=Nope,DC=acme,DC=test']), 'admin-1', systemContext), (e: unknown) => {
      return e instanceof DomainError && e.code === 'group_not_found';
    });
    const helpdesk = acme.addGroup('Helpdesk');
    await profiles.create('acme', input([helpdesk.dn]), 'admin-1', systemContext);
    await assert.rejects(
      profiles.create('acme', input([helpdesk.dn]), 'admin-1', systemContext),
      (e: unknown) => e instanceof DomainError && e.code === 'conflict',
    );
  });

  it('when the directory cannot be reached, then the profile is not created', async () => {
    const { acme, profiles } = await setup();
    const helpdesk = acme.addGroup('Helpdesk');
    acme.fail('groupByDn');
    await assert.rejects(
      profiles.create('acme', input([helpdesk.dn]), 'admin-1', systemContext),
      (e: unknown) => e instanceof DomainError && e.code === 'directory_unreachable',
    );
    assert.deepEqual(await profiles.list('acme'), []);
  });
});
