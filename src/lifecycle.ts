// One lifecycle for every process role (docs/architecture.md, Process roles; docs/operations.md,
// Stopping): shutdown runs in named stages, in order — stop accepting → drain the work in hand →
// queues → Redis → directories → store —, and within a stage every closer runs at once and is
// awaited with Promise.allSettled, so one that fails never leaves the others open. Each failure
// is logged (stage and closer name, the error's message with any URL credentials masked) and the
// shutdown goes on. This module is process plumbing: it knows no adapter; the container and the
// entries hand it their closers.

/** One thing to close. Made with `closer()`, it closes once however often it is asked. */
export interface Closer {
  readonly name: string;
  close(): Promise<void>;
}

/** Closers that may close together; the next stage starts once all of them have settled. */
export interface ShutdownStage {
  readonly name: string;
  readonly closers: readonly Closer[];
}

export interface ShutdownFailure {
  stage: string;
  closer: string;
  error: unknown;
}

/** What the lifecycle logs through (the container's logger fits). */
export interface ShutdownLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Thrown by `closeInStages` once every stage has run, when one closer or more failed. */
export class ShutdownError extends AggregateError {
  readonly failures: readonly ShutdownFailure[];
  constructor(failures: readonly ShutdownFailure[]) {
    super(
      failures.map((f) => f.error),
      `shutdown: ${failures.map((f) => `${f.stage}/${f.closer}`).join(', ')} failed`,
    );
    this.name = 'ShutdownError';
    this.failures = failures;
  }
}

/** A closer that runs `close` at most once: a second shutdown (or `container.close()` after a signal) waits for the first. */
export function closer(name: string, close: () => unknown): Closer {
  let closing: Promise<void> | undefined;
  return {
    name,
    close: () => (closing ??= (async () => void (await close()))()),
  };
}

/** Error text for the log: the message only, with `scheme://user:password@` masked. */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1***@');
}

/** Runs the stages in order, each stage's closers together; logs each failure and goes on. */
export async function runStages(stages: readonly ShutdownStage[], log: ShutdownLog): Promise<ShutdownFailure[]> {
  const failures: ShutdownFailure[] = [];
  for (const stage of stages) {
    const results = await Promise.allSettled(stage.closers.map((c) => c.close()));
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') return;
      const failure = { stage: stage.name, closer: stage.closers[i]!.name, error: result.reason };
      failures.push(failure);
      log.error({ stage: failure.stage, closer: failure.closer, err: describeError(failure.error) }, 'shutdown: a closer failed; going on');
    });
  }
  return failures;
}

/** `runStages`, rejecting with a ShutdownError (after every stage has run) when a closer failed. */
export async function closeInStages(stages: readonly ShutdownStage[], log: ShutdownLog): Promise<void> {
  const failures = await runStages(stages, log);
  if (failures.length) throw new ShutdownError(failures);
}

/** Today's bound on a worker's shutdown (docker-compose's `stop_grace_period` is 30 s too). */
export const defaultForceAfterMs = 30_000;

export type ShutdownSignal = 'SIGTERM' | 'SIGINT';

export interface LifecycleOptions {
  log: ShutdownLog;
  /** The stages to run, asked for when the shutdown starts. */
  stages: () => readonly ShutdownStage[];
  /** After this long the process exits 1 whatever is still open. Default `defaultForceAfterMs`. */
  forceAfterMs?: number;
  /** The rest is injected for tests; the defaults are the process's own. */
  exit?: (code: number) => void;
  setTimer?: (fire: () => void, ms: number) => { unref?(): unknown };
  signals?: { on(signal: ShutdownSignal, listener: () => void): unknown };
}

export interface Lifecycle {
  /** Runs the stages once (a second call gets the first's result), then exits 0, or 1 if a closer failed. */
  shutdown(reason: string): Promise<number>;
}

/**
 * Listens for SIGTERM and SIGINT (once, for the life of the process) and shuts down on the first.
 * A second signal while shutting down is logged and otherwise ignored — it does not force an
 * exit: Ctrl-C under `npm start` delivers SIGINT twice (the terminal's, and npm's forwarding),
 * and `npm run demo` sends its worker SIGTERM after the terminal's SIGINT; the forced-exit timer
 * is what bounds a shutdown that hangs.
 */
export function startLifecycle(options: LifecycleOptions): Lifecycle {
  const { log, forceAfterMs = defaultForceAfterMs } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const setTimer = options.setTimer ?? setTimeout;
  const signals = options.signals ?? process;
  let exited = false;
  const exitOnce = (code: number) => {
    if (exited) return;
    exited = true;
    exit(code);
  };
  let running: Promise<number> | undefined;
  const shutdown = (reason: string): Promise<number> =>
    (running ??= (async () => {
      log.info({ reason }, 'shutting down');
      setTimer(() => {
        log.error({ reason, afterMs: forceAfterMs }, 'shutdown took too long; exiting');
        exitOnce(1);
      }, forceAfterMs).unref?.();
      let failures: ShutdownFailure[];
      try {
        failures = await runStages(options.stages(), log);
      } catch (error) {
        // Only building the stages can throw (runStages settles every closer).
        log.error({ err: describeError(error) }, 'shutdown failed');
        failures = [{ stage: 'stages', closer: 'stages', error }];
      }
      const code = failures.length ? 1 : 0;
      if (failures.length) log.error({ failed: failures.map((f) => `${f.stage}/${f.closer}`) }, 'shut down, but not cleanly');
      exitOnce(code);
      return code;
    })());
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    signals.on(signal, () => {
      if (running) log.warn({ signal }, 'already shutting down; the signal is ignored');
      else void shutdown(signal);
    });
  }
  return { shutdown };
}
