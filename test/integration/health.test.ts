// /readyz and /metrics as the public edge sees them: readiness is cheap (shared answers, no lock,
// rate limited), /metrics needs its token or its own address, and a Redis that is away fails a
// queue write at once with queue_unavailable instead of holding the request.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startApi } from '../../src/main.ts';
import { DomainError } from '../../src/domain/errors.ts';
import { createTestOu, membersOf, readUser } from '../support/directory.ts';
import { bearer, createTechnician, login } from '../support/factories.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { testServices } from '../support/services.ts';
import { addTenant, operative, requestElevation } from '../support/world.ts';
import { isAccountEnabled } from '../../src/domain/ad.ts';

/** Holds the audit chain's write lock from another connection until `release` is called. */
async function holdAuditLock(h: Harness): Promise<() => Promise<void>> {
  if (h.engine === 'sqlite') {
    const other = new DatabaseSync(join(h.dataDir, 'stint.db'));
    other.exec('BEGIN IMMEDIATE');
    other.exec('UPDATE audit_head SET hash = hash WHERE id = 1');
    return async () => {
      other.exec('ROLLBACK');
      other.close();
    };
  }
  const client = new pg.Client({ connectionString: h.databaseUrl });
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT hash FROM audit_head WHERE id = 1 FOR UPDATE');
  return async () => {
    await client.query('ROLLBACK');
    await client.end();
  };
}

