// Helpers for tests that run Stint's processes and servers of their own: a free loopback port,
// waiting for a line in a child's output, and private PostgreSQL and Redis servers a test may stop
// and start again without touching the shared ones.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './services.ts';

const run = promisify(execFile);

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Resolves with what the child wrote (stdout and stderr) once `pattern` appears in it. */
export function waitForOutput(child: ChildProcess, pattern: RegExp, ms = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        resolve(seen);
      }
    };
    const timer = setTimeout(() => {
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      reject(new Error(`no ${pattern} within ${ms} ms; saw: ${seen}`));
    }, ms);
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  });
}

export interface PrivateServer {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and deletes its data. */
  remove(): Promise<void>;
}

/**
 * A PostgreSQL cluster of the test's own, made by scripts/postgres.sh (the same script as the shared
 * one) in its own folders and on its own port; `stop` is `pg_ctl -m fast stop`, which ends every
 * connection with "terminating connection due to administrator command".
 */
export async function privatePostgres(): Promise<PrivateServer> {
  const runDir = mkdtempSync(join(tmpdir(), 'stint-pg-run-'));
  const env = {
    ...process.env,
    STINT_RUN_DIR: runDir,
    STINT_PG_DIR: `/tmp/stint-pg-private-${randomBytes(6).toString('hex')}`,
    STINT_PG_PORT: String(await freePort()),
  };
  const script = (...args: string[]) => run('bash', [`${repoRoot}scripts/postgres.sh`, ...args], { env, timeout: 120_000 });
  await script('start');
  const url = readFileSync(join(runDir, 'postgres', 'url'), 'utf8').trim();
  return {
    url,
    stop: async () => void (await script('stop')),
    start: async () => void (await script('start')),
    async remove() {
      await script('stop', '--purge');
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

/** A Redis of the test's own (no persistence, noeviction) on its own port. */
export async function privateRedis(): Promise<PrivateServer> {
  const port = await freePort();
  let server: ChildProcess | null = null;
  const start = async () => {
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    server = child;
    await waitForOutput(child, /Ready to accept connections/, 30_000);
  };
  const stop = async () => {
    const child = server;
    server = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, start, stop, remove: stop };
}
