// Audit appends per second on each store engine, one writer and 16 concurrent writers. Every
// append is its own transaction that takes the chain head's lock, so this is the ceiling on
// audited actions per second. Prints figures; asserts nothing about speed.
import { performance } from 'node:perf_hooks';
import { startHarness, engines } from '../test/support/harness.ts';

const total = Number(process.env.BENCH_AUDIT_EVENTS ?? 2000);

for (const engine of engines) {
  const h = await startHarness({ engine });
  try {
    const { store } = h.container;
    const append = (i: number) =>
      store.transaction((tx) => tx.audit.append({ actor: 'bench', action: 'technician.updated', details: { i } }, new Date()));
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
    console.log(
      `${engine.padEnd(8)} audit appends: ${sequential.toFixed(0)}/s sequential, ${concurrent.toFixed(0)}/s with 16 writers ` +
        `(${check.count} events, chain ${check.firstBreak ? 'BROKEN' : 'intact'})`,
    );
  } finally {
    await h.close();
  }
}
