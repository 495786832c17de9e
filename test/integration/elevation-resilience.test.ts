// Revocation survives what production throws at it: a worker killed with SIGKILL, Redis losing its
// data, the domain controller down at the moment of expiry, and a crash between the directory
// write and the store write.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { runningClock } from '../support/clock.ts';
import { addMember, createTestOu, membersOf } from '../support/directory.ts';
import { holdDirectory } from '../support/directory-hold.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { createTechnician, login } from '../support/factories.ts';
import { repoRoot, testServices } from '../support/services.ts';
import { addTenant, createProfile, eventually, type Operative, operative, requestElevation } from '../support/world.ts';
import { startWorkers, type RunningWorkers } from '../../workers/runtime.ts';

const { acme } = testServices().domains;

/** Waits until real time is past `at` (a worker in another process keeps real time, so the clock cannot be moved). */
async function untilPast(at: number) {
  while (Date.now() <= at) await new Promise((r) => setTimeout(r, at + 1 - Date.now()));
}

describe('revocation under failure', () => {
  let h: Harness;
  let ou: Awaited<ReturnType<typeof createTestOu>>;
  let group: string;
  let team: Operative[];
  let workers: RunningWorkers | null = null;

  const isMember = async (who: Operative) => (await membersOf(acme, group)).includes(who.accountDn.toLowerCase());
  const stateOf = async (id: string) => (await h.container.store.elevations.findById(id))!.state;

  /** With `stillClock`, real time only (a worker in another process shares it); otherwise each request moves one TOTP step. */
  async function grantAll(seconds: number, stillClock = false): Promise<string[]> {
    const ids: string[] = [];
    for (const who of team) {
      const response = await requestElevation(h, who, { tenant: 'acme', profile: 'ops', durationSeconds: seconds }, stillClock);
      assert.equal(response.status, 201, JSON.stringify(response.body));
      ids.push(response.body.id);
    }
    for (const who of team) assert.equal(await isMember(who), true);
    return ids;
  }

  async function allEnded(ids: string[], timeoutMs: number) {
    await eventually(
      async () => Promise.all(ids.map(stateOf)),
      (states) => states.every((s) => s === 'expired'),
      timeoutMs,
      'every grant expired',
    );
    assert.deepEqual(
      (await membersOf(acme, group)).filter((m) => team.some((t) => t.accountDn.toLowerCase() === m)),
      [],
    );
  }

  before(async () => {
    h = await startHarness({
      clock: runningClock(),
      config: { queue: { reconcileIntervalSeconds: 1 }, elevation: { stuckAfterSeconds: 2, overdueAlertSeconds: 1 } },
    });
    await addTenant(h, acme);
    ou = await createTestOu(acme, 'resilience');
    group = await ou.group('Ops-Admins');
    const admin = (await login(h, await createTechnician(h, ['admin']))).accessToken;
    h.clock.set(Date.now());
    await createProfile(h, admin, 'acme', { name: 'ops', groups: [group], defaultDurationSeconds: 5, maxDurationSeconds: 600 });
  });

  after(async () => {
    await workers?.close();
    await h.close();
    await ou.cleanup();
  });

  it('when the worker is killed with SIGKILL while grants fall due, then a restarted worker revokes every one', async () => {
    team = await Promise.all([0, 1, 2].map(() => operative(h, acme, ou, ['technician'], true)));
    const env = {
      PATH: process.env.PATH ?? '',
      STINT_DATA_DIR: h.config.dataDir,
      STINT_DATABASE__URL: h.config.database.url,
      STINT_REDIS__URL: h.config.redis.url,
      STINT_SECRETS__MASTER_KEY: h.masterKey,
      STINT_QUEUE__PREFIX: h.config.queue.prefix,
      STINT_QUEUE__RECONCILE_INTERVAL_SECONDS: '1',
      STINT_LOGGING__LEVEL: 'info',
    };
    const startWorker = async (): Promise<ChildProcess> => {
      const child = spawn(process.execPath, ['workers/main.ts'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
      await new Promise<void>((resolve, reject) => {
        let seen = '';
        const timer = setTimeout(() => reject(new Error(`worker did not start: ${seen}`)), 30_000);
        const onData = (chunk: Buffer) => {
          seen += chunk;
          if (seen.includes('worker ready')) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
      });
      return child;
    };
    const first = await startWorker();
    // Paused while the grants are made, so it takes none of their jobs however long that takes here.
    first.kill('SIGSTOP');
    const ids = await grantAll(3, true);
    const killed = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGKILL');
    await killed;
    // Past every grant's end with no worker at all: the memberships are still there.
    const ends = await Promise.all(ids.map(async (id) => (await h.container.store.elevations.findById(id))!.endsAt!.getTime()));
    await untilPast(Math.max(...ends) + 500);
    for (const id of ids) assert.equal(await stateOf(id), 'active');
    const second = await startWorker();
    try {
      await allEnded(ids, 20_000);
    } finally {
      const stopped = new Promise((resolve) => second.once('exit', resolve));
      second.kill('SIGTERM');
      await stopped;
    }
  });

  it('when Redis loses every job while grants are active, then the reconciler rebuilds them and every grant ends on time', async () => {
    workers = await startWorkers(h.container);
    const ids = await grantAll(200);
    const keys = await h.container.redis.keys(`${h.config.queue.prefix}:*`);
    assert.ok(keys.length > 0);
    await h.container.redis.del(...keys);
    // The reconciler (every second here) notices and schedules each revocation again…
    await eventually(
      async () => Promise.all(ids.map((id) => h.container.jobs.isScheduled(id))),
      (all) => all.every(Boolean),
      10_000,
      'jobs re-created',
    );
    // …and when the grants' end comes, every one is revoked promptly.
    const ends = await Promise.all(ids.map(async (id) => (await h.container.store.elevations.findById(id))!.endsAt!.getTime()));
    h.clock.set(Math.max(...ends));
    await allEnded(ids, 15_000);
    // The clock jumped to the last end, so each grant's lag counts from that jump.
    const expired = await h.container.store.audit.list({ action: 'elevation.expired', limit: 3 });
    const lags = ids.map((id, i) => Number(expired.find((e) => e.target === id)!.details.lagMs) - (Math.max(...ends) - ends[i]!));
    assert.ok(
      lags.every((lag) => lag >= 0 && lag < 5000),
      `lags ${lags.join(', ')} ms`,
    );
  });

  it('when the domain controller is down across the expiry, then revocation waits, never claims success early, and completes once it is back', async () => {
    const ids = await grantAll(120);
    const ends = await Promise.all(ids.map(async (id) => (await h.container.store.elevations.findById(id))!.endsAt!.getTime()));
    execFileSync('bash', [`${repoRoot}scripts/samba.sh`, 'stop', 'acme'], { stdio: 'ignore' });
    // Every grant ends while the directory is down.
    h.clock.set(Math.max(...ends) + 1000);
    try {
      await new Promise((r) => setTimeout(r, 5000));
      for (const id of ids) assert.notEqual(await stateOf(id), 'expired');
      for (const id of ids) assert.notEqual(await stateOf(id), 'revoked');
    } finally {
      execFileSync('bash', [`${repoRoot}scripts/samba.sh`, 'start', 'acme'], { stdio: 'ignore' });
    }
    await allEnded(ids, 45_000);
    const overdue = await h.container.store.audit.list({ action: 'elevation.revocation_overdue', limit: 10 });
    assert.ok(
      ids.every((id) => overdue.some((e) => e.target === id)),
      'each overdue grant raised an alert',
    );
  });

  it('when a crash left one elevation activating and another revoking, then the reconciler undoes the first and finishes the second', async () => {
    await workers?.close();
    workers = null;
    const [halfOn, halfOff] = team as [Operative, Operative];
    const [grantOff] = await grantAll(300).then((ids) => [ids[1]!]);
    // Crash 1: the directory write happened, the store never heard of "active".
    const stale = new Date(h.clock.now().getTime() - 10_000);
    const liveGrant = (await h.container.store.elevations.list({ technicianId: halfOn.id, states: ['active'] }))[0]!;
    await h.container.store.elevations.transition(liveGrant.id, 'active', 'revoking', { revocationReason: 'expired' }, stale);
    await h.container.store.elevations.insert({
      ...liveGrant,
      id: crypto.randomUUID(),
      state: 'activating',
      updatedAt: stale,
      endsAt: null,
    });
    // Crash 2: revocation started, the directory was never told.
    await h.container.store.elevations.transition(grantOff!, 'active', 'revoking', { revocationReason: 'expired' }, stale);
    await addMember(acme, group, halfOn.accountDn).catch(() => undefined);
    const counts = await h.container.elevationUpkeep.reconcile();
    assert.ok(counts.undone >= 1 && counts.resumed >= 2, JSON.stringify(counts));
    assert.equal(await isMember(halfOn), false);
    assert.equal(await isMember(halfOff), false);
    assert.equal(await stateOf(grantOff!), 'expired');
    const activating = await h.container.store.elevations.list({ technicianId: halfOn.id, states: ['activating'] });
    assert.equal(activating.length, 0);
  });

  it('when many grants end together and their accounts are still being written, then the reconciler neither resumes them nor calls them overdue', async () => {
    await workers?.close();
    workers = null;
    // The account writes are held (a paused directory write), so the reconciler runs for certain
    // between the memberships being gone and the accounts being done, however fast the directory is.
    const crowd = await Promise.all(Array.from({ length: 6 }, () => operative(h, acme, ou, ['technician'], true)));
    const ids: string[] = [];
    for (const who of crowd) {
      const response = await requestElevation(h, who, { tenant: 'acme', profile: 'ops', durationSeconds: 300 }, true);
      assert.equal(response.status, 201, JSON.stringify(response.body));
      ids.push(response.body.id);
    }
    const ends = await Promise.all(ids.map(async (id) => (await h.container.store.elevations.findById(id))!.endsAt!.getTime()));
    h.clock.set(Math.max(...ends) + 1000);
    const accounts = holdDirectory(h, 'updateAccount');
    const ending = h.container.elevationUpkeep.expire(h.clock.now());
    try {
      // An account write is waiting: the batch writes accounts only once its memberships are all gone,
      // and none of its grants is final before its slice of accounts is written.
      await accounts.reached(1);
      accounts.stopHolding();
      const crowdDns = new Set(crowd.map((c) => c.accountDn.toLowerCase()));
      assert.deepEqual(
        (await membersOf(acme, group)).filter((m) => crowdDns.has(m)),
        [],
        'memberships gone',
      );
      // Past the overdue (1 s) and stuck (2 s) thresholds while the accounts are still being written.
      h.clock.set(h.clock.now().getTime() + 10_000);
      assert.deepEqual(
        new Set(await Promise.all(ids.map(stateOf))),
        new Set(['revoking']),
        'every grant still revoking when the reconciler runs',
      );
      const counts = await h.container.elevationUpkeep.reconcile();
      assert.equal(counts.overdue, 0, JSON.stringify(counts));
      assert.equal(counts.resumed, 0, JSON.stringify(counts));
    } finally {
      // Never leave the expiry running past the test (the harness closes under it otherwise).
      accounts.restore();
      await ending.catch(() => undefined);
    }
    assert.ok((await ending) >= ids.length, 'ours ended (with anything else past its end)');
    for (const id of ids) assert.equal(await stateOf(id), 'expired');
    const overdue = await h.container.store.audit.list({ action: 'elevation.revocation_overdue', limit: 1000 });
    assert.deepEqual(
      overdue.filter((e) => ids.includes(e.target!)),
      [],
    );
    const expired = await h.container.store.audit.list({ action: 'elevation.expired', limit: 1000 });
    assert.equal(expired.filter((e) => ids.includes(e.target!)).length, ids.length, 'each grant expired once');
  });

  it('when a grant ends while the batch before it is still writing its accounts, then its membership goes at once, not after that batch', async () => {
    await workers?.close();
    workers = null;
    const [early, late] = await Promise.all([0, 1].map(() => operative(h, acme, ou, ['technician'], true)));
    const grant = async (who: Operative, durationSeconds: number) => {
      const response = await requestElevation(h, who, { tenant: 'acme', profile: 'ops', durationSeconds }, true);
      assert.equal(response.status, 201, JSON.stringify(response.body));
      return (await h.container.store.elevations.findById(response.body.id))!;
    };
    const first = await grant(early!, 300);
    const second = await grant(late!, 600);
    const accounts = holdDirectory(h, 'updateAccount');
    const jobs: Array<Promise<unknown>> = [];
    try {
      // The first grant's job: its batch removes the membership, then waits at the account write.
      h.clock.set(first.endsAt!.getTime() + 500);
      let firstOutcome: unknown;
      const firstJob = h.container.elevationUpkeep.endIfDue(first.id).then((outcome) => (firstOutcome = outcome));
      jobs.push(firstJob);
      await accounts.reached(1);
      await eventually(
        async () => firstOutcome,
        (outcome) => outcome !== undefined,
        30_000,
        'the first job done while its account write is held',
      );
      assert.equal(firstOutcome, 'revoked', 'the job is done once the membership is confirmed gone');
      assert.equal(await isMember(early!), false);
      assert.equal(await stateOf(first.id), 'revoking', 'its account is still being written');
      // The second grant ends meanwhile: its job does not queue behind the first batch.
      h.clock.set(second.endsAt!.getTime() + 500);
      const secondJob = h.container.elevationUpkeep.endIfDue(second.id);
      jobs.push(secondJob);
      await eventually(
        () => isMember(late!),
        (member) => !member,
        30_000,
        'the second membership gone while the first batch is held',
      );
      assert.equal(await secondJob, 'revoked');
    } finally {
      accounts.restore();
      await Promise.allSettled(jobs);
    }
    // Released: each batch writes its account and stores the end.
    await eventually(
      async () => Promise.all([first.id, second.id].map(stateOf)),
      (states) => states.every((st) => st === 'expired'),
      30_000,
      'both expired',
    );
  });
});
