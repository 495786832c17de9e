// Audit you can prove (issue 6): signed checkpoints, streamed exports with a signed manifest that
// verify offline, each way of tampering named at its first bad record, filtered exports, key
// rotation, the live chain check, retention, and the elevation history export — on SQLite and
// PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { chainAuditEvent, type AuditEventInput } from '../../src/domain/audit.ts';
import { sql } from 'kysely';
import { createAuditSignatureVerifier, createAuditSigner } from '../../src/adapters/crypto/audit-signer.ts';
import { createHashing } from '../../src/adapters/crypto/hashing.ts';
import { openDatabase } from '../../src/adapters/store/connect.ts';
import { auditExportDecoder, auditExportEncoder } from '../../src/adapters/formats/export-formats.ts';
import { createOfflineExportVerifier } from '../../src/container.ts';
import { createAuditService } from '../../src/services/audit/index.ts';
import { createExportVerifier } from '../../src/services/audit/index.ts';
import { bearer, createTechnician, login } from '../support/factories.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';

type Jwks = { keys: Array<Record<string, unknown>> };

const textBody = (res: NodeJS.ReadableStream & { setEncoding(e: string): void }, done: (error: Error | null, body: string) => void) => {
  let data = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (data += chunk));
  res.on('end', () => done(null, data));
};

/**
 * Verifies an export four ways and checks they agree: on this thread as one chunk; on several
 * threads in chunks of a line or two, and of a few lines, fed in small pieces (chunk boundaries
 * between most records); and on several threads in the default chunk size.
 */
async function verify(text: string, jwks: Jwks) {
  const bytes = Buffer.from(text);
  const whole = await createExportVerifier({
    signatures: createAuditSignatureVerifier(),
    hashing: createHashing(),
    decoder: auditExportDecoder,
  }).verify([bytes], jwks);
  const pieces = Array.from({ length: Math.ceil(bytes.length / 97) }, (_, i) => bytes.subarray(i * 97, (i + 1) * 97));
  const chunked = await createOfflineExportVerifier({ threads: 2, chunkBytes: 300 }).verify(pieces, jwks);
  const fewLines = await createOfflineExportVerifier({ threads: 3, chunkBytes: 1200 }).verify(pieces, jwks);
  const pooled = await createOfflineExportVerifier().verify([bytes], jwks);
  assert.deepEqual(chunked, whole, 'a line or two a chunk on two threads, the same report as on one thread');
  assert.deepEqual(fewLines, whole, 'a few lines a chunk on three threads, the same report as on one thread');
  assert.deepEqual(pooled, whole, 'on worker threads, the same report as on one thread');
  return whole;
}

/** The lines of an NDJSON export, the manifest last. */
const splitLines = (text: string) => text.split('\n').filter((l) => l !== '');
const joinLines = (lines: string[]) => `${lines.join('\n')}\n`;

