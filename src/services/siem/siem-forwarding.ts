// Forwards the audit chain to every configured SIEM target (docs/architecture.md, SIEM forwarding): in sequence order, at
// least once, from a cursor per target kept in the store and moved only after a batch has been
// written and flushed. While a target is down its backlog simply stays in the store; attempts back
// off, and an alert goes out once the backlog passes a threshold. Forwarding is audited by its
// changes of state (started, stalled, resumed, backlog alert), never once per record.
import type { AuditEventInput } from '../../domain/audit.ts';
import type { Clock, EventLog, RandomSource } from '../ports/runtime.ts';
import type { ForwardingProgress, SiemCursor, SiemCursorPatch, SiemSink } from '../ports/siem.ts';
import type { Notifications } from '../ports/notifications.ts';
import type { Store } from '../ports/store.ts';

export interface SiemForwardingSettings {
  /** Events read and sent at a time. */
  batchSize: number;
  /** Batches one run sends to a target before giving the others (and the next run) a turn. */
  maxBatchesPerRun: number;
  /** Events waiting for one target beyond which an alert is raised. */
  backlogAlertThreshold: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /**
   * TCP syslog has no acknowledgement: what was written shortly before the far end closed the
   * connection may never have been read. Batches sent this long before such a loss are sent again.
   */
  resendWindowMs: number;
  /** A run holds a target's lease this long at most (renewed per run). */
  leaseMs: number;
}

export interface TargetOutcome {
  target: string;
  /** Events written in this run (resent ones included). */
  sent: number;
  cursor: number;
  backlog: number;
  state: 'current' | 'stalled' | 'waiting' | 'busy';
}

/** One target as GET /api/v1/audit/siem and /metrics show it. */
export interface SiemTargetStatus {
  target: string;
  /** Every event up to this one has been sent (0: none yet). */
  forwardedSeq: number;
  /** Kept events not yet sent: the chain head minus the cursor. */
  backlog: number;
  oldestUnforwardedAt: Date | null;
  /** 0 when nothing waits. */
  oldestUnforwardedAgeSeconds: number;
  /** `not_started`: the worker has not tried the target yet. */
  state: 'ok' | 'stalled' | 'not_started';
  stalledSince: Date | null;
  failures: number;
  nextAttemptAt: Date | null;
  backlogAlertedAt: Date | null;
  lastSuccessAt: Date | null;
  lastError: { at: Date; message: string } | null;
}

export interface SiemStatus {
  headSeq: number;
  backlogAlertThreshold: number;
  targets: SiemTargetStatus[];
}

interface SentBatch {
  firstSeq: number;
  at: number;
}

/** Audit forwarding to the SIEM targets (the worker runs it). */
export interface SiemForwarding {
  /** Where each configured target stands, for the status route and /metrics (read-only; nothing is sent). */
  status(): Promise<SiemStatus>;
  /** One run: every target in parallel, so one that is down does not hold up the others. */
  forward(): Promise<TargetOutcome[]>;
  /** How far forwarding got, so retention never purges what a target has not received yet. */
  progress: ForwardingProgress;
  hasTargets: boolean;
  close(): Promise<void>;
}

export interface SiemForwardingDeps {
  store: Pick<Store, 'audit' | 'siemCursors' | 'transaction'>;
  clock: Clock;
  random: RandomSource;
  sinks: readonly SiemSink[];
  notifications: Notifications;
  log: EventLog;
  settings: SiemForwardingSettings;
}

/** The deps and this process's forwarding state. */
interface Forwarder extends SiemForwardingDeps {
  /** This process's lease owner id. */
  owner: string;
  /** Batches written on each target's current connection, newest last (for the resend after a loss). */
  recent: Map<string, SentBatch[]>;
}

export function createSiemForwarding(deps: SiemForwardingDeps): SiemForwarding {
  const forwarder: Forwarder = { ...deps, owner: deps.random.id(), recent: new Map() };
  return {
    status: () => status(forwarder),
    forward: () => Promise.all(deps.sinks.map((sink) => forwardTarget(forwarder, sink))),
    progress: { lowestForwardedSeq: () => lowestForwardedSeq(forwarder) },
    hasTargets: deps.sinks.length > 0,
    async close() {
      await Promise.all(deps.sinks.map((sink) => sink.close()));
    },
  };
}

const audit = (f: Forwarder, input: Omit<AuditEventInput, 'actor'>) =>
  f.store.transaction((tx) => tx.audit.append({ actor: 'system', ...input }, f.clock.now()));

function backoffMs(f: Forwarder, failures: number): number {
  return Math.min(f.settings.retryMaxMs, f.settings.retryBaseMs * 2 ** Math.min(failures - 1, 30));
}

