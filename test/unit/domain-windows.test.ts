// Weekly windows in a tenant's time zone, and approval tallies (docs/architecture.md, Weekly windows and Approvals).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertMayDecide, tally, type Decision } from '../../src/domain/approval.ts';
import type { DomainError } from '../../src/domain/errors.ts';
import { checkWindow, logonHoursFor } from '../../src/domain/windows.ts';

const weekdays = [{ days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' }];
const bit = (hours: Uint8Array, hour: number) => (hours[hour >> 3]! & (1 << (hour & 7))) !== 0;

describe('weekly windows', () => {
  it('when there are no windows, then any time is open with nothing to clamp to', () => {
    assert.deepEqual(checkWindow([], 'Europe/Berlin', new Date()), { open: true, closesAt: null });
  });

  it('when inside a window, then it closes at the local end time in UTC, before and after a DST change', () => {
    assert.deepEqual(checkWindow(weekdays, 'Europe/Berlin', new Date('2026-03-27T10:00:00Z')), {
      open: true,
      closesAt: new Date('2026-03-27T16:00:00Z'),
    });
    assert.deepEqual(checkWindow(weekdays, 'Europe/Berlin', new Date('2026-03-30T10:00:00Z')), {
      open: true,
      closesAt: new Date('2026-03-30T15:00:00Z'),
    });
    assert.deepEqual(checkWindow(weekdays, 'America/New_York', new Date('2026-11-02T15:00:00Z')), {
      open: true,
      closesAt: new Date('2026-11-02T22:00:00Z'),
    });
  });

  it('when outside, then the next opening is named, across the weekend and the clock change', () => {
    assert.deepEqual(checkWindow(weekdays, 'Europe/Berlin', new Date('2026-03-28T10:00:00Z')), {
      open: false,
      opensAt: new Date('2026-03-30T07:00:00Z'),
    });
    assert.deepEqual(
      checkWindow(weekdays, 'Europe/Berlin', new Date('2026-03-27T16:00:00Z')),
      { open: false, opensAt: new Date('2026-03-30T07:00:00Z') },
      'the end is exclusive',
    );
  });

  it('when windows touch (a night shift over midnight), then they count as one', () => {
    const night = [
      { days: [1], start: '22:00', end: '24:00' },
      { days: [2], start: '00:00', end: '06:00' },
    ];
    assert.deepEqual(checkWindow(night, 'UTC', new Date('2026-11-02T23:00:00Z')), {
      open: true,
      closesAt: new Date('2026-11-03T06:00:00Z'),
    });
  });

  it('when a window starts in the hour the clocks skip, then it opens at the first real moment after', () => {
    const early = [{ days: [0], start: '02:30', end: '04:00' }];
    // Sunday 29 March 2026 in Berlin: 02:00 CET becomes 03:00 CEST, so 02:30 never happens.
    const check = checkWindow(early, 'Europe/Berlin', new Date('2026-03-29T00:00:00Z'));
    assert.equal(check.open, false);
    assert.ok(
      !check.open &&
        check.opensAt.getTime() <= new Date('2026-03-29T01:30:00Z').getTime() &&
        check.opensAt.getTime() >= new Date('2026-03-29T01:00:00Z').getTime(),
    );
  });

  it('when logonHours are built, then each allowed hour is a bit of the week in UTC, Sunday 00:00 first', () => {
    const hours = logonHoursFor(weekdays, 'Europe/Berlin', new Date('2026-03-30T07:30:00Z'));
    assert.equal(hours.length, 21);
    for (let day = 0; day < 7; day++) {
      for (let hour = 0; hour < 24; hour++) {
        assert.equal(bit(hours, day * 24 + hour), day >= 1 && day <= 5 && hour >= 7 && hour < 15, `day ${day} ${hour}:00 UTC`);
      }
    }
    const minutes = logonHoursFor([{ days: [3], start: '09:30', end: '10:15' }], 'UTC', new Date('2026-11-02T00:00:00Z'));
    assert.deepEqual(
      [8, 9, 10, 11].map((h) => bit(minutes, 3 * 24 + h)),
      [false, true, true, false],
      'partial hours are allowed whole',
    );
  });
});

describe('approval tallies', () => {
  const d = (approverId: string, decision: 'approve' | 'deny', round = 0): Decision => ({
    round,
    approverId,
    decision,
    reason: null,
    at: new Date(0),
  });

  it('when the same approver approves twice, then they count once', () => {
    assert.deepEqual(tally([d('a', 'approve'), d('a', 'approve')], 0, 2), { outcome: 'waiting', approvals: 1 });
    assert.deepEqual(tally([d('a', 'approve'), d('b', 'approve')], 0, 2), { outcome: 'approved', approvals: 2 });
  });

  it('when anyone denies, then the round is denied whatever else was said', () => {
    assert.equal(tally([d('a', 'approve'), d('b', 'approve'), d('c', 'deny')], 0, 2).outcome, 'denied');
  });

  it('when rounds differ, then an extension is counted apart from the request', () => {
    assert.equal(tally([d('a', 'approve', 0), d('b', 'deny', 0)], 1, 1).outcome, 'waiting');
  });

  it('when someone decides, then only a named or tenant approver who is not the requester may', () => {
    const request = { tenantId: 'acme', technicianId: 'req', approverIds: [] as string[] };
    const approver = { id: 'a', roles: ['approver'] as const, approverTenants: ['acme'], status: 'active' };
    assert.doesNotThrow(() => assertMayDecide(approver, request));
    const code = (f: () => void) => {
      try {
        f();
        return null;
      } catch (e) {
        return (e as DomainError).code;
      }
    };
    assert.equal(
      code(() => assertMayDecide({ ...approver, id: 'req' }, request)),
      'self_approval',
    );
    assert.equal(
      code(() => assertMayDecide({ ...approver, approverTenants: ['globex'] }, request)),
      'forbidden',
    );
    assert.equal(
      code(() => assertMayDecide({ ...approver, roles: ['technician'] }, request)),
      'forbidden',
    );
    assert.equal(
      code(() => assertMayDecide(approver, { ...request, approverIds: ['someone-else'] })),
      'forbidden',
    );
  });
});
