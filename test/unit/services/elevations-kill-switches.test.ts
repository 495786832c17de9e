// Kill switches (docs/security-model.md, Kill switches and the tenant freeze): a technician
// suspended with their sessions ended, every grant ended (kill_switch) and every request
// cancelled, in every tenant; a tenant frozen with everything in it ended, and nothing elsewhere.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ctx, disabledUac, elevationWorld, refusedWith } from './elevations-world.ts';

async function twoTenants() {
  const h = await elevationWorld();
  const admin = await h.technician('root', { roles: ['admin'] });
  const alice = await h.technician('alice');
  const bob = await h.technician('bob');
  const aliceAcme = await h.link(alice, 'acme');
  const aliceGlobex = await h.link(alice, 'globex');
  const bobAcme = await h.link(bob, 'acme');
  const acmeNow = await h.profile('acme');
  const acmeApproved = await h.profile('acme', { name: 'server-admins', approval: { required: 1 } });
  const globexNow = await h.profile('globex');
  const grants = {
    aliceAcme: await h.request(alice, 'acme'),
    aliceGlobex: await h.request(alice, 'globex'),
    alicePending: await h.request(alice, 'acme', 'server-admins'),
    bobAcme: await h.request(bob, 'acme'),
    bobPending: await h.request(bob, 'acme', 'server-admins'),
  };
  const acme = h.w.domains.acme!;
  const globex = h.w.domains.globex!;
  return { ...h, admin, alice, bob, aliceAcme, aliceGlobex, bobAcme, acmeNow, acmeApproved, globexNow, grants, acme, globex };
}

type World = Awaited<ReturnType<typeof twoTenants>>;
const stateOf = async (h: World, id: string) => (await h.elevation(id)).state;

