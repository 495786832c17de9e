// The entry points as a user runs them: `stint config check`, `stint admin create`, `stint migrate`,
// and the worker's refusal of a Redis that may evict jobs.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, waitForOutput } from '../support/processes.ts';
import { repoRoot, testServices } from '../support/services.ts';

function run(args: string[], env: Record<string, string>, input?: string) {
  const result = spawnSync(process.execPath, args, {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('command-line entry points', () => {
  let dataDir: string;
  const masterKey = randomBytes(32).toString('base64');
  let env: Record<string, string>;

  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'stint-cli-'));
    env = {
      STINT_DATA_DIR: dataDir,
      STINT_SECRETS__MASTER_KEY: masterKey,
      STINT_REDIS__URL: testServices().redisUrl,
      STINT_LOGGING__LEVEL: 'silent',
    };
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('when the configuration has several problems, then config check lists them all and exits non-zero', () => {
    const result = run(['src/cli/index.ts', 'config', 'check'], {
      STINT_DATA_DIR: dataDir,
      STINT_SERVER__PORT: 'ninety',
      STINT_AUDIT__RETENTION_DAYS: '3',
      STINT_SERVR__HOST: 'typo',
    });
    assert.equal(result.status, 1);
    for (const expected of ['server.port', 'audit.retentionDays', 'servr', 'master key is required']) {
      assert.ok(result.stderr.includes(expected), `missing "${expected}" in:\n${result.stderr}`);
    }
  });

  it('when the configuration is valid, then config check prints it with secrets masked', () => {
    const result = run(['src/cli/index.ts', 'config', 'check'], {
      ...env,
      STINT_DATABASE__URL: 'postgres://stint:db-password-xyz@127.0.0.1:5432/stint',
    });
    assert.equal(result.status, 0, result.stderr);
    const printed = JSON.parse(result.stdout);
    assert.equal(printed.secrets.masterKey, '****');
    assert.equal(printed.database.url, 'postgres://stint:****@127.0.0.1:5432/stint');
    assert.ok(!result.stdout.includes(masterKey) && !result.stdout.includes('db-password-xyz'));
  });

  it('when the first admin is created from standard input, then they exist and the password is stored hashed', () => {
    assert.equal(run(['src/cli/index.ts', 'migrate'], env).status, 0);
    const password = 'first-admin-password-123';
    const created = run(
      ['src/cli/index.ts', 'admin', 'create', '--username', 'root-admin', '--display-name', 'Root', '--email', 'root@example.test'],
      env,
      password,
    );
    assert.equal(created.status, 0, created.stderr);
    assert.deepEqual(JSON.parse(created.stdout).roles, ['admin']);
    const listed = run(['src/cli/index.ts', 'technician', 'list'], env);
    assert.ok(listed.stdout.includes('root-admin'));
    const file = ['stint.db', 'stint.db-wal']
      .filter((name) => existsSync(join(dataDir, name)))
      .map((name) => readFileSync(join(dataDir, name)).toString('latin1'))
      .join('');
    assert.ok(file.includes('$argon2id$'));
    assert.ok(!file.includes(password));
    const again = run(
      ['src/cli/index.ts', 'admin', 'create', '--username', 'root-admin', '--display-name', 'Root', '--email', 'root@example.test'],
      env,
      password,
    );
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already exists/);
  });

  it('when Redis may evict keys, then the worker refuses to start', async () => {
    const port = await freePort();
    const redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      await waitForOutput(redis, /Ready to accept connections/);
      const result = run(['workers/main.ts'], { ...env, STINT_REDIS__URL: `redis://127.0.0.1:${port}` });
      assert.equal(result.status, 1);
      assert.match(result.stderr, /noeviction/);
    } finally {
      redis.kill('SIGTERM');
    }
  });

  it('when Redis never evicts, then the worker starts and stops cleanly on SIGTERM', async () => {
    const worker = spawn(process.execPath, ['workers/main.ts'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', ...env, STINT_LOGGING__LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitForOutput(worker, /worker ready/);
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    worker.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
