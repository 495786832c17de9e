// Weekly windows (docs/architecture.md, Weekly windows): days and local start/end times in the tenant's IANA time zone.
// A request outside every window is refused with the next opening; a grant never runs past the
// end of the window it started in; `logonHours` is the same windows in UTC hours, as AD keeps it.
// Every conversion goes through luxon with the tenant's zone, so DST changes land where the
// zone's rules put them (a window of 09:00–17:00 is 8 hours of wall-clock time on any day, and
// 7 or 9 hours of real time only on the day the clocks change at a time inside it).
import { DateTime } from 'luxon';
import { minutesOf, type WeeklyWindow } from './profile.ts';

export interface Span {
  start: Date;
  end: Date;
}

export type WindowCheck =
  /** No windows: any time will do. */
  | { open: true; closesAt: null }
  /** Inside a window that closes at `closesAt` (touching windows count as one). */
  | { open: true; closesAt: Date }
  /** Outside every window; `opensAt` is the next opening. */
  | { open: false; opensAt: Date };

const minuteOfDay = (day: DateTime, minutes: number): DateTime =>
  // 24:00 is the next local midnight (not 24 h later: a DST day has 23 or 25 hours).
  minutes === 24 * 60 ? day.plus({ days: 1 }) : day.set({ hour: Math.floor(minutes / 60), minute: minutes % 60 });

/** The windows' occurrences from a day before `from` to `days` days after, merged where they touch. */
export function occurrences(windows: readonly WeeklyWindow[], zone: string, from: Date, days = 8): Span[] {
  const first = DateTime.fromJSDate(from, { zone }).startOf('day').minus({ days: 1 });
  const spans: Span[] = [];
  for (let d = 0; d <= days + 1; d++) {
    const day = first.plus({ days: d });
    const weekday = day.weekday % 7; // luxon: Monday 1 … Sunday 7; windows: Sunday 0 … Saturday 6
    for (const w of windows) {
      if (!w.days.includes(weekday)) continue;
      const start = minuteOfDay(day, minutesOf(w.start)!).toJSDate();
      const end = minuteOfDay(day, minutesOf(w.end)!).toJSDate();
      if (end > start) spans.push({ start, end });
    }
  }
  spans.sort((a, b) => a.start.getTime() - b.start.getTime());
  const merged: Span[] = [];
  for (const span of spans) {
    const last = merged.at(-1);
    if (last && span.start.getTime() <= last.end.getTime()) {
      if (span.end > last.end) last.end = span.end;
    } else {
      merged.push({ ...span });
    }
  }
  return merged;
}

export function checkWindow(windows: readonly WeeklyWindow[], zone: string, at: Date): WindowCheck {
  if (windows.length === 0) return { open: true, closesAt: null };
  const spans = occurrences(windows, zone, at);
  const current = spans.find((s) => s.start <= at && at < s.end);
  if (current) return { open: true, closesAt: current.end };
  const next = spans.find((s) => s.start > at);
  // Every window has at least one day, so within 8 days one opens.
  return { open: false, opensAt: next!.start };
}

/**
 * AD's `logonHours`: 21 bytes, one bit per hour of the week in UTC, bit 0 of byte 0 being Sunday
 * 00:00–01:00 UTC. Built from the windows' real occurrences in the week from `from`, so the hours
 * are right for this week's UTC offset; every hour a window touches is allowed (AD cannot say
 * minutes; the grant's own end and `accountExpires` bound the rest).
 */
export function logonHoursFor(windows: readonly WeeklyWindow[], zone: string, from: Date): Uint8Array {
  const bits = new Uint8Array(21);
  const weekEnd = from.getTime() + 7 * 24 * 3600_000;
  const hour = 3600_000;
  for (const span of occurrences(windows, zone, from)) {
    if (span.end.getTime() <= from.getTime() || span.start.getTime() >= weekEnd) continue;
    const first = Math.floor(span.start.getTime() / hour);
    const last = Math.ceil(span.end.getTime() / hour);
    for (let h = first; h < last && h - first < 168; h++) {
      // Hour of the week, UTC: the Unix epoch fell on a Thursday (day 4).
      const ofWeek = (h + 4 * 24) % 168;
      bits[ofWeek >> 3]! |= 1 << (ofWeek & 7);
    }
  }
  return bits;
}

/** Every bit of both: what two grants' windows allow together. */
export function unionLogonHours(a: Uint8Array, b: Uint8Array): Uint8Array {
  return Uint8Array.from(a, (byte, i) => byte | (b[i] ?? 0));
}

/** A time as people in the tenant read it, e.g. "Mon 30 Mar 2026 09:00 CEST". */
export const localTime = (at: Date, zone: string): string => DateTime.fromJSDate(at, { zone }).toFormat('ccc d LLL yyyy HH:mm ZZZZ');
