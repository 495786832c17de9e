// Risk signals (docs/security-model.md, Risk signals): every elevation request is scored 0–100 from the technician's own
// history, with the reasons that make up the score. Pure: the caller passes the history, the
// recent MFA failures, the request's time and the tenant's IANA zone.
//
// The signals and their points (riskDefaults; the score is their sum, capped at 100):
//
// - first_in_tenant (20): the technician has never been granted an elevation in this tenant
//   (no earlier request of theirs there was ever activated).
// - unusual_hour (25): the request's hour of the week is outside the technician's usual pattern.
//   Hours of the week are read in the tenant's zone (Monday 00:00 … Sunday 23:00 local, 168 of
//   them). Past requests from the last `lookbackDays` (90) count, except denied ones and those of
//   the last `settleHours` (12: a burst of requests cannot vouch for its own hour). Each adds to
//   a smoothed histogram: 1 to its own hour, 0.5 to the hours either side on the same day, 0.5 to
//   the same hour on every other day of its kind (Monday–Friday, or Saturday–Sunday) and 0.25 to
//   the hours either side of those. Before the pattern is learned a working-hours prior stands
//   in: Monday–Friday 08:00–17:59 local weighs `2 × (1 − n / takeoverAfter)` (n: past requests
//   counted; takeoverAfter 20), never below 0. An hour is usual when histogram + prior ≥
//   max(1, minShare × n) (minShare 0.01, so one odd request among hundreds does not make its
//   hour usual). So: with no history, working hours are usual and nothing else is; up to 10 past
//   requests working hours stay usual and the hours the technician has used join them; from 10
//   to 20 working hours need more and more support from the learned pattern; from 20 on only
//   the learned pattern counts.
//   Since every time is read in the same zone, the learned part compares real times: the
//   technician's habit, wherever they or the tenant are; only the cold start assumes the
//   tenant's working day.
// - fan_out (60, +10 for each tenant beyond the third): requests into at least 3 distinct
//   tenants within 15 minutes, this one included — the pattern of a stolen MSP credential.
//   Every request counts, whatever became of it.
// - mfa_failures (10 per wrong or replayed code, at most 30; 40 instead after a lockout): in the
//   last 24 hours.
//
// A tenant's risk threshold (default 50) decides what the score means: at or above it the request
// needs approval even where its profile would grant it at once, and an alert goes out. So no single
// signal but fan-out reaches the default threshold, and two or three together do.
import { DateTime } from 'luxon';
import type { ElevationState } from './elevation-state.ts';

export const riskSignals = ['first_in_tenant', 'unusual_hour', 'fan_out', 'mfa_failures'] as const;
export type RiskSignal = (typeof riskSignals)[number];

export interface RiskReason {
  signal: RiskSignal;
  points: number;
  /** In words, for the approver and the audit trail; names no secret. */
  detail: string;
}

export interface RiskAssessment {
  /** 0–100. */
  score: number;
  reasons: RiskReason[];
}

/** One of the technician's earlier requests. */
export interface PastRequest {
  tenantId: string;
  requestedAt: Date;
  state: ElevationState;
  /** It became an active grant at some point. */
  activated: boolean;
}

export interface RiskInput {
  /** The request's time (the injected clock). */
  at: Date;
  tenantId: string;
  /** The tenant's IANA zone. */
  timeZone: string;
  /** The technician's earlier requests, at least those of the last `lookbackDays`, this one excluded. */
  history: readonly PastRequest[];
  /** Tenants the technician was ever granted an elevation in (older than the lookback too). */
  elevatedTenants: ReadonlySet<string>;
  /** Wrong or replayed TOTP codes in the last `mfa.windowHours`, and whether MFA was locked then. */
  mfa: { failures: number; lockedOut: boolean };
}

export interface RiskSettings {
  points: {
    firstInTenant: number;
    unusualHour: number;
    fanOut: number;
    fanOutPerExtraTenant: number;
    mfaFailure: number;
    mfaFailuresMax: number;
    mfaLockout: number;
  };
  baseline: {
    lookbackDays: number;
    /** Requests this recent are not learned from yet. */
    settleHours: number;
    /** From this many past requests on, the working-hours prior no longer counts. */
    takeoverAfter: number;
    /** An hour needs at least this share of the past requests' weight (and at least 1) to be usual. */
    minShare: number;
    /** Local working hours of the cold start: [start, end) in whole hours, Monday–Friday. */
    workdayStartHour: number;
    workdayEndHour: number;
  };
  fanOut: { windowMinutes: number; tenants: number };
  mfa: { windowHours: number };
}

export const riskDefaults: RiskSettings = {
  points: { firstInTenant: 20, unusualHour: 25, fanOut: 60, fanOutPerExtraTenant: 10, mfaFailure: 10, mfaFailuresMax: 30, mfaLockout: 40 },
  baseline: { lookbackDays: 90, settleHours: 12, takeoverAfter: 20, minShare: 0.01, workdayStartHour: 8, workdayEndHour: 18 },
  fanOut: { windowMinutes: 15, tenants: 3 },
  mfa: { windowHours: 24 },
};

/** A tenant's threshold when none is set: at or above it a request needs approval. */
export const defaultRiskThreshold = 50;
export const riskThresholdRange = { min: 1, max: 100 } as const;

export const isValidRiskThreshold = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= riskThresholdRange.min && value <= riskThresholdRange.max;

