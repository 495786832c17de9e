// The worker process: refuses to run unless Redis never evicts (a dropped job would be a
// revocation that never happens: docs/architecture.md, Process roles), serves the queues, and on SIGTERM finishes the jobs in
// hand before it exits (src/lifecycle.ts: queue workers → expiry batches → the container's stages).
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { createContainer } from '../src/container.ts';
import { startLifecycle } from '../src/lifecycle.ts';
import { startWorkers } from './runtime.ts';

export async function main() {
  const container = await createContainer(loadConfig(), { role: 'worker' });
  let workers;
  try {
    workers = await startWorkers(container);
  } catch (error) {
    // A closer that fails is logged by the lifecycle; the error worth reporting is the first one.
    await container.close().catch(() => {});
    throw error;
  }
  const stages = [...workers.shutdownStages, ...container.shutdownStages];
  startLifecycle({ log: container.logger, stages: () => stages });
  // Announced only once the handlers are in place: until then a SIGTERM takes the OS default and
  // kills the process outright (a supervisor reacting to "ready" at once would not get a clean stop).
  container.logger.info('worker ready');
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof ConfigError ? error.message : `Stint worker could not start: ${(error as Error).message}`}\n`);
    process.exit(1);
  });
}
