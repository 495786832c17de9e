// Audit export and offline verification of BENCH_EXPORT_EVENTS (default 1,000,000) events on
// SQLite, each beside a raw baseline in the same run: the same rows read page by page and written
// as JSON lines with no chain check, digest or signature; and the same file read back as JSON
// lines with no hashing. Each phase runs in its own process so its peak memory (max RSS) is its
// own. Prints figures; asserts nothing about speed.
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { createAuditSignatureVerifier, createAuditSigner } from '../src/adapters/crypto/audit-signer.ts';
import { createHashing } from '../src/adapters/crypto/hashing.ts';
import { createSecretBox, parseMasterKey } from '../src/adapters/crypto/secret-box.ts';
import { auditExportDecoder, auditExportEncoder } from '../src/adapters/formats/export-formats.ts';
import { createStore, migrateToLatest, openDatabase } from '../src/adapters/store/index.ts';
import type { AuditEventInput } from '../src/domain/audit.ts';
import { createAuditService, noForwardingTargets } from '../src/services/audit/index.ts';
import { createExportVerifier } from '../src/services/audit/index.ts';
import { createLineChunkPool, defaultVerifyThreads } from '../src/adapters/formats/line-chunk-pool.ts';
import { systemContext } from '../src/services/context.ts';
import { systemClock } from '../src/adapters/runtime/clock.ts';

const total = Number(process.env.BENCH_EXPORT_EVENTS ?? 1_000_000);
const pageSize = 2000;

function services(dir: string, masterKey: string) {
  const opened = openDatabase('sqlite:audit.db', dir);
  const store = createStore(opened.db);
  const audit = createAuditService({
    store,
    clock: systemClock,
    signer: createAuditSigner(store.auditKeys, createSecretBox(parseMasterKey(masterKey), [])),
    signatures: createAuditSignatureVerifier(),
    hashing: createHashing(),
    encoder: auditExportEncoder,
    forwarding: noForwardingTargets,
    retentionDays: 400,
    pageSize,
  });
  return { opened, store, audit };
}

async function phase(name: string, dir: string, masterKey: string): Promise<number> {
  const { store, audit } = services(dir, masterKey);
  try {
    if (name === 'raw-export') {
      const head = (await store.audit.head()).seq;
      const lines = async function* () {
        for (let next = 1; next <= head;) {
          const page = await store.audit.range(next, Math.min(pageSize, head - next + 1));
          let chunk = '';
          for (const e of page) chunk += `${JSON.stringify(e)}\n`;
          yield chunk;
          next += page.length;
        }
      };
      await pipeline(Readable.from(lines()), createWriteStream(join(dir, 'raw.ndjson')));
      return head;
    }
    if (name === 'export') {
      const exported = await audit.export({}, 'ndjson', 'bench', systemContext);
      await pipeline(Readable.from(exported.lines), createWriteStream(join(dir, 'export.ndjson')));
      return exported.toSeq - exported.fromSeq + 1;
    }
    if (name === 'raw-read') {
      let n = 0;
      for await (const line of createInterface({ input: createReadStream(join(dir, 'raw.ndjson')), crlfDelay: Infinity })) {
        if (line && JSON.parse(line)) n++;
      }
      return n;
    }
    if (name === 'verify' || name === 'verify-one-thread') {
      const jwks = await audit.jwks();
      // As `stint audit verify` runs it (records checked on worker threads), and on this thread alone.
      const verifier = createExportVerifier({
        signatures: createAuditSignatureVerifier(),
        hashing: createHashing(),
        decoder: auditExportDecoder,
        ...(name === 'verify' && { lineChunks: () => createLineChunkPool() }),
      });
      const report = await verifier.verify(createReadStream(join(dir, 'export.ndjson')), jwks);
      if (!report.ok) throw new Error(`verify failed: ${JSON.stringify(report.problem)}`);
      return report.events;
    }
    throw new Error(`unknown phase ${name}`);
  } finally {
    await store.close();
  }
}

