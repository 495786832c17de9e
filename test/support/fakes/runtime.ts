// Time, randomness and the event log for unit tests: the clock the test moves
// (test/support/clock.ts), ids and bytes that are predictable, and a log that records.
import { createHash } from 'node:crypto';
import type { Clock, EventLog, RandomSource, Timer, Timers } from '../../../src/services/ports/runtime.ts';
import type { FakeClock } from '../clock.ts';

export { fakeClock, type FakeClock } from '../clock.ts';

export interface RecordedLine {
  level: 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

export interface RecordingLog extends EventLog {
  readonly lines: RecordedLine[];
  messages(level?: RecordedLine['level']): string[];
}

export function recordingLog(): RecordingLog {
  const lines: RecordedLine[] = [];
  const at = (level: RecordedLine['level']) => (fields: Record<string, unknown>, message: string) => {
    lines.push({ level, fields, message });
  };
  return {
    lines,
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    messages: (level) => lines.filter((l) => !level || l.level === level).map((l) => l.message),
  };
}

/**
 * Ids that are UUID-shaped and in order (…-000000000001, …-000000000002), and bytes from a seeded
 * SHA-256 stream: the same test draws the same values every run.
 */
export function sequentialRandom(seed = 'stint-unit'): RandomSource & { readonly ids: string[] } {
  const ids: string[] = [];
  let counter = 0;
  let drawn = 0;
  return {
    ids,
    id() {
      const id = `10000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`;
      ids.push(id);
      return id;
    },
    bytes(count) {
      const out = Buffer.alloc(count);
      for (let filled = 0; filled < count; drawn++) {
        const block = createHash('sha256').update(`${seed}:${drawn}`).digest();
        filled += block.copy(out, filled);
      }
      return out;
    },
  };
}

export interface FakeTimers extends Timers {
  /** Timers started and not yet run or cleared, with when they are due on the clock. */
  readonly pending: ReadonlyArray<{ at: number; every: number | null; options?: { background?: boolean } }>;
  /** Runs every timer due by the clock's now (an interval once per call, then due again `every` later); answers how many ran. */
  runDue(): number;
}

/**
 * Timers on the fake clock (the real ones: src/adapters/runtime/clock.ts): nothing runs by itself;
 * a test moves the clock and calls `runDue()`. Clearing a timer is harmless once it has run.
 */
export function fakeTimers(clock: Clock): FakeTimers {
  interface Entry {
    at: number;
    every: number | null;
    run: () => void;
    options?: { background?: boolean };
  }
  const entries = new Set<Entry>();
  const start = (ms: number, run: () => void, every: number | null, options?: { background?: boolean }): Timer => {
    const entry: Entry = { at: clock.now().getTime() + Math.max(0, ms), every, run, ...(options && { options }) };
    entries.add(entry);
    return { clear: () => void entries.delete(entry) };
  };
  return {
    get pending() {
      return [...entries].map(({ at, every, options }) => ({ at, every, ...(options && { options }) }));
    },
    timeout: (ms, run, options) => start(ms, run, null, options),
    interval: (ms, run) => start(ms, run, ms),
    runDue() {
      const now = clock.now().getTime();
      const due = [...entries].filter((e) => e.at <= now).sort((a, b) => a.at - b.at);
      for (const entry of due) {
        if (entry.every === null) entries.delete(entry);
        else entry.at = now + entry.every;
        entry.run();
      }
      return due.length;
    },
  };
}

/**
 * The fake clock with a sleep that lets the time pass at once (the clock moves forward by `ms`):
 * for use cases that wait for a moment (a batch of expiries lingering, a job early for its end)
 * where real waiting would only slow the fast tier down.
 */
export function instantSleep<C extends FakeClock>(clock: C): C {
  return {
    ...clock,
    async sleep(ms: number) {
      clock.advance(Math.max(0, ms));
    },
  };
}
