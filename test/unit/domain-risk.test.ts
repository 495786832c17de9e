// Risk signals (docs/security-model.md, Risk signals): the score and its reasons from a technician's own history, the baseline
// of their usual hours with its cold start, fan-out and MFA failures.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assessRisk,
  hourOfWeek,
  isRiskFlagged,
  isUsualHour,
  isValidRiskThreshold,
  riskDefaults,
  type PastRequest,
  type RiskInput,
} from '../../src/domain/risk.ts';

/** Monday 2 November 2026 (no DST change near it in Europe or the US east coast… until the 1st). */
const monday = (hhmm: string, zone = 'Z') => new Date(`2026-11-02T${hhmm}:00${zone}`);
const daysBefore = (at: Date, days: number, hhmm?: string) => {
  const d = new Date(at.getTime() - days * 86_400_000);
  if (hhmm) {
    const [hh, mm] = hhmm.split(':').map(Number);
    d.setUTCHours(hh!, mm!, 0, 0);
  }
  return d;
};
const past = (tenantId: string, requestedAt: Date, state: PastRequest['state'] = 'expired'): PastRequest => ({
  tenantId,
  requestedAt,
  state,
  activated: state !== 'denied',
});

const input = (changes: Partial<RiskInput> = {}): RiskInput => ({
  at: monday('10:00'),
  tenantId: 'acme',
  timeZone: 'UTC',
  history: [],
  elevatedTenants: new Set(['acme']),
  mfa: { failures: 0, lockedOut: false },
  ...changes,
});
const signals = (r: ReturnType<typeof assessRisk>) => r.reasons.map((x) => x.signal);

/** `count` weekday requests (Monday–Friday, going back from `at`) at the given UTC time. */
function weekdayHistory(at: Date, count: number, hhmm: string, tenantId = 'acme'): PastRequest[] {
  const out: PastRequest[] = [];
  for (let days = 1; out.length < count; days++) {
    const d = daysBefore(at, days, hhmm);
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) out.push(past(tenantId, d));
  }
  return out;
}

describe('risk: hour of the week', () => {
  it('when a time is read in a zone, then Monday 00:00 local is hour 0 and Sunday 23:00 is 167', () => {
    assert.equal(hourOfWeek(monday('00:30'), 'UTC'), 0);
    assert.equal(hourOfWeek(monday('00:30'), 'Europe/Berlin'), 1);
    assert.equal(hourOfWeek(monday('00:30'), 'America/New_York'), 6 * 24 + 19, 'Sunday 19:30 in New York');
  });
});

