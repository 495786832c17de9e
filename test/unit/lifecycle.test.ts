// The process lifecycle (src/lifecycle.ts) with its signals, timer and exit injected: nothing here
// signals or exits the test process, and no test waits on a real timer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  closeInStages,
  closer,
  describeError,
  runStages,
  ShutdownError,
  startLifecycle,
  type ShutdownSignal,
  type ShutdownStage,
} from '../../src/lifecycle.ts';

function recordingLog() {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const at = (level: string) => (fields: object, message: string) =>
    void lines.push({ level, fields: fields as Record<string, unknown>, message });
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error') } };
}

/** A process stand-in: signal listeners to fire, a timer to fire by hand, the exit codes asked for. */
function fakeProcess() {
  const listeners = new Map<ShutdownSignal, (() => void)[]>();
  const timers: { fire: () => void; ms: number; unrefed: boolean }[] = [];
  const exits: number[] = [];
  return {
    listeners,
    timers,
    exits,
    signals: {
      on(signal: ShutdownSignal, listener: () => void) {
        listeners.set(signal, [...(listeners.get(signal) ?? []), listener]);
      },
    },
    setTimer(fire: () => void, ms: number) {
      const timer = { fire, ms, unrefed: false };
      timers.push(timer);
      return { unref: () => void (timer.unrefed = true) };
    },
    exit: (code: number) => void exits.push(code),
    send(signal: ShutdownSignal) {
      for (const listener of listeners.get(signal) ?? []) listener();
    },
  };
}

