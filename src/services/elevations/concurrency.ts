// Generic concurrency helpers (no elevation logic): a limiter shared across callers, and a bounded map.

/** Runs work given to it, at most `limit` at a time. */
export type Limiter = <T>(work: () => Promise<T>) => Promise<T>;

/** At most `limit` of the work given to it runs at once; the rest waits its turn, first come first served. */
export function limiter(limit: number): Limiter {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async function run<T>(work: () => Promise<T>): Promise<T> {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/** Runs `work` over `items`, at most `limit` at a time; answers the results that succeeded (a failed item is left out). */
export async function mapLimit<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        try {
          results.push(await work(item));
        } catch {
          // Left out: the caller decides what a missing result means (see endClaimed).
        }
      }
    }),
  );
  return results;
}
