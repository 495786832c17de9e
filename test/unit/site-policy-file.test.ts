// The site policy file (src/site/policy-file.ts): a valid file becomes the policy the site
// enforces; an invalid one is refused with every problem, each named by its path.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseSitePolicy, readSitePolicyFile, SitePolicyError } from '../../src/site/policy-file.ts';

const valid = `
version: 1
accounts:
  ous:
    - OU=MSP Technicians,OU=Staff,DC=client,DC=example
  samAccountNames: [MSP-Break-Glass]
  objectGuids: [0B5D3E4C-1A2B-4C3D-8E9F-0123456789AB]
groups:
  objectGuids: [11111111-1111-4111-8111-111111111111]
  sids: [s-1-5-21-1111111111-2222222222-3333333333-1104, S-1-5-32-555]
maxGrantSeconds: 28800
protectedGroups: [S-1-5-21-1111111111-2222222222-3333333333-1200]
`;

function problems(text: string): string[] {
  try {
    parseSitePolicy(text, 'policy.yaml');
  } catch (error) {
    assert.ok(error instanceof SitePolicyError, String(error));
    assert.match(error.message, /^policy\.yaml is not a valid site policy:\n {2}- /);
    return error.problems;
  }
  assert.fail('the file was accepted');
}

/** Every expected problem (path: text) is listed. */
function lists(text: string, ...expected: RegExp[]) {
  const found = problems(text);
  for (const e of expected)
    assert.ok(
      found.some((p) => e.test(p)),
      `${e} not among:\n${found.join('\n')}`,
    );
  return found;
}