/** Where to start: after the cursor, or earlier when the previous connection was lost with batches possibly unread. */
function startAfterLoss(f: Forwarder, target: string, cursor: number, lostAt: Date | null): number {
  const from = cursor + 1;
  const batches = f.recent.get(target) ?? [];
  f.recent.set(target, []);
  if (lostAt === null) return from;
  const atRisk = batches.filter((b) => b.at >= lostAt.getTime() - f.settings.resendWindowMs);
  if (atRisk.length === 0) return from;
  const resendFrom = Math.min(from, atRisk[0]!.firstSeq);
  f.log.warn({ target, resendFrom, cursor }, 'SIEM connection was closed by the far end; sending the last batches again');
  return resendFrom;
}

function remember(f: Forwarder, target: string, batch: SentBatch): void {
  const list = f.recent.get(target) ?? [];
  list.push(batch);
  // Only batches inside the window can be resent; a few is enough to cover it.
  const cutoff = batch.at - f.settings.resendWindowMs;
  f.recent.set(target, list.filter((b) => b.at >= cutoff).slice(-8));
}

async function forwardTarget(f: Forwarder, sink: SiemSink): Promise<TargetOutcome> {
  const target = sink.name;
  const start = f.clock.now();
  const ensured = await f.store.siemCursors.ensure(target, start);
  if (ensured.created) {
    await audit(f, { action: 'siem.forwarding_started', target: `siem:${target}`, details: { target, fromSeq: 1 } });
    f.log.info({ target }, 'SIEM forwarding started');
  }
  const cursor: SiemCursor = ensured.cursor;
  const backlogNow = async () => Math.max(0, (await f.store.audit.head()).seq - cursor.lastSeq);
  if (cursor.retryAt && cursor.retryAt.getTime() > start.getTime()) {
    return { target, sent: 0, cursor: cursor.lastSeq, backlog: await backlogNow(), state: 'waiting' };
  }
  if (!(await f.store.siemCursors.lease(target, f.owner, new Date(start.getTime() + f.settings.leaseMs), start))) {
    return { target, sent: 0, cursor: cursor.lastSeq, backlog: await backlogNow(), state: 'busy' };
  }
  try {
    const progress = { sent: 0, lastSeq: cursor.lastSeq };
    try {
      await sendBatches(f, sink, cursor, progress);
    } catch (error) {
      await stalled(f, sink, cursor, progress.lastSeq, error as Error);
      const backlog = Math.max(0, (await f.store.audit.head()).seq - progress.lastSeq);
      return { target, sent: progress.sent, cursor: progress.lastSeq, backlog, state: 'stalled' };
    }
    return await caughtUp(f, target, cursor, progress);
  } finally {
    await f.store.siemCursors.release(target, f.owner);
  }
}

/** Up to maxBatchesPerRun batches, each written and flushed before the cursor moves past it. */
async function sendBatches(f: Forwarder, sink: SiemSink, cursor: SiemCursor, progress: { sent: number; lastSeq: number }): Promise<void> {
  const target = sink.name;
  const { lostAt } = await sink.open();
  let from = startAfterLoss(f, target, cursor.lastSeq, lostAt);
  for (let batch = 0; batch < f.settings.maxBatchesPerRun; batch++) {
    const events = await f.store.audit.range(from, f.settings.batchSize);
    if (events.length === 0) break;
    await sink.send(events);
    const sentAt = f.clock.now();
    const last = events[events.length - 1]!.seq;
    await f.store.siemCursors.advance(target, last, sentAt);
    remember(f, target, { firstSeq: events[0]!.seq, at: sentAt.getTime() });
    progress.lastSeq = Math.max(progress.lastSeq, last);
    progress.sent += events.length;
    from = last + 1;
  }
}

/** A run that wrote everything it tried: failures cleared, the backlog alert raised or re-armed, a resumption audited. */
async function caughtUp(
  f: Forwarder,
  target: string,
  cursor: SiemCursor,
  progress: { sent: number; lastSeq: number },
): Promise<TargetOutcome> {
  const { lastSeq } = progress;
  const backlogNow = async () => Math.max(0, (await f.store.audit.head()).seq - lastSeq);
  const now = f.clock.now();
  const patch: SiemCursorPatch = { lastSuccessAt: now };
  if (cursor.stalledSince || cursor.failures > 0) Object.assign(patch, { stalledSince: null, failures: 0, retryAt: null });
  // A target that answers but falls behind leaves the SIEM as blind as one that is down: the
  // same alert, once, re-armed when the backlog is back under the threshold.
  const backlog = await backlogNow();
  if (backlog > f.settings.backlogAlertThreshold) {
    if (!cursor.backlogAlertedAt) {
      patch.backlogAlertedAt = now;
      await backlogAlert(f, target, lastSeq, backlog, null);
    }
  } else if (cursor.backlogAlertedAt) {
    patch.backlogAlertedAt = null;
  }
  await f.store.siemCursors.update(target, patch, now);
  if (cursor.stalledSince) {
    const stalledForMs = Math.max(0, now.getTime() - cursor.stalledSince.getTime());
    await audit(f, {
      action: 'siem.forwarding_resumed',
      target: `siem:${target}`,
      details: { target, cursor: lastSeq, backlog, stalledForMs },
    });
    f.log.info({ target, cursor: lastSeq, stalledForMs }, 'SIEM forwarding resumed');
  }
  return { target, sent: progress.sent, cursor: lastSeq, backlog: await backlogNow(), state: 'current' };
}

