// The system's clock and timers: the real implementations of the Clock and Timers ports.
import type { Clock } from '../../services/ports/runtime.ts';
import type { Timer, Timers } from '../../services/ports/runtime.ts';

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

export const systemTimers: Timers = {
  timeout(ms, run, options): Timer {
    const timer = setTimeout(run, ms);
    if (options?.background) timer.unref();
    return { clear: () => clearTimeout(timer) };
  },
  interval(ms, run): Timer {
    const timer = setInterval(run, ms);
    return { clear: () => clearInterval(timer) };
  },
};