const hoursInWeek = 168;
const dayNames = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/** Hour of the week in `zone`: 0 = Monday 00:00–00:59 … 167 = Sunday 23:00–23:59. */
export function hourOfWeek(at: Date, zone: string): number {
  const local = DateTime.fromJSDate(at, { zone });
  return (local.weekday - 1) * 24 + local.hour;
}

const isWeekend = (hour: number) => Math.floor(hour / 24) >= 5;

/** The smoothed histogram of past requests over the 168 hours of the week (see the header). */
export function learnedHistogram(hours: readonly number[]): Float64Array {
  const histogram = new Float64Array(hoursInWeek);
  const add = (hour: number, weight: number) => {
    histogram[((hour % hoursInWeek) + hoursInWeek) % hoursInWeek]! += weight;
  };
  for (const hour of hours) {
    const day = Math.floor(hour / 24);
    const hourOfDay = hour % 24;
    for (let d = 0; d < 7; d++) {
      const same = d === day;
      if (!same && isWeekend(d * 24) !== isWeekend(hour)) continue;
      const centre = d * 24 + hourOfDay;
      add(centre, same ? 1 : 0.5);
      add(centre - 1, same ? 0.5 : 0.25);
      add(centre + 1, same ? 0.5 : 0.25);
    }
  }
  return histogram;
}

/** Whether `hour` is usual for someone with these past request hours (see the header). */
export function isUsualHour(hour: number, pastHours: readonly number[], settings: RiskSettings = riskDefaults): boolean {
  const { takeoverAfter, minShare, workdayStartHour, workdayEndHour } = settings.baseline;
  const n = pastHours.length;
  const hourOfDay = hour % 24;
  const working = !isWeekend(hour) && hourOfDay >= workdayStartHour && hourOfDay < workdayEndHour;
  const prior = working ? 2 * Math.max(0, 1 - n / takeoverAfter) : 0;
  return learnedHistogram(pastHours)[hour]! + prior >= Math.max(1, minShare * n);
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The request's hour is not one the technician usually works (learned from their settled past requests). */
function unusualHourReason(input: RiskInput, settings: RiskSettings): RiskReason | null {
  const at = input.at.getTime();
  const since = at - settings.baseline.lookbackDays * 86_400_000;
  const settled = at - settings.baseline.settleHours * 3_600_000;
  const learned = input.history.filter(
    (r) => r.state !== 'denied' && r.requestedAt.getTime() >= since && r.requestedAt.getTime() <= settled,
  );
  const hour = hourOfWeek(input.at, input.timeZone);
  if (
    !isUsualHour(
      hour,
      learned.map((r) => hourOfWeek(r.requestedAt, input.timeZone)),
      settings,
    )
  ) {
    const local = DateTime.fromJSDate(input.at, { zone: input.timeZone });
    const basis =
      learned.length < settings.baseline.takeoverAfter
        ? `${plural(learned.length, 'past request')}; working hours assumed until ${settings.baseline.takeoverAfter}`
        : `${plural(learned.length, 'past request')}`;
    return {
      signal: 'unusual_hour',
      points: settings.points.unusualHour,
      detail: `${dayNames[local.weekday - 1]} ${local.toFormat('HH:mm')} ${input.timeZone} is outside this technician's usual hours (${basis})`,
    };
  }
  return null;
}

export function assessRisk(input: RiskInput, settings: RiskSettings = riskDefaults): RiskAssessment {
  const { points } = settings;
  const reasons: RiskReason[] = [];
  const at = input.at.getTime();

  if (!input.elevatedTenants.has(input.tenantId)) {
    reasons.push({ signal: 'first_in_tenant', points: points.firstInTenant, detail: `first elevation into ${input.tenantId}` });
  }

  const unusual = unusualHourReason(input, settings);
  if (unusual) reasons.push(unusual);

  const windowStart = at - settings.fanOut.windowMinutes * 60_000;
  const tenants = new Set([
    input.tenantId,
    ...input.history.filter((r) => r.requestedAt.getTime() > windowStart && r.requestedAt.getTime() <= at).map((r) => r.tenantId),
  ]);
  if (tenants.size >= settings.fanOut.tenants) {
    reasons.push({
      signal: 'fan_out',
      points: points.fanOut + points.fanOutPerExtraTenant * (tenants.size - settings.fanOut.tenants),
      detail: `requests into ${tenants.size} tenants within ${settings.fanOut.windowMinutes} minutes (${[...tenants].sort().join(', ')})`,
    });
  }

  if (input.mfa.lockedOut || input.mfa.failures > 0) {
    const window = `in the last ${plural(settings.mfa.windowHours, 'hour')}`;
    reasons.push(
      input.mfa.lockedOut
        ? {
            signal: 'mfa_failures',
            points: points.mfaLockout,
            detail: `MFA locked after wrong codes ${window} (${plural(input.mfa.failures, 'failed code')})`,
          }
        : {
            signal: 'mfa_failures',
            points: Math.min(points.mfaFailuresMax, points.mfaFailure * input.mfa.failures),
            detail: `${plural(input.mfa.failures, 'failed code')} ${window}`,
          },
    );
  }

  const score = Math.min(
    100,
    reasons.reduce((sum, r) => sum + r.points, 0),
  );
  return { score, reasons };
}

/** At or above the tenant's threshold: approval is needed and an alert goes out. */
export const isRiskFlagged = (assessment: RiskAssessment, threshold: number) => assessment.score >= threshold;