describe('risk: the baseline of usual hours', () => {
  it('when there is no history, then weekday working hours in the tenant zone are usual and nights and weekends are not', () => {
    const at = (d: Date, zone: string) => isUsualHour(hourOfWeek(d, zone), []);
    assert.equal(at(monday('09:00'), 'UTC'), true);
    assert.equal(at(monday('17:59'), 'UTC'), true);
    assert.equal(at(monday('18:00'), 'UTC'), false);
    assert.equal(at(monday('03:00'), 'UTC'), false);
    assert.equal(at(new Date('2026-11-07T10:00:00Z'), 'UTC'), false, 'Saturday');
    // 07:30 UTC is 08:30 in Berlin: usual there, not in a UTC tenant.
    assert.equal(at(monday('07:30'), 'Europe/Berlin'), true);
    assert.equal(at(monday('07:30'), 'UTC'), false);
  });

  it('when a night-shift technician has a learned history, then their nights are usual, also on a weekday they never used, and office hours are not', () => {
    const now = new Date('2026-11-04T22:30:00Z'); // Wednesday
    const nights = weekdayHistory(now, 30, '22:15').filter((r) => r.requestedAt.getUTCDay() !== 4); // never a Thursday
    const hours = nights.map((r) => hourOfWeek(r.requestedAt, 'UTC'));
    assert.ok(hours.length >= 20);
    assert.equal(isUsualHour(hourOfWeek(now, 'UTC'), hours), true);
    assert.equal(isUsualHour(hourOfWeek(new Date('2026-11-05T22:30:00Z'), 'UTC'), hours), true, 'Thursday night, from the other weekdays');
    assert.equal(
      isUsualHour(hourOfWeek(new Date('2026-11-04T10:00:00Z'), 'UTC'), hours),
      false,
      'office hours: the prior no longer counts',
    );
    assert.equal(
      isUsualHour(hourOfWeek(new Date('2026-11-07T22:30:00Z'), 'UTC'), hours),
      false,
      'Saturday night: weekdays say nothing about weekends',
    );
  });

  it('when the history is short, then working hours stay usual, and they fade as the learned pattern takes over', () => {
    const mondayNine = hourOfWeek(monday('09:00'), 'UTC');
    const tuesdayTwo = hourOfWeek(new Date('2026-11-03T14:00:00Z'), 'UTC');
    const afternoons = (n: number) => Array.from({ length: n }, () => tuesdayTwo);
    assert.equal(isUsualHour(mondayNine, afternoons(5)), true, 'few requests: the prior holds');
    assert.equal(isUsualHour(mondayNine, afternoons(10)), true);
    assert.equal(isUsualHour(mondayNine, afternoons(15)), false, 'the prior is half gone and nothing supports Monday 09:00');
    assert.equal(isUsualHour(hourOfWeek(monday('14:00'), 'UTC'), afternoons(15)), true, 'Monday afternoon, from the Tuesday afternoons');
    assert.equal(
      isUsualHour(hourOfWeek(monday('03:00'), 'UTC'), afternoons(1).concat([hourOfWeek(monday('03:00'), 'UTC')])),
      true,
      'an hour once used is usual early on',
    );
  });

  it('when one odd request sits among hundreds, then its hour does not become usual', () => {
    const many = Array.from({ length: 300 }, (_, i) => hourOfWeek(new Date(Date.UTC(2026, 9, 1 + (i % 28), 9 + (i % 8))), 'UTC'));
    const three = hourOfWeek(monday('03:00'), 'UTC');
    assert.equal(isUsualHour(three, [...many, three]), false);
    assert.equal(isUsualHour(three, [...many, three, three, three, three]), true, 'a habit, not a one-off');
  });
});