describe('site policy file', () => {
  it('when the file is valid, then it becomes the policy, identifiers in one case and the grace at its default', () => {
    assert.deepEqual(parseSitePolicy(valid, 'policy.yaml'), {
      accounts: {
        ous: ['OU=MSP Technicians,OU=Staff,DC=client,DC=example'],
        objectGuids: ['0b5d3e4c-1a2b-4c3d-8e9f-0123456789ab'],
        samAccountNames: ['msp-break-glass'],
      },
      groups: {
        objectGuids: ['11111111-1111-4111-8111-111111111111'],
        sids: ['S-1-5-21-1111111111-2222222222-3333333333-1104', 'S-1-5-32-555'],
      },
      maxGrantSeconds: 28800,
      graceSeconds: 120,
      protectedGroupSids: ['S-1-5-21-1111111111-2222222222-3333333333-1200'],
    });
  });

  it('when the file is JSON, then it is read alike; an OU alone and a SID alone are enough', () => {
    const json = JSON.stringify({
      version: 1,
      accounts: { ous: ['OU=MSP,DC=c,DC=x'] },
      groups: { sids: ['S-1-5-21-1-2-3-1104'] },
      maxGrantSeconds: 3600,
      graceSeconds: 300,
    });
    const policy = parseSitePolicy(json, 'policy.json');
    assert.equal(policy.graceSeconds, 300);
    assert.deepEqual(policy.accounts.samAccountNames, []);
  });

  it('when the file is read from disk, then it is validated; a missing file is a problem, never an empty policy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stint-site-policy-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'policy.yaml'), valid);
    assert.equal(readSitePolicyFile(join(dir, 'policy.yaml')).maxGrantSeconds, 28800);
    assert.throws(
      () => readSitePolicyFile(join(dir, 'absent.yaml')),
      (e: SitePolicyError) => /cannot be read \(ENOENT\)/.test(e.problems[0]!),
    );
  });

  it('when the policy is empty, or names no account or no group, then it is refused: empty never means allow all', () => {
    lists('', /\(root\): the top level must be a mapping/);
    lists(
      'version: 1\naccounts: {}\ngroups: { sids: [] }\nmaxGrantSeconds: 3600\n',
      /^accounts: name at least one OU, objectGUID or sAMAccountName/,
      /^groups: name at least one group/,
    );
    lists('version: 1\n', /^accounts: required: /, /^groups: required: /, /^maxGrantSeconds: required: the longest grant/);
    // Every problem at once, however many there are.
    const all = lists(
      'version: 1\naccounts: {}\ngroups: {}\nmaxGrantSeconds: "x"\nfoo: 1\n',
      /^accounts: name at least one/,
      /^groups: name at least one/,
      /^maxGrantSeconds: /,
      /^foo: unknown setting$/,
    );
    assert.equal(all.length, 4);
  });

  it('when keys are unknown, at any level, then each is listed', () => {
    const text = valid.replace('maxGrantSeconds: 28800', 'maxGrantSeconds: 28800\nallowAll: true').replace('  ous:', '  ou: []\n  ous:');
    lists(text, /^allowAll: unknown setting$/, /^accounts\.ou: unknown setting$/);
  });

  it('when identifiers are malformed, then each is listed by its place', () => {
    const text = `
version: 1
accounts:
  ous: ['not a dn', 'DC=client,DC=example']
  objectGuids: ['{0b5d3e4c-1a2b-4c3d-8e9f-0123456789ab}']
  samAccountNames: ['bad,name', '']
groups:
  objectGuids: [not-a-guid]
  sids: [S-1-5-21-x, 'CN=Helpdesk,DC=client,DC=example']
maxGrantSeconds: 3600
protectedGroups: [Domain Admins]
`;
    lists(
      text,
      /^accounts\.ous\.0: a DN/,
      /^accounts\.ous\.1: a domain root would allow every account/,
      /^accounts\.objectGuids\.0: an objectGUID/,
      /^accounts\.samAccountNames\.0: a sAMAccountName/,
      /^accounts\.samAccountNames\.1: /,
      /^groups\.objectGuids\.0: an objectGUID/,
      /^groups\.sids\.0: a SID/,
      /^groups\.sids\.1: a SID/,
      /^protectedGroups\.0: a SID/,
    );
  });

  it('when the longest grant is missing, too long, too short or not whole seconds, or the grace is out of range, then it is refused', () => {
    lists(valid.replace('maxGrantSeconds: 28800', ''), /^maxGrantSeconds: /);
    lists(valid.replace('28800', '604801'), /^maxGrantSeconds: /);
    lists(valid.replace('28800', '59'), /^maxGrantSeconds: /);
    lists(valid.replace('28800', '"8h"'), /^maxGrantSeconds: /);
    lists(valid.replace('28800', '3600.5'), /^maxGrantSeconds: /);
    lists(`${valid}graceSeconds: 0\n`, /^graceSeconds: /);
    lists(`${valid}graceSeconds: 3601\n`, /^graceSeconds: /);
  });

  it('when a group the client allows is always protected, or also in its own protected list, then it is refused', () => {
    const text = valid.replace('S-1-5-32-555', 'S-1-5-21-1-2-3-512, S-1-5-32-544, S-1-5-21-1111111111-2222222222-3333333333-1200');
    lists(
      text,
      /^groups\.sids\.1: Domain Admins \(RID 512\) is always refused/,
      /^groups\.sids\.2: Administrators \(S-1-5-32-544\) is always refused/,
      /^groups\.sids\.3: .* is also in protectedGroups/,
    );
  });

  it('when an entry is listed twice (in another case or spelling), then the second is named', () => {
    const text = valid
      .replace('[MSP-Break-Glass]', '[MSP-Break-Glass, msp-break-glass]')
      .replace(
        '    - OU=MSP Technicians,OU=Staff,DC=client,DC=example',
        '    - OU=MSP Technicians,OU=Staff,DC=client,DC=example\n    - ou=msp technicians, ou=staff,dc=CLIENT,dc=example',
      );
    lists(text, /^accounts\.samAccountNames\.1: .*listed twice/, /^accounts\.ous\.1: .*listed twice/);
  });

  it('when the version is missing or another, or the YAML is broken or repeats a key, then it is refused', () => {
    lists(valid.replace('version: 1', 'version: 2'), /^version: the policy format version: 1/);
    lists(valid.replace('version: 1', ''), /^version: /);
    lists('version: 1\naccounts: [', /^\(file\): /);
    lists(`${valid}maxGrantSeconds: 604800\n`, /^\(file\): .*[Mm]ap keys must be unique/);
  });
});
