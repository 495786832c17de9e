// Several processes append to one audit chain at once (API processes and workers do): the chain
// stays unbroken, every sequence number is used once, none is skipped.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { engines, startHarness, type Harness } from '../support/harness.ts';

const child = fileURLToPath(new URL('../support/audit-append-child.ts', import.meta.url));

function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited ${code}: ${stderr}`))));
  });
}

for (const engine of engines) {
  describe(`audit chain under concurrent processes (${engine})`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({ engine });
    });
    after(async () => {
      await h.close();
    });

    it('when 6 processes of 4 lanes each append 150 events at once, then the chain is unbroken with no gaps', async () => {
      const start = (await h.container.store.audit.head()).seq;
      const writers = 6;
      const each = 150;
      // Every process starts appending at the same moment (after the time Node needs to start).
      const startAt = String(Date.now() + 3000);
      await Promise.all(Array.from({ length: writers }, (_, w) => run([h.databaseUrl, h.dataDir, `writer-${w}`, String(each), startAt])));
      const head = await h.container.store.audit.head();
      assert.equal(head.seq, start + writers * each);
      const check = await h.container.services.audit.verifyStoredChain();
      assert.equal(check.firstBreak, null, JSON.stringify(check.firstBreak));
      assert.equal(check.count, head.seq, 'every seq from 1 to the head is stored once');
      assert.equal(check.head, head.hash);
      const events = await h.container.store.audit.range(start + 1, writers * each);
      for (let w = 0; w < writers; w++) {
        const mine = events
          .filter((e) => e.actor === `writer-${w}`)
          .map((e) => Number((e.details.changed as string[])[0]!.slice('field-'.length)));
        assert.deepEqual(
          [...mine].sort((a, b) => a - b),
          Array.from({ length: each }, (_, i) => i),
          `writer-${w}'s events are all there once`,
        );
      }
    });
  });
}
