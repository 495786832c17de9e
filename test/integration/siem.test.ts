// SIEM forwarding against a real rsyslog (Debian's, private, on loopback): every audit event
// arrives once and in order over TCP (JSON) and TLS (CEF), multibyte text framed by bytes, line
// breaks unable to forge a record, and an outage survived with nothing missing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findChainBreak, genesisHash, type AuditEvent, type AuditEventInput } from '../../src/domain/audit.ts';
import { createSyslogSink } from '../../src/adapters/siem/syslog-sink.ts';
import { createRandomSource } from '../../src/adapters/crypto/random.ts';
import { createSiemForwarding } from '../../src/services/siem-forwarding.ts';
import type { Notice } from '../../src/services/ports.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { runningClock } from '../support/clock.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { startRsyslog, type PrivateRsyslog } from '../support/rsyslog.ts';
import { parseCef, parseSyslogLine } from '../support/syslog-records.ts';
import { eventually } from '../support/world.ts';

const multibyte = 'café 日本 🚀 naïve';
const forged = 'line one\n<109>1 2026-01-01T00:00:00.000Z evil stint - auth.login.succeeded [stint@32473 seq="1" hash="00"] {"seq":1}\r\n42 <13>1 x cs1=evil|';

/** The events as the SIEM got them (JSON bodies), in arrival order. */
function receivedJson(rsyslog: PrivateRsyslog): AuditEvent[] {
  return rsyslog.lines('tcp').map((line) => {
    const record = parseSyslogLine(line);
    const body = JSON.parse(record.body) as AuditEvent & { at: string };
    assert.equal(body.seq, record.seq);
    return { ...body, at: new Date(body.at) };
  });
}

function receivedCef(rsyslog: PrivateRsyslog) {
  return rsyslog.lines('tls').map((line) => {
    const record = parseSyslogLine(line);
    const { extension } = parseCef(record.body);
    assert.equal(Number(extension.externalId), record.seq);
    return { seq: record.seq, hash: extension.cs5!, details: JSON.parse(extension.cs4!) as Record<string, unknown> };
  });
}

const seqs = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