/** A promise and its resolve, for a closer that hangs until the test lets it go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('runStages', () => {
  it('when stages are given, then each starts only after every closer of the one before has settled, in order', async () => {
    const events: string[] = [];
    const slow = gate();
    const stages: ShutdownStage[] = [
      {
        name: 'stop accepting',
        closers: [
          closer('http', async () => {
            events.push('http start');
            await slow.opened;
            events.push('http end');
          }),
          closer('metrics', () => void events.push('metrics')),
        ],
      },
      { name: 'queues', closers: [closer('queues', () => void events.push('queues'))] },
      { name: 'redis', closers: [closer('redis', () => void events.push('redis'))] },
      { name: 'store', closers: [closer('store', () => void events.push('store'))] },
    ];
    const { log } = recordingLog();
    const done = runStages(stages, log);
    await settle();
    assert.deepEqual(events, ['http start', 'metrics'], 'the closers of a stage run together; the next stage waits');
    slow.open();
    assert.deepEqual(await done, []);
    assert.deepEqual(events, ['http start', 'metrics', 'http end', 'queues', 'redis', 'store']);
  });

  it('when a closer fails, then the others of its stage and every later stage still close, and the failure is logged by stage and name', async () => {
    const closed: string[] = [];
    const stages: ShutdownStage[] = [
      {
        name: 'queues',
        closers: [
          closer('queues', () => Promise.reject(new Error('connect ECONNREFUSED redis://stint:hunter2@10.0.0.5:6379'))),
          closer('siem sinks', () => void closed.push('siem sinks')),
        ],
      },
      {
        name: 'redis',
        closers: [
          closer('redis', () => {
            throw new Error('already closed');
          }),
        ],
      },
      { name: 'store', closers: [closer('store', () => void closed.push('store'))] },
    ];
    const { log, lines } = recordingLog();
    const failures = await runStages(stages, log);
    assert.deepEqual(closed, ['siem sinks', 'store']);
    assert.deepEqual(
      failures.map((f) => `${f.stage}/${f.closer}`),
      ['queues/queues', 'redis/redis'],
    );
    const errors = lines.filter((l) => l.level === 'error');
    assert.deepEqual(
      errors.map((l) => [l.fields.stage, l.fields.closer]),
      [
        ['queues', 'queues'],
        ['redis', 'redis'],
      ],
    );
    assert.doesNotMatch(JSON.stringify(lines), /hunter2/, 'no password from a URL in the log');
    assert.match(String(errors[0]!.fields.err), /ECONNREFUSED redis:\/\/\*\*\*@10\.0\.0\.5:6379/);
  });

  it('when closeInStages meets a failure, then it rejects with every failure only after all stages ran', async () => {
    let storeClosed = false;
    const stages: ShutdownStage[] = [
      { name: 'queues', closers: [closer('queues', () => Promise.reject(new Error('boom')))] },
      { name: 'store', closers: [closer('store', () => void (storeClosed = true))] },
    ];
    await assert.rejects(closeInStages(stages, recordingLog().log), (error: unknown) => {
      assert.ok(error instanceof ShutdownError);
      assert.deepEqual(
        error.failures.map((f) => f.closer),
        ['queues'],
      );
      assert.match(error.message, /queues\/queues/);
      return true;
    });
    assert.equal(storeClosed, true);
  });

  it('when a closer is asked to close twice (a signal, then container.close()), then it closes once and both wait for it', async () => {
    let calls = 0;
    const c = closer('store', async () => void calls++);
    await Promise.all([c.close(), c.close()]);
    await c.close();
    assert.equal(calls, 1);
  });

  it('describeError masks the credentials of any URL and keeps the rest', () => {
    assert.equal(describeError(new Error('no postgres://app:s3cret@db:5432/stint')), 'no postgres://***@db:5432/stint');
    assert.equal(describeError('plain'), 'plain');
  });
});

describe('startLifecycle', () => {
  const stagesWith = (...closers: ReturnType<typeof closer>[]): ShutdownStage[] => [{ name: 'only', closers }];

  it('registers SIGTERM and SIGINT once each, and on a signal runs the stages and exits 0', async () => {
    const p = fakeProcess();
    let closed = false;
    const lifecycle = startLifecycle({
      log: recordingLog().log,
      stages: () => stagesWith(closer('store', () => void (closed = true))),
      ...p,
    });
    assert.deepEqual(
      [...p.listeners].map(([signal, l]) => [signal, l.length]),
      [
        ['SIGTERM', 1],
        ['SIGINT', 1],
      ],
    );
    assert.deepEqual(p.exits, []);
    p.send('SIGTERM');
    assert.equal(await lifecycle.shutdown('again'), 0);
    assert.equal(closed, true);
    assert.deepEqual(p.exits, [0]);
    assert.equal(p.timers.length, 1, 'one forced-exit timer');
    assert.equal(p.timers[0]!.ms, 30_000, 'the default bound is 30 s');
    assert.equal(p.timers[0]!.unrefed, true, 'the timer never keeps the process alive');
  });

  it('when a closer fails, then the rest still close and the process exits 1', async () => {
    const p = fakeProcess();
    const closed: string[] = [];
    const { log, lines } = recordingLog();
    const lifecycle = startLifecycle({
      log,
      stages: () => [
        {
          name: 'queues',
          closers: [closer('queues', () => Promise.reject(new Error('boom'))), closer('slack', () => void closed.push('slack'))],
        },
        { name: 'store', closers: [closer('store', () => void closed.push('store'))] },
      ],
      ...p,
    });
    p.send('SIGINT');
    assert.equal(await lifecycle.shutdown('SIGINT'), 1);
    assert.deepEqual(closed, ['slack', 'store']);
    assert.deepEqual(p.exits, [1]);
    assert.ok(lines.some((l) => l.level === 'error' && l.fields.stage === 'queues' && l.fields.closer === 'queues'));
  });

  it('when a closer hangs, then the forced-exit timer exits 1, and the late end of the shutdown exits no second time', async () => {
    const p = fakeProcess();
    const hang = gate();
    let storeClosed = false;
    const { log, lines } = recordingLog();
    const lifecycle = startLifecycle({
      log,
      forceAfterMs: 10_000,
      stages: () => [
        { name: 'stop accepting', closers: [closer('http server', () => hang.opened)] },
        { name: 'store', closers: [closer('store', () => void (storeClosed = true))] },
      ],
      ...p,
    });
    p.send('SIGTERM');
    await settle();
    assert.deepEqual(p.exits, [], 'nothing exits while the closer hangs and the timer has not fired');
    assert.equal(p.timers[0]!.ms, 10_000);
    p.timers[0]!.fire();
    assert.deepEqual(p.exits, [1]);
    assert.ok(lines.some((l) => l.level === 'error' && /too long/.test(l.message)));
    assert.equal(storeClosed, false, 'the stage after the hanging one has not started');
    hang.open();
    await lifecycle.shutdown('SIGTERM');
    assert.deepEqual(p.exits, [1], 'exit is asked for once');
  });

  it('when a second signal comes during the shutdown, then it is logged and ignored: no second shutdown, no forced exit', async () => {
    const p = fakeProcess();
    const hang = gate();
    let runs = 0;
    const { log, lines } = recordingLog();
    startLifecycle({
      log,
      stages: () => {
        runs++;
        return stagesWith(closer('workers', () => hang.opened));
      },
      ...p,
    });
    p.send('SIGINT');
    p.send('SIGTERM');
    p.send('SIGINT');
    await settle();
    assert.equal(runs, 1, 'one shutdown');
    assert.equal(p.timers.length, 1, 'one timer');
    assert.deepEqual(p.exits, [], 'the second signal does not force an exit');
    assert.equal(lines.filter((l) => l.level === 'warn' && /already shutting down/.test(l.message)).length, 2);
    hang.open();
    await settle();
    assert.deepEqual(p.exits, [0]);
  });
});
