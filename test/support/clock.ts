// Clocks the test moves by hand, so TOTP steps, token expiry and lockouts are exact.
import type { Clock } from '../../src/services/ports/runtime.ts';

/** Both test clocks sleep for real: a clock that stands still must not hang a waiting job. */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface FakeClock extends Clock {
  set(at: Date | number): void;
  advance(ms: number): void;
}

/** Sleeping takes real time, whatever the clock says (as the container's clock does). */

/** Stands still until moved. */
export function fakeClock(start: Date | number = Date.UTC(2026, 10, 2, 9, 0, 10)): FakeClock {
  let current = typeof start === 'number' ? start : start.getTime();
  return {
    now: () => new Date(current),
    sleep,
    set: (at) => {
      current = typeof at === 'number' ? at : at.getTime();
    },
    advance: (ms) => {
      current += ms;
    },
  };
}

/** Real time plus an offset the test can move forward: for tests with real queues and timers. */
export function runningClock(): FakeClock {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    sleep,
    set: (at) => {
      offset = (typeof at === 'number' ? at : at.getTime()) - Date.now();
    },
    advance: (ms) => {
      offset += ms;
    },
  };
}
