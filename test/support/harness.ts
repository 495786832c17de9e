// Builds a real Stint (real store, real Redis, real directories) for one test file: its own
// database (a fresh SQLite file or a fresh PostgreSQL database), a fake clock, and the Express app
// driven in-process over HTTP with supertest.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import supertest from 'supertest';
import { configSchema, type Config } from '../../src/config/schema.ts';
import { createContainer, type Container } from '../../src/container.ts';
import { createApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/adapters/logging/logger.ts';
import { fakeClock, type FakeClock } from './clock.ts';
import { testServices } from './services.ts';

export type Engine = 'sqlite' | 'postgres';
export const engines: Engine[] = ['sqlite', 'postgres'];

export interface Harness {
  engine: Engine;
  config: Config;
  container: Container;
  clock: FakeClock;
  http: ReturnType<typeof supertest>;
  masterKey: string;
  dataDir: string;
  databaseUrl: string;
  /** GET /metrics with the harness's metrics token (production mode asks for one). */
  metrics(): Promise<{ status: number; text: string }>;
  close(): Promise<void>;
}

/** A fresh PostgreSQL database on the test cluster; dropped by the returned function. */
export async function freshPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = new URL(testServices().postgresUrl);
  const name = `stint_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base.toString() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface HarnessOptions {
  engine?: Engine;
  config?: Record<string, unknown>;
  masterKey?: string;
  clock?: FakeClock;
}

export function testConfig(overrides: Record<string, unknown>): Config {
  return configSchema.parse(overrides);
}

function merge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' && !Array.isArray(current)
        ? merge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const engine = options.engine ?? 'sqlite';
  const services = testServices();
  const dataDir = mkdtempSync(join(tmpdir(), 'stint-test-'));
  const database = engine === 'postgres' ? await freshPostgresDatabase() : { url: 'sqlite:stint.db', drop: async () => {} };
  const masterKey = options.masterKey ?? randomBytes(32).toString('base64');
  const overrides = options.config ?? {};
  const config = testConfig(
    merge(
      {
        mode: 'production',
        dataDir,
        database: { url: database.url },
        redis: { url: services.redisUrl },
        secrets: { masterKey },
        logging: { level: 'silent' },
        // High limits: the rate limiter has its own test, the rest must not trip it.
        rateLimit: { loginPerWindow: 1000, mfaPerWindow: 1000, readyPerWindow: 100_000 },
        // Each test file has its own queues.
        queue: { prefix: `t${randomBytes(5).toString('hex')}` },
        metrics: { token: randomBytes(24).toString('hex') },
      },
      overrides,
    ),
  );
  const clock = options.clock ?? fakeClock();
  const container = await createContainer(config, { clock, logger: createLogger('silent') });
  const { app } = createApp(container);
  const harness: Harness = {
    engine,
    config,
    container,
    clock,
    http: supertest(app),
    masterKey,
    dataDir,
    databaseUrl: database.url,
    async metrics() {
      const response = await harness.http.get('/metrics').set('authorization', `Bearer ${config.metrics.token ?? ''}`);
      return { status: response.status, text: response.text };
    },
    async close() {
      // A test may have swapped in another container (key rotation does): close the current one.
      await harness.container.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}
