// Checks the chunks of an NDJSON export on several threads, so verifying a large export uses the
// machine's cores: parsing and hashing each record is most of the work, and chunks of whole lines
// can be checked independently (checkLineChunk), then joined in file order by the verifier. The
// calling thread checks a chunk itself whenever every worker thread is busy (one fewer heap to pay
// for, and no thread waits on a slower one).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { checkLineChunk, type LineChunkResult } from '../../domain/audit-export.ts';
import type { LineChunkChecker } from '../../services/ports/audit.ts';
import { auditExportDecoder } from './export-formats.ts';

/** One thread per core, the calling one included, up to four. */
export const defaultVerifyThreads = () => Math.max(1, Math.min(4, availableParallelism()));

export function createLineChunkPool(threads = defaultVerifyThreads()): LineChunkChecker {
  const decodeLine = auditExportDecoder('ndjson').line!;
  // A small young generation, as bin/stint gives the main thread: the checks allocate short-lived
  // strings fast, and left alone each thread's grows to 2 × 64 MB for no gain.
  const workers = Array.from(
    { length: Math.max(0, threads - 1) },
    () => new Worker(new URL('./line-chunk-worker.ts', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 24 } }),
  );
  const waiting = new Map<number, { resolve(result: LineChunkResult): void; reject(error: Error): void }>();
  let nextId = 0;
  /** Chunks sent to each worker thread and not yet answered. */
  const busy = new Map<Worker, number>();
  const queuePerWorker = 2;
  const failAll = (error: Error) => {
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  };
  for (const worker of workers) {
    worker.on('message', ({ id, result, error }: { id: number; result?: LineChunkResult; error?: string }) => {
      const w = waiting.get(id);
      if (!w) return;
      waiting.delete(id);
      if (error !== undefined) w.reject(new Error(`verifying a chunk failed: ${error}`));
      else w.resolve(result!);
    });
    worker.on('error', (error) => failAll(error));
    worker.on('exit', (code) => {
      if (code !== 0) failAll(new Error(`a verifier thread stopped (exit code ${code})`));
    });
  }
  return {
    parallel: workers.length + 1,
    async check(bytes) {
      // A worker thread with room takes the chunk; when every one is busy (or still starting), the
      // calling thread checks it here and now, so no thread waits on a slower one.
      const worker = workers.find((w) => (busy.get(w) ?? 0) < queuePerWorker);
      if (!worker) return checkLineChunk(bytes.toString('utf8'), decodeLine);
      const id = nextId++;
      busy.set(worker, (busy.get(worker) ?? 0) + 1);
      // Memory that is the chunk's alone moves to the thread (no copy; the caller does not touch it
      // again); a chunk inside a shared buffer (Node's small-buffer pool) is copied first.
      const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
      return new Promise<LineChunkResult>((resolve, reject) => {
        waiting.set(id, {
          resolve: (result) => {
            busy.set(worker, busy.get(worker)! - 1);
            resolve(result);
          },
          reject,
        });
        worker.postMessage({ id, bytes: owned }, [owned.buffer as ArrayBuffer]);
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
