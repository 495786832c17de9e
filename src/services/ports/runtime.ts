// Time, randomness and the event log: what every use case may be given instead of reaching for globals.
export interface Clock {
  now(): Date;
  /** Settles after `ms` milliseconds (a clock that stands still in tests still waits for real). */
  sleep(ms: number): Promise<void>;
}

/** Operational log lines (pino's shape); never given a secret. */
export interface EventLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface RandomSource {
  bytes(count: number): Buffer;
  id(): string;
}

/** A timer started through Timers; clearing it is harmless once it has run. */
export interface Timer {
  clear(): void;
}

/**
 * The process's timers, for the work an elevation schedules on itself (an activation's lease kept,
 * the next batch of expiries brought forward, an account write giving way for a while).
 */
export interface Timers {
  /** Runs `run` once after `ms`; with `background`, the timer alone does not keep the process alive. */
  timeout(ms: number, run: () => void, options?: { background?: boolean }): Timer;
  /** Runs `run` every `ms` until cleared. */
  interval(ms: number, run: () => void): Timer;
}
