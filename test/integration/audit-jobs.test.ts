// The audit queue's repeatable jobs through the real worker, in real Redis, on SQLite and
// PostgreSQL: the checkpoint and purge schedulers registered with the configured intervals, a
// signed checkpoint produced by the job, and the purge job removing only what is past retention,
// covered by a checkpoint and forwarded to the SIEM (a real rsyslog, stopped for part of the test).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { QueueEvents } from 'bullmq';
import { compactVerify, createLocalJWKSet } from 'jose';
import { queueNames } from '../../src/adapters/queue/jobs.ts';
import type { AuditEvent } from '../../src/domain/audit.ts';
import type { PurgeReport } from '../../src/services/audit/index.ts';
import { startWorkers, type RunningWorkers } from '../../workers/runtime.ts';
import { runningClock } from '../support/clock.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { startRsyslog, type PrivateRsyslog } from '../support/rsyslog.ts';
import { parseSyslogLine } from '../support/syslog-records.ts';
import { eventually } from '../support/world.ts';

const dayMs = 86_400_000;

for (const engine of engines) {
  describe(`the worker's audit jobs on ${engine}`, () => {
    let rsyslog: PrivateRsyslog;
    let h: Harness;
    let workers: RunningWorkers;
    let events: QueueEvents;
    let eventsConnection: ReturnType<Harness['container']['redis']['duplicate']>;
    /** Every purge job's result, in completion order (from BullMQ's event stream). */
    const purges: PurgeReport[] = [];

    const append = (username: string) =>
      h.container.store.transaction((tx) =>
        tx.audit.append({ actor: 'system', action: 'auth.login.failed', details: { username, reason: 'bad_password' } }, h.clock.now()),
      );
    const siemTarget = async () => (await h.container.siem.status()).targets[0]!;
    const allEvents = () => h.container.store.audit.range(1, 100_000);

    before(async () => {
      rsyslog = await startRsyslog();
      h = await startHarness({
        engine,
        clock: runningClock(),
        config: {
          audit: { retentionDays: 7, checkpointIntervalSeconds: 1, purgeIntervalSeconds: 1 },
          siem: {
            intervalMs: 200,
            retryMaxSeconds: 1,
            targets: [{ name: 'soc', host: '127.0.0.1', port: rsyslog.tcpPort, protocol: 'tcp', format: 'json' }],
          },
        },
      });
      eventsConnection = h.container.redis.duplicate({ maxRetriesPerRequest: null });
      events = new QueueEvents(queueNames.audit, { connection: eventsConnection, prefix: h.config.queue.prefix });
      events.on('completed', ({ returnvalue }) => {
        const value = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as PurgeReport | { seq: number };
        if ('heldBy' in value) purges.push(value);
      });
      await events.waitUntilReady();
      workers = await startWorkers(h.container);
    });
    after(async () => {
      await workers?.close();
      await events?.close();
      eventsConnection?.disconnect();
      await h?.close();
      await rsyslog?.close();
    });

    it('when the worker starts, then the audit queue holds the checkpoint and purge schedulers at the configured intervals', async () => {
      const checkpoint = await h.container.queues.audit.getJobScheduler('audit-checkpoint');
      const purge = await h.container.queues.audit.getJobScheduler('audit-purge');
      assert.deepEqual([checkpoint?.name, checkpoint?.every], ['checkpoint', 1000]);
      assert.deepEqual([purge?.name, purge?.every], ['purge', 1000]);
      assert.equal(await h.container.queues.audit.getJobSchedulersCount(), 2);
    });

    it('when the chain head moves, then the checkpoint job signs it and the signature verifies with the published keys', async () => {
      const event = await append('checkpointed');
      const checkpoint = await eventually(
        () => h.container.store.audit.latestCheckpoint(),
        (c) => c !== null && c.seq >= event.seq,
        20_000,
        'a checkpoint covering the new event',
      );
      const { payload, protectedHeader } = await compactVerify(checkpoint!.jws, createLocalJWKSet(await h.container.services.audit.jwks()));
      const signed = JSON.parse(new TextDecoder().decode(payload)) as { seq: number; hash: string };
      assert.equal(protectedHeader.typ, 'stint-audit-checkpoint+json');
      assert.equal(signed.seq, checkpoint!.seq);
      const [atSeq] = await h.container.store.audit.range(signed.seq, 1);
      assert.equal(signed.hash, atSeq!.hash, 'it signs the stored event’s hash');
    });

    it('when old events are not yet forwarded, then the purge job keeps them; once rsyslog takes them, it purges exactly what is past retention and the chain still verifies', async () => {
      for (let i = 0; i < 10; i++) await append(`forwarded-${i}`);
      await eventually(
        async () =>
          [
            (await siemTarget()).backlog,
            (await h.container.store.audit.latestCheckpoint())?.seq ?? 0,
            (await h.container.store.audit.head()).seq,
          ] as const,
        ([backlog, checkpoint, head]) => backlog === 0 && checkpoint === head,
        20_000,
        'everything forwarded and checkpointed',
      );

      // The SIEM goes away; wait until the worker has noticed, so nothing below can be sent.
      await rsyslog.stop();
      await eventually(siemTarget, (t) => t.state === 'stalled', 20_000, 'forwarding stalled');
      const waiting: AuditEvent[] = [];
      for (let i = 0; i < 10; i++) waiting.push(await append(`unforwarded-${i}`));
      await eventually(
        async () => (await h.container.store.audit.latestCheckpoint())?.seq ?? 0,
        (seq) => seq >= waiting[9]!.seq,
        20_000,
        'the unforwarded events checkpointed',
      );
      const cursor = (await siemTarget()).forwardedSeq;
      assert.ok(cursor < waiting[0]!.seq, 'none of them was forwarded');

      // Eight days on, everything so far is past retention; only forwarding holds the rest back.
      h.clock.advance(8 * dayMs);
      const heldFrom = purges.length;
      const held = await eventually(
        async () => purges.slice(heldFrom),
        (r) => r.filter((p) => p.heldBy === 'forwarding').length >= 3,
        30_000,
        'three purge runs held by forwarding',
      );
      assert.ok(
        held.filter((p) => p.heldBy === 'forwarding').every((p) => p.purgedThroughSeq === cursor),
        JSON.stringify(held),
      );
      const kept = await allEvents();
      assert.equal(kept[0]!.seq, cursor + 1, 'purged through the SIEM’s cursor, not one event further');
      for (const event of waiting) {
        assert.equal(kept.find((e) => e.seq === event.seq)?.hash, event.hash, `the unforwarded event ${event.seq} is kept`);
      }
      const purgedEvents = kept.filter((e) => e.action === 'audit.purged');
      assert.equal(purgedEvents.length, 1, 'one purge removed something; the runs after it changed nothing');
      assert.deepEqual([purgedEvents[0]!.details.throughSeq, purgedEvents[0]!.details.heldBy], [cursor, 'forwarding']);

      // The SIEM comes back: forwarding catches up, then the purge stops only at retention.
      await rsyslog.start();
      const done = await eventually(
        async () => purges.at(-1),
        (p) => p?.heldBy === 'retention',
        30_000,
        'a purge held only by retention',
      );
      const rest = await allEvents();
      const cutoff = Date.parse(done!.cutoff);
      assert.equal(rest[0]!.seq, done!.purgedThroughSeq + 1);
      assert.ok(
        rest.every((e) => e.at.getTime() >= cutoff),
        'what is kept is inside retention',
      );
      assert.ok(done!.purgedThroughSeq >= waiting[9]!.seq, 'every old event, the once-unforwarded ones too, is gone');
      const received = new Set(rsyslog.lines('tcp').map((line) => parseSyslogLine(line).seq));
      assert.ok(
        waiting.every((e) => received.has(e.seq)),
        'each purged event had reached the SIEM',
      );
      const live = await h.container.services.audit.verifyStoredChain();
      assert.equal(live.firstBreak, null, JSON.stringify(live));
      assert.equal(live.fromSeq, done!.purgedThroughSeq + 1);
    });
  });
}
