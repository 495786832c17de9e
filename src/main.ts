// The API process: configuration → container → listen → ordered shutdown.
import type { Server } from 'node:http';
import { ConfigError, loadConfig } from './config/load.ts';
import { createContainer, type Container } from './container.ts';
import type { Express } from 'express';
import { createApp, createMetricsApp } from './http/app.ts';

export interface RunningApi {
  server: Server;
  container: Container;
  url: string;
  /** Where /metrics is served when `metrics.listen` is set; null otherwise. */
  metricsUrl: string | null;
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
  let stopping: Promise<void> | undefined;
  return {
    server,
    container,
    url,
    metricsUrl: metrics?.url ?? null,
    stop() {
      // Stop accepting HTTP, let requests in flight finish, then close Redis and the store.
      stopping ??= Promise.all([closing(server), metrics && closing(metrics.server)]).then(() => container.close());
      return stopping;
    },
  };
}

export function stopOnSignals(running: RunningApi, forceAfterMs = 10_000): void {
  const stop = (signal: string) => {
    running.container.logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      running.container.logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, forceAfterMs).unref();
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        running.container.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
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
