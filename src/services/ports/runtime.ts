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
