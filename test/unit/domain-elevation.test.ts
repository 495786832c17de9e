import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  fromFileTime,
  guidToBytes,
  guidToString,
  isAccountEnabled,
  memberRefByGuid,
  memberRefWithDn,
  parseMemberRef,
  ridOf,
  sidToString,
  toFileTime,
  withAccountEnabled,
} from '../../src/domain/ad.ts';
import { noApproval } from '../../src/domain/approval.ts';
import { checkRequest } from '../../src/domain/elevation.ts';
import { canTransition, isFinal } from '../../src/domain/elevation-state.ts';
import { DomainError } from '../../src/domain/errors.ts';
import { assertProfileRules, isEligible, type AccessProfile } from '../../src/domain/profile.ts';
import { protectionReason } from '../../src/domain/protected-groups.ts';

const profile = (changes: Partial<AccessProfile> = {}): AccessProfile => ({
  id: 'p',
  tenantId: 't',
  name: 'helpdesk',
  description: '',
  groups: [],
  eligibleTechnicians: ['tech-1'],
  eligibleRoles: ['approver'],
  defaultDurationSeconds: 3600,
  maxDurationSeconds: 7200,
  maxTotalDurationSeconds: 7200,
  approval: noApproval,
  windows: [],
  workstations: [],
  requireJustification: false,
  ticketPattern: null,
  status: 'active',
  suspendedReason: null,
  createdAt: new Date(0),
  updatedAt: new Date(0),
  ...changes,
});
const refusedOn = (field: string) => (e: unknown) => e instanceof DomainError && e.details?.field === field;

describe('AD encodings', () => {
  it('when a binary SID is read, then it becomes its S-1-5-21-… form with the RID last', () => {
    const sid = Buffer.from('010500000000000515000000a065cf7e784b9b5fe77c8770f4010000', 'hex');
    assert.equal(sidToString(sid), 'S-1-5-21-2127521184-1604012920-1887927527-500');
    assert.equal(ridOf('S-1-5-21-2127521184-1604012920-1887927527-512'), 512);
    assert.equal(ridOf('S-1-5-32-544'), null);
    assert.throws(() => sidToString(sid.subarray(0, 20)));
  });

  it('when a GUID goes to text and back, then the bytes survive (first three fields byte-reversed)', () => {
    const bytes = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const text = guidToString(bytes);
    assert.equal(text, '33221100-5544-7766-8899-aabbccddeeff');
    assert.deepEqual(Buffer.from(guidToBytes(text)), bytes);
    assert.throws(() => guidToBytes('not-a-guid'));
  });

  it('when a time is written as FILETIME, then it reads back to the millisecond and 0 means never', () => {
    const at = new Date(Date.UTC(2026, 10, 28, 12, 0, 0, 123));
    assert.equal(toFileTime(new Date(Date.UTC(1601, 0, 1))), '0');
    assert.deepEqual(fromFileTime(toFileTime(at)), at);
    assert.equal(fromFileTime('0'), null);
    assert.equal(fromFileTime('9223372036854775807'), null);
  });

  it('when a member is named by GUID, by DN or by both, then each part reads back as written', () => {
    const guid = '33221100-5544-7766-8899-AABBCCDDEEFF';
    const dn = 'CN=Jane; Doe,OU=MSP,DC=acme,DC=test';
    assert.deepEqual(parseMemberRef(memberRefWithDn(guid, dn)), { guid: guid.toLowerCase(), dn });
    assert.deepEqual(parseMemberRef(memberRefByGuid(guid)), { guid: guid.toLowerCase(), dn: null });
    assert.deepEqual(parseMemberRef(dn), { guid: null, dn });
    assert.deepEqual(parseMemberRef('<GUID=not-a-guid>;CN=x'), { guid: null, dn: '<GUID=not-a-guid>;CN=x' });
    assert.throws(() => memberRefWithDn('nope', dn));
  });

  it('when an account is enabled or disabled, then only the ACCOUNTDISABLE bit changes', () => {
    assert.equal(withAccountEnabled(514, true), 512);
    assert.equal(withAccountEnabled(512, false), 514);
    assert.equal(withAccountEnabled(66048, false), 66050);
    assert.equal(isAccountEnabled(66048), true);
  });
});

describe('protected groups', () => {
  const group = (sid: string, name = 'G', adminCount: number | null = null) => ({ dn: `CN=${name},DC=x`, sid, name, adminCount });
  it('when a group is a privileged builtin or domain group, then it is protected by SID or RID', () => {
    assert.match(protectionReason(group('S-1-5-32-544'))!, /Administrators/);
    assert.match(protectionReason(group('S-1-5-32-551'))!, /Backup Operators/);
    for (const rid of [512, 516, 517, 518, 519, 520, 521, 526, 527])
      assert.ok(protectionReason(group(`S-1-5-21-1-2-3-${rid}`)), `RID ${rid}`);
  });
  it('when a group is DnsAdmins, has adminCount=1 or is on the tenant’s list, then it is protected', () => {
    assert.equal(protectionReason(group('S-1-5-21-1-2-3-1101', 'DnsAdmins')), 'DnsAdmins');
    assert.equal(protectionReason(group('S-1-5-21-1-2-3-1102', 'G', 1)), 'adminCount=1');
    assert.equal(protectionReason(group('S-1-5-21-1-2-3-1103', 'Vault'), ['S-1-5-21-1-2-3-1103']), 'protected by the tenant');
  });
  it('when a group is ordinary, then it is not protected', () => {
    assert.equal(protectionReason(group('S-1-5-21-1-2-3-1104', 'Helpdesk', 0)), null);
    assert.equal(protectionReason(group('S-1-5-21-1-2-3-513', 'Domain Users')), null);
  });
});