async function fill(dir: string, masterKey: string) {
  const { opened, store, audit } = services(dir, masterKey);
  await migrateToLatest(opened.db);
  await audit.ensureSigningKey();
  const started = performance.now();
  const batch = 5000;
  for (let done = 0; done < total; done += batch) {
    const inputs: AuditEventInput[] = Array.from({ length: Math.min(batch, total - done) }, (_, i) => ({
      actor: `tech-${(done + i) % 50}`,
      action: 'elevation.activated',
      tenantId: `tenant-${(done + i) % 20}`,
      target: `elevation-${done + i}`,
      requestId: `req-${done + i}`,
      sourceIp: '192.0.2.10',
      // The catalogue's shape for elevation.activated (appends that leave it are refused).
      details: {
        endsAt: new Date(Date.UTC(2026, 0, 1) + (done + i) * 1000).toISOString(),
        groups: ['CN=Helpdesk,OU=Groups,DC=example,DC=com'],
        ttlMembership: true,
        accountEnabled: true,
      },
    }));
    await store.transaction((tx) => tx.audit.appendMany(inputs, new Date()));
  }
  await store.close();
  return (performance.now() - started) / 1000;
}

const self = fileURLToPath(import.meta.url);
// As bin/stint runs the CLI: V8's young generation capped at 2 × 8 MB. Left alone it grows to
// 2 × 64 MB under the allocation rate of these loops (dead strings, not retained data), which is
// most of the difference between a 50,000- and a 1,000,000-event run. Every phase, raw ones too.
const phaseFlags = ['--max-semi-space-size=8'];

if (process.argv[2] === '--phase') {
  const [, , , name, dir, masterKey] = process.argv as [string, string, string, string, string, string];
  const started = performance.now();
  const events = await phase(name, dir, masterKey);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(JSON.stringify({ events, seconds, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
} else {
  const dir = mkdtempSync(join(tmpdir(), 'stint-bench-export-'));
  const masterKey = randomBytes(32).toString('base64');
  try {
    const fillSeconds = await fill(dir, masterKey);
    console.log(
      `audit export bench: ${total.toLocaleString('en')} events on SQLite (filled in ${fillSeconds.toFixed(1)} s with appendMany)`,
    );
    const results: Record<string, { events: number; seconds: number; maxRssMb: number }> = {};
    for (const name of ['raw-export', 'export', 'raw-read', 'verify', 'verify-one-thread']) {
      const run = spawnSync(process.execPath, [...phaseFlags, self, '--phase', name, dir, masterKey], {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      });
      if (run.status !== 0) throw new Error(`${name} failed: ${run.stderr}`);
      results[name] = JSON.parse(run.stdout);
    }
    const rate = (r: { events: number; seconds: number }) => r.events / r.seconds;
    const line = (label: string, r: { events: number; seconds: number; maxRssMb: number }, base?: { events: number; seconds: number }) =>
      `  ${label.padEnd(34)} ${rate(r).toFixed(0).padStart(8)} events/s  peak RSS ${r.maxRssMb.toFixed(0).padStart(4)} MB` +
      (base ? `  (${((rate(r) / rate(base)) * 100).toFixed(0)}% of raw)` : '');
    console.log(line('raw: rows → JSON lines', results['raw-export']!));
    console.log(line('export: NDJSON + chain + manifest', results.export!, results['raw-export']));
    console.log(line('raw: read JSON lines', results['raw-read']!));
    console.log(line(`verify: offline, every hash, ${defaultVerifyThreads()} threads`, results.verify!, results['raw-read']));
    console.log(line('verify: the same on one thread', results['verify-one-thread']!, results['raw-read']));
    console.log(`  export file ${(statSync(join(dir, 'export.ndjson')).size / 1e6).toFixed(0)} MB`);
    writeFileSync(join(dir, 'done'), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