describe('elevations: kill switches', () => {
  it('when a technician is killed, then they are suspended, their sessions end, their grants everywhere end and their request is cancelled', async () => {
    const h = await twoTenants();
    const at = h.clock.now();
    await h.w.store.sessions.insert({
      id: 's-1',
      technicianId: h.alice.id,
      refreshHash: 'h',
      createdAt: at,
      lastRefreshedAt: at,
      revokedAt: null,
      sourceIp: null,
      userAgent: null,
    });
    const result = await h.useCases.killTechnician(h.admin, h.alice.id, { code: await h.code(h.admin), reason: 'laptop stolen' }, ctx);
    assert.deepEqual(result, { revoked: 2, cancelled: 1, stillRevoking: 0, endedSessions: 1, suspended: true });
    assert.equal((await h.fresh(h.alice)).status, 'suspended');
    assert.notEqual((await h.w.store.sessions.findById('s-1'))!.revokedAt, null);
    for (const id of [h.grants.aliceAcme.id, h.grants.aliceGlobex.id]) {
      const e = await h.elevation(id);
      assert.equal(e.state, 'revoked');
      assert.equal(e.revocationReason, 'kill_switch');
    }
    assert.equal(await stateOf(h, h.grants.alicePending.id), 'cancelled');
    assert.deepEqual(h.acme.members(h.acmeNow.groups[0]!.dn), [h.bobAcme.dn], 'bob keeps his grant');
    assert.deepEqual(h.globex.members(h.globexNow.groups[0]!.dn), []);
    assert.equal(h.aliceAcme.userAccountControl, disabledUac);
    assert.equal(h.aliceGlobex.userAccountControl, disabledUac);
    assert.equal(await stateOf(h, h.grants.bobAcme.id), 'active');
    assert.equal(await stateOf(h, h.grants.bobPending.id), 'pending_approval');
    const [event] = await h.w.store.audit.list({ action: 'kill_switch.technician', limit: 1 });
    assert.equal(event!.actor, h.admin.id);
    assert.deepEqual(event!.details, { reason: 'laptop stolen', endedSessions: 1, suspended: true });
    const [cancelled] = await h.w.store.audit.list({ target: h.grants.alicePending.id, action: 'elevation.cancelled', limit: 1 });
    assert.deepEqual(cancelled!.details, { reason: 'kill_switch' });
    const alert = h.w.notifications.published.find((n) => n.kind === 'alert' && n.alert === 'kill_switch');
    assert.ok(alert && alert.kind === 'alert');
    assert.equal(alert.subject, 'technician alice');
    // A suspended technician asks for nothing any more.
    await assert.rejects(h.request(h.alice, 'globex'), refusedWith('technician_suspended'));
  });

  it('when the last active admin would be killed, then it is refused before any code is spent', async () => {
    const h = await twoTenants();
    await assert.rejects(h.useCases.killTechnician(h.admin, h.admin.id, { code: await h.code(h.admin) }, ctx), refusedWith('last_admin'));
    assert.equal((await h.fresh(h.admin)).status, 'active');
  });

  it('when a tenant is killed, then it is frozen and everything in it ends, but the other tenant keeps its grants', async () => {
    const h = await twoTenants();
    const result = await h.useCases.killTenant(h.admin, 'acme', { code: await h.code(h.admin), reason: 'breach' }, ctx);
    assert.deepEqual(result, { revoked: 2, cancelled: 2, stillRevoking: 0, frozen: true });
    const tenant = (await h.w.store.tenants.findById('acme'))!;
    assert.equal(tenant.frozen?.by, h.admin.id);
    assert.equal(tenant.frozen?.reason, 'breach');
    for (const id of [h.grants.aliceAcme.id, h.grants.bobAcme.id]) {
      assert.equal(await stateOf(h, id), 'revoked');
      assert.equal((await h.elevation(id)).revocationReason, 'kill_switch');
    }
    for (const id of [h.grants.alicePending.id, h.grants.bobPending.id]) assert.equal(await stateOf(h, id), 'cancelled');
    assert.deepEqual(h.acme.members(h.acmeNow.groups[0]!.dn), []);
    assert.equal(await stateOf(h, h.grants.aliceGlobex.id), 'active');
    assert.deepEqual(h.globex.members(h.globexNow.groups[0]!.dn), [h.aliceGlobex.dn]);
    assert.equal((await h.fresh(h.alice)).status, 'active', 'the technicians are not suspended');
    assert.deepEqual(
      (await h.actions('acme')).filter((a) => a.startsWith('tenant.') || a.startsWith('kill_switch')),
      ['tenant.frozen', 'kill_switch.tenant'],
    );
    // Nothing starts in a frozen tenant; the freeze lifted, it does again.
    h.clock.advance(60_000);
    await assert.rejects(h.request(h.alice, 'acme'), refusedWith('tenant_frozen'));
    await h.useCases.unfreezeTenant(h.admin, 'acme', { code: await h.code(h.admin) }, ctx);
    assert.equal((await h.request(h.alice, 'acme')).state, 'active');
  });

  it('when a tenant is archived, then everything in it ends and it is archived for good', async () => {
    const h = await twoTenants();
    const result = await h.useCases.archiveTenant(h.admin, 'acme', { code: await h.code(h.admin) }, ctx);
    assert.equal(result.revoked, 2);
    assert.equal(result.cancelled, 2);
    assert.notEqual(result.tenant.archived, null);
    await assert.rejects(h.useCases.unfreezeTenant(h.admin, 'acme', { code: await h.code(h.admin) }, ctx), refusedWith('tenant_archived'));
    assert.equal(await stateOf(h, h.grants.aliceGlobex.id), 'active');
  });

  it('when the directory does not answer during a tenant kill, then the grants stay `revoking` and the reconciler finishes them', async () => {
    const h = await twoTenants();
    h.acme.fail('removeMembers', undefined, 100);
    const result = await h.useCases.killTenant(h.admin, 'acme', { code: await h.code(h.admin) }, ctx);
    assert.deepEqual(result, { revoked: 0, cancelled: 2, stillRevoking: 2, frozen: true });
    assert.equal(await stateOf(h, h.grants.aliceAcme.id), 'revoking');
    h.acme.fail('removeMembers', undefined, 0);
    const counts = await h.upkeep.reconcile();
    assert.equal(counts.frozen, 0, 'nothing left active or pending in the frozen tenant');
    h.clock.advance(121_000);
    assert.equal((await h.upkeep.reconcile()).resumed, 2);
    assert.equal(await stateOf(h, h.grants.aliceAcme.id), 'revoked');
    assert.equal(await stateOf(h, h.grants.bobAcme.id), 'revoked');
    assert.deepEqual(h.acme.members(h.acmeNow.groups[0]!.dn), []);
  });
});