describe('elevation rules', () => {
  it('when states change, then only the documented transitions are allowed', () => {
    assert.equal(canTransition('activating', 'active'), true);
    assert.equal(canTransition('active', 'revoking'), true);
    assert.equal(canTransition('activating', 'revoking'), true, 'a kill switch ends a grant mid-activation');
    assert.equal(canTransition('active', 'expired'), false, 'never expired before the revocation ran');
    assert.equal(canTransition('expired', 'active'), false);
    assert.equal(isFinal('revoked'), true);
    assert.equal(isFinal('revoking'), false);
  });

  it('when no duration is asked, then the default applies; more than the maximum is refused, never trimmed', () => {
    assert.equal(checkRequest(profile(), {}), 3600);
    assert.equal(checkRequest(profile(), { durationSeconds: 60 }), 60);
    assert.throws(() => checkRequest(profile(), { durationSeconds: 7201 }), refusedOn('durationSeconds'));
    assert.throws(() => checkRequest(profile(), { durationSeconds: 0 }), refusedOn('durationSeconds'));
  });

  it('when the profile needs a justification or a ticket pattern, then requests without them are refused', () => {
    const strict = profile({ requireJustification: true, ticketPattern: 'INC-[0-9]+' });
    assert.throws(() => checkRequest(strict, { ticket: 'INC-1', justification: '  ' }), refusedOn('justification'));
    assert.throws(() => checkRequest(strict, { ticket: 'INC-1x', justification: 'why' }), refusedOn('ticket'));
    assert.throws(() => checkRequest(strict, { ticket: 'xINC-1', justification: 'why' }), refusedOn('ticket'));
    assert.equal(checkRequest(strict, { ticket: 'INC-1', justification: 'why' }), 3600);
    assert.throws(() => checkRequest(profile(), { justification: 'x'.repeat(1001) }), refusedOn('justification'));
  });

  it('when a ticket pattern could backtrack without bound, then saving it is refused, and a stored one is never run', () => {
    const base = {
      defaultDurationSeconds: 60,
      maxDurationSeconds: 60,
      maxTotalDurationSeconds: 60,
      approval: noApproval,
      windows: [],
      workstations: [],
    };
    for (const pattern of ['(\\d+)+X', '(a|a)*b', '(x+x+)+y', '\\d*\\d*\\d*X']) {
      assert.throws(() => assertProfileRules({ ...base, ticketPattern: pattern }), refusedOn('ticketPattern'), pattern);
    }
    for (const pattern of ['INC-[0-9]+', '[A-Z]{2,10}-\\d+(?:/\\d+)?', 'INC\\d{7}|CHG\\d{7}']) {
      assert.doesNotThrow(() => assertProfileRules({ ...base, ticketPattern: pattern }), pattern);
    }
    // A profile stored before patterns were proven: refused at once, not after 2^26 steps.
    const stored = profile({ ticketPattern: '(\\d+)+X' });
    const started = performance.now();
    assert.throws(
      () => checkRequest(stored, { ticket: '1'.repeat(26) }),
      (error: unknown) => {
        assert.ok(
          error instanceof DomainError && error.code === 'validation_failed' && /not safe to run/.test(error.message),
          String(error),
        );
        return true;
      },
    );
    assert.ok(performance.now() - started < 1000, 'the stored pattern was run');
    assert.throws(() => checkRequest(profile({ ticketPattern: 'INC-[0-9]+' }), { ticket: `INC-${'1'.repeat(200)}` }), refusedOn('ticket'));
    assert.throws(() => checkRequest(profile(), { ticket: 'x'.repeat(101) }), refusedOn('ticket'));
  });

  it('when eligibility is checked, then it is by technician id or by role', () => {
    assert.equal(isEligible(profile(), { id: 'tech-1', roles: [] }), true);
    assert.equal(isEligible(profile(), { id: 'tech-2', roles: ['approver'] }), true);
    assert.equal(isEligible(profile(), { id: 'tech-2', roles: ['technician'] }), false);
  });

  it('when a profile is saved, then impossible durations, windows, patterns and workstation names are refused', () => {
    const base = {
      defaultDurationSeconds: 60,
      maxDurationSeconds: 60,
      maxTotalDurationSeconds: 60,
      approval: noApproval,
      windows: [],
      ticketPattern: null,
      workstations: [],
    };
    assert.throws(() => assertProfileRules({ ...base, defaultDurationSeconds: 61 }), refusedOn('defaultDurationSeconds'));
    assert.throws(() => assertProfileRules({ ...base, windows: [{ days: [7], start: '09:00', end: '17:00' }] }), refusedOn('windows'));
    assert.throws(() => assertProfileRules({ ...base, windows: [{ days: [1], start: '17:00', end: '09:00' }] }), refusedOn('windows'));
    assert.throws(() => assertProfileRules({ ...base, ticketPattern: '([' }), refusedOn('ticketPattern'));
    assert.throws(() => assertProfileRules({ ...base, workstations: ['bad name'] }), refusedOn('workstations'));
    assert.throws(() => assertProfileRules({ ...base, maxTotalDurationSeconds: 59 }), refusedOn('maxTotalDurationSeconds'));
    assert.throws(
      () => assertProfileRules({ ...base, approval: { ...noApproval, required: 2, approvers: ['only-one'] } }),
      refusedOn('approval.approvers'),
    );
    assert.throws(
      () => assertProfileRules({ ...base, approval: { ...noApproval, timeoutSeconds: 10 } }),
      refusedOn('approval.timeoutSeconds'),
    );
    assert.doesNotThrow(() =>
      assertProfileRules({ ...base, windows: [{ days: [1, 2], start: '08:00', end: '18:00' }], workstations: ['JUMP01'] }),
    );
  });
});