for (const engine of engines) {
  describe(`audit proof (${engine})`, () => {
    let h: Harness;
    let token: string;
    let auditor: Awaited<ReturnType<typeof createTechnician>>;
    let jwks: Jwks;

    const seedEvents = async (count: number, tenantOf: (i: number) => string | null = (i) => (i % 3 === 0 ? 'acme' : 'globex')) => {
      const inputs: AuditEventInput[] = Array.from({ length: count }, (_, i) => ({
        actor: i % 2 ? 'system' : 'tech-1',
        action: 'technician.updated',
        tenantId: tenantOf(i),
        details: { changed: [i === 1 ? 'multibyte: Grüße, 東京, 🚀, "quotes", comma, and\nnewline' : `field-${i}`] },
      }));
      await h.container.store.transaction((tx) => tx.audit.appendMany(inputs, h.clock.now()));
    };

    const exportText = async (query = '') => {
      const res = await h.http
        .get(`/api/v1/audit/export${query}`)
        .set(bearer(token))
        .buffer(true)
        .parse(textBody as never);
      assert.equal(res.status, 200, String(res.body));
      return res.body as string;
    };

    before(async () => {
      h = await startHarness({ engine, config: { audit: { retentionDays: 7 } } });
      auditor = await createTechnician(h, ['auditor']);
      token = (await login(h, auditor)).accessToken;
      await seedEvents(40);
      jwks = (await h.http.get('/api/v1/audit/jwks.json')).body;
    });
    after(async () => {
      await h.close();
    });

    it('when the whole trail is exported as NDJSON and CSV, then each verifies offline with its range and count', async () => {
      const head = (await h.container.store.audit.head()).seq;
      for (const format of ['ndjson', 'csv']) {
        const text = await exportText(`?format=${format}`);
        const report = await verify(text, jwks);
        assert.equal(report.ok, true, JSON.stringify(report));
        if (!report.ok) return;
        assert.equal(report.format, format);
        assert.equal(report.fromSeq, 1);
        assert.ok(report.toSeq >= head);
        assert.equal(report.events, report.toSeq);
        assert.equal(report.omitted, 0);
        assert.ok(report.checkpoint && report.checkpoint.seq >= report.toSeq, 'a signed checkpoint covers the export');
      }
    });

    it('when an export is tampered with each way, then verify names the first bad record and why', async () => {
      const lines = splitLines(await exportText('?fromSeq=5&toSeq=30'));
      const manifest = lines[lines.length - 1]!;
      const events = lines.slice(0, -1);
      const seqOf = (line: string) => (JSON.parse(line) as { seq: number }).seq;
      assert.equal(seqOf(events[0]!), 5);
      const k = 10; // events[k] is seq 15

      const cases: Array<{ name: string; lines: string[]; seq: number | null; reasons: string[] }> = [];
      const modified = [...events];
      modified[k] = JSON.stringify({ ...JSON.parse(events[k]!), actor: 'someone-else' });
      cases.push({ name: 'modified', lines: [...modified, manifest], seq: 15, reasons: ['hash_mismatch'] });
      cases.push({ name: 'deleted', lines: [...events.slice(0, k), ...events.slice(k + 1), manifest], seq: 16, reasons: ['sequence_gap'] });
      cases.push({
        name: 'duplicated',
        lines: [...events.slice(0, k + 1), events[k]!, ...events.slice(k + 1), manifest],
        seq: 15,
        reasons: ['duplicate'],
      });
      const original = JSON.parse(events[k]!) as { hash: string };
      const forged = chainAuditEvent({ actor: 'intruder', action: 'tenant.deleted' }, 16, original.hash, h.clock.now());
      cases.push({
        name: 'inserted (a well-formed forged event)',
        lines: [
          ...events.slice(0, k + 1),
          JSON.stringify({ record: 'event', ...forged, at: forged.at.toISOString() }),
          ...events.slice(k + 1),
          manifest,
        ],
        seq: 16,
        reasons: ['duplicate'],
      });
      const swapped = [...events];
      [swapped[k], swapped[k + 1]] = [swapped[k + 1]!, swapped[k]!];
      cases.push({ name: 'reordered', lines: [...swapped, manifest], seq: 16, reasons: ['sequence_gap'] });
      cases.push({ name: 'truncated tail, manifest kept', lines: [...events.slice(0, -3), manifest], seq: 28, reasons: ['truncated'] });
      cases.push({ name: 'truncated tail, manifest gone', lines: events.slice(0, -3), seq: 28, reasons: ['manifest_missing'] });
      const asOmitted = [...events];
      const e = JSON.parse(events[k]!) as { seq: number; prevHash: string; hash: string };
      asOmitted[k] = JSON.stringify({ record: 'omitted', fromSeq: e.seq, toSeq: e.seq, prevHash: e.prevHash, lastHash: e.hash });
      cases.push({ name: 'an event hidden as an omitted run', lines: [...asOmitted, manifest], seq: null, reasons: ['manifest_mismatch'] });

      const jws = (JSON.parse(manifest) as { jws: string }).jws;
      const [header, payload, signature] = jws.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
      const altered = Buffer.from(JSON.stringify({ ...claims, toSeq: 27, events: 23 })).toString('base64url');
      cases.push({
        name: 'forged manifest (payload changed, signature kept)',
        lines: [...events.slice(0, -3), JSON.stringify({ record: 'manifest', jws: `${header}.${altered}.${signature}` })],
        seq: null,
        reasons: ['bad_signature'],
      });
      const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const kid = 'attacker-key';
      const resigned = await new CompactSign(Buffer.from(JSON.stringify({ ...claims, toSeq: 27, events: 23 })))
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'stint-audit-manifest+json' })
        .sign(privateKey);
      cases.push({
        name: 'manifest signed by an unknown key',
        lines: [...events.slice(0, -3), JSON.stringify({ record: 'manifest', jws: resigned })],
        seq: null,
        reasons: ['unknown_key'],
      });
      assert.ok(await exportJWK(publicKey), 'the attacker key is a real key (sanity)');

      for (const c of cases) {
        const report = await verify(joinLines(c.lines), jwks);
        assert.equal(report.ok, false, `${c.name}: verify passed`);
        if (report.ok) continue;
        assert.ok(c.reasons.includes(report.problem.reason), `${c.name}: ${JSON.stringify(report.problem)}`);
        assert.equal(report.problem.seq, c.seq, `${c.name}: ${JSON.stringify(report.problem)}`);
      }
      assert.equal((await verify(joinLines(lines), jwks)).ok, true, 'the untouched export still verifies');
    });

    it('when a CSV export is changed in a cell, then verify names that record', async () => {
      const text = await exportText('?format=csv&toSeq=12');
      assert.equal((await verify(text, jwks)).ok, true);
      const tampered = text.replace(/^event,6,([^,]+),tech-1,/m, 'event,6,$1,tech-2,');
      assert.notEqual(tampered, text, 'the test changed the file');
      const report = await verify(tampered, jwks);
      assert.equal(report.ok, false);
      if (!report.ok) assert.deepEqual([report.problem.seq, report.problem.reason], [6, 'hash_mismatch']);
    });

    it('when an export is filtered by tenant, action or time, then it still verifies and holds only matching events', async () => {
      const text = await exportText('?tenant=acme');
      const report = await verify(text, jwks);
      assert.equal(report.ok, true, JSON.stringify(report));
      const records = splitLines(text).map((l) => JSON.parse(l) as { record: string; tenantId?: string });
      const exported = records.filter((r) => r.record === 'event');
      assert.ok(exported.length > 0 && exported.every((r) => r.tenantId === 'acme'));
      assert.ok(records.some((r) => r.record === 'omitted'));
      if (report.ok) assert.equal(report.events, exported.length);

      h.clock.advance(60_000);
      const from = h.clock.now().toISOString();
      await seedEvents(5, () => 'initech');
      h.clock.advance(60_000);
      const to = h.clock.now().toISOString();
      await seedEvents(2);
      const ranged = await exportText(
        `?format=csv&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&action=technician.updated`,
      );
      const rangedReport = await verify(ranged, jwks);
      assert.equal(rangedReport.ok, true, JSON.stringify(rangedReport));
      if (rangedReport.ok) assert.equal(rangedReport.events, 5);
    });

    it('when the audit key is rotated, then old exports and checkpoints still verify with the published keys', async () => {
      const before = await exportText('?toSeq=20');
      const oldKid = jwks.keys[0]!.kid;
      const newKid = await h.container.services.audit.rotateSigningKey('system');
      assert.notEqual(newKid, oldKid);
      const published = (await h.http.get('/api/v1/audit/jwks.json')).body as Jwks;
      assert.deepEqual(new Set(published.keys.map((k) => k.kid)), new Set([oldKid, newKid]));
      assert.equal((await verify(before, published)).ok, true, 'the export signed before the rotation');
      await h.http.post('/api/v1/audit/checkpoints').set(bearer(token)).expect(201);
      const afterRotation = await verify(await exportText(), published);
      assert.equal(afterRotation.ok, true);
      if (afterRotation.ok) assert.equal(afterRotation.kid, newKid);
      const onlyNew = await verify(before, { keys: published.keys.filter((k) => k.kid === newKid) });
      assert.equal(onlyNew.ok, false);
      if (!onlyNew.ok) assert.equal(onlyNew.problem.reason, 'unknown_key');
      jwks = published;
    });

    it('when exports happen, then they are audited with their range and filter', async () => {
      const res = await h.http.get('/api/v1/audit?action=audit.exported&limit=1').set(bearer(token));
      assert.equal(res.status, 200);
      assert.equal(res.body.events.length, 1);
      assert.ok(typeof res.body.events[0].details.toSeq === 'number');
      assert.equal(
        (await h.http.get('/api/v1/audit/export').set(bearer((await login(h, await createTechnician(h))).accessToken))).status,
        403,
      );
    });

    it('when events are past retention but not checkpointed or not forwarded, then the purge keeps them; once both, it purges and the chain still verifies', async () => {
      const lastCheckpoint = (await h.container.store.audit.latestCheckpoint())!.seq;
      await seedEvents(10);
      h.clock.advance(8 * 86_400_000);
      const fresh = await h.container.store.transaction((tx) =>
        tx.audit.append({ actor: 'system', action: 'technician.updated', details: { changed: ['displayName'] } }, h.clock.now()),
      );
      // The login audits itself too (after `fresh`, so inside retention as well).
      token = (await login(h, auditor)).accessToken;

      const held = createAuditService({
        store: h.container.store,
        clock: h.clock,
        signer: createAuditSigner(h.container.store.auditKeys, h.container.secrets),
        signatures: createAuditSignatureVerifier(),
        hashing: createHashing(),
        encoder: auditExportEncoder,
        forwarding: { lowestForwardedSeq: async () => 3 },
        retentionDays: 7,
      });
      const notForwarded = await held.purge();
      assert.deepEqual([notForwarded.purgedThroughSeq, notForwarded.heldBy], [3, 'forwarding']);

      const report = await h.container.services.audit.purge();
      assert.equal(report.heldBy, 'checkpoint', 'events after the last checkpoint stay');
      assert.equal(report.purgedThroughSeq, lastCheckpoint);
      assert.equal((await h.container.store.audit.range(1, 1))[0]!.seq, lastCheckpoint + 1);

      await h.http.post('/api/v1/audit/checkpoints').set(bearer(token)).expect(201);
      const second = await h.container.services.audit.purge();
      assert.equal(second.heldBy, 'retention');
      assert.equal(second.purgedThroughSeq, fresh.seq - 1, 'the event inside retention stays');

      const live = (await h.http.get('/api/v1/audit/verify').set(bearer(token))).body;
      assert.equal(live.ok, true, JSON.stringify(live));
      assert.equal(live.fromSeq, fresh.seq);
      const exported = await verify(await exportText(), jwks);
      assert.equal(exported.ok, true, JSON.stringify(exported));
      if (exported.ok) assert.equal(exported.fromSeq, fresh.seq);
    });

    it('when the elevation history is exported, then each elevation is one row with its approvals and end, and the export is audited', async () => {
      const store = h.container.store;
      await store.tenants.insert(
        {
          id: 'acme',
          displayName: 'Acme',
          timeZone: 'UTC',
          directory: { url: 'ldaps://127.0.0.2', bindDn: 'CN=x', baseDn: 'DC=x', caCertificate: 'pem' },
          keepAccountsDisabled: true,
          slackChannel: null,
          driftMode: 'remove',
          reviewSchedule: '0 6 * * 1',
          inactiveDays: 45,
          disableInactive: false,
          riskThreshold: 50,
          bindPasswordSealed: 'sealed',
        },
        h.clock.now(),
      );
      const requester = await createTechnician(h);
      const approver = await createTechnician(h, ['approver']);
      const at = (minutes: number) => new Date(h.clock.now().getTime() + minutes * 60_000);
      const base = {
        tenantId: 'acme',
        profileId: 'p1',
        profileName: 'Helpdesk',
        technicianId: requester.id,
        accountId: 'a1',
        accountDn: 'CN=t,DC=x',
        accountGuid: 'g',
        groups: [{ dn: 'CN=Helpdesk,DC=x', guid: 'g1', name: 'Helpdesk' }],
        durationSeconds: 3600,
        steps: null,
        overdueAlertedAt: null,
        approverIds: [],
        approvalDeadline: null,
        windowClosesAt: null,
        extension: null,
        extendedSeconds: 0,
        decisions: [],
        failureReason: null,
        risk: null,
      };
      await store.elevations.insert({
        ...base,
        id: '00000000-0000-4000-8000-000000000001',
        state: 'expired',
        justification: '=SUM(A1) printer, "urgent"',
        ticket: 'T-1',
        requestedAt: at(1),
        activatedAt: at(2),
        endsAt: at(62),
        endedAt: at(62),
        revocationReason: 'expired',
        updatedAt: at(62),
        approvalsRequired: 1,
      });
      await store.elevations.addDecision('00000000-0000-4000-8000-000000000001', {
        round: 0,
        approverId: approver.id,
        decision: 'approve',
        reason: null,
        at: at(2),
      });
      await store.elevations.insert({
        ...base,
        id: '00000000-0000-4000-8000-000000000002',
        state: 'denied',
        justification: null,
        ticket: null,
        requestedAt: at(3),
        activatedAt: null,
        endsAt: null,
        endedAt: null,
        revocationReason: null,
        updatedAt: at(3),
        approvalsRequired: 1,
      });
      const get = (q: string) =>
        h.http
          .get(`/api/v1/elevations/export${q}`)
          .set(bearer(token))
          .buffer(true)
          .parse(textBody as never);
      const ndjson = await get(`?format=ndjson&tenant=acme&from=${encodeURIComponent(at(0).toISOString())}`);
      assert.equal(ndjson.status, 200);
      const rows = splitLines(ndjson.body as string).map((l) => JSON.parse(l));
      assert.deepEqual(
        rows.map((r) => [r.requester, r.state, r.end_reason]),
        [
          [requester.username, 'expired', 'expired'],
          [requester.username, 'denied', 'denied'],
        ],
      );
      assert.deepEqual(
        rows[0].decisions.map((d: { approver: string; decision: string }) => [d.approver, d.decision]),
        [[approver.username, 'approve']],
      );
      assert.equal(rows[0].ticket, 'T-1');
      const csv = await get('?format=csv&tenant=acme');
      const lines = (csv.body as string).trim().split('\n');
      assert.equal(lines[0]!.split(',')[0], 'id');
      assert.equal(lines.length, 3);
      assert.ok(lines[1]!.includes(`${approver.username} approved at`));
      assert.ok(lines[1]!.includes(`"'=SUM(A1) printer, ""urgent"""`), `a formula-like cell is escaped for spreadsheets: ${lines[1]}`);
      const audited = await h.http.get('/api/v1/audit?action=elevation.history_exported').set(bearer(token));
      assert.equal(audited.body.events.length, 2);
    });

    it('when the stored chain is altered or its tail cut, then GET /audit/verify names the break', async () => {
      await h.http.post('/api/v1/audit/checkpoints').set(bearer(token)).expect(201);
      assert.equal((await h.http.get('/api/v1/audit/verify').set(bearer(token))).body.ok, true);
      const head = await h.container.store.audit.head();
      const kysely = openDatabase(h.databaseUrl, h.dataDir).db;
      try {
        await sql`update audit_events set actor = 'mallory' where seq = ${head.seq - 1}`.execute(kysely);
        let live = (await h.http.get('/api/v1/audit/verify').set(bearer(token))).body;
        assert.deepEqual([live.ok, live.firstBreak.seq, live.firstBreak.reason], [false, head.seq - 1, 'hash_mismatch']);
        await sql`delete from audit_events where seq >= ${head.seq - 1}`.execute(kysely);
        await sql`update audit_head set seq = ${head.seq - 2}`.execute(kysely);
        live = (await h.http.get('/api/v1/audit/verify').set(bearer(token))).body;
        assert.deepEqual([live.ok, live.firstBreak.reason], [false, 'truncated']);
      } finally {
        await kysely.destroy();
      }
    });
  });
}
