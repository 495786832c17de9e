import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError } from '../../src/domain/errors.ts';
import {
  defaultLockoutPolicy,
  failedAttemptLocks,
  isLocked,
  isReplay,
  isWellFormedTotpCode,
  lockedUntilAfter,
  mayCheckAttempt,
  timeStepAt,
} from '../../src/domain/mfa.ts';
import { hasAnyRole, hasRole } from '../../src/domain/roles.ts';
import { accessTokenExpiry, defaultSessionPolicy, refreshVerdict } from '../../src/domain/session.ts';
import { assertDirectoryUrlAllowed, isValidTimeZone, tenantIdPattern } from '../../src/domain/tenant.ts';

const at = (minutes: number) => new Date(Date.UTC(2026, 5, 1, 8, 0) + minutes * 60_000);

describe('MFA rules', () => {
  it('when attempts are counted, then the fifth failure locks and a sixth is not even checked', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => failedAttemptLocks(n, defaultLockoutPolicy)), [false, false, false, false, true]);
    assert.equal(mayCheckAttempt(5, defaultLockoutPolicy), true);
    assert.equal(mayCheckAttempt(6, defaultLockoutPolicy), false);
  });

  it('when a lock is set, then it holds for 15 minutes and not a moment more', () => {
    const until = lockedUntilAfter(at(0), defaultLockoutPolicy);
    assert.equal(isLocked(until, at(14.9)), true);
    assert.equal(isLocked(until, at(15)), false);
    assert.equal(isLocked(null, at(0)), false);
  });

  it('when a step was accepted, then it and every earlier step are replays', () => {
    assert.equal(isReplay(100, 100), true);
    assert.equal(isReplay(100, 99), true);
    assert.equal(isReplay(100, 101), false);
    assert.equal(isReplay(null, 1), false);
  });

  it('when a code is not six digits, then it is malformed', () => {
    assert.equal(isWellFormedTotpCode('123456'), true);
    for (const bad of ['12345', '1234567', '12345a', ' 123456', '']) assert.equal(isWellFormedTotpCode(bad), false, bad);
  });

  it('when time moves 30 seconds, then the step moves by one', () => {
    assert.equal(timeStepAt(new Date(59_000)), 1);
    assert.equal(timeStepAt(new Date(60_000)), 2);
  });
});

describe('session rules', () => {
  const session = { createdAt: at(0), lastRefreshedAt: at(0), revokedAt: null };

  it('when a session is used within 30 minutes and 12 hours, then it is live', () => {
    assert.equal(refreshVerdict({ ...session, lastRefreshedAt: at(700) }, at(719), defaultSessionPolicy), 'live');
  });

  it('when it idles 30 minutes, passes 12 hours, or is revoked, then it is over for that reason', () => {
    assert.equal(refreshVerdict(session, at(30), defaultSessionPolicy), 'idle');
    assert.equal(refreshVerdict({ ...session, lastRefreshedAt: at(715) }, at(720), defaultSessionPolicy), 'absolute');
    assert.equal(refreshVerdict({ ...session, revokedAt: at(1) }, at(2), defaultSessionPolicy), 'revoked');
  });

  it('when an access token is issued near the absolute end, then it ends with the session', () => {
    assert.deepEqual(accessTokenExpiry(session, at(10), defaultSessionPolicy), at(25));
    assert.deepEqual(accessTokenExpiry(session, at(710), defaultSessionPolicy), at(720));
  });
});

describe('tenant rules', () => {
  it('when the URL is ldaps, then it is allowed in any mode', () => {
    assert.doesNotThrow(() => assertDirectoryUrlAllowed('ldaps://dc1.example:636', true));
  });

  it('when the URL is plain ldap, then production refuses it and development allows it', () => {
    assert.throws(() => assertDirectoryUrlAllowed('ldap://dc1.example', true), (e: unknown) => e instanceof DomainError && e.code === 'directory_insecure');
    assert.doesNotThrow(() => assertDirectoryUrlAllowed('ldap://dc1.example', false));
  });

  it('when the URL is another scheme or not a URL, then it is refused', () => {
    assert.throws(() => assertDirectoryUrlAllowed('https://dc1.example', false), (e: unknown) => e instanceof DomainError && e.code === 'directory_insecure');
    assert.throws(() => assertDirectoryUrlAllowed('not a url', false), (e: unknown) => e instanceof DomainError && e.code === 'validation_failed');
  });

  it('when time zones and ids are checked, then IANA names and slugs pass and the rest fail', () => {
    assert.equal(isValidTimeZone('Europe/Berlin'), true);
    assert.equal(isValidTimeZone('Mars/Olympus'), false);
    assert.equal(tenantIdPattern.test('acme-corp'), true);
    for (const bad of ['Acme', '-acme', 'acme-', 'a b', '../x']) assert.equal(tenantIdPattern.test(bad), false, bad);
  });
});

describe('roles', () => {
  it('when roles are checked, then admin does not imply the others', () => {
    assert.equal(hasRole(['admin'], 'auditor'), false);
    assert.equal(hasAnyRole(['auditor'], ['admin', 'auditor']), true);
    assert.equal(hasAnyRole(['technician'], ['admin', 'auditor']), false);
  });
});
