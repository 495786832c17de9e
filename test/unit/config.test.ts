// Configuration (docs/operations.md, Configuration): defaults, files, STINT_* overrides, every problem listed
// at once, secrets masked when printed. YAML files are written to a temporary folder.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig, maskedConfig } from '../../src/config/load.ts';

const masterKey = Buffer.alloc(32, 7).toString('base64');
const otherKey = (fill: number) => Buffer.alloc(32, fill).toString('base64');
const withKey = (env: Record<string, string> = {}) => ({ STINT_SECRETS__MASTER_KEY: masterKey, ...env });

const dir = mkdtempSync(join(tmpdir(), 'stint-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function yamlFile(text: string): string {
  fileCount += 1;
  const file = join(dir, `config-${fileCount}.yaml`);
  writeFileSync(file, text);
  return file;
}

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    for (const problem of error.problems) assert.ok(error.message.includes(problem), 'the message lists every problem');
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

function assertListed(problems: string[], ...expected: string[]): void {
  for (const text of expected)
    assert.ok(
      problems.some((p) => p.includes(text)),
      `"${text}" not in: ${problems.join(' | ')}`,
    );
}

describe('loading configuration', () => {
  it('when only the master key is given, then the schema defaults apply', () => {
    const config = loadConfig({ env: withKey(), files: [] });
    assert.equal(config.mode, 'production');
    assert.deepEqual(config.server, { host: '127.0.0.1', port: 8080, trustProxy: false, bodyLimitBytes: 65_536 });
    assert.equal(config.database.url, 'sqlite:stint.db');
    assert.equal(config.auth.accessTokenTtlSeconds, 900);
    assert.equal(config.auth.mfaMaxFailures, 5);
    assert.equal(config.auth.mfaLockoutSeconds, 900);
    assert.equal(config.audit.retentionDays, 400);
    assert.deepEqual(config.secrets, { masterKey, previousMasterKeys: [] });
  });

  it('when the activation lease is set, then it is bounded and the lease check must run more often than it lapses', () => {
    const config = loadConfig({ env: withKey(), files: [] });
    assert.equal(config.elevation.activationLeaseSeconds, 15);
    assert.equal(config.queue.leaseCheckIntervalSeconds, 5);
    assertListed(
      problemsOf(() => loadConfig({ env: withKey({ STINT_ELEVATION__ACTIVATION_LEASE_SECONDS: '1' }), files: [] })),
      'elevation.activationLeaseSeconds',
    );
    assertListed(
      problemsOf(() =>
        loadConfig({
          env: withKey({ STINT_ELEVATION__ACTIVATION_LEASE_SECONDS: '10', STINT_QUEUE__LEASE_CHECK_INTERVAL_SECONDS: '10' }),
          files: [],
        }),
      ),
      'queue.leaseCheckIntervalSeconds',
    );
  });

  it('when config/default.yaml is read, then it says the same as the schema defaults', () => {
    assert.deepEqual(loadConfig({ env: withKey() }), loadConfig({ env: withKey(), files: [] }));
  });

  it('when a file sets some values, then they replace the defaults and the values beside them stay', () => {
    const file = yamlFile('server:\n  port: 7000\nlogging:\n  level: debug\n');
    const config = loadConfig({ env: withKey(), files: [file] });
    assert.equal(config.server.port, 7000);
    assert.equal(config.server.host, '127.0.0.1');
    assert.equal(config.logging.level, 'debug');
  });

  it('when two files set the same value, then the later file wins', () => {
    const first = yamlFile('server:\n  port: 7000\n  host: 0.0.0.0\n');
    const second = yamlFile('server:\n  port: 7001\n');
    const config = loadConfig({ env: withKey(), files: [first, second] });
    assert.equal(config.server.port, 7001);
    assert.equal(config.server.host, '0.0.0.0');
  });

  it('when STINT_SERVER__PORT=9000 is set, then it wins over the file', () => {
    const file = yamlFile('server:\n  port: 7000\n');
    assert.equal(loadConfig({ env: withKey({ STINT_SERVER__PORT: '9000' }), files: [file] }).server.port, 9000);
  });

  it('when a variable names a snake_case key, then it maps to the camelCase setting', () => {
    const config = loadConfig({
      env: withKey({
        STINT_SERVER__BODY_LIMIT_BYTES: '2048',
        STINT_AUTH__MFA_MAX_FAILURES: '3',
        STINT_QUEUE__RECONCILE_INTERVAL_SECONDS: '45',
        STINT_DATA_DIR: '/var/lib/stint',
      }),
      files: [],
    });
    assert.equal(config.server.bodyLimitBytes, 2048);
    assert.equal(config.auth.mfaMaxFailures, 3);
    assert.equal(config.queue.reconcileIntervalSeconds, 45);
    assert.equal(config.dataDir, '/var/lib/stint');
  });

  it('when a variable says true or a number, then it becomes a boolean or a number', () => {
    assert.equal(loadConfig({ env: withKey({ STINT_SERVER__TRUST_PROXY: 'true' }), files: [] }).server.trustProxy, true);
    assert.equal(loadConfig({ env: withKey({ STINT_SERVER__TRUST_PROXY: '1' }), files: [] }).server.trustProxy, 1);
  });

  it('when STINT_CONFIG_FILE names a file and no files are passed, then it is read over config/default.yaml', () => {
    const file = yamlFile('server:\n  port: 7100\n');
    const config = loadConfig({ env: withKey({ STINT_CONFIG_FILE: file }) });
    assert.equal(config.server.port, 7100);
    assert.equal(config.auth.issuer, 'stint');
  });

  it('when previous master keys come as "a,b", then they become a list', () => {
    const list = (value: string) =>
      loadConfig({ env: withKey({ STINT_SECRETS__PREVIOUS_MASTER_KEYS: value }), files: [] }).secrets.previousMasterKeys;
    const [a, b] = [otherKey(1), otherKey(2)];
    assert.deepEqual(list(`${a},${b}`), [a, b]);
    assert.deepEqual(list(` ${a} , ${b} ,`), [a, b]);
  });

  it("when the scripts' own STINT_ variables are set, then they are not read as configuration", () => {
    const scriptVariables = {
      STINT_REDIS_PORT: '6390',
      STINT_PG_PORT: '5440',
      STINT_PG_DIR: '/tmp/pg',
      STINT_RUN_DIR: '/tmp/run',
      STINT_CACHE_DIR: '/tmp/cache',
    };
    assert.deepEqual(loadConfig({ env: withKey(scriptVariables), files: [] }), loadConfig({ env: withKey(), files: [] }));
  });

  it('when a variable names a top-level setting with a single underscore, then it is configuration', () => {
    const config = loadConfig({ env: withKey({ STINT_MODE: 'development', STINT_DATA_DIR: '/var/lib/stint' }), files: [] });
    assert.equal(config.mode, 'development');
    assert.equal(config.dataDir, '/var/lib/stint');
  });

  it('when an LDAP identity source is configured with ldaps://, then it is accepted in production', () => {
    const ldap = { url: 'ldaps://dc1.msp.example:636', caFile: '/etc/stint/msp-ca.pem', userPrincipalSuffix: 'msp.example' };
    assert.deepEqual(loadConfig({ env: withKey(), files: [yamlFile(`auth:\n  ldap:\n${yamlLines(ldap, 4)}`)] }).auth.ldap, ldap);
  });

  it('when the LDAP identity source is plain ldap:// in development mode, then it is accepted', () => {
    const file = yamlFile(`mode: development\nauth:\n  ldap:\n${yamlLines({ ...msp, url: 'ldap://dc1.msp.example:389' }, 4)}`);
    assert.equal(loadConfig({ env: withKey(), files: [file] }).auth.ldap?.url, 'ldap://dc1.msp.example:389');
  });
});

const msp = { url: 'ldaps://dc1.msp.example:636', caFile: '/etc/stint/msp-ca.pem', userPrincipalSuffix: 'msp.example' };

function yamlLines(values: Record<string, string>, indent: number): string {
  return Object.entries(values)
    .map(([key, value]) => `${' '.repeat(indent)}${key}: ${value}\n`)
    .join('');
}

/** Asserts that no problem, nor the error's message, contains `secret`. */
function assertNotShown(load: () => unknown, secret: string): string[] {
  const problems = problemsOf(load);
  try {
    load();
  } catch (error) {
    assert.ok(!(error as Error).message.includes(secret), 'the message shows the key');
  }
  for (const problem of problems) assert.ok(!problem.includes(secret), `the key is shown in: ${problem}`);
  return problems;
}

describe('configuration problems', () => {
  it('when the LDAP identity source is plain ldap:// in production mode, then it is refused, naming the setting', () => {
    const file = yamlFile(`auth:\n  ldap:\n${yamlLines({ ...msp, url: 'ldap://dc1.msp.example:389' }, 4)}`);
    const problems = problemsOf(() => loadConfig({ env: withKey(), files: [file] }));
    assertListed(problems, 'auth.ldap.url: Plain ldap:// is refused in production mode');
    assert.equal(problems.length, 1, problems.join(' | '));
  });

  it('when the LDAP identity source is plain ldap:// from a variable, then the problem names the variable, beside the other problems', () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: withKey({
          STINT_AUTH__LDAP__URL: 'ldap://dc1.msp.example',
          STINT_AUTH__LDAP__CA_FILE: msp.caFile,
          STINT_AUTH__LDAP__USER_PRINCIPAL_SUFFIX: msp.userPrincipalSuffix,
          STINT_SERVER__PORT: 'eighty',
        }),
        files: [],
      }),
    );
    assertListed(problems, 'auth.ldap.url: Plain ldap:// is refused', 'STINT_AUTH__LDAP__URL', 'server.port');
  });

  it('when the LDAP identity source URL names no host, then it is refused in either mode', () => {
    for (const mode of ['production', 'development']) {
      const file = yamlFile(`mode: ${mode}\nauth:\n  ldap:\n${yamlLines({ ...msp, url: 'ldaps://' }, 4)}`);
      assertListed(
        problemsOf(() => loadConfig({ env: withKey(), files: [file] })),
        'auth.ldap.url: The directory URL names no host',
      );
    }
  });

  it('when the LDAP identity source URL is not LDAP, then it is refused', () => {
    const file = yamlFile(`auth:\n  ldap:\n${yamlLines({ ...msp, url: 'https://dc1.msp.example' }, 4)}`);
    assertListed(
      problemsOf(() => loadConfig({ env: withKey(), files: [file] })),
      'auth.ldap.url: The directory URL must use ldaps://',
    );
  });

  it('when a variable is set but empty, then that is a problem naming it, rather than 0 or an empty value', () => {
    const problems = problemsOf(() => loadConfig({ env: withKey({ STINT_SERVER__PORT: '', STINT_SERVER__HOST: '  ' }), files: [] }));
    assertListed(problems, 'STINT_SERVER__PORT is set but empty', 'STINT_SERVER__HOST is set but empty');
    assert.equal(problems.length, 2, problems.join(' | '));
  });

  it('when a file gives a number setting no value, then that is a problem rather than 0', () => {
    assertListed(
      problemsOf(() => loadConfig({ env: withKey(), files: [yamlFile('server:\n  port:\n')] })),
      'server.port',
    );
    assertListed(
      problemsOf(() => loadConfig({ env: withKey(), files: [yamlFile('server:\n  port: ""\n')] })),
      'server.port',
    );
  });

  it('when a variable has an empty section or key, then that is a problem naming it', () => {
    assertListed(
      problemsOf(() => loadConfig({ env: withKey({ STINT_SERVER____PORT: '1' }), files: [] })),
      'STINT_SERVER____PORT: not a setting name',
    );
  });

  it('when the master key is not 32 bytes, then it is a problem that does not show the key', () => {
    for (const key of [Buffer.alloc(16, 9).toString('base64'), Buffer.alloc(33, 9).toString('base64'), 'c2hvcnQ=']) {
      assertListed(
        assertNotShown(() => loadConfig({ env: { STINT_SECRETS__MASTER_KEY: key }, files: [] }), key),
        'secrets.masterKey: must be 32 bytes',
        'STINT_SECRETS__MASTER_KEY',
      );
    }
  });

  it('when the master key is not base64, then it is a problem that does not show the key', () => {
    const key = `${masterKey.slice(0, 20)}!*${masterKey.slice(22)}`;
    assertListed(
      assertNotShown(() => loadConfig({ env: { STINT_SECRETS__MASTER_KEY: key }, files: [] }), key.slice(0, 20)),
      'secrets.masterKey: is not base64',
    );
  });

  it('when a previous master key is malformed, then the problem says which one, without showing it', () => {
    const bad = 'not-a-key-at-all';
    const problems = assertNotShown(
      () => loadConfig({ env: withKey({ STINT_SECRETS__PREVIOUS_MASTER_KEYS: `${otherKey(3)},${bad}` }), files: [] }),
      bad,
    );
    assertListed(problems, 'secrets.previousMasterKeys.1: is not base64', 'STINT_SECRETS__PREVIOUS_MASTER_KEYS');
    assert.equal(problems.length, 1, problems.join(' | '));
  });

  it('when the master key file holds a key, then it loads, a trailing newline included', () => {
    const file = join(dir, 'good.key');
    writeFileSync(file, `${masterKey}\n`);
    assert.equal(loadConfig({ env: { STINT_SECRETS__MASTER_KEY_FILE: file }, files: [] }).secrets.masterKeyFile, file);
  });

  it('when the master key file is missing or holds no valid key, then it is a problem that does not show the content', () => {
    const missing = join(dir, 'missing.key');
    assertListed(
      problemsOf(() => loadConfig({ env: { STINT_SECRETS__MASTER_KEY_FILE: missing }, files: [] })),
      `secrets.masterKeyFile: ${missing} cannot be read`,
    );
    const short = join(dir, 'short.key');
    const shortKey = Buffer.alloc(24, 5).toString('base64');
    writeFileSync(short, shortKey);
    assertListed(
      assertNotShown(() => loadConfig({ env: { STINT_SECRETS__MASTER_KEY_FILE: short }, files: [] }), shortKey),
      'secrets.masterKeyFile',
      'must be 32 bytes',
    );
  });

  it('when there is no master key, then a ConfigError lists it, since secrets have no default', () => {
    assertListed(
      problemsOf(() => loadConfig({ env: {}, files: [] })),
      'secrets: a master key is required',
    );
  });

  it('when both a master key and a master key file are set, then that is a problem', () => {
    assertListed(
      problemsOf(() => loadConfig({ env: withKey({ STINT_SECRETS__MASTER_KEY_FILE: '/run/secrets/key' }), files: [] })),
      'not both',
    );
  });

  it('when several things are wrong, then all of them are listed at once', () => {
    const file = yamlFile('server:\n  port: 70000\nnonsense: true\naudit:\n  retentionDays: 3\n');
    const problems = problemsOf(() => loadConfig({ env: { STINT_REDIS__URL: 'http://cache:6379' }, files: [file] }));
    assertListed(
      problems,
      'server.port',
      'nonsense',
      'audit.retentionDays: must be at least 7 days',
      'redis.url',
      'master key is required',
    );
    assert.equal(problems.length, 5, problems.join(' | '));
  });

  it('when a variable names an unknown setting, then it is reported like a typo in a file', () => {
    assertListed(
      problemsOf(() => loadConfig({ env: withKey({ STINT_SERVR__HOST: '0.0.0.0' }), files: [] })),
      'servr',
    );
  });

  it('when settings are unknown, then each is reported once, by its path and the variable it came from', () => {
    const problems = problemsOf(() => loadConfig({ env: withKey({ STINT_SERVR__HOST: '0.0.0.0', STINT_SERVER__PROT: '80' }), files: [] }));
    assert.deepEqual(problems.sort(), [
      'server.prot: unknown setting (from STINT_SERVER__PROT)',
      'servr: unknown setting (from STINT_SERVR__HOST)',
    ]);
  });

  it('when a YAML file is broken, missing or not a mapping, then each problem names its file, beside the other problems', () => {
    const broken = yamlFile('server: [unclosed\n');
    const list = yamlFile('- a\n- b\n');
    const missing = join(dir, 'missing.yaml');
    const problems = problemsOf(() => loadConfig({ env: {}, files: [broken, list, missing] }));
    for (const file of [broken, list, missing])
      assert.ok(
        problems.some((p) => p.startsWith(`${file}:`)),
        `${file} not named in ${problems.join(' | ')}`,
      );
    assertListed(problems, 'the top level must be a mapping', 'master key is required');
  });
});

