// `bin/stint` as an operator runs it, a child process against a real store (SQLite and PostgreSQL):
// `audit export` (NDJSON and CSV, ranged and filtered) writes a file that `audit verify --jwks`
// reports OK with its range and count; a tampered copy makes verify exit non-zero naming the first
// bad record; `elevations export` writes the history. Exit codes, output text, and no secrets in it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { openDatabase } from '../../src/adapters/store/index.ts';
import { computeAuditHash, type AuditEventInput } from '../../src/domain/audit.ts';
import { systemContext } from '../../src/services/context.ts';
import { createTechnician, type TestTechnician } from '../support/factories.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { repoRoot } from '../support/services.ts';

const execFileAsync = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

for (const engine of engines) {
  describe(`the stint command on ${engine}`, () => {
    let h: Harness;
    let requester: TestTechnician;
    const runs: Run[] = [];
    const file = (name: string) => join(h.dataDir, name);

    /** Runs bin/stint with the configuration an operator would give it: environment variables only. */
    async function stint(...args: string[]): Promise<Run> {
      const env = {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/root',
        STINT_DATA_DIR: h.dataDir,
        STINT_DATABASE__URL: h.databaseUrl,
        STINT_SECRETS__MASTER_KEY: h.masterKey,
        STINT_REDIS__URL: h.config.redis.url,
        STINT_QUEUE__PREFIX: h.config.queue.prefix,
        STINT_LOGGING__LEVEL: 'silent',
      };
      let run: Run;
      try {
        const { stdout, stderr } = await execFileAsync(join(repoRoot, 'bin/stint'), args, {
          cwd: repoRoot,
          env,
          encoding: 'utf8',
          timeout: 120_000,
        });
        run = { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code?: number | string; stdout?: string; stderr?: string };
        if (typeof e.code !== 'number') throw error;
        run = { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
      }
      runs.push(run);
      return run;
    }

    /** Seeds 30 events: tenants acme and globex in turn, the first 10 an hour before the rest. */
    const seeded: Array<{ seq: number; tenantId: string | null; at: Date }> = [];

    before(async () => {
      h = await startHarness({ engine });
      const inputs = (from: number, count: number): AuditEventInput[] =>
        Array.from({ length: count }, (_, k) => {
          const i = from + k;
          return {
            actor: i % 2 ? 'system' : 'tech-1',
            action: 'technician.updated',
            tenantId: i % 3 === 0 ? 'acme' : 'globex',
            details: { changed: [`field-${i}`] },
          };
        });
      await h.container.store.transaction((tx) => tx.audit.appendMany(inputs(0, 10), h.clock.now()));
      h.clock.advance(3_600_000);
      await h.container.store.transaction((tx) => tx.audit.appendMany(inputs(10, 20), h.clock.now()));
      for (const e of await h.container.store.audit.range(1, 1000)) seeded.push({ seq: e.seq, tenantId: e.tenantId, at: e.at });

      requester = await createTechnician(h);
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
        approvalsRequired: 0,
        risk: null,
      };
      await store.elevations.insert({
        ...base,
        id: '00000000-0000-4000-8000-0000000000a1',
        state: 'expired',
        justification: 'printer queue',
        ticket: 'T-100',
        requestedAt: at(1),
        activatedAt: at(1),
        endsAt: at(61),
        endedAt: at(61),
        revocationReason: 'expired',
        updatedAt: at(61),
      });
      await store.elevations.insert({
        ...base,
        id: '00000000-0000-4000-8000-0000000000a2',
        state: 'revoked',
        justification: 'password reset',
        ticket: 'T-101',
        requestedAt: at(90),
        activatedAt: at(90),
        endsAt: at(150),
        endedAt: at(100),
        revocationReason: 'self',
        updatedAt: at(100),
      });
    });
    after(async () => {
      await h?.close();
    });

    it('when the audit public keys are printed, then they are a JWKS of public keys only', async () => {
      const run = await stint('audit', 'jwks');
      assert.equal(run.code, 0, run.stderr);
      const jwks = JSON.parse(run.stdout) as { keys: Array<Record<string, unknown>> };
      assert.ok(jwks.keys.length >= 1);
      assert.ok(
        jwks.keys.every((k) => typeof k.kid === 'string' && typeof k.x === 'string' && !('d' in k)),
        'no private part',
      );
      writeFileSync(file('jwks.json'), run.stdout);
    });

    it('when a sequence range is exported as NDJSON, then verify reports OK with that range and count, and the export is audited', async () => {
      const exported = await stint('audit', 'export', '--from-seq', '3', '--to-seq', '20', '-o', file('range.ndjson'));
      assert.equal(exported.code, 0, exported.stderr);
      assert.equal(exported.stdout, '', 'the export went to the file');
      const lines = readFileSync(file('range.ndjson'), 'utf8').trim().split('\n');
      assert.equal(lines.length, 19, '18 events and the manifest');
      assert.equal((JSON.parse(lines[0]!) as { seq: number }).seq, 3);

      const verified = await stint('audit', 'verify', file('range.ndjson'), '--jwks', file('jwks.json'));
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      assert.match(
        verified.stdout,
        /^OK: seq 3–20, 18 events, 0 omitted by the filter; signed by \S+ at \S+; checkpoint seq \d+ at \S+\n$/,
      );

      const audited = (await h.container.store.audit.range(1, 1000)).filter((e) => e.action === 'audit.exported');
      assert.equal(audited.length, 1);
      assert.equal(audited[0]!.actor, 'system');
      assert.deepEqual([audited[0]!.details.fromSeq, audited[0]!.details.toSeq], [3, 20]);
    });

    it('when a filtered CSV export is made by tenant, action and time, then verify reports OK with the matching events and the omitted runs', async () => {
      const from = seeded[10]!.at.toISOString();
      const to = new Date(seeded[10]!.at.getTime() + 1000).toISOString();
      const expected = seeded.filter((e) => e.tenantId === 'acme' && e.at.getTime() >= Date.parse(from) && e.at.getTime() < Date.parse(to));
      assert.equal(expected.length, 6, 'acme events in the second hour (sanity)');
      const exported = await stint(
        'audit',
        'export',
        '--format',
        'csv',
        '--tenant',
        'acme',
        '--action',
        'technician.updated',
        '--from',
        from,
        '--to',
        to,
        '-o',
        file('acme.csv'),
      );
      assert.equal(exported.code, 0, exported.stderr);
      const text = readFileSync(file('acme.csv'), 'utf8');
      const eventRows = text.split('\n').filter((line) => line.startsWith('event,'));
      assert.deepEqual(
        eventRows.map((line) => Number(line.split(',')[1])),
        expected.map((e) => e.seq),
      );

      const verified = await stint('audit', 'verify', file('acme.csv'), '--jwks', file('jwks.json'));
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      const ok = /^OK: seq (\d+)–(\d+), (\d+) events, (\d+) omitted by the filter/.exec(verified.stdout);
      assert.ok(ok, verified.stdout);
      assert.equal(Number(ok[3]), expected.length);
      assert.ok(Number(ok[4]) > 0, 'the other tenant’s events are omitted runs');
    });

    it('when one byte of one event is changed, then verify exits 2 naming that record', async () => {
      const bytes = readFileSync(file('range.ndjson'));
      const lines = bytes.toString('utf8').split('\n');
      const line = lines.findIndex((l) => l.includes('"seq":10,'));
      assert.equal(line, 7, 'seq 10 is the 8th line (sanity)');
      const offset = bytes.indexOf('field-9"', lines.slice(0, line).join('\n').length);
      assert.ok(offset > 0);
      const tampered = Buffer.from(bytes);
      tampered[offset + 'field-'.length] = '8'.charCodeAt(0);
      writeFileSync(file('changed.ndjson'), tampered);
      const run = await stint('audit', 'verify', file('changed.ndjson'), '--jwks', file('jwks.json'));
      assert.equal(run.code, 2);
      assert.match(run.stdout, /^BAD: line 8, seq 10: hash_mismatch: /);
    });

    it('when a line is deleted, then verify exits 2 naming the first record after the gap', async () => {
      const lines = readFileSync(file('range.ndjson'), 'utf8').split('\n');
      writeFileSync(file('deleted.ndjson'), [...lines.slice(0, 7), ...lines.slice(8)].join('\n'));
      const run = await stint('audit', 'verify', file('deleted.ndjson'), '--jwks', file('jwks.json'));
      assert.equal(run.code, 2);
      assert.match(run.stdout, /^BAD: line 8, seq 11: sequence_gap: /);
    });

    it('when the tail of an export is cut and its manifest kept, then verify says truncated once, with the first missing seq', async () => {
      const lines = readFileSync(file('range.ndjson'), 'utf8').trim().split('\n');
      writeFileSync(file('cut.ndjson'), [...lines.slice(0, 15), lines[lines.length - 1]].join('\n') + '\n');
      const run = await stint('audit', 'verify', file('cut.ndjson'), '--jwks', file('jwks.json'));
      assert.equal(run.code, 2);
      assert.match(run.stdout, /^BAD: line 16, seq 18: truncated: the file ends at seq 17; the manifest runs to seq 20/);
      assert.doesNotMatch(run.stdout, /truncated: truncated/);
    });

    it('when a CSV cell is changed or the keys are not the signer’s, then verify exits 2 with the reason', async () => {
      const text = readFileSync(file('acme.csv'), 'utf8');
      const row = text.split('\n').find((line) => line.startsWith('event,'))!;
      const seq = Number(row.split(',')[1]);
      writeFileSync(file('acme-changed.csv'), text.replace(row, row.replace(',acme,', ',globex,')));
      const changed = await stint('audit', 'verify', file('acme-changed.csv'), '--jwks', file('jwks.json'));
      assert.equal(changed.code, 2);
      assert.match(changed.stdout, new RegExp(`^BAD: line \\d+, seq ${seq}: hash_mismatch: `));

      writeFileSync(file('other-jwks.json'), JSON.stringify({ keys: [] }));
      const unknown = await stint('audit', 'verify', file('range.ndjson'), '--jwks', file('other-jwks.json'));
      assert.equal(unknown.code, 2);
      assert.match(unknown.stdout, /^BAD: line 19: unknown_key: /);
    });

    it('when the command is given bad input, then it exits 1 with a clear message and exports nothing', async () => {
      const before = (await h.container.store.audit.head()).seq;
      const badSeq = await stint('audit', 'export', '--from-seq', 'abc', '-o', file('never.ndjson'));
      assert.equal(badSeq.code, 1);
      assert.match(badSeq.stderr, /--from-seq must be a positive integer/);
      const badAction = await stint('audit', 'export', '--action', 'drop.tables');
      assert.equal(badAction.code, 1);
      assert.match(badAction.stderr, /drop\.tables/);
      const missing = await stint('audit', 'verify', file('no-such-export.ndjson'), '--jwks', file('jwks.json'));
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^stint: ENOENT: no such file or directory/);
      assert.equal((await h.container.store.audit.head()).seq, before, 'nothing was exported, so nothing audited');
    });

    it('when the elevation history is exported, then each elevation is a row with its end, filtered by tenant and technician', async () => {
      const csv = await stint('elevations', 'export', '--tenant', 'acme', '-o', file('history.csv'));
      assert.equal(csv.code, 0, csv.stderr);
      const rows = readFileSync(file('history.csv'), 'utf8').trim().split('\n');
      assert.equal(rows[0]!.split(',')[0], 'id');
      assert.equal(rows.length, 3);
      assert.ok(rows[1]!.includes('0000000000a1') && rows[1]!.includes('T-100') && rows[1]!.includes('expired'));
      assert.ok(
        rows[2]!.includes('0000000000a2') && rows[2]!.includes('T-101') && rows[2]!.includes('revoked') && rows[2]!.includes('self'),
      );

      const ndjson = await stint('elevations', 'export', '--format', 'ndjson', '--technician', requester.username);
      assert.equal(ndjson.code, 0, ndjson.stderr);
      const records = ndjson.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { requester: string; ticket: string; end_reason: string });
      assert.deepEqual(
        records.map((r) => [r.requester, r.ticket, r.end_reason]),
        [
          [requester.username, 'T-100', 'expired'],
          [requester.username, 'T-101', 'self'],
        ],
      );

      const unknown = await stint('elevations', 'export', '--technician', 'nobody-by-this-name');
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /no technician named nobody-by-this-name/);
      const audited = (await h.container.store.audit.range(1, 1000)).filter((e) => e.action === 'elevation.history_exported');
      assert.equal(audited.length, 2);
    });

    it('when the stored chain is rewritten and a checkpoint’s stored hash with it, then audit check exits 2: the checkpoint’s signature does not cover it', async () => {
      const checkpoint = await h.container.services.audit.checkpointNow('system', systemContext);
      assert.equal((await stint('audit', 'check')).code, 0);
      // Rewrite event 5 and re-hash everything after it, as someone with write access to the
      // database could; then point the stored hash of every checkpoint at the new chain.
      const kysely = openDatabase(h.databaseUrl, h.dataDir).db;
      try {
        let prevHash: string | null = null;
        for (const event of await h.container.store.audit.range(5, 100_000)) {
          const rewritten = { ...event, actor: event.seq === 5 ? 'mallory' : event.actor, prevHash: prevHash ?? event.prevHash };
          const { hash: _old, ...unhashed } = rewritten;
          const hash = computeAuditHash(unhashed);
          await sql`update audit_events set actor = ${rewritten.actor}, prev_hash = ${rewritten.prevHash}, hash = ${hash} where seq = ${event.seq}`.execute(
            kysely,
          );
          await sql`update audit_checkpoints set hash = ${hash} where seq = ${event.seq}`.execute(kysely);
          prevHash = hash;
        }
        await sql`update audit_head set hash = ${prevHash}`.execute(kysely);
      } finally {
        await kysely.destroy();
      }
      const run = await stint('audit', 'check');
      assert.equal(run.code, 2, run.stdout);
      const report = JSON.parse(run.stdout) as { firstBreak: { seq: number; reason: string } | null };
      const first = (await h.container.store.audit.listCheckpoints(1000))
        .map((c) => c.seq)
        .filter((seq) => seq >= 5)
        .sort((a, b) => a - b)[0];
      assert.ok(first !== undefined && first <= checkpoint.seq);
      assert.deepEqual([report.firstBreak?.seq, report.firstBreak?.reason], [first, 'checkpoint_invalid']);
    });

    it('when every command above has run, then none printed a secret', () => {
      assert.ok(runs.length >= 15);
      const secrets = [h.masterKey, requester.password];
      const dbPassword = engine === 'postgres' ? new URL(h.databaseUrl).password : '';
      if (dbPassword) secrets.push(dbPassword);
      for (const run of runs) {
        for (const secret of secrets) assert.ok(!`${run.stdout}${run.stderr}`.includes(secret), 'a secret in the output');
      }
    });
  });
}
