// Stint's own TOTP rules (docs/security-model.md, Login, TOTP and sessions): time steps, replay, the shape of a code, and lockout arithmetic.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultLockoutPolicy,
  failedAttemptLocks,
  isLocked,
  isReplay,
  isWellFormedTotpCode,
  lockedUntilAfter,
  mayCheckAttempt,
  timeStepAt,
  type MfaLockoutPolicy,
} from '../../src/domain/mfa.ts';

const minute = 60_000;
const t0 = Date.UTC(2026, 5, 1, 8, 0);
const at = (ms: number) => new Date(t0 + ms);
const attempts = (count: number) => Array.from({ length: count }, (_, i) => i + 1);

describe('MFA lockout', () => {
  it('when nothing is configured, then five failures lock for fifteen minutes', () => {
    assert.deepEqual(defaultLockoutPolicy, { maxFailures: 5, lockoutMs: 15 * minute });
  });

  it('when failed attempts are counted, then the fifth failure locks and the ones before it do not', () => {
    assert.deepEqual(
      attempts(6).map((n) => failedAttemptLocks(n, defaultLockoutPolicy)),
      [false, false, false, false, true, true],
    );
  });

  it('when attempts are numbered before checking, then the first five are checked and the sixth is not', () => {
    assert.deepEqual(
      attempts(6).map((n) => mayCheckAttempt(n, defaultLockoutPolicy)),
      [true, true, true, true, true, false],
    );
  });

  it('when a policy allows three failures, then the third failure locks and a fourth attempt is not checked', () => {
    const strict: MfaLockoutPolicy = { maxFailures: 3, lockoutMs: minute };
    assert.deepEqual(
      attempts(4).map((n) => failedAttemptLocks(n, strict)),
      [false, false, true, true],
    );
    assert.deepEqual(
      attempts(4).map((n) => mayCheckAttempt(n, strict)),
      [true, true, true, false],
    );
  });

  it('when a lock is set, then it ends exactly one lockout period later', () => {
    assert.deepEqual(lockedUntilAfter(at(0), defaultLockoutPolicy), at(15 * minute));
    assert.deepEqual(lockedUntilAfter(at(7), { maxFailures: 5, lockoutMs: 2 * minute }), at(7 + 2 * minute));
  });

  it('when the lock end is reached, then the technician is free again, and a millisecond before they are not', () => {
    const until = lockedUntilAfter(at(0), defaultLockoutPolicy);
    assert.equal(isLocked(until, at(0)), true);
    assert.equal(isLocked(until, at(15 * minute - 1)), true);
    assert.equal(isLocked(until, at(15 * minute)), false);
    assert.equal(isLocked(until, at(16 * minute)), false);
  });

  it('when no lock was ever set, then the technician is not locked', () => {
    assert.equal(isLocked(null, at(0)), false);
  });
});

describe('TOTP replay', () => {
  it('when no code was accepted yet, then no step is a replay, not even step 0', () => {
    assert.equal(isReplay(null, 0), false);
    assert.equal(isReplay(null, 59_000_000), false);
  });

  it('when a step was accepted, then that step and every earlier one are replays and later ones are not', () => {
    assert.equal(isReplay(100, 100), true);
    assert.equal(isReplay(100, 99), true);
    assert.equal(isReplay(100, 0), true);
    assert.equal(isReplay(100, 101), false);
  });
});

describe('TOTP code shape', () => {
  it('when a code is six ASCII digits, then it is well formed, leading zeros included', () => {
    for (const good of ['123456', '000000', '999999']) assert.equal(isWellFormedTotpCode(good), true, good);
  });

  it('when a code is anything else, then it is malformed', () => {
    const bad = [
      '',
      '12345',
      '1234567',
      '12345a',
      ' 123456',
      '123456 ',
      '123456\n',
      '123 456',
      '+12345',
      '-12345',
      '１２３４５６',
      '١٢٣٤٥٦',
    ];
    for (const code of bad) assert.equal(isWellFormedTotpCode(code), false, JSON.stringify(code));
  });
});

describe('TOTP time steps', () => {
  it('when RFC 6238 appendix B times are given, then the steps are the ones in its table', () => {
    const table: Array<[number, number]> = [
      [59, 0x1],
      [1111111109, 0x23523ec],
      [1111111111, 0x23523ed],
      [1234567890, 0x273ef07],
      [2000000000, 0x3f940aa],
      [20000000000, 0x27bc86aa],
    ];
    for (const [seconds, step] of table) assert.equal(timeStepAt(new Date(seconds * 1000)), step, `T=${seconds}`);
  });

  it('when time crosses a 30-second boundary, then the step moves by one and not before', () => {
    assert.equal(timeStepAt(new Date(0)), 0);
    assert.equal(timeStepAt(new Date(29_999)), 0);
    assert.equal(timeStepAt(new Date(30_000)), 1);
    assert.equal(timeStepAt(new Date(59_999)), 1);
  });
});
