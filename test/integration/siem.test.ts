// SIEM forwarding against a real rsyslog (Debian's, private, on loopback): every audit event
// arrives once and in order over TCP (JSON) and TLS (CEF), multibyte text framed by bytes, line
// breaks unable to forge a record, and an outage survived with nothing missing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findChainBreak, genesisHash, type AuditEvent, type AuditEventInput } from '../../src/domain/audit.ts';
import { createSyslogSink } from '../../src/adapters/siem/syslog-sink.ts';
import { createRandomSource } from '../../src/adapters/crypto/random.ts';
import { createSiemForwarding } from '../../src/services/siem/index.ts';
import type { Notice } from '../../src/services/ports/notifications.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { runningClock } from '../support/clock.ts';
import { bearer, createTechnician, login } from '../support/factories.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { startRsyslog, type PrivateRsyslog } from '../support/rsyslog.ts';
import { parseCef, parseSyslogLine } from '../support/syslog-records.ts';
import { eventually } from '../support/world.ts';

const multibyte = 'café 日本 🚀 naïve';
const forged =
  'line one\n<109>1 2026-01-01T00:00:00.000Z evil stint - auth.login.succeeded [stint@32473 seq="1" hash="00"] {"seq":1}\r\n42 <13>1 x cs1=evil|';

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

    const append = (input: Omit<AuditEventInput, 'actor'>) =>
      h.container.store.transaction((tx) => tx.audit.append({ actor: 'tech-1', ...input }, h.clock.now()));
    const failedLogin = (username: string) => append({ action: 'auth.login.failed', details: { username, reason: 'bad_password' } });

    /** Forwarding as the container builds it, but with test settings and a notifier the test can read. */
    function forwarding(overrides: { backlogAlertThreshold?: number; maxBatchesPerRun?: number } = {}) {
      const identity = { hostname: 'stint-test', facility: 13, version: '0.1.0' };
      const sink = (name: string, protocol: 'tcp' | 'tls') =>
        createSyslogSink(
          {
            name,
            host: '127.0.0.1',
            port: protocol === 'tcp' ? rsyslog.tcpPort : rsyslog.tlsPort,
            protocol,
            caFile: protocol === 'tls' ? rsyslog.caFile : undefined,
            format: protocol === 'tcp' ? 'json' : 'cef',
          },
          { identity, clock: h.clock, connectTimeoutMs: 2000, writeTimeoutMs: 2000 },
        );
      return createSiemForwarding({
        store: h.container.store,
        clock: h.clock,
        random: createRandomSource(),
        sinks: [sink('tcp-json', 'tcp'), sink('tls-cef', 'tls')],
        notifications: { publish: async (n) => void notices.push(...n) },
        log: h.container.logger,
        settings: {
          batchSize: 7,
          maxBatchesPerRun: overrides.maxBatchesPerRun ?? 1000,
          backlogAlertThreshold: overrides.backlogAlertThreshold ?? 1000,
          retryBaseMs: 200,
          retryMaxMs: 1000,
          resendWindowMs: 2000,
          leaseMs: 30_000,
        },
      });
    }

    /** Runs forwarding until both targets hold the head (forwarding audits itself, so the head moves). */
    async function forwardAll(f: ReturnType<typeof forwarding>) {
      // Until caught up (a deadline, not a count of tries: a busy machine may need more of them).
      for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
        const outcomes = await f.forward();
        const head = (await h.container.store.audit.head()).seq;
        if (outcomes.every((o) => o.state === 'current' && o.cursor === head)) return head;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail('forwarding did not catch up');
    }

    const arrived = (head: number) =>
      eventually(
        async () => [rsyslog.lines('tcp').length, rsyslog.lines('tls').length],
        ([tcp, tls]) => tcp! >= head && tls! >= head,
        15_000,
        `${head} records on both inputs`,
      );

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
      assert.deepEqual(
        json.map((e) => e.seq),
        seqs(head),
      );
      assert.equal(findChainBreak(json, genesisHash), null, 'the received JSON events verify as a chain');
      assert.equal(json[1]!.details.username, `${multibyte} 1`);
      const cef = receivedCef(rsyslog);
      assert.deepEqual(
        cef.map((e) => e.seq),
        seqs(head),
      );
      assert.deepEqual(
        cef.map((e) => e.hash),
        json.map((e) => e.hash),
      );
      assert.deepEqual(cef[5]!.details, json[5]!.details);
      const started = (await h.container.store.audit.range(1, 1000)).filter((e) => e.action === 'siem.forwarding_started');
      assert.deepEqual(started.map((e) => e.details.target).sort(), ['tcp-json', 'tls-cef']);
      assert.equal(await f.progress.lowestForwardedSeq(), head);
      await f.close();
    });

    it('when a justification holds line breaks and a forged record, then each format still carries exactly one record for it', async () => {
      const before = rsyslog.lines('tcp').length;
      const event = await append({
        action: 'elevation.requested',
        target: 'el-1',
        details: { profile: 'p', durationSeconds: 60, justification: forged, ticket: 'T|1 cs2=x\\', approvalsRequired: 0 },
      });
      const f = forwarding();
      const head = await forwardAll(f);
      await arrived(head);
      const json = receivedJson(rsyslog);
      assert.deepEqual(
        json.map((e) => e.seq),
        seqs(head),
        'no extra record appeared',
      );
      assert.equal(json.length - before, head - event.seq + 1);
      assert.equal(json.find((e) => e.seq === event.seq)!.details.justification, forged);
      const cef = receivedCef(rsyslog);
      assert.deepEqual(
        cef.map((e) => e.seq),
        seqs(head),
      );
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
        assert.ok(
          outcomes.every((o) => o.state === 'stalled' || o.state === 'waiting'),
          JSON.stringify(outcomes),
        );
        await new Promise((r) => setTimeout(r, 250));
      }
      const events = await h.container.store.audit.range(1, 10_000);
      const count = (action: string) => events.filter((e) => e.action === action).length;
      assert.equal(count('siem.forwarding_stalled'), 2, 'one stall event per target, not one per attempt');
      assert.equal(count('siem.backlog_exceeded'), 2);
      assert.deepEqual(
        notices.map((n) => n.kind === 'alert' && n.alert),
        ['siem_backlog', 'siem_backlog'],
      );
      const lowest = await f.progress.lowestForwardedSeq();
      assert.ok(lowest! < (await h.container.store.audit.head()).seq, 'retention would see the backlog');

      await rsyslog.start();
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

    it('when a target answers but falls behind, then the backlog alert goes out once per target, and again only after it has caught up', async () => {
      await forwardAll(forwarding());
      const mark = (await h.container.store.audit.head()).seq;
      const noticesBefore = notices.length;
      // One batch of 7 a run: 40 new events leave each target more than 10 behind after a run.
      const slow = forwarding({ backlogAlertThreshold: 10, maxBatchesPerRun: 1 });
      const alerts = async () =>
        (await h.container.store.audit.range(mark + 1, 10_000)).filter((e) => e.action === 'siem.backlog_exceeded');
      for (let i = 0; i < 40; i++) await failedLogin(`burst ${i}`);
      for (let run = 0; run < 2; run++) {
        const outcomes = await slow.forward();
        assert.ok(
          outcomes.every((o) => o.state === 'current' && o.sent === 7 && o.backlog > 10),
          JSON.stringify(outcomes),
        );
      }
      const raised = await alerts();
      assert.deepEqual(raised.map((e) => e.details.target).sort(), ['tcp-json', 'tls-cef'], 'once per target, not once per run');
      assert.ok(raised.every((e) => e.details.behind === true && (e.details.backlog as number) > 10));
      assert.deepEqual(
        notices.slice(noticesBefore).map((n) => n.kind === 'alert' && n.alert),
        ['siem_backlog', 'siem_backlog'],
      );
      assert.ok((await slow.status()).targets.every((t) => t.backlogAlertedAt !== null));
      // Caught up: the alert is re-armed, and a new burst raises it again.
      await forwardAll(slow);
      assert.ok((await slow.status()).targets.every((t) => t.backlogAlertedAt === null));
      for (let i = 0; i < 40; i++) await failedLogin(`second burst ${i}`);
      await slow.forward();
      assert.equal((await alerts()).length, 4);
      await forwardAll(forwarding());
      await slow.close();
    });

    it('when rsyslog is stopped, then GET /audit/siem and /metrics show each target’s backlog grow, its oldest event’s age and the last error, the alert goes out once, and after the restart the backlog drains to 0', async () => {
      const siem = await startRsyslog();
      const s = await startHarness({
        engine,
        clock: runningClock(),
        config: {
          siem: {
            intervalMs: 200,
            retryMaxSeconds: 1,
            backlogAlertThreshold: 10,
            targets: [
              { name: 'tcp-json', host: '127.0.0.1', port: siem.tcpPort, protocol: 'tcp', format: 'json' },
              { name: 'tls-cef', host: '127.0.0.1', port: siem.tlsPort, protocol: 'tls', caFile: siem.caFile, format: 'cef' },
            ],
          },
        },
      });
      try {
        const token = (await login(s, await createTechnician(s, ['auditor']))).accessToken;
        type Target = {
          target: string;
          state: string;
          forwardedSeq: number;
          backlog: number;
          oldestUnforwardedAt: string | null;
          oldestUnforwardedAgeSeconds: number;
          backlogAlertedAt: string | null;
          lastSuccessAt: string | null;
          lastError: { at: string; message: string } | null;
        };
        const status = async () => {
          const res = await s.http.get('/api/v1/audit/siem').set(bearer(token));
          assert.equal(res.status, 200, JSON.stringify(res.body));
          const body = res.body as { headSeq: number; backlogAlertThreshold: number; targets: Target[] };
          assert.deepEqual(
            body.targets.map((t) => t.target),
            ['tcp-json', 'tls-cef'],
          );
          return body;
        };
        const gauge = async (name: string, target: string) => {
          const text = (await s.metrics()).text;
          const line = new RegExp(`^${name}\\{target="${target}"\\} (\\S+)$`, 'm').exec(text);
          return line ? Number(line[1]) : null;
        };
        const forwardUntilCurrent = async () => {
          for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
            const outcomes = await s.container.siem.forward();
            // Forwarding audits itself (started, resumed), so the head may move during a run.
            const head = (await s.container.store.audit.head()).seq;
            if (outcomes.every((o) => o.state === 'current' && o.cursor === head)) return;
            await new Promise((r) => setTimeout(r, 200));
          }
          assert.fail('forwarding did not catch up');
        };

        const fresh = await status();
        assert.deepEqual(
          fresh.targets.map((t) => [t.state, t.backlog]),
          [
            ['not_started', fresh.headSeq],
            ['not_started', fresh.headSeq],
          ],
        );
        assert.equal(fresh.backlogAlertThreshold, 10);

        await forwardUntilCurrent();
        const current = await status();
        for (const t of current.targets) {
          assert.deepEqual(
            [t.state, t.backlog, t.forwardedSeq, t.oldestUnforwardedAt, t.lastError],
            ['ok', 0, current.headSeq, null, null],
          );
          assert.ok(t.lastSuccessAt, 'a success time once it took events');
          assert.equal(await gauge('stint_siem_backlog_events', t.target), 0);
          assert.equal(await gauge('stint_siem_stalled', t.target), 0);
        }

        await siem.stop();
        const waiting = [];
        for (let i = 0; i < 15; i++) {
          waiting.push(
            await s.container.store.transaction((tx) =>
              tx.audit.append(
                { actor: 'tech-1', action: 'auth.login.failed', details: { username: `while-down-${i}`, reason: 'bad_password' } },
                s.clock.now(),
              ),
            ),
          );
        }
        s.clock.advance(90_000);
        for (let attempt = 0; attempt < 4; attempt++) {
          const outcomes = await s.container.siem.forward();
          assert.ok(
            outcomes.every((o) => o.state === 'stalled' || o.state === 'waiting'),
            JSON.stringify(outcomes),
          );
          await new Promise((r) => setTimeout(r, 300));
        }
        const down = await status();
        for (const t of down.targets) {
          assert.equal(t.state, 'stalled');
          assert.equal(t.forwardedSeq, current.headSeq, 'the cursor stays where the outage began');
          assert.equal(t.backlog, down.headSeq - current.headSeq);
          assert.ok(t.backlog >= 15, `the backlog grew: ${t.backlog}`);
          assert.equal(t.oldestUnforwardedAt, (await s.container.store.audit.range(current.headSeq + 1, 1))[0]!.at.toISOString());
          assert.ok(t.oldestUnforwardedAt! <= waiting[0]!.at.toISOString());
          assert.ok(t.oldestUnforwardedAgeSeconds >= 90, `the oldest waiting event’s age: ${t.oldestUnforwardedAgeSeconds}`);
          assert.match(t.lastError?.message ?? '', /ECONNREFUSED/);
          assert.ok(!t.lastError!.message.includes(s.masterKey));
          assert.ok(t.backlogAlertedAt, 'past the threshold of 10');
          assert.equal(await gauge('stint_siem_backlog_events', t.target), t.backlog);
          assert.ok((await gauge('stint_siem_oldest_unforwarded_age_seconds', t.target))! >= 90);
          assert.equal(await gauge('stint_siem_stalled', t.target), 1);
          assert.equal(await gauge('stint_siem_last_error_timestamp_seconds', t.target), Date.parse(t.lastError!.at) / 1000);
        }
        const alerts = (await s.container.store.audit.range(1, 10_000)).filter((e) => e.action === 'siem.backlog_exceeded');
        assert.deepEqual(alerts.map((e) => e.details.target).sort(), ['tcp-json', 'tls-cef'], 'one alert per target, not one per attempt');

        await siem.start();
        await forwardUntilCurrent();
        const drained = await status();
        for (const t of drained.targets) {
          assert.deepEqual(
            [t.state, t.backlog, t.forwardedSeq, t.oldestUnforwardedAgeSeconds, t.backlogAlertedAt],
            ['ok', 0, drained.headSeq, 0, null],
          );
          assert.ok(t.lastSuccessAt! > t.lastError!.at, 'the last error is kept, older than the last success');
          assert.equal(await gauge('stint_siem_backlog_events', t.target), 0);
          assert.equal(await gauge('stint_siem_stalled', t.target), 0);
          assert.ok((await gauge('stint_siem_last_success_timestamp_seconds', t.target))! >= Date.parse(t.lastError!.at) / 1000);
        }
        assert.equal(
          (await s.container.store.audit.range(1, 10_000)).filter((e) => e.action === 'siem.backlog_exceeded').length,
          2,
          'still one alert per target',
        );
        const tcpSeqs = (
          await eventually(
            async () => siem.lines('tcp'),
            (lines) => lines.length >= drained.headSeq,
            15_000,
            'every record written',
          )
        ).map((line) => parseSyslogLine(line).seq);
        assert.deepEqual(
          tcpSeqs.filter((seq, i) => tcpSeqs.indexOf(seq) === i),
          seqs(drained.headSeq),
          'every event arrived, in order',
        );
      } finally {
        await s.close();
        await siem.close();
      }
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
          await worked.container.store.transaction((tx) =>
            tx.audit.append(
              { actor: 'x', action: 'auth.login.failed', details: { username: 'by-worker', reason: 'bad_password' } },
              worked.clock.now(),
            ),
          );
          await eventually(
            async () =>
              (await worked.container.siem.progress.lowestForwardedSeq()) === (await worked.container.store.audit.head()).seq &&
              rsyslog.lines('tls').length > before.tls,
            (done) => done,
            15_000,
            'the worker forwarded everything',
          );
          const head = (await worked.container.store.audit.head()).seq;
          await eventually(
            async () => rsyslog.lines('tcp').length - before.tcp,
            (n) => n >= head,
            10_000,
            'tcp lines',
          );
          const mine = rsyslog.lines('tcp').slice(before.tcp).map(parseSyslogLine);
          assert.deepEqual(
            mine.map((r) => r.seq),
            seqs(head),
          );
          assert.ok(mine.some((r) => r.body.includes('by-worker')));
        } finally {
          await workers.close();
          await worked.close();
        }
      });
    }
  });
}