for (const engine of engines) {
  describe(`SIEM forwarding on ${engine}`, () => {
    let h: Harness;
    let rsyslog: PrivateRsyslog;
    const notices: Notice[] = [];

    const append = (input: Omit<AuditEventInput, 'actor'>) => h.container.store.transaction((tx) => tx.audit.append({ actor: 'tech-1', ...input }, h.clock.now()));
    const failedLogin = (username: string) => append({ action: 'auth.login.failed', details: { username, reason: 'bad_password' } });

    /** Forwarding as the container builds it, but with test settings and a notifier the test can read. */
    function forwarding(overrides: { backlogAlertThreshold?: number } = {}) {
      const identity = { hostname: 'stint-test', facility: 13, version: '0.1.0' };
      const sink = (name: string, protocol: 'tcp' | 'tls') =>
        createSyslogSink(
          { name, host: '127.0.0.1', port: protocol === 'tcp' ? rsyslog.tcpPort : rsyslog.tlsPort, protocol, caFile: protocol === 'tls' ? rsyslog.caFile : undefined, format: protocol === 'tcp' ? 'json' : 'cef' },
          { identity, clock: h.clock, connectTimeoutMs: 2000, writeTimeoutMs: 2000 },
        );
      return createSiemForwarding({
        store: h.container.store,
        clock: h.clock,
        random: createRandomSource(),
        sinks: [sink('tcp-json', 'tcp'), sink('tls-cef', 'tls')],
        notifications: { publish: async (n) => void notices.push(...n) },
        log: h.container.logger,
        settings: { batchSize: 7, maxBatchesPerRun: 1000, backlogAlertThreshold: overrides.backlogAlertThreshold ?? 1000, retryBaseMs: 200, retryMaxMs: 1000, resendWindowMs: 2000, leaseMs: 30_000 },
      });
    }

    /** Runs forwarding until both targets hold the head (forwarding audits itself, so the head moves). */
    async function forwardAll(f: ReturnType<typeof forwarding>) {
      for (let i = 0; i < 50; i++) {
        const outcomes = await f.forward();
        const head = (await h.container.store.audit.head()).seq;
        if (outcomes.every((o) => o.state === 'current' && o.cursor === head)) return head;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail('forwarding did not catch up');
    }

    const arrived = (head: number) =>
      eventually(async () => [rsyslog.lines('tcp').length, rsyslog.lines('tls').length], ([tcp, tls]) => tcp! >= head && tls! >= head, 15_000, `${head} records on both inputs`);

    before(async () => {
      rsyslog = await startRsyslog();
      h = await startHarness({ engine, clock: runningClock() });
    });
    after(async () => {
      await h?.close();
      await rsyslog?.close();
    });

    it('when events are forwarded over TCP and TLS, then each arrives exactly once, in order, multibyte text intact and the chain verifiable', async () => {
      for (let i = 0; i < 30; i++) await failedLogin(`${multibyte} ${i}`);
      const f = forwarding();
      const head = await forwardAll(f);
      await arrived(head);
      const json = receivedJson(rsyslog);
      assert.deepEqual(json.map((e) => e.seq), seqs(head));
      assert.equal(findChainBreak(json, genesisHash), null, 'the received JSON events verify as a chain');
      assert.equal(json[1]!.details.username, `${multibyte} 1`);
      const cef = receivedCef(rsyslog);
      assert.deepEqual(cef.map((e) => e.seq), seqs(head));
      assert.deepEqual(cef.map((e) => e.hash), json.map((e) => e.hash));
      assert.deepEqual(cef[5]!.details, json[5]!.details);
      const started = (await h.container.store.audit.range(1, 1000)).filter((e) => e.action === 'siem.forwarding_started');
      assert.deepEqual(started.map((e) => e.details.target).sort(), ['tcp-json', 'tls-cef']);
      assert.equal(await f.progress.lowestForwardedSeq(), head);
      await f.close();
    });

    it('when a justification holds line breaks and a forged record, then each format still carries exactly one record for it', async () => {
      const before = rsyslog.lines('tcp').length;
      const event = await append({ action: 'elevation.requested', target: 'el-1', details: { profile: 'p', durationSeconds: 60, justification: forged, ticket: 'T|1 cs2=x\\', approvalsRequired: 0 } });
      const f = forwarding();
      const head = await forwardAll(f);
      await arrived(head);
      const json = receivedJson(rsyslog);
      assert.deepEqual(json.map((e) => e.seq), seqs(head), 'no extra record appeared');
      assert.equal(json.length - before, head - event.seq + 1);
      assert.equal(json.find((e) => e.seq === event.seq)!.details.justification, forged);
      const cef = receivedCef(rsyslog);
      assert.deepEqual(cef.map((e) => e.seq), seqs(head));
      assert.equal(cef.find((e) => e.seq === event.seq)!.details.justification, forged);
      await f.close();
    });

    it('when rsyslog is down for a while, then the backlog waits, the stall is audited and alerted once, and after the restart every event arrives in order', async () => {
      const f = forwarding({ backlogAlertThreshold: 10 });
      await forwardAll(f);
      await rsyslog.stop();
      for (let i = 0; i < 25; i++) await failedLogin(`during outage ${i} ${multibyte}`);
      for (let attempt = 0; attempt < 4; attempt++) {
        const outcomes = await f.forward();
        assert.ok(outcomes.every((o) => o.state === 'stalled' || o.state === 'waiting'), JSON.stringify(outcomes));
        await new Promise((r) => setTimeout(r, 250));
      }
      const events = await h.container.store.audit.range(1, 10_000);
      const count = (action: string) => events.filter((e) => e.action === action).length;
      assert.equal(count('siem.forwarding_stalled'), 2, 'one stall event per target, not one per attempt');
      assert.equal(count('siem.backlog_exceeded'), 2);
      assert.deepEqual(notices.map((n) => n.kind === 'alert' && n.alert), ['siem_backlog', 'siem_backlog']);
      const lowest = await f.progress.lowestForwardedSeq();
      assert.ok(lowest! < (await h.container.store.audit.head()).seq, 'retention would see the backlog');

      await rsyslog.start();
      await new Promise((r) => setTimeout(r, 1100)); // past the longest backoff
      const head = await forwardAll(f);
      await arrived(head);
      for (const received of [receivedJson(rsyslog).map((e) => e.seq), receivedCef(rsyslog).map((e) => e.seq)]) {
        // At least once: a batch written just before the far end closed may come again, right at
        // the reconnect; otherwise every event once, in order.
        const firstSeen = received.filter((seq, i) => received.indexOf(seq) === i);
        assert.deepEqual(firstSeen, seqs(head), 'none missing, in order');
        const boundaries = received.filter((seq, i) => i > 0 && seq <= received[i - 1]!).length;
        assert.ok(boundaries <= 1, `duplicates only at the one reconnect: ${received.join(',')}`);
      }
      assert.equal((await h.container.store.audit.range(1, 10_000)).filter((e) => e.action === 'siem.forwarding_resumed').length, 2);
      await f.close();
    });

    if (engine === 'sqlite') {
      it('when the worker runs with targets configured, then its repeatable siem job forwards new events by itself', async () => {
        const worked = await startHarness({
          clock: runningClock(),
          config: {
            siem: {
              intervalMs: 200,
              targets: [
                { name: 'tcp-json', host: '127.0.0.1', port: rsyslog.tcpPort, protocol: 'tcp', format: 'json' },
                { name: 'tls-cef', host: '127.0.0.1', port: rsyslog.tlsPort, protocol: 'tls', caFile: rsyslog.caFile, format: 'cef' },
              ],
            },
          },
        });
        const workers = await startWorkers(worked.container);
        try {
          const before = { tcp: rsyslog.lines('tcp').length, tls: rsyslog.lines('tls').length };
          await worked.container.store.transaction((tx) => tx.audit.append({ actor: 'x', action: 'auth.login.failed', details: { username: 'by-worker', reason: 'bad_password' } }, worked.clock.now()));
          await eventually(
            async () => (await worked.container.siem.progress.lowestForwardedSeq()) === (await worked.container.store.audit.head()).seq && rsyslog.lines('tls').length > before.tls,
            (done) => done,
            15_000,
            'the worker forwarded everything',
          );
          const head = (await worked.container.store.audit.head()).seq;
          await eventually(async () => rsyslog.lines('tcp').length - before.tcp, (n) => n >= head, 10_000, 'tcp lines');
          const mine = rsyslog.lines('tcp').slice(before.tcp).map(parseSyslogLine);
          assert.deepEqual(mine.map((r) => r.seq), seqs(head));
          assert.ok(mine.some((r) => r.body.includes('by-worker')));
        } finally {
          await workers.close();
          await worked.close();
        }
      });
    }
  });
}
