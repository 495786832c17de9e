// What is checked at the moment a grant starts or is extended, however long the request waited
// (docs/architecture.md, Activation; docs/security-model.md, Protected groups), against a real Samba domain and both stores: exactly the groups about to be
// added are checked for protection (never the profile's list of now), a profile changed or
// suspended while a request waited grants nothing, and a suspended technician's requests are
// withdrawn and can never start.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemContext } from '../../src/services/context.ts';
import { addMember, createTestOu, deleteEntry, domainAdminsDn, membersOf, removeMember, renameEntry } from '../support/directory.ts';
import { bearer, codeNow, createTechnician, login } from '../support/factories.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { testServices } from '../support/services.ts';
import { addTenant, operative, requestElevation, type Operative } from '../support/world.ts';

const { acme } = testServices().domains;

for (const engine of engines) {
  describe(`checks at activation on ${engine}`, () => {
    let h: Harness;
    let ou: Awaited<ReturnType<typeof createTestOu>>;
    let adminToken: string;
    let approver: Operative;

    const profileBody = (name: string, groups: string[], approvals: number) => ({
      name,
      groups,
      eligibleRoles: ['technician'],
      defaultDurationSeconds: 600,
      maxDurationSeconds: 3600,
      ...(approvals > 0 && { approval: { required: approvals } }),
    });

    async function createProfile(name: string, groups: string[], approvals: number): Promise<string> {
      const created = await h.http
        .post('/api/v1/tenants/acme/profiles')
        .set(bearer(adminToken))
        .send(profileBody(name, groups, approvals));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return created.body.id as string;
    }

    async function approve(id: string) {
      h.clock.advance(30_000);
      return h.http
        .post(`/api/v1/elevations/${id}/approve`)
        .set(bearer(approver.accessToken))
        .send({ code: await codeNow(h, approver.totpSecret!) });
    }

    const isMember = async (group: string, who: Operative) => (await membersOf(acme, group)).includes(who.accountDn.toLowerCase());
    const eventsOf = async (target: string) =>
      (await h.container.store.audit.list({ limit: 500 })).filter((e) => e.target === target).reverse();

    before(async () => {
      h = await startHarness({ engine, config: { auth: { accessTokenTtlSeconds: 86_400, refreshIdleSeconds: 86_400 } } });
      await addTenant(h, acme);
      ou = await createTestOu(acme, `act-${engine}`);
      adminToken = (await login(h, await createTechnician(h, ['admin']))).accessToken;
      approver = await operative(h, acme, ou, ['approver']);
      await h.container.services.technicians.update(approver.id, { approverTenants: ['acme'] }, 'system', systemContext);
    });
    after(async () => {
      await h.close();
      await ou.cleanup();
    });

    it('when a pending request’s group is nested into Domain Admins, the review suspends the profile and an admin edits it to another group, then the approval adds nothing to the nested group', async () => {
      const g1 = await ou.group('Bypass-G1');
      const g2 = await ou.group('Bypass-G2');
      const tech = await operative(h, acme, ou);
      const profileId = await createProfile('bypass', [g1], 1);
      const asked = await requestElevation(h, tech, { tenant: 'acme', profile: 'bypass' });
      assert.equal(asked.status, 202, JSON.stringify(asked.body));
      await addMember(acme, domainAdminsDn(acme), g1);
      try {
        await h.container.services.reviews.runScheduled('acme', `act-${engine}-${Date.now()}`);
        assert.equal((await h.container.store.profiles.findById(profileId))!.status, 'suspended', 'the review suspended the profile');
        const edited = await h.http
          .patch(`/api/v1/tenants/acme/profiles/${profileId}`)
          .set(bearer(adminToken))
          .send(profileBody('bypass', [g2], 1));
        assert.equal(edited.status, 200, JSON.stringify(edited.body));
        assert.equal(edited.body.status, 'active', 'the edit cleared the suspension');

        const approved = await approve(asked.body.id);
        assert.equal(approved.status, 422, JSON.stringify(approved.body));
        assert.equal(approved.body.error.code, 'group_protected');
        assert.equal(approved.body.error.details.group.toLowerCase(), g1.toLowerCase());
        assert.equal(await isMember(g1, tech), false, 'never added to the group now inside Domain Admins');
        assert.equal(await isMember(g2, tech), false, 'nor to the group the request never asked for');
        const stored = await h.container.store.elevations.findById(asked.body.id);
        assert.equal(stored!.state, 'failed');
        assert.match(stored!.failureReason!, /protected/);
        const failed = (await eventsOf(asked.body.id)).find((e) => e.action === 'elevation.failed');
        assert.match(String(failed?.details.reason), /Bypass-G1.*protected/);
        assert.equal(
          (await h.container.store.profiles.findById(profileId))!.status,
          'active',
          'the profile no longer holds that group: left alone',
        );
      } finally {
        await removeMember(acme, domainAdminsDn(acme), g1);
      }
    });

    it('when a pending request’s group becomes protected and other profiles hold it, then the approval fails and every profile holding it is suspended', async () => {
      const group = await ou.group('Nested-Later');
      const tech = await operative(h, acme, ou);
      const asking = await createProfile('nested-later', [group], 1);
      const other = await createProfile('nested-other', [group], 0);
      const asked = await requestElevation(h, tech, { tenant: 'acme', profile: 'nested-later' });
      assert.equal(asked.status, 202);
      await addMember(acme, domainAdminsDn(acme), group);
      try {
        const approved = await approve(asked.body.id);
        assert.equal(approved.status, 422, JSON.stringify(approved.body));
        assert.equal(approved.body.error.code, 'group_protected');
        assert.equal(await isMember(group, tech), false);
        for (const id of [asking, other]) {
          assert.equal((await h.container.store.profiles.findById(id))!.status, 'suspended');
          assert.ok(
            (await eventsOf(id)).some((e) => e.action === 'profile.suspended'),
            'audited',
          );
        }
      } finally {
        await removeMember(acme, domainAdminsDn(acme), group);
      }
    });

    it('when a pending request’s group is renamed and another group, inside Domain Admins, takes its old name, then the approval adds nothing to either', async () => {
      const original = await ou.group('Taken-Name');
      const tech = await operative(h, acme, ou);
      await createProfile('taken-name', [original], 1);
      const asked = await requestElevation(h, tech, { tenant: 'acme', profile: 'taken-name' });
      assert.equal(asked.status, 202);
      const renamed = await renameEntry(acme, original, `Taken-Name-Old-${engine}`);
      let impostor = '';
      try {
        impostor = await ou.group('Taken-Name', { sAMAccountName: `Impostor-${engine}` });
        await addMember(acme, domainAdminsDn(acme), impostor);
        const approved = await approve(asked.body.id);
        assert.equal(approved.status, 422, JSON.stringify(approved.body));
        assert.equal(approved.body.error.code, 'group_not_found');
        assert.match(approved.body.error.message, /renamed or moved/);
        assert.equal(await isMember(impostor, tech), false, 'never added to the group that took the old name');
        assert.equal(await isMember(renamed, tech), false);
        assert.equal((await h.container.store.elevations.findById(asked.body.id))!.state, 'failed');
      } finally {
        if (impostor) await removeMember(acme, domainAdminsDn(acme), impostor).catch(() => undefined);
        await deleteEntry(acme, renamed).catch(() => undefined);
      }
    });

    it('when the profile’s groups are changed while a request waits, then the approval is refused and the account lands in neither group', async () => {
      const before = await ou.group('Changed-Before');
      const afterwards = await ou.group('Changed-After');
      const tech = await operative(h, acme, ou);
      const profileId = await createProfile('changed', [before], 1);
      const asked = await requestElevation(h, tech, { tenant: 'acme', profile: 'changed' });
      const edited = await h.http
        .patch(`/api/v1/tenants/acme/profiles/${profileId}`)
        .set(bearer(adminToken))
        .send(profileBody('changed', [afterwards], 1));
      assert.equal(edited.status, 200);
      const approved = await approve(asked.body.id);
      assert.equal(approved.status, 409, JSON.stringify(approved.body));
      assert.equal(approved.body.error.code, 'conflict');
      assert.match(approved.body.error.message, /groups changed/);
      assert.equal(await isMember(before, tech), false);
      assert.equal(await isMember(afterwards, tech), false);
      assert.equal((await h.container.store.elevations.findById(asked.body.id))!.state, 'failed');
    });

    it('when the profile is suspended while a request waits, then the approval is refused', async () => {
      const group = await ou.group('Suspended-Meanwhile');
      const tech = await operative(h, acme, ou);
      const profileId = await createProfile('suspended-meanwhile', [group], 1);
      const asked = await requestElevation(h, tech, { tenant: 'acme', profile: 'suspended-meanwhile' });
      await h.container.store.profiles.setStatus(profileId, 'suspended', 'suspended by hand', h.clock.now());
      const approved = await approve(asked.body.id);
      assert.equal(approved.status, 409, JSON.stringify(approved.body));
      assert.equal(approved.body.error.code, 'profile_suspended');
      assert.equal(await isMember(group, tech), false);
    });

    it('when an active grant’s group becomes protected, then an extension is refused, audited, and the profile suspended', async () => {
      const group = await ou.group('Extend-Nested');
      const tech = await operative(h, acme, ou);
      const profileId = await createProfile('extend-nested', [group], 0);
      const granted = await requestElevation(h, tech, { tenant: 'acme', profile: 'extend-nested', durationSeconds: 600 });
      assert.equal(granted.status, 201, JSON.stringify(granted.body));
      await addMember(acme, domainAdminsDn(acme), group);
      try {
        h.clock.advance(30_000);
        const extended = await h.http
          .post(`/api/v1/elevations/${granted.body.id}/extend`)
          .set(bearer(tech.accessToken))
          .send({ durationSeconds: 600, code: await codeNow(h, tech.totpSecret!) });
        assert.equal(extended.status, 422, JSON.stringify(extended.body));
        assert.equal(extended.body.error.code, 'group_protected');
        const stored = await h.container.store.elevations.findById(granted.body.id);
        assert.equal(stored!.endsAt!.getTime(), new Date(granted.body.endsAt).getTime(), 'the end did not move');
        const denied = (await eventsOf(granted.body.id)).find((e) => e.action === 'elevation.extension_denied');
        assert.equal(denied?.details.reason, 'group_protected');
        assert.equal((await h.container.store.profiles.findById(profileId))!.status, 'suspended');
      } finally {
        await removeMember(acme, domainAdminsDn(acme), group);
        await h.container.elevationUpkeep.end(granted.body.id, 'admin', 'system', systemContext);
      }
    });

    it('when a technician is suspended, then their pending requests are withdrawn (audited) and an approval afterwards is refused', async () => {
      const group = await ou.group('Suspend-Pending');
      const tech = await operative(h, acme, ou);
      await createProfile('suspend-pending', [group], 1);
      const asked = await requestElevation(h, tech, { tenant: 'acme', profile: 'suspend-pending' });
      assert.equal(asked.status, 202);
      const suspended = await h.http.patch(`/api/v1/technicians/${tech.id}`).set(bearer(adminToken)).send({ status: 'suspended' });
      assert.equal(suspended.status, 200, JSON.stringify(suspended.body));
      const stored = await h.container.store.elevations.findById(asked.body.id);
      assert.equal(stored!.state, 'cancelled');
      const cancelled = (await eventsOf(asked.body.id)).find((e) => e.action === 'elevation.cancelled');
      assert.equal(cancelled?.details.reason, 'technician_suspended');
      assert.notEqual(cancelled?.actor, tech.id, 'withdrawn by the admin who suspended them');
      const suspension = (await eventsOf(tech.id)).find((e) => e.action === 'technician.suspended');
      assert.equal(suspension?.details.cancelledRequests, 1);
      const approved = await approve(asked.body.id);
      assert.equal(approved.status, 409, JSON.stringify(approved.body));
      assert.equal(approved.body.error.code, 'approval_closed');
      assert.equal(await isMember(group, tech), false);
    });

    it('when a request is approved after its requester was suspended (a decision racing the suspension), then activation itself refuses it', async () => {
      const group = await ou.group('Suspend-Race');
      const tech = await operative(h, acme, ou);
      await createProfile('suspend-race', [group], 1);
      const asked = await requestElevation(h, tech, { tenant: 'acme', profile: 'suspend-race' });
      assert.equal(asked.status, 202);
      // As a suspension that commits after the approval read the request: the status changes, the request is still pending.
      await h.container.store.technicians.update(tech.id, { status: 'suspended' }, h.clock.now());
      const approved = await approve(asked.body.id);
      assert.equal(approved.status, 403, JSON.stringify(approved.body));
      assert.equal(approved.body.error.code, 'technician_suspended');
      assert.equal(await isMember(group, tech), false);
      assert.equal((await h.container.store.elevations.findById(asked.body.id))!.state, 'failed');
      // A suspended technician cannot ask again either, whatever session or modal they still hold.
      await assert.rejects(
        h.container.services.elevations.request(
          (await h.container.store.technicians.findById(tech.id))!,
          { tenantId: 'acme', profile: 'suspend-race', code: '000000' },
          systemContext,
        ),
        (error: Error & { code?: string }) => error.code === 'technician_suspended',
      );
    });

    it('when a request slipped in while its requester was being suspended, then the next reconcile withdraws it', async () => {
      const group = await ou.group('Suspend-Slipped');
      const tech = await operative(h, acme, ou);
      await createProfile('suspend-slipped', [group], 1);
      const asked = await requestElevation(h, tech, { tenant: 'acme', profile: 'suspend-slipped' });
      assert.equal(asked.status, 202);
      await h.container.store.technicians.update(tech.id, { status: 'suspended' }, h.clock.now());
      const counts = await h.container.elevationUpkeep.reconcile();
      assert.ok(counts.suspended >= 1, JSON.stringify(counts));
      assert.equal((await h.container.store.elevations.findById(asked.body.id))!.state, 'cancelled');
      assert.equal((await eventsOf(asked.body.id)).find((e) => e.action === 'elevation.cancelled')?.details.reason, 'technician_suspended');
    });
  });
}