describe('risk: the score and its reasons', () => {
  it('when a technician asks in their usual hours in a tenant they know, then the score is 0 with no reasons', () => {
    assert.deepEqual(assessRisk(input()), { score: 0, reasons: [] });
  });

  it('when it is their first elevation into the tenant, then that is a reason, worth less than the default threshold alone', () => {
    const r = assessRisk(input({ elevatedTenants: new Set(['globex']) }));
    assert.deepEqual(r.reasons, [{ signal: 'first_in_tenant', points: 20, detail: 'first elevation into acme' }]);
    assert.equal(isRiskFlagged(r, 50), false);
  });

  it('when asked at 03:00 local after a learned daytime history, then unusual_hour says when and on what basis', () => {
    const at = new Date('2026-11-04T03:00:00Z');
    const r = assessRisk(input({ at, timeZone: 'Europe/London', history: weekdayHistory(at, 25, '10:00') }));
    assert.deepEqual(signals(r), ['unusual_hour']);
    assert.equal(r.score, riskDefaults.points.unusualHour);
    assert.match(r.reasons[0]!.detail, /^Wednesday 03:00 Europe\/London is outside this technician's usual hours \(25 past requests\)$/);
    const day = assessRisk(
      input({ at: new Date('2026-11-04T10:20:00Z'), timeZone: 'Europe/London', history: weekdayHistory(at, 25, '10:00') }),
    );
    assert.deepEqual(day.reasons, []);
  });

  it('when denied requests, requests older than the lookback or a recent burst are in the history, then they teach nothing', () => {
    const at = new Date('2026-11-04T03:00:00Z');
    const nightsDenied = Array.from({ length: 10 }, (_, i) => past('acme', daysBefore(at, i + 1), 'denied'));
    assert.deepEqual(signals(assessRisk(input({ at, history: nightsDenied }))), ['unusual_hour']);
    const nightsLongAgo = Array.from({ length: 10 }, (_, i) => past('acme', daysBefore(at, 100 + i)));
    assert.deepEqual(signals(assessRisk(input({ at, history: nightsLongAgo }))), ['unusual_hour']);
    const burst = Array.from({ length: 10 }, (_, i) => past('acme', new Date(at.getTime() - (i + 1) * 3_600_000)));
    assert.deepEqual(signals(assessRisk(input({ at, history: burst }))), ['unusual_hour'], 'the last 12 hours are not learned from');
    const nightsRecent = Array.from({ length: 10 }, (_, i) => past('acme', daysBefore(at, i + 1)));
    assert.deepEqual(signals(assessRisk(input({ at, history: nightsRecent }))), []);
  });

  it('when requests go into three tenants within 15 minutes, then fan_out alone reaches the default threshold, and more tenants add more', () => {
    const at = monday('10:00');
    const minutesAgo = (m: number) => new Date(at.getTime() - m * 60_000);
    const two = [past('globex', minutesAgo(14)), past('initech', minutesAgo(3))];
    const r = assessRisk(input({ at, history: two }));
    assert.deepEqual(r.reasons, [
      { signal: 'fan_out', points: 60, detail: 'requests into 3 tenants within 15 minutes (acme, globex, initech)' },
    ]);
    assert.equal(isRiskFlagged(r, 50), true);
    assert.equal(
      assessRisk(input({ at, history: [...two, past('umbrella', minutesAgo(1), 'denied')] })).score,
      70,
      'a denied request still counts as an attempt',
    );
    assert.deepEqual(
      assessRisk(input({ at, history: [past('globex', minutesAgo(16)), past('initech', minutesAgo(3))] })).reasons,
      [],
      'one is outside the window',
    );
    assert.deepEqual(
      assessRisk(input({ at, history: [past('acme', minutesAgo(5)), past('globex', minutesAgo(3))] })).reasons,
      [],
      'the same tenant twice is two tenants',
    );
    const custom = { ...riskDefaults, fanOut: { windowMinutes: 30, tenants: 2 } };
    assert.equal(assessRisk(input({ at, history: [past('globex', minutesAgo(20))] }), custom).score, 60, 'configurable window and count');
  });

  it('when codes failed recently, then each adds points up to a cap, and a lockout adds more', () => {
    assert.deepEqual(assessRisk(input({ mfa: { failures: 2, lockedOut: false } })).reasons, [
      { signal: 'mfa_failures', points: 20, detail: '2 failed codes in the last 24 hours' },
    ]);
    assert.equal(assessRisk(input({ mfa: { failures: 4, lockedOut: false } })).score, 30);
    assert.equal(assessRisk(input({ mfa: { failures: 5, lockedOut: true } })).score, 40);
  });

  it('when every signal fires, then the score stops at 100 and each reason keeps its points', () => {
    const at = monday('03:00');
    const others = ['b', 'c', 'd', 'e'].map((t, i) => past(t, new Date(at.getTime() - (i + 1) * 60_000)));
    const r = assessRisk(input({ at, history: others, elevatedTenants: new Set(), mfa: { failures: 5, lockedOut: true } }));
    assert.deepEqual(signals(r).sort(), ['fan_out', 'first_in_tenant', 'mfa_failures', 'unusual_hour']);
    assert.equal(r.score, 100);
    assert.ok(r.reasons.reduce((s, x) => s + x.points, 0) > 100);
  });

  it('when a threshold is checked, then whole numbers 1–100 are valid and a score equal to it is flagged', () => {
    assert.deepEqual([1, 50, 100].map(isValidRiskThreshold), [true, true, true]);
    assert.deepEqual([0, 101, 50.5, Number.NaN, '50'].map(isValidRiskThreshold), [false, false, false, false, false]);
    assert.equal(isRiskFlagged({ score: 50, reasons: [] }, 50), true);
    assert.equal(isRiskFlagged({ score: 49, reasons: [] }, 50), false);
  });
});
