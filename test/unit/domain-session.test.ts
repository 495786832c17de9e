// Session lifetimes (docs/security-model.md, Login, TOTP and sessions): refresh ends on revocation, 30 minutes idle or 12 hours in all, and
// an access token never outlives its session.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  accessTokenExpiry,
  defaultSessionPolicy,
  refreshVerdict,
  type SessionPolicy,
  type SessionTimes,
} from '../../src/domain/session.ts';

const minute = 60_000;
const hour = 60 * minute;
const t0 = Date.UTC(2026, 5, 1, 8, 0);
const at = (ms: number) => new Date(t0 + ms);
const session = (changes: Partial<SessionTimes> = {}): SessionTimes => ({
  createdAt: at(0),
  lastRefreshedAt: at(0),
  revokedAt: null,
  ...changes,
});
const verdict = (changes: Partial<SessionTimes>, now: number) => refreshVerdict(session(changes), at(now), defaultSessionPolicy);

describe('session refresh', () => {
  it('when nothing is configured, then access lasts 15 minutes, idle 30 minutes and the whole session 12 hours', () => {
    assert.deepEqual(defaultSessionPolicy, { accessTtlMs: 15 * minute, refreshIdleMs: 30 * minute, refreshAbsoluteMs: 12 * hour });
  });

  it('when the session is refreshed regularly and is younger than 12 hours, then it is live', () => {
    assert.equal(verdict({ lastRefreshedAt: at(12 * hour - 10 * minute) }, 12 * hour - 1), 'live');
  });

  it('when the session idles one millisecond short of 30 minutes, then it is live, and at 30 minutes it is idle', () => {
    assert.equal(verdict({}, 30 * minute - 1), 'live');
    assert.equal(verdict({}, 30 * minute), 'idle');
    assert.equal(verdict({ lastRefreshedAt: at(2 * hour) }, 2 * hour + 30 * minute), 'idle');
  });

  it('when the session reaches 12 hours, then it ends even if it was just refreshed', () => {
    assert.equal(verdict({ lastRefreshedAt: at(12 * hour - minute) }, 12 * hour), 'absolute');
  });

  it('when a session is both idle and past 12 hours, then the absolute end is the reason given', () => {
    assert.equal(verdict({}, 13 * hour), 'absolute');
  });

  it('when a session was revoked, then it is over whatever its age', () => {
    assert.equal(verdict({ revokedAt: at(minute) }, 2 * minute), 'revoked');
    assert.equal(verdict({ revokedAt: at(minute) }, 13 * hour), 'revoked');
  });

  it('when a policy has other limits, then those are applied instead of the defaults', () => {
    const policy: SessionPolicy = { accessTtlMs: minute, refreshIdleMs: 5 * minute, refreshAbsoluteMs: hour };
    assert.equal(refreshVerdict(session(), at(5 * minute), policy), 'idle');
    assert.equal(refreshVerdict(session({ lastRefreshedAt: at(58 * minute) }), at(hour), policy), 'absolute');
  });
});

describe('access token expiry', () => {
  it('when a token is issued early in a session, then it lasts the access lifetime', () => {
    assert.deepEqual(accessTokenExpiry(session(), at(10 * minute), defaultSessionPolicy), at(25 * minute));
  });

  it('when a token is issued near the absolute end, then it ends with the session', () => {
    assert.deepEqual(accessTokenExpiry(session(), at(12 * hour - 5 * minute), defaultSessionPolicy), at(12 * hour));
    assert.deepEqual(accessTokenExpiry(session(), at(12 * hour - 15 * minute), defaultSessionPolicy), at(12 * hour));
  });

  it('when a policy has a shorter access lifetime, then the token gets that lifetime', () => {
    const policy: SessionPolicy = { ...defaultSessionPolicy, accessTtlMs: minute };
    assert.deepEqual(accessTokenExpiry(session(), at(hour), policy), at(hour + minute));
  });
});
