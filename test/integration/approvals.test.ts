// Approvals (docs/architecture.md, Approvals) against a real Samba domain and both stores: N approvals from the named
// approvers, never the requester's own, one approver counting once, one deny ending it, and a
// request nobody decides on lapsing. The grant starts only once approved, in the directory too.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemContext } from '../../src/services/context.ts';
import { createTestOu, membersOf } from '../support/directory.ts';
import { bearer, codeNow, createTechnician, login } from '../support/factories.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { testServices } from '../support/services.ts';
import { addTenant, operative, requestElevation, type Operative } from '../support/world.ts';

const { acme } = testServices().domains;

type Approver = Operative;

for (const engine of engines) {
  describe(`approvals on ${engine}`, () => {
    let h: Harness;
    let ou: Awaited<ReturnType<typeof createTestOu>>;
    let group: string;
    let tech: Operative;
    let alice: Approver;
    let bob: Approver;
    let outsider: Approver;

    /** An approver for `tenants`; with a linked account too when they may also request. */
    async function approver(tenants: string[], alsoTechnician = false): Promise<Approver> {
      const who = await operative(h, acme, ou, alsoTechnician ? ['technician', 'approver'] : ['approver']);
      await h.container.services.technicians.update(who.id, { approverTenants: tenants }, 'system', systemContext);
      return who;
    }

    async function decide(who: Operative, id: string, decision: 'approve' | 'deny', extra: Record<string, unknown> = {}) {
      h.clock.advance(30_000);
      const code = await codeNow(h, who.totpSecret!);
      return h.http
        .post(`/api/v1/elevations/${id}/${decision}`)
        .set(bearer(who.accessToken))
        .send({ code, ...extra });
    }

    const audited = async (id: string) =>
      (await h.container.store.audit.list({ limit: 200 }))
        .filter((e) => e.target === id)
        .map((e) => e.action)
        .reverse();

    before(async () => {
      // Hours pass on the test's clock while requests wait: sessions outlive them.
      h = await startHarness({ engine, config: { auth: { accessTokenTtlSeconds: 86_400, refreshIdleSeconds: 86_400 } } });
      await addTenant(h, acme);
      ou = await createTestOu(acme, `ap-${engine}`);
      group = await ou.group('Server-Operators-Approved');
      const admin = (await login(h, await createTechnician(h, ['admin']))).accessToken;
      tech = await operative(h, acme, ou);
      alice = await approver(['acme']);
      bob = await approver(['acme']);
      outsider = await approver(['globex']);
      const profile = await h.http
        .post('/api/v1/tenants/acme/profiles')
        .set(bearer(admin))
        .send({
          name: 'guarded',
          groups: [group],
          eligibleRoles: ['technician'],
          defaultDurationSeconds: 600,
          maxDurationSeconds: 3600,
          approval: { required: 2 },
        });
      assert.equal(profile.status, 201, JSON.stringify(profile.body));
      assert.deepEqual(profile.body.approval, { required: 2, approvers: [], timeoutSeconds: 3600, reapproveExtensions: false });
    });
    after(async () => {
      await h.close();
      await ou.cleanup();
    });

    it('when two approvers approve, then the grant starts only at the second, and the membership appears in AD then', async () => {
      const asked = await requestElevation(h, tech, { tenant: 'acme', profile: 'guarded', justification: 'patch night' });
      assert.equal(asked.status, 202, JSON.stringify(asked.body));
      assert.equal(asked.body.state, 'pending_approval');
      assert.equal(asked.body.activatedAt, null);
      assert.ok(!(await membersOf(acme, group)).includes(tech.accountDn.toLowerCase()), 'nothing in AD before approval');

      const queue = await h.http.get('/api/v1/approvals').set(bearer(alice.accessToken));
      assert.deepEqual(
        queue.body.elevations.map((e: { id: string }) => e.id),
        [asked.body.id],
      );
      const elsewhere = await h.http.get('/api/v1/approvals').set(bearer(outsider.accessToken));
      assert.deepEqual(elsewhere.body.elevations, [], 'an approver of another tenant sees nothing');

      const first = await decide(alice, asked.body.id, 'approve');
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.state, 'pending_approval');
      assert.equal(first.body.approval.decisions.length, 1);

      const again = await decide(alice, asked.body.id, 'approve');
      assert.equal(again.status, 409, 'the same approver counts once');
      assert.equal(again.body.error.code, 'already_decided');
      assert.equal((await h.http.get(`/api/v1/elevations/${asked.body.id}`).set(bearer(tech.accessToken))).body.state, 'pending_approval');
      assert.deepEqual(
        (await h.http.get('/api/v1/approvals').set(bearer(alice.accessToken))).body.elevations,
        [],
        'decided: gone from my queue',
      );

      const foreign = await decide(outsider, asked.body.id, 'approve');
      assert.equal(foreign.status, 404, 'an approver of another tenant cannot even see it');

      h.clock.advance(600_000); // ten minutes pass while waiting: the grant's clock has not started
      const second = await decide(bob, asked.body.id, 'approve');
      assert.equal(second.status, 200, JSON.stringify(second.body));
      assert.equal(second.body.state, 'active');
      assert.equal(
        new Date(second.body.endsAt).getTime() - new Date(second.body.activatedAt).getTime(),
        600_000,
        'the clock starts at activation',
      );
      assert.ok(new Date(second.body.activatedAt) > new Date(asked.body.requestedAt));
      assert.ok((await membersOf(acme, group)).includes(tech.accountDn.toLowerCase()));
      assert.deepEqual(await audited(asked.body.id), [
        'elevation.requested',
        'elevation.approved',
        'elevation.approved',
        'elevation.activated',
      ]);

      const revoke = await h.http.post(`/api/v1/elevations/${asked.body.id}/revoke`).set(bearer(tech.accessToken)).send({});
      assert.equal(revoke.body.state, 'revoked');
    });

    it('when the requester is an approver too, then they cannot approve their own request', async () => {
      const both = await approver(['acme'], true);
      const asked = await requestElevation(h, both, { tenant: 'acme', profile: 'guarded' });
      assert.equal(asked.status, 202);
      const own = await decide(both, asked.body.id, 'approve');
      assert.equal(own.status, 403);
      assert.equal(own.body.error.code, 'self_approval');
      const stored = await h.container.store.elevations.findById(asked.body.id);
      assert.deepEqual(stored!.decisions, [], 'nothing was counted');
      assert.equal(
        (await h.http.post(`/api/v1/elevations/${asked.body.id}/cancel`).set(bearer(both.accessToken)).send({})).body.state,
        'cancelled',
      );
    });

    it('when one approver denies, then the request ends denied and later approvals change nothing', async () => {
      const asked = await requestElevation(h, tech, { tenant: 'acme', profile: 'guarded' });
      const yes = await decide(alice, asked.body.id, 'approve');
      assert.equal(yes.status, 200);
      const no = await decide(bob, asked.body.id, 'deny', { reason: 'not during the freeze' });
      assert.equal(no.status, 200, JSON.stringify(no.body));
      assert.equal(no.body.state, 'denied');
      assert.equal(no.body.approval.decisions.find((d: { decision: string }) => d.decision === 'deny').reason, 'not during the freeze');
      const late = await decide(outsider, asked.body.id, 'approve');
      assert.equal(late.status, 404);
      const third = await approver(['acme']);
      const after = await decide(third, asked.body.id, 'approve');
      assert.equal(after.status, 409);
      assert.equal(after.body.error.code, 'approval_closed');
      assert.ok(!(await membersOf(acme, group)).includes(tech.accountDn.toLowerCase()));
      assert.deepEqual(await audited(asked.body.id), ['elevation.requested', 'elevation.approved', 'elevation.denied']);
    });

    it('when nobody decides within the timeout, then the reconciler ends the request cancelled and approving is refused', async () => {
      const asked = await requestElevation(h, tech, { tenant: 'acme', profile: 'guarded' });
      assert.equal(asked.status, 202);
      h.clock.advance(59 * 60_000);
      await h.container.elevationUpkeep.reconcile();
      assert.equal((await h.container.store.elevations.findById(asked.body.id))!.state, 'pending_approval', 'not yet');
      h.clock.advance(2 * 60_000);
      const counts = await h.container.elevationUpkeep.reconcile();
      assert.equal(counts.lapsed, 1);
      const lapsed = await h.container.store.elevations.findById(asked.body.id);
      assert.equal(lapsed!.state, 'cancelled');
      const event = (await h.container.store.audit.list({ limit: 20 })).find(
        (e) => e.target === asked.body.id && e.action === 'elevation.cancelled',
      );
      assert.equal(event?.details.reason, 'approval_timeout');
      const tooLate = await decide(alice, asked.body.id, 'approve');
      assert.equal(tooLate.status, 409);
    });

    it('when two approvers approve at the same moment, then both count and the grant starts exactly once', async () => {
      const asked = await requestElevation(h, tech, { tenant: 'acme', profile: 'guarded' });
      h.clock.advance(30_000);
      const [a, b] = await Promise.all(
        [alice, bob].map(async (who) =>
          h.http
            .post(`/api/v1/elevations/${asked.body.id}/approve`)
            .set(bearer(who.accessToken))
            .send({ code: await codeNow(h, who.totpSecret!) }),
        ),
      );
      assert.deepEqual([a!.status, b!.status].sort(), [200, 200], JSON.stringify([a!.body, b!.body]));
      const stored = await h.container.store.elevations.findById(asked.body.id);
      assert.equal(stored!.state, 'active');
      assert.equal(stored!.decisions.length, 2);
      assert.equal((await audited(asked.body.id)).filter((x) => x === 'elevation.activated').length, 1);
      await h.container.elevationUpkeep.end(asked.body.id, 'admin', 'system', systemContext);
    });

    it('when a profile names its approvers, then an approver of the tenant who is not named may not decide', async () => {
      const admin = (await login(h, await createTechnician(h, ['admin']))).accessToken;
      const named = await h.http
        .post('/api/v1/tenants/acme/profiles')
        .set(bearer(admin))
        .send({
          name: 'named',
          groups: [group],
          eligibleRoles: ['technician'],
          defaultDurationSeconds: 600,
          maxDurationSeconds: 3600,
          approval: { required: 1, approvers: [alice.id] },
        });
      assert.equal(named.status, 201, JSON.stringify(named.body));
      const asked = await requestElevation(h, tech, { tenant: 'acme', profile: 'named' });
      const notNamed = await decide(bob, asked.body.id, 'approve');
      assert.equal(notNamed.status, 403);
      const yes = await decide(alice, asked.body.id, 'approve');
      assert.equal(yes.body.state, 'active');
      await h.container.elevationUpkeep.end(asked.body.id, 'admin', 'system', systemContext);
    });

    it('when approve is called with a wrong code or a bad body, then it is refused and nothing is counted', async () => {
      const asked = await requestElevation(h, tech, { tenant: 'acme', profile: 'guarded' });
      const wrong = await h.http
        .post(`/api/v1/elevations/${asked.body.id}/approve`)
        .set(bearer(alice.accessToken))
        .send({ code: '000000' });
      assert.equal(wrong.status, 401);
      const bad = await h.http.post(`/api/v1/elevations/${asked.body.id}/approve`).set(bearer(alice.accessToken)).send({ code: 123456 });
      assert.equal(bad.status, 400);
      const asTechnician = await h.http
        .post(`/api/v1/elevations/${asked.body.id}/approve`)
        .set(bearer(tech.accessToken))
        .send({ code: '123456' });
      assert.equal(asTechnician.status, 403);
      assert.deepEqual((await h.container.store.elevations.findById(asked.body.id))!.decisions, []);
      await h.http.post(`/api/v1/elevations/${asked.body.id}/cancel`).set(bearer(tech.accessToken)).send({});
    });
  });
}