describe('printing configuration', () => {
  it('when the configuration is masked, then the master keys and the database password are hidden and the rest kept', () => {
    const config = loadConfig({
      env: withKey({ STINT_SECRETS__PREVIOUS_MASTER_KEYS: `${otherKey(1)},${otherKey(2)}`, STINT_DATABASE__URL: 'postgres://u:pw@h/db' }),
      files: [],
    });
    const expected = {
      ...structuredClone(config),
      database: { url: 'postgres://u:****@h/db' },
      secrets: { masterKey: '****', previousMasterKeys: ['****', '****'] },
    };
    assert.deepEqual(maskedConfig(config), expected);
    assert.equal(config.secrets.masterKey, masterKey, 'masking leaves the configuration itself alone');
    assert.equal(config.database.url, 'postgres://u:pw@h/db');
  });

  it('when the Redis URL carries a password, then it is masked too, and URLs without one are unchanged', () => {
    const config = loadConfig({ env: withKey({ STINT_REDIS__URL: 'rediss://default:s3cret@cache:6380/0' }), files: [] });
    const masked = maskedConfig(config) as { redis: { url: string }; database: { url: string } };
    assert.equal(masked.redis.url, 'rediss://default:****@cache:6380/0');
    assert.equal(masked.database.url, 'sqlite:stint.db');
  });
});