for (const engine of engines)
  describe(`health and metrics (${engine})`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({ engine });
    });
    after(async () => {
      await h.close();
    });

    it('when the audit chain’s write lock is held (a long append), then /readyz still answers ready at once: it takes no lock', async () => {
      const release = await holdAuditLock(h);
      try {
        const response = await h.http.get('/readyz').timeout(5000);
        assert.equal(response.status, 200, JSON.stringify(response.body));
        assert.deepEqual(response.body.checks, { store: 'ok', redis: 'ok', audit: 'ok' });
      } finally {
        await release();
      }
    });

    it('when /readyz is called many times at once, then the store is asked once and every caller gets the same answer', async () => {
      const store = h.container.store;
      const ping = store.ping.bind(store);
      let pings = 0;
      store.ping = async () => {
        pings += 1;
        return ping();
      };
      try {
        // A window of its own: wait until the answer in hand is stale, so that this burst starts one probe.
        const before = pings;
        await h.http.get('/readyz');
        while (pings === before) {
          await sleep(50);
          await h.http.get('/readyz');
        }
        const started = pings;
        const answers = await Promise.all(Array.from({ length: 25 }, () => h.http.get('/readyz')));
        assert.ok(answers.every((a) => a.status === 200));
        assert.ok(pings - started <= 1, `the store was asked ${pings - started} times for 25 calls`);
      } finally {
        store.ping = ping;
      }
    });

    it('when the store is read-only, then /readyz says the audit log cannot be written', async () => {
      const store = h.container.store;
      const writable = store.probeWritable.bind(store);
      store.probeWritable = async () => {
        throw new Error('read-only');
      };
      try {
        let response = await h.http.get('/readyz');
        // The previous answer may still be reused for up to two seconds.
        while (response.status === 200) {
          await sleep(50);
          response = await h.http.get('/readyz');
        }
        assert.equal(response.status, 503);
        assert.deepEqual(response.body, { status: 'not_ready', checks: { store: 'ok', redis: 'ok', audit: 'failing' } });
      } finally {
        store.probeWritable = writable;
      }
    });

    it('when /readyz is hammered from one address, then the rate limiter answers 429 with the error shape', async () => {
      const limited = await startHarness({ engine, config: { rateLimit: { readyPerWindow: 3 } } });
      try {
        for (let i = 0; i < 3; i += 1) assert.equal((await limited.http.get('/readyz')).status, 200);
        const refused = await limited.http.get('/readyz');
        assert.equal(refused.status, 429);
        assert.equal(refused.body.error.code, 'rate_limited');
      } finally {
        await limited.close();
      }
    });

    it('when /metrics is asked without the token or with a wrong one, then 401; with it, the metrics', async () => {
      const none = await h.http.get('/metrics');
      assert.equal(none.status, 401);
      assert.equal(none.body.error.code, 'unauthenticated');
      const wrong = await h.http.get('/metrics').set('authorization', `Bearer ${'x'.repeat(48)}`);
      assert.equal(wrong.status, 401);
      const right = await h.metrics();
      assert.equal(right.status, 200);
      assert.match(right.text, /^# HELP stint_/m);
    });

    it('when production mode has neither a metrics token nor a metrics address, then /metrics is refused; development mode serves it', async () => {
      const closed = await startHarness({ engine, config: { metrics: { token: undefined } } });
      try {
        const refused = await closed.http.get('/metrics');
        assert.equal(refused.status, 403);
        assert.match(refused.body.error.message, /metrics\.token or metrics\.listen/);
      } finally {
        await closed.close();
      }
      const open = await startHarness({ engine, config: { mode: 'development', metrics: { token: undefined } } });
      try {
        assert.equal((await open.http.get('/metrics')).status, 200);
      } finally {
        await open.close();
      }
    });

    it('when metrics.listen is set, then /metrics is served there (with its token) and the API’s own address answers 404', async () => {
      const apart = await startHarness({ engine, config: { server: { port: 0 }, metrics: { listen: { host: '127.0.0.1', port: 0 } } } });
      const running = await startApi(apart.container);
      try {
        assert.ok(running.metricsUrl && running.metricsUrl !== running.url);
        assert.equal((await fetch(`${running.url}/metrics`)).status, 404);
        assert.equal((await fetch(`${running.url}/healthz`)).status, 200);
        assert.equal((await fetch(`${running.metricsUrl}/metrics`)).status, 401);
        const served = await fetch(`${running.metricsUrl}/metrics`, { headers: { authorization: `Bearer ${apart.config.metrics.token}` } });
        assert.equal(served.status, 200);
        assert.match(await served.text(), /^# HELP stint_/m);
        assert.equal((await fetch(`${running.metricsUrl}/readyz`)).status, 404, 'only /metrics is on the metrics address');
      } finally {
        // stop() closes the container; the harness's close waits for that and removes its files.
        await running.stop();
        await apart.close();
      }
    });

    it('when Redis cannot be reached, then a queue write fails at once with queue_unavailable and the API answers 503, never hangs', async () => {
      const broken = await startHarness({ engine, config: { redis: { url: 'redis://127.0.0.1:1' } } });
      try {
        await assert.rejects(broken.container.jobs.schedule(randomUUID(), new Date(Date.now() + 60_000)), (error: unknown) => {
          assert.ok(error instanceof DomainError);
          assert.equal(error.code, 'queue_unavailable');
          assert.doesNotMatch(error.message, /127\.0\.0\.1|ECONNREFUSED/, 'no connection details to the client');
          return true;
        });
        const ready = await broken.http.get('/readyz').timeout(10_000);
        assert.equal(ready.status, 503);
        assert.equal(ready.body.checks.redis, 'failing');
      } finally {
        await broken.close();
      }
    });

    it('when Redis is away as a grant would start, then the activation is undone (account back out of the group, disabled) and answers 503 queue_unavailable', async () => {
      const { acme } = testServices().domains;
      const broken = await startHarness({ engine, config: { redis: { url: 'redis://127.0.0.1:1' } } });
      const ou = await createTestOu(acme, `noredis-${engine}`);
      try {
        await addTenant(broken, acme);
        const group = await ou.group(`NoRedis-${engine}`);
        const admin = (await login(broken, await createTechnician(broken, ['admin']))).accessToken;
        const created = await broken.http
          .post('/api/v1/tenants/acme/profiles')
          .set(bearer(admin))
          .send({ name: 'no-redis', groups: [group], eligibleRoles: ['technician'], defaultDurationSeconds: 600, maxDurationSeconds: 600 });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const tech = await operative(broken, acme, ou);
        const asked = await requestElevation(broken, tech, { tenant: 'acme', profile: 'no-redis' });
        assert.equal(asked.status, 503, JSON.stringify(asked.body));
        assert.equal(asked.body.error.code, 'queue_unavailable');
        assert.equal((await membersOf(acme, group)).includes(tech.accountDn.toLowerCase()), false, 'not in the group');
        assert.equal(isAccountEnabled((await readUser(acme, tech.accountDn)).userAccountControl), false, 'disabled again');
        const [stored] = await broken.container.store.elevations.list({ technicianId: tech.id, limit: 5 });
        assert.equal(stored?.state, 'failed');
      } finally {
        await broken.close();
        await ou.cleanup();
      }
    });
  });
