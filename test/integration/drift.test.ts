// Drift (docs/security-model.md, Drift) against both real Samba domains, with the real reconcile worker every 2 s and
// both stores: a linked MSP account put into a managed group by hand is removed (acme, `remove`)
// or only reported (globex, `report`); anyone else in a managed group is reported once while they
// stay, never removed; an account with a live grant is left alone; drift raises a Slack alert.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemContext } from '../../src/services/context.ts';
import { startWorkers, type RunningWorkers } from '../../workers/runtime.ts';
import { runningClock } from '../support/clock.ts';
import { addMember, createTestOu, membersOf, removeMember } from '../support/directory.ts';
import { bearer, createTechnician, login } from '../support/factories.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { testServices } from '../support/services.ts';
import { addTenant, driftScans, eventually, operative, requestElevation, type Operative } from '../support/world.ts';

const { acme, globex } = testServices().domains;
const intervalSeconds = 2;
const alertChannel = 'C0DRIFT';

for (const engine of engines) {
  describe(`drift on ${engine}`, () => {
    let h: Harness;
    let fake: FakeSlack;
    let workers: RunningWorkers;
    let ou: Awaited<ReturnType<typeof createTestOu>>;
    let globexOu: Awaited<ReturnType<typeof createTestOu>>;
    let group: string;
    let globexGroup: string;
    let tech: Operative;
    let techInGlobex: string;
    let stranger: string;
    let scans: ReturnType<typeof driftScans>;

    const events = async (action: string) => (await h.container.store.audit.list({ action: action as never, limit: 500 })).reverse();
    const isMember = async (domain: typeof acme, groupDn: string, dn: string) =>
      (await membersOf(domain, groupDn)).includes(dn.toLowerCase());

    before(async () => {
      fake = await startFakeSlack();
      h = await startHarness({
        engine,
        clock: runningClock(),
        config: {
          queue: { reconcileIntervalSeconds: intervalSeconds },
          slack: {
            enabled: true,
            apiUrl: fake.apiUrl,
            botToken: fake.botToken,
            signingSecret: 'drift-test-signing-secret-0123456789',
            alertChannel,
          },
        },
      });
      await addTenant(h, acme);
      await addTenant(h, globex);
      ou = await createTestOu(acme, `drift-${engine}`);
      globexOu = await createTestOu(globex, `drift-${engine}`);
      group = await ou.group('Drift-Helpdesk');
      globexGroup = await globexOu.group('Drift-Servers');
      const admin = (await login(h, await createTechnician(h, ['admin']))).accessToken;
      // globex only reports drift: set through the API, as an admin would.
      const patched = await h.http.patch('/api/v1/tenants/globex').set(bearer(admin)).send({ driftMode: 'report' });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.body.tenant.driftMode, 'report');
      assert.equal(
        (await h.http.get('/api/v1/tenants').set(bearer(admin))).body.tenants.find((t: { id: string }) => t.id === 'acme').driftMode,
        'remove',
        'remove is the default',
      );
      for (const [tenant, groupDn] of [
        ['acme', group],
        ['globex', globexGroup],
      ] as const) {
        const created = await h.http
          .post(`/api/v1/tenants/${tenant}/profiles`)
          .set(bearer(admin))
          .send({
            name: 'helpdesk',
            groups: [groupDn],
            eligibleRoles: ['technician'],
            defaultDurationSeconds: 600,
            maxDurationSeconds: 600,
          });
        assert.equal(created.status, 201, JSON.stringify(created.body));
      }
      tech = await operative(h, acme, ou);
      const name = `msp-${tech.username.slice(0, 12)}`;
      techInGlobex = await globexOu.user(name, tech.accountPassword);
      await h.container.services.accounts.link('globex', tech.id, name, 'system', systemContext);
      // A real account of the tenant's own that no technician is linked to.
      stranger = await ou.user(`own-${engine}`, `Own-${Math.random().toString(36).slice(2)}-9Z`);
      scans = driftScans(h);
      workers = await startWorkers(h.container);
    });
    after(async () => {
      await workers.close();
      scans.restore();
      await h.close();
      await fake.close();
      await ou.cleanup();
      await globexOu.cleanup();
    });

    it('when a linked MSP account is put into a managed group by hand, then the reconciler’s next run removes it, audits who, what and when, and alerts', async () => {
      const before = (await events('drift.removed')).length;
      await addMember(acme, group, tech.accountDn);
      const addedAt = h.clock.now().getTime();
      // The first run that starts after the add removes it and audits it before it ends.
      await scans.after(1);
      assert.equal(await isMember(acme, group, tech.accountDn), false, 'removed');
      const removed = (await events('drift.removed')).slice(before);
      assert.equal(removed.length, 1, 'audited once');
      assert.equal(removed[0]!.tenantId, 'acme');
      assert.equal(removed[0]!.actor, 'system');
      assert.equal(removed[0]!.target, tech.id);
      assert.deepEqual(
        { ...removed[0]!.details, accountGuid: undefined },
        {
          technicianId: tech.id,
          username: tech.username,
          accountDn: tech.accountDn,
          accountGuid: undefined,
          group,
          groupName: 'Drift-Helpdesk',
        },
      );
      const at = new Date(removed[0]!.at).getTime();
      assert.ok(at >= addedAt && at <= h.clock.now().getTime(), 'when: between the add and now (on Stint’s clock)');
      const alert = await eventually(
        async () => fake.messagesIn(alertChannel).find((m) => /drift/.test(m.text) && /tenant acme/.test(m.text)),
        (m) => m !== undefined,
        30_000,
        'a drift alert in Slack',
      );
      assert.match(JSON.stringify(alert!.blocks), /removed/);
    });

    it('when the tenant only reports drift, then the linked account is reported once and stays in the group', async () => {
      await addMember(globex, globexGroup, techInGlobex);
      try {
        await scans.after(1);
        const reported = await events('drift.reported');
        assert.equal(reported.length, 1, 'reported by the next run');
        assert.equal(reported[0]!.tenantId, 'globex');
        assert.equal(reported[0]!.details.accountDn, techInGlobex);
        assert.equal(reported[0]!.details.group, globexGroup);
        await scans.after(2);
        assert.equal((await events('drift.reported')).length, 1, 'reported once, not every run');
        assert.equal(await isMember(globex, globexGroup, techInGlobex), true, 'report mode leaves the membership');
        assert.equal((await events('drift.removed')).filter((e) => e.tenantId === 'globex').length, 0);
      } finally {
        await removeMember(globex, globexGroup, techInGlobex);
      }
    });

    it('when an account no technician is linked to is in a managed group, then it is reported once while it stays, never removed, and again when it comes back', async () => {
      const mine = async () => (await events('drift.unexpected_member')).filter((e) => e.target === stranger);
      await addMember(acme, group, stranger);
      await scans.after(1);
      const first = await mine();
      assert.equal(first.length, 1, 'reported by the next run');
      assert.deepEqual(first[0]!.details, { member: stranger, group, groupName: 'Drift-Helpdesk' });
      await scans.after(2);
      const counts = await h.container.services.drift.scan();
      assert.equal(counts.unexpected, 0, 'nothing new to report');
      assert.equal((await mine()).length, 1, 'reported once');
      assert.equal(await isMember(acme, group, stranger), true, 'never removed');

      // Gone, then back: reported again.
      await removeMember(acme, group, stranger);
      await h.container.services.drift.scan();
      await addMember(acme, group, stranger);
      await scans.after(1);
      assert.equal((await mine()).length, 2, 'the report of its return');
      await removeMember(acme, group, stranger);
    });

    it('when a technician holds a live grant for the group, then the reconciler leaves the membership alone', async () => {
      const removedBefore = (await events('drift.removed')).length;
      const granted = await requestElevation(h, tech, { tenant: 'acme', profile: 'helpdesk', durationSeconds: 120 });
      assert.equal(granted.status, 201, JSON.stringify(granted.body));
      assert.equal(granted.body.state, 'active');
      await scans.after(2);
      const counts = await h.container.services.drift.scan();
      assert.equal(counts.removed, 0);
      assert.equal(await isMember(acme, group, tech.accountDn), true, 'the grant keeps its membership');
      assert.equal((await events('drift.removed')).length, removedBefore, 'no drift audited');
      await h.container.elevationUpkeep.end(granted.body.id, 'self', tech.id, systemContext);
      assert.equal(await isMember(acme, group, tech.accountDn), false);
    });

    it('when a grant is being activated (its membership added, the store still says activating), then that is not drift; once it has failed, it is', async () => {
      const granted = await requestElevation(h, tech, { tenant: 'acme', profile: 'helpdesk', durationSeconds: 120 });
      assert.equal(granted.status, 201, JSON.stringify(granted.body));
      // A second grant caught mid-activation: the membership is there, the state is `activating`.
      const live = (await h.container.store.elevations.findById(granted.body.id))!;
      const activating = {
        ...live,
        id: crypto.randomUUID(),
        state: 'activating' as const,
        activatedAt: null,
        endsAt: null,
        updatedAt: h.clock.now(),
      };
      await h.container.store.elevations.insert(activating);
      await h.container.elevationUpkeep.end(granted.body.id, 'self', tech.id, systemContext);
      assert.equal(await isMember(acme, group, tech.accountDn), true, 'kept for the grant being activated');
      const counts = await h.container.services.drift.scan();
      assert.equal(counts.removed, 0);
      await scans.after(1);
      assert.equal(await isMember(acme, group, tech.accountDn), true, 'the reconciler leaves an activating grant alone');

      const removedBefore = (await events('drift.removed')).length;
      assert.equal(
        await h.container.store.elevations.transition(
          activating.id,
          'activating',
          'failed',
          { failureReason: 'test', endedAt: h.clock.now() },
          h.clock.now(),
        ),
        true,
      );
      await scans.after(1);
      assert.equal(await isMember(acme, group, tech.accountDn), false, 'drift removal after the failure');
      assert.equal((await events('drift.removed')).length, removedBefore + 1);
    });
  });
}
