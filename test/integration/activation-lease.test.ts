// An activation interrupted mid-way holds access for seconds, not minutes (docs/architecture.md, Activation leases):
// each activation in flight holds a short lease in the store, renewed by its process. A real API
// process SIGKILLed while its activation is held mid-way (the directory has applied the member add;
// its answer is held) is undone as soon as its lease has lapsed, on the injected clock, never
// before; a slow activation whose process is alive renews its lease and is never undone under it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { totpCodeAt } from '../../src/adapters/crypto/totp.ts';
import { isAccountEnabled } from '../../src/domain/ad.ts';
import { systemContext } from '../../src/services/context.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { runningClock } from '../support/clock.ts';
import { createTestOu, membersOf, readUser } from '../support/directory.ts';
import { bearer, createTechnician, login } from '../support/factories.ts';
import { engines, startHarness, testConfig, type Harness } from '../support/harness.ts';
import { holdMemberAdd } from '../support/held-member-add.ts';
import { waitForOutput } from '../support/processes.ts';
import { repoRoot, testServices } from '../support/services.ts';
import { addTenant, createProfile, eventually, operative, requestElevation } from '../support/world.ts';

const { acme } = testServices().domains;
const leaseSeconds = 6;

for (const engine of engines) {
  describe(`activation leases on ${engine}`, () => {
    let h: Harness;
    let ou: Awaited<ReturnType<typeof createTestOu>>;
    let group: string;

    const isMember = async (dn: string) => (await membersOf(acme, group)).includes(dn.toLowerCase());
    const activatingOf = (technicianId: string) => h.container.store.elevations.list({ technicianId, states: ['activating'] });

    before(async () => {
      h = await startHarness({ engine, clock: runningClock(), config: { elevation: { activationLeaseSeconds: leaseSeconds } } });
      await addTenant(h, acme);
      ou = await createTestOu(acme, `lease-${engine}`);
      group = await ou.group('Lease-Ops');
      const admin = (await login(h, await createTechnician(h, ['admin']))).accessToken;
      h.clock.set(Date.now());
      await createProfile(h, admin, 'acme', { name: 'ops', groups: [group], defaultDurationSeconds: 600, maxDurationSeconds: 3600 });
    });
    after(async () => {
      await h.close();
      await ou.cleanup();
    });

    it('when the API is SIGKILLed mid-activation, then the account stays in the group only until its lease lapses, and is undone then', async () => {
      h.clock.set(Date.now());
      const tech = await operative(h, acme, ou, ['technician'], true);
      const api = spawn(process.execPath, ['--import', './test/support/held-member-add-preload.ts', 'src/main.ts'], {
        cwd: repoRoot,
        env: {
          PATH: process.env.PATH ?? '',
          STINT_DATA_DIR: h.config.dataDir,
          STINT_DATABASE__URL: h.config.database.url,
          STINT_REDIS__URL: h.config.redis.url,
          STINT_SECRETS__MASTER_KEY: h.masterKey,
          STINT_QUEUE__PREFIX: h.config.queue.prefix,
          STINT_SERVER__PORT: '0',
          STINT_LOGGING__LEVEL: 'info',
          HOLD_MEMBER_DN_FOR_TEST: tech.accountDn,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise((resolve) => api.once('exit', resolve));
      try {
        const listening = await waitForOutput(api, /Stint API listening/);
        const url = /"url":"(http:[^"]+)"/.exec(listening)![1]!;
        const held = waitForOutput(api, /test hold: member add applied and held/);
        // The request never gets its answer: its process dies first.
        const asked = fetch(`${url}/api/v1/elevations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...bearer(tech.accessToken) },
          body: JSON.stringify({ tenant: 'acme', profile: 'ops', code: await totpCodeAt(tech.totpSecret!, new Date()) }),
        }).catch((error: unknown) => error);
        await held;
        assert.equal(await isMember(tech.accountDn), true, 'in the group while the activation is held');
        assert.equal(isAccountEnabled((await readUser(acme, tech.accountDn)).userAccountControl), true, 'enabled');
        api.kill('SIGKILL');
        await exited;
        await asked;
      } finally {
        api.kill('SIGKILL');
      }
      const [left] = await activatingOf(tech.id);
      assert.ok(left?.lease, 'left activating, under a lease');
      const killedAt = Date.now();
      assert.ok(
        left.lease.until.getTime() - killedAt <= 15_000,
        `a short lease (${left.lease.until.getTime() - killedAt} ms left; default 15 s)`,
      );

      // Before the lease lapses: not undone (its process might still be alive and finishing).
      h.clock.set(left.lease.until.getTime() - 1000);
      assert.equal(await h.container.elevationUpkeep.undoLapsedActivations(), 0);
      assert.equal((await h.container.elevationUpkeep.reconcile()).undone, 0);
      assert.equal(await isMember(tech.accountDn), true);

      // Once it has lapsed: the cheap check undoes it at once.
      h.clock.set(left.lease.until.getTime() + 1);
      assert.equal(await h.container.elevationUpkeep.undoLapsedActivations(), 1);
      assert.equal(await isMember(tech.accountDn), false, 'out of the group');
      assert.equal(isAccountEnabled((await readUser(acme, tech.accountDn)).userAccountControl), false, 'disabled again');
      const ended = await h.container.store.elevations.findById(left.id);
      assert.equal(ended!.state, 'failed');
      assert.equal(ended!.lease, null);
      const failed = (await h.container.store.audit.list({ action: 'elevation.failed', limit: 50 })).find((e) => e.target === left.id);
      assert.deepEqual(failed?.details, { reason: 'interrupted', undone: true });
      assert.equal(await h.container.elevationUpkeep.undoLapsedActivations(), 0, 'undone once');
    });

    it('when an activation is slower than its lease but its process is alive, then it renews the lease, is never undone under it, and completes', async () => {
      h.clock.set(Date.now());
      const tech = await operative(h, acme, ou, ['technician'], true);
      const hold = holdMemberAdd(tech.accountDn);
      try {
        const asked = requestElevation(h, tech, { tenant: 'acme', profile: 'ops' }, true);
        await hold.held;
        const [slow] = await activatingOf(tech.id);
        assert.ok(slow?.lease);
        // The directory takes longer than the whole lease…
        h.clock.set(slow.lease.until.getTime() + 1000);
        // …and the process doing it renews its lease meanwhile (every third of it).
        const renewed = await eventually(
          async () => (await h.container.store.elevations.findById(slow.id))!.lease,
          (lease) => lease !== null && lease !== undefined && lease.until.getTime() > h.clock.now().getTime(),
          3 * leaseSeconds * 1000,
          'lease renewed',
        );
        assert.equal(renewed!.holder, slow.lease.holder);
        assert.equal(await h.container.elevationUpkeep.undoLapsedActivations(), 0);
        assert.equal((await h.container.elevationUpkeep.reconcile()).undone, 0);
        assert.equal(await isMember(tech.accountDn), true);
        hold.release();
        const response = await asked;
        assert.equal(response.status, 201, JSON.stringify(response.body));
        assert.equal(response.body.state, 'active');
        assert.equal(await isMember(tech.accountDn), true);
        assert.equal((await h.container.store.elevations.findById(slow.id))!.lease, null, 'no lease once active');
        await h.container.elevationUpkeep.end(slow.id, 'admin', 'system', systemContext);
      } finally {
        hold.release();
        hold.restore();
      }
    });

    it('when a hung activation’s lease is taken over and its process then wakes, then it writes nothing more, never becomes active, and the new holder ends it', async () => {
      h.clock.set(Date.now());
      const tech = await operative(h, acme, ou, ['technician'], true);
      const hold = holdMemberAdd(tech.accountDn);
      try {
        const asked = requestElevation(h, tech, { tenant: 'acme', profile: 'ops' }, true);
        await hold.held;
        const [hung] = await activatingOf(tech.id);
        assert.ok(hung?.lease);
        // Another process judged it lapsed and took the lease over (as the lease check does).
        const takenUntil = new Date(h.clock.now().getTime() + 60_000);
        assert.equal(
          await h.container.store.elevations.takeLease(
            hung.id,
            'another-process',
            takenUntil,
            new Date(hung.lease.until.getTime() + 1),
            h.clock.now(),
          ),
          true,
        );
        hold.release();
        const response = await asked;
        assert.equal(response.status, 409, JSON.stringify(response.body));
        assert.equal(response.body.error.code, 'conflict');
        const after = (await h.container.store.elevations.findById(hung.id))!;
        assert.equal(after.state, 'activating', 'left to the holder of the lease');
        assert.equal(after.lease?.holder, 'another-process');
        assert.equal(await isMember(tech.accountDn), false, 'the woken process undid what it had done');
        assert.equal(
          (await h.container.store.audit.list({ action: 'elevation.activated', limit: 50 })).some((e) => e.target === hung.id),
          false,
          'never activated',
        );
        // That holder's lease lapses in turn (it died too): the lease check ends it.
        h.clock.set(takenUntil.getTime() + 1);
        assert.equal(await h.container.elevationUpkeep.undoLapsedActivations(), 1);
        assert.equal((await h.container.store.elevations.findById(hung.id))!.state, 'failed');
      } finally {
        hold.release();
        hold.restore();
      }
    });

    it('when the worker runs, then it checks for lapsed leases every few seconds, apart from the reconciler', async () => {
      const workers = await startWorkers(h.container);
      try {
        const scheduler = await h.container.queues.leases.getJobScheduler('leases');
        assert.equal(Number(scheduler?.every), h.config.queue.leaseCheckIntervalSeconds * 1000);
        const defaults = testConfig({ secrets: { masterKey: h.masterKey } });
        assert.ok(
          defaults.queue.leaseCheckIntervalSeconds + defaults.elevation.activationLeaseSeconds <= 30,
          'undone within about 30 s with the defaults',
        );
      } finally {
        await workers.close();
      }
    });
  });
}
