// The API and the worker as processes, on a PostgreSQL and a Redis of this test's own, through
// outages: PostgreSQL stopped (`pg_ctl -m fast`, which ends every connection the processes hold) and
// started again, Redis stopped and started again. Both processes live through each; meanwhile
// requests answer 503 in Stint's error shape at once, /readyz says which part is down, and once
// it is back everything answers as before.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort, privatePostgres, privateRedis, waitForOutput, type PrivateServer } from '../support/processes.ts';
import { repoRoot } from '../support/services.ts';

interface Running {
  child: ChildProcess;
  output: () => string;
}

function startProcess(entry: string, env: Record<string, string>): Running {
  const child = spawn(process.execPath, [entry], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

/** Polls `probe` until it returns a value (not undefined); fails after `ms`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('outages of the store and Redis, with the API and the worker running', () => {
  let postgres: PrivateServer;
  let redis: PrivateServer;
  let api: Running;
  let worker: Running;
  let url: string;
  let dataDir: string;

  const alive = (p: Running) => p.child.exitCode === null && p.child.signalCode === null;
  const login = () =>
    fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'nobody-here', password: 'not-a-password' }),
      signal: AbortSignal.timeout(15_000),
    });
  const ready = async () => {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(15_000) });
    return { status: response.status, body: (await response.json()) as { checks: Record<string, string> } };
  };
  /** The connections each process holds right now, by application_name. */
  const connectionsOf = async (name: string) => {
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name = $1', [
        name,
      ]);
      return rows[0]!.n;
    } finally {
      await client.end();
    }
  };

  before(async () => {
    [postgres, redis] = await Promise.all([privatePostgres(), privateRedis()]);
    dataDir = mkdtempSync(join(tmpdir(), 'stint-outage-'));
    const env = {
      STINT_DATA_DIR: dataDir,
      STINT_DATABASE__URL: postgres.url,
      STINT_REDIS__URL: redis.url,
      STINT_SECRETS__MASTER_KEY: randomBytes(32).toString('base64'),
      STINT_QUEUE__PREFIX: `o${randomBytes(4).toString('hex')}`,
      // The worker asks the store for lapsed leases every second: it always holds a connection.
      STINT_QUEUE__LEASE_CHECK_INTERVAL_SECONDS: '1',
      STINT_LOGGING__LEVEL: 'info',
    };
    // One at a time: both would migrate the new database at once otherwise.
    api = startProcess('src/main.ts', { ...env, STINT_SERVER__PORT: String(await freePort()) });
    const listening = await waitForOutput(api.child, /Stint API listening/);
    url = /"url":"(http:[^"]+)"/.exec(listening)![1]!;
    worker = startProcess('workers/main.ts', env);
    await waitForOutput(worker.child, /worker ready/);
  });

  after(async () => {
    for (const p of [api, worker]) {
      if (p && alive(p)) {
        const exited = new Promise((resolve) => p.child.once('exit', resolve));
        p.child.kill('SIGTERM');
        await exited;
      }
    }
    await Promise.all([postgres?.remove(), redis?.remove()]);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('when PostgreSQL is stopped while both processes hold connections, then both live, requests answer 503 store_unavailable at once, and all is well once it is back', async () => {
    assert.equal((await login()).status, 401, 'the store answers before the outage');
    // The condition the crash needs, made on purpose: each process holds a connection when the
    // server ends them all (the API's idle in its pool after the login, the worker's in use).
    assert.equal((await login()).status, 401);
    await until('a connection from each process', async () =>
      (await connectionsOf('stint-api')) > 0 && (await connectionsOf('stint-worker')) > 0 ? true : undefined,
    );
    await postgres.stop();

    const during = await login();
    assert.equal(during.status, 503);
    const body = (await during.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'store_unavailable');
    assert.doesNotMatch(body.error.message, /ECONNREFUSED|127\.0\.0\.1|terminat/i, 'no connection details to the client');
    const notReady = await until('/readyz to see the store down', async () => {
      const r = await ready();
      return r.status === 503 && r.body.checks.store === 'failing' ? r : undefined;
    });
    assert.equal(notReady.body.checks.redis, 'ok');
    // The worker keeps failing its lease checks meanwhile (and says so), but lives.
    await until('the worker to meet the outage', async () =>
      /The database cannot be reached|database connection was ended/.test(worker.output()) ? true : undefined,
    );
    assert.ok(alive(api), `the API lives:\n${api.output()}`);
    assert.ok(alive(worker), `the worker lives:\n${worker.output()}`);

    await postgres.start();
    await until('the store to answer again', async () => ((await login()).status === 401 ? true : undefined));
    await until('/readyz to say ready', async () => ((await ready()).status === 200 ? true : undefined));
    await until('the worker to use the store again', async () => ((await connectionsOf('stint-worker')) > 0 ? true : undefined));
    assert.ok(alive(api) && alive(worker));
    assert.doesNotMatch(api.output() + worker.output(), /Unhandled 'error' event|BoundPool/);
  });

  it('when Redis is stopped and started again, then both processes live, /readyz says Redis is down meanwhile, and ready again after', async () => {
    await redis.stop();
    const notReady = await until('/readyz to see Redis down', async () => {
      const r = await ready();
      return r.status === 503 && r.body.checks.redis === 'failing' ? r : undefined;
    });
    assert.equal(notReady.body.checks.store, 'ok');
    assert.equal((await login()).status, 401, 'what does not need Redis goes on');
    await until('the worker to meet the outage', async () => (/redis unreachable/.test(worker.output()) ? true : undefined));
    assert.ok(alive(api) && alive(worker));

    await redis.start();
    await until('/readyz to say ready', async () => ((await ready()).status === 200 ? true : undefined));
    await until('the worker to say Redis is back', async () => (/redis reachable again/.test(worker.output()) ? true : undefined));
    // And every queue's worker waiting on Redis again (its blocking connection back): a stop while
    // they still reconnect waits for them (BullMQ closes a connection once it is back).
    const blocked = new Redis(redis.url, { lazyConnect: true });
    try {
      await until('the five queue workers to wait on Redis again', async () => {
        const clients = String(await blocked.client('LIST'));
        return (clients.match(/ cmd=bzpopmin /g)?.length ?? 0) >= 5 ? true : undefined;
      });
    } finally {
      blocked.disconnect();
    }
    assert.ok(alive(api), `the API lives:\n${api.output()}`);
    assert.ok(alive(worker), `the worker lives:\n${worker.output()}`);
  });

  it('when the processes are asked to stop after the outages, then each exits cleanly', async () => {
    for (const p of [api, worker]) {
      assert.ok(alive(p), p.output());
      const exited = new Promise<number | null>((resolve) => p.child.once('exit', (code) => resolve(code)));
      p.child.kill('SIGTERM');
      assert.equal(await exited, 0, p.output());
    }
  });
});
