// A separate process appending to the audit chain of a test's database (concurrency tests):
// `node audit-append-child.ts <database-url> <data-dir> <writer> <count> <start-at-ms>`. Waits for
// the common start time, then appends from 4 lanes at once: one by one in their own transactions,
// in batches (appendMany), and without a transaction around them. Lane l writes i ≡ l (mod 4).
import { createStore, openDatabase } from '../../src/adapters/store/index.ts';

const [url, dataDir, writer, countText, startText] = process.argv.slice(2) as [string, string, string, string, string];
const count = Number(countText);
const lanes = 4;
const store = createStore(openDatabase(url, dataDir).db);
try {
  await store.ping();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startText) - Date.now())));
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let i = lane, n = 0; i < count; i += lanes, n++) {
        const input = { actor: writer, action: 'technician.updated' as const, details: { changed: [`field-${i}`] } };
        if (n % 3 === 0) await store.transaction((tx) => tx.audit.append(input, new Date()));
        else if (n % 3 === 1) await store.transaction((tx) => tx.audit.appendMany([input], new Date()));
        else await store.audit.append(input, new Date());
      }
    }),
  );
} finally {
  await store.close();
}