async function stalled(f: Forwarder, sink: SiemSink, cursor: SiemCursor, lastSeq: number, error: Error): Promise<void> {
  const target = sink.name;
  const now = f.clock.now();
  const failures = cursor.failures + 1;
  const reason = (error.message || error.name).slice(0, 500);
  const patch: SiemCursorPatch = {
    failures,
    retryAt: new Date(now.getTime() + backoffMs(f, failures)),
    lastError: reason,
    lastErrorAt: now,
  };
  const backlog = Math.max(0, (await f.store.audit.head()).seq - lastSeq);
  if (!cursor.stalledSince) {
    patch.stalledSince = now;
    await audit(f, {
      action: 'siem.forwarding_stalled',
      target: `siem:${target}`,
      details: { target, cursor: lastSeq, backlog, error: reason },
    });
    f.log.warn({ target, cursor: lastSeq, backlog, err: reason }, 'SIEM target unreachable; events wait in the store');
  }
  if (backlog > f.settings.backlogAlertThreshold && !cursor.backlogAlertedAt) {
    patch.backlogAlertedAt = now;
    await backlogAlert(f, target, lastSeq, backlog, reason);
  }
  await f.store.siemCursors.update(target, patch, now);
}

/** The backlog alert: audited, logged and sent to Slack's alert channel; `reason` is the target's error, null while it answers. */
async function backlogAlert(f: Forwarder, target: string, lastSeq: number, backlog: number, reason: string | null): Promise<void> {
  const threshold = f.settings.backlogAlertThreshold;
  await audit(f, {
    action: 'siem.backlog_exceeded',
    target: `siem:${target}`,
    details: { target, cursor: lastSeq, backlog, threshold, ...(reason === null && { behind: true }) },
  });
  f.log.error(
    { target, backlog, threshold },
    reason === null ? 'SIEM target answers but falls behind: backlog past its threshold' : 'SIEM backlog past its threshold',
  );
  await f.notifications.publish([
    {
      kind: 'alert',
      alert: 'siem_backlog',
      subject: `SIEM target ${target}`,
      details: { backlog, threshold, ...(reason === null ? { state: 'answering but behind' } : { error: reason }) },
    },
  ]);
}

/** Where each configured target stands, for the status route and /metrics (read-only; nothing is sent). */
async function status(f: Forwarder): Promise<SiemStatus> {
  const [head, anchor, cursors] = await Promise.all([f.store.audit.head(), f.store.audit.anchor(), f.store.siemCursors.list()]);
  const byTarget = new Map(cursors.map((c) => [c.target, c]));
  const now = f.clock.now();
  const targets = await Promise.all(
    f.sinks.map(async (sink): Promise<SiemTargetStatus> => {
      const c = byTarget.get(sink.name);
      // Purged events are no longer anyone's backlog (a new target starts at the oldest kept one).
      const forwardedSeq = c?.lastSeq ?? 0;
      const backlog = Math.max(0, head.seq - Math.max(forwardedSeq, anchor.purgedThroughSeq));
      const oldest = backlog > 0 ? ((await f.store.audit.range(forwardedSeq + 1, 1))[0] ?? null) : null;
      return {
        target: sink.name,
        forwardedSeq,
        backlog,
        oldestUnforwardedAt: oldest?.at ?? null,
        oldestUnforwardedAgeSeconds: oldest ? Math.max(0, (now.getTime() - oldest.at.getTime()) / 1000) : 0,
        state: !c ? 'not_started' : c.stalledSince ? 'stalled' : 'ok',
        stalledSince: c?.stalledSince ?? null,
        failures: c?.failures ?? 0,
        nextAttemptAt: c?.retryAt ?? null,
        backlogAlertedAt: c?.backlogAlertedAt ?? null,
        lastSuccessAt: c?.lastSuccessAt ?? null,
        lastError: c?.lastError && c.lastErrorAt ? { at: c.lastErrorAt, message: c.lastError } : null,
      };
    }),
  );
  return { headSeq: head.seq, backlogAlertThreshold: f.settings.backlogAlertThreshold, targets };
}

async function lowestForwardedSeq(f: Forwarder): Promise<number | null> {
  if (f.sinks.length === 0) return null;
  const cursors = new Map((await f.store.siemCursors.list()).map((c) => [c.target, c.lastSeq]));
  return Math.min(...f.sinks.map((s) => cursors.get(s.name) ?? 0));
}
