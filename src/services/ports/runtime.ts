// Time, randomness and the event log: what every use case may be given instead of reaching for globals.
export interface Clock {
  now(): Date;
  /** Resolves after `ms` of real time; never keeps a process alive on its own. */
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