describe('SIEM targets', () => {
  const target = (fields: string) => yamlFile(`siem:\n  targets:\n    - { ${fields} }\n`);

  it('when none are configured, then forwarding is off by default', () => {
    assert.deepEqual(loadConfig({ env: withKey(), files: [] }).siem.targets, []);
  });

  it('when a production target uses plain tcp to another host, then it is refused unless allowed; loopback and tls pass', () => {
    const remote = 'name: soc, host: siem.example, port: 514, protocol: tcp';
    assertListed(
      problemsOf(() => loadConfig({ env: withKey(), files: [target(remote)] })),
      'siem.targets.0.protocol',
      'plain tcp',
    );
    assert.equal(loadConfig({ env: withKey(), files: [target(`${remote}, allowPlaintext: true`)] }).siem.targets[0]!.protocol, 'tcp');
    assert.equal(
      loadConfig({ env: withKey(), files: [target('name: local, host: 127.0.0.1, port: 514, protocol: tcp')] }).siem.targets[0]!.format,
      'json',
    );
    assert.equal(
      loadConfig({ env: withKey({ STINT_MODE: 'development' }), files: [target(remote)] }).siem.targets[0]!.host,
      'siem.example',
    );
    assert.equal(
      loadConfig({ env: withKey(), files: [target('name: soc, host: siem.example, port: 6514, protocol: tls, format: cef')] }).siem
        .targets[0]!.format,
      'cef',
    );
  });

  it('when two targets share a name or a tcp target names a CA, then both problems are listed', () => {
    const file = yamlFile(
      'siem:\n  targets:\n    - { name: a, host: 127.0.0.1, port: 514, protocol: tcp, caFile: /x.pem }\n    - { name: a, host: 127.0.0.1, port: 6514, protocol: tls }\n',
    );
    assertListed(
      problemsOf(() => loadConfig({ env: withKey(), files: [file] })),
      'used twice',
      'caFile is for protocol tls',
    );
  });
});
