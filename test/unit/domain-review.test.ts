// Access review rules (docs/security-model.md, Access reviews): protected membership through nesting, inactivity, the findings of
// one MSP account, severity counts and order, the review schedule's validation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toFileTime } from '../../src/domain/ad.ts';
import {
  accountFindings,
  bySeverity,
  countBySeverity,
  findingsDigest,
  isInactive,
  isProtectedUsers,
  protectedMembership,
  reviewScheduleProblem,
  type AccountFacts,
  type GroupNode,
} from '../../src/domain/review.ts';

const domainSid = 'S-1-5-21-1111-2222-3333';
const group = (name: string, rid: number, memberOf: string[] = [], adminCount: number | null = null): GroupNode => ({
  dn: `CN=${name},OU=Groups,DC=acme,DC=test`,
  sid: `${domainSid}-${rid}`,
  name,
  adminCount,
  memberOf,
});
const dnOf = (name: string) => `CN=${name},OU=Groups,DC=acme,DC=test`;
const now = new Date(Date.UTC(2026, 10, 2, 9, 0, 0));
const daysAgo = (n: number) => new Date(now.getTime() - n * 86_400_000);

const settings = { keepAccountsDisabled: true, inactiveDays: 45, disableInactive: false };
const account = (over: Partial<AccountFacts> = {}): AccountFacts => ({
  technicianId: 't1',
  username: 'jdoe',
  dn: 'CN=msp-jdoe,OU=MSP,DC=acme,DC=test',
  userAccountControl: 514,
  lastLogonTimestamp: toFileTime(daysAgo(3)),
  lastElevationAt: null,
  hasLiveGrant: false,
  protectedMembership: null,
  inProtectedUsers: true,
  ...over,
});

describe('protected membership', () => {
  it('when the account is directly in Domain Admins, then that is found with a one-step path', () => {
    const found = protectedMembership([dnOf('Domain Admins')], [group('Domain Admins', 512)], null);
    assert.deepEqual(found, { protectedDn: dnOf('Domain Admins'), reason: 'Domain Admins (RID 512)', path: [dnOf('Domain Admins')] });
  });

  it('when the account is in a group nested two levels below Domain Admins, then the path names each step', () => {
    const groups = [group('Helpdesk', 2001, [dnOf('Tier1')]), group('Tier1', 2002, [dnOf('Domain Admins')]), group('Domain Admins', 512)];
    const found = protectedMembership([dnOf('Helpdesk')], groups, null);
    assert.equal(found?.protectedDn, dnOf('Domain Admins'));
    assert.deepEqual(found?.path, [dnOf('Helpdesk'), dnOf('Tier1'), dnOf('Domain Admins')]);
  });

  it('when groups nest in a cycle and reach nothing protected, then nothing is found and the walk ends', () => {
    const groups = [group('A', 3001, [dnOf('B')]), group('B', 3002, [dnOf('A')])];
    assert.equal(protectedMembership([dnOf('A')], groups, null), null);
  });

  it('when a group carries adminCount=1 or is a builtin protected group, then it counts', () => {
    assert.match(protectedMembership([dnOf('Odd')], [group('Odd', 4001, [], 1)], null)!.reason, /adminCount/);
    const admins: GroupNode = {
      dn: 'CN=Administrators,CN=Builtin,DC=acme,DC=test',
      sid: 'S-1-5-32-544',
      name: 'Administrators',
      adminCount: null,
      memberOf: [],
    };
    assert.match(protectedMembership([admins.dn], [admins], null)!.reason, /Administrators/);
  });

  it('when the primary group is Domain Admins (hidden from memberOf), then it counts; Domain Users does not', () => {
    assert.match(protectedMembership([], [], 512)!.reason, /primary group/);
    assert.equal(protectedMembership([], [], 513), null);
  });

  it('when Protected Users is among the groups, then it is recognised by its RID 525', () => {
    assert.equal(isProtectedUsers(group('Protected Users', 525)), true);
    assert.equal(isProtectedUsers(group('Helpdesk', 2001)), false);
  });
});

describe('inactivity', () => {
  it('when neither an elevation nor a logon happened within N days, then the account is inactive', () => {
    assert.equal(isInactive({ lastElevationAt: daysAgo(50), lastLogonTimestamp: toFileTime(daysAgo(60)), now, inactiveDays: 45 }), true);
  });
  it('when there is no lastLogonTimestamp and no elevation at all, then the account is inactive', () => {
    assert.equal(isInactive({ lastElevationAt: null, lastLogonTimestamp: null, now, inactiveDays: 45 }), true);
  });
  it('when either a recent elevation or a recent logon exists, then it is active', () => {
    assert.equal(isInactive({ lastElevationAt: daysAgo(10), lastLogonTimestamp: toFileTime(daysAgo(100)), now, inactiveDays: 45 }), false);
    assert.equal(isInactive({ lastElevationAt: null, lastLogonTimestamp: toFileTime(daysAgo(44)), now, inactiveDays: 45 }), false);
    assert.equal(isInactive({ lastElevationAt: null, lastLogonTimestamp: toFileTime(daysAgo(44)), now, inactiveDays: 30 }), true);
  });
});

