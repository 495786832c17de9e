// The worker process: connects to Redis, refuses to run unless Redis is configured never to evict
// (a dropped job would be a revocation that never happens, SPEC §7), and shuts down cleanly on
// SIGTERM. The queues it serves arrive with the elevation core (revocations, reconcile).
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { createContainer, verifyQueueStore } from '../src/container.ts';

export async function startWorker() {
  const container = await createContainer(loadConfig());
  try {
    await verifyQueueStore(container);
  } catch (error) {
    await container.close();
    throw error;
  }
  container.logger.info('worker ready');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    container.logger.info({ signal }, 'worker shutting down');
    setTimeout(() => process.exit(1), 10_000).unref();
    await container.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  // Keep the event loop alive until a signal arrives.
  setInterval(() => {}, 1 << 30);
}

if (import.meta.main) {
  startWorker().catch((error: unknown) => {
    process.stderr.write(`${error instanceof ConfigError ? error.message : `Stint worker could not start: ${(error as Error).message}`}\n`);
    process.exit(1);
  });
}
