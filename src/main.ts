// The API process: configuration → container → listen → ordered shutdown.
import type { Server } from 'node:http';
import { ConfigError, loadConfig } from './config/load.ts';
import { createContainer, type Container } from './container.ts';
import type { Express } from 'express';
import { createApp, createMetricsApp } from './http/app.ts';
import { closeInStages, closer, startLifecycle, type ShutdownStage } from './lifecycle.ts';

export interface RunningApi {
  server: Server;
  container: Container;
  url: string;
  /** Where /metrics is served when `metrics.listen` is set; null otherwise. */
  metricsUrl: string | null;
  /** Stop accepting (the API's servers), then the container's stages (src/lifecycle.ts). */
  shutdownStages: readonly ShutdownStage[];
  /** Runs shutdownStages; idempotent. Rejects, once all have run, if a closer failed. */
  stop(): Promise<void>;
}

async function listen(app: Express, host: string, port: number): Promise<{ server: Server; url: string }> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, () => resolve(s));
    s.once('error', reject);
  });
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}` };
}

/** Stops accepting connections, closes the idle keep-alive ones, and settles once requests in flight have finished. */
const closing = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });

export async function startApi(container: Container): Promise<RunningApi> {
  const { app } = createApp(container);
  const { host, port } = container.config.server;
  const { server, url } = await listen(app, host, port);
  const metricsAt = container.config.metrics.listen;
  const metrics = metricsAt
    ? await listen(createMetricsApp(container), metricsAt.host, metricsAt.port).catch(async (error: unknown) => {
        await closing(server);
        throw error;
      })
    : null;
  // Stop accepting HTTP, let requests in flight finish, then close Redis and the store.
  const shutdownStages: readonly ShutdownStage[] = [
    {
      name: 'stop accepting',
      closers: [
        closer('http server', () => closing(server)),
        ...(metrics ? [closer('metrics server', () => closing(metrics.server))] : []),
      ],
    },
    ...container.shutdownStages,
  ];
  let stopping: Promise<void> | undefined;
  return {
    server,
    container,
    url,
    metricsUrl: metrics?.url ?? null,
    shutdownStages,
    stop() {
      stopping ??= closeInStages(shutdownStages, container.logger);
      return stopping;
    },
  };
}

/** The API's bound on shutdown: requests in flight have 10 s to finish. */
export function stopOnSignals(running: RunningApi, forceAfterMs = 10_000): void {
  startLifecycle({ log: running.container.logger, stages: () => running.shutdownStages, forceAfterMs });
}

export async function serve(): Promise<RunningApi> {
  const config = loadConfig();
  const container = await createContainer(config, { role: 'api' });
  const running = await startApi(container);
  container.logger.info({ url: running.url, metricsUrl: running.metricsUrl, store: container.storeEngine }, 'Stint API listening');
  stopOnSignals(running);
  return running;
}

if (import.meta.main) {
  serve().catch((error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
    } else {
      process.stderr.write(`Stint could not start: ${(error as Error).message}\n`);
    }
    process.exit(1);
  });
}