describe('findings of one MSP account', () => {
  it('when the account is disabled, active, in Protected Users and in no protected group, then there is nothing to say', () => {
    assert.deepEqual(accountFindings(account(), settings, now), { findings: [], disable: false });
  });

  it('when the account is in a protected group through nesting, then the finding is critical and says so', () => {
    const { findings } = accountFindings(
      account({
        protectedMembership: {
          protectedDn: dnOf('Domain Admins'),
          reason: 'Domain Admins (RID 512)',
          path: [dnOf('Nest'), dnOf('Domain Admins')],
        },
      }),
      settings,
      now,
    );
    assert.equal(findings.length, 1);
    assert.equal(findings[0]!.severity, 'critical');
    assert.equal(findings[0]!.kind, 'protected_group_member');
    assert.equal(findings[0]!.details.nested, true);
  });

  it('when the account is enabled without a grant, then it is high where accounts are kept disabled, low where not', () => {
    const enabled = account({ userAccountControl: 512 });
    assert.equal(accountFindings(enabled, settings, now).findings[0]!.severity, 'high');
    assert.equal(accountFindings(enabled, { ...settings, keepAccountsDisabled: false }, now).findings[0]!.severity, 'low');
    assert.deepEqual(accountFindings({ ...enabled, hasLiveGrant: true }, settings, now).findings, []);
  });

  it('when an enabled account is inactive, then it is disabled only where the tenant says so, never while a grant is live', () => {
    const idle = account({ userAccountControl: 512, lastLogonTimestamp: toFileTime(daysAgo(90)) });
    const reported = accountFindings(idle, settings, now);
    assert.equal(reported.disable, false);
    assert.ok(reported.findings.some((f) => f.kind === 'inactive_account' && f.severity === 'medium'));
    assert.equal(accountFindings(idle, { ...settings, disableInactive: true }, now).disable, true);
    assert.equal(accountFindings({ ...idle, hasLiveGrant: true }, { ...settings, disableInactive: true }, now).disable, false);
    const alreadyOff = accountFindings({ ...idle, userAccountControl: 514 }, { ...settings, disableInactive: true }, now);
    assert.equal(alreadyOff.disable, false);
    assert.equal(alreadyOff.findings.find((f) => f.kind === 'inactive_account')!.action, 'already_disabled');
  });

  it('when the account is not in Protected Users, then that is a low finding', () => {
    const { findings } = accountFindings(account({ inProtectedUsers: false }), settings, now);
    assert.deepEqual(
      findings.map((f) => [f.kind, f.severity]),
      [['not_in_protected_users', 'low']],
    );
  });
});

describe('counts, order and digest', () => {
  const f = (severity: 'critical' | 'high' | 'low', subject: string) => ({
    severity,
    kind: 'member_without_grant' as const,
    subject,
    technicianId: null,
    summary: subject,
    action: null,
    details: {},
  });
  it('when findings are counted and ordered, then the most severe come first', () => {
    const list = [f('low', 'a'), f('critical', 'b'), f('high', 'c'), f('critical', 'a')];
    assert.deepEqual(countBySeverity(list), { critical: 2, high: 1, medium: 0, low: 1, info: 0 });
    assert.deepEqual(
      bySeverity(list).map((x) => `${x.severity}:${x.subject}`),
      ['critical:a', 'critical:b', 'high:c', 'low:a'],
    );
  });
  it('when one finding changes, then the digest changes', () => {
    const list = [f('low', 'a')];
    assert.match(findingsDigest(list), /^[0-9a-f]{64}$/);
    assert.notEqual(findingsDigest(list), findingsDigest([f('low', 'b')]));
    assert.equal(findingsDigest(list), findingsDigest([f('low', 'a')]));
  });
});

describe('review schedule', () => {
  it('when the pattern is a five-field cron firing at a fixed minute, then it is accepted', () => {
    assert.equal(reviewScheduleProblem('0 6 * * 1', 'Europe/Berlin'), null);
    assert.equal(reviewScheduleProblem('30 22 * * 0,3', 'America/New_York'), null);
  });
  it('when the pattern is malformed, has six fields or fires every minute, then it is refused with a reason', () => {
    assert.match(reviewScheduleProblem('every monday', 'UTC')!, /five fields/);
    assert.match(reviewScheduleProblem('0 0 6 * * 1', 'UTC')!, /five fields/);
    assert.match(reviewScheduleProblem('* 6 * * 1', 'UTC')!, /minute/);
    assert.match(reviewScheduleProblem('0 25 * * 1', 'UTC')!, /not a valid cron/);
  });
});
