import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, maskedConfig } from '../../src/config/load.ts';

const key = Buffer.alloc(32, 7).toString('base64');
const dir = mkdtempSync(join(tmpdir(), 'stint-config-'));
function yamlFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function problemsOf(work: () => unknown): string[] {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('configuration', () => {
  it('when only the master key is given, then every default applies', () => {
    const config = loadConfig({ env: { STINT_SECRETS__MASTER_KEY: key }, files: [] });
    assert.equal(config.server.port, 8080);
    assert.equal(config.audit.retentionDays, 400);
    assert.equal(config.auth.mfaMaxFailures, 5);
    assert.equal(config.database.url, 'sqlite:stint.db');
  });

  it('when a file and the environment both set values, then the environment wins and names map to camelCase', () => {
    const file = yamlFile('a.yaml', 'server:\n  port: 9000\n  bodyLimitBytes: 1000\nlogging:\n  level: debug\n');
    const config = loadConfig({ env: { STINT_SECRETS__MASTER_KEY: key, STINT_SERVER__BODY_LIMIT_BYTES: '2048' }, files: [file] });
    assert.equal(config.server.port, 9000);
    assert.equal(config.server.bodyLimitBytes, 2048);
    assert.equal(config.logging.level, 'debug');
  });

  it('when there is no master key, then that is a problem and there is no default', () => {
    assert.ok(problemsOf(() => loadConfig({ env: {}, files: [] })).some((p) => p.includes('master key is required')));
  });

  it('when several things are wrong, then all of them are listed at once', () => {
    const file = yamlFile('bad.yaml', 'server:\n  port: 70000\nnonsense: true\naudit:\n  retentionDays: 3\n');
    const problems = problemsOf(() => loadConfig({ env: { STINT_REDIS__URL: 'http://x' }, files: [file] }));
    for (const expected of ['server.port', 'nonsense', 'audit.retentionDays', 'redis.url', 'master key']) {
      assert.ok(problems.some((p) => p.includes(expected)), `${expected} not in ${problems.join(' | ')}`);
    }
  });

  it('when a YAML file is broken, then the problem names the file', () => {
    const file = yamlFile('broken.yaml', 'server: [unclosed\n');
    assert.ok(problemsOf(() => loadConfig({ env: { STINT_SECRETS__MASTER_KEY: key }, files: [file] })).some((p) => p.startsWith(file)));
  });

  it('when previous master keys come from the environment, then they become a list', () => {
    const config = loadConfig({ env: { STINT_SECRETS__MASTER_KEY: key, STINT_SECRETS__PREVIOUS_MASTER_KEYS: 'a, b' }, files: [] });
    assert.deepEqual(config.secrets.previousMasterKeys, ['a', 'b']);
  });

  it('when the configuration is printed, then secrets and URL passwords are masked and the rest kept', () => {
    const config = loadConfig({
      env: { STINT_SECRETS__MASTER_KEY: key, STINT_SECRETS__PREVIOUS_MASTER_KEYS: 'old', STINT_DATABASE__URL: 'postgres://u:hunter2@db/stint' },
      files: [],
    });
    const masked = JSON.stringify(maskedConfig(config));
    assert.ok(!masked.includes(key) && !masked.includes('hunter2') && !masked.includes('"old"'));
    assert.ok(masked.includes('postgres://u:****@db/stint'));
    assert.equal(config.secrets.masterKey, key, 'masking must not change the configuration itself');
  });
});
