// Audit appends per second on each store engine, one writer and 16 concurrent writers, beside
// plain inserts of the same rows into a table with no chain (no head lock, no hashing), each in
// its own transaction too. Every append takes the chain head's lock, so this is the ceiling on
// audited actions per second. Prints figures; asserts nothing about speed.
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { openDatabase } from '../src/adapters/store/index.ts';
import { startHarness, engines } from '../test/support/harness.ts';

const total = Number(process.env.BENCH_AUDIT_EVENTS ?? 2000);

for (const engine of engines) {
  const h = await startHarness({ engine });
  try {
    const { store } = h.container;
    const append = (i: number) =>
      store.transaction((tx) =>
        tx.audit.append({ actor: 'bench', action: 'technician.updated', details: { changed: [`field-${i}`] } }, new Date()),
      );
    let started = performance.now();
    for (let i = 0; i < total; i++) await append(i);
    const sequential = total / ((performance.now() - started) / 1000);
    started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < total) await append(next++);
      }),
    );
    const concurrent = total / ((performance.now() - started) / 1000);
    const check = await h.container.services.audit.verifyStoredChain();

    // The baseline: the same rows, no chain.
    const { db } = openDatabase(h.databaseUrl, h.dataDir);
    await sql`create table bench_plain (seq bigint primary key, at bigint, actor text, action text, details text, prev_hash text, hash text)`.execute(
      db,
    );
    let plainSeq = 0;
    const insert = (i: number) =>
      db
        .transaction()
        .execute((trx) =>
          sql`insert into bench_plain values (${++plainSeq}, ${Date.now()}, 'bench', 'technician.updated', ${JSON.stringify({ i })}, ${'0'.repeat(64)}, ${'0'.repeat(64)})`.execute(
            trx,
          ),
        );
    started = performance.now();
    for (let i = 0; i < total; i++) await insert(i);
    const plainSequential = total / ((performance.now() - started) / 1000);
    started = performance.now();
    next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < total) await insert(next++);
      }),
    );
    const plainConcurrent = total / ((performance.now() - started) / 1000);
    await db.destroy();
    console.log(
      `${engine.padEnd(8)} audit appends: ${sequential.toFixed(0)}/s sequential, ${concurrent.toFixed(0)}/s with 16 writers ` +
        `(${check.count} events, chain ${check.firstBreak ? 'BROKEN' : 'intact'}); ` +
        `plain inserts: ${plainSequential.toFixed(0)}/s sequential, ${plainConcurrent.toFixed(0)}/s with 16 writers`,
    );
  } finally {
    await h.close();
  }
}
