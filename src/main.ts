// The API process: configuration → container → listen → ordered shutdown.
import type { Server } from 'node:http';
import { ConfigError, loadConfig } from './config/load.ts';
import { createContainer, type Container } from './container.ts';
import { createApp } from './http/app.ts';

export interface RunningApi {
  server: Server;
  container: Container;
  url: string;
  stop(): Promise<void>;
}

export async function startApi(container: Container): Promise<RunningApi> {
  const { app } = createApp(container);
  const { host, port } = container.config.server;
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, () => resolve(s));
    s.once('error', reject);
  });
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  let stopping: Promise<void> | undefined;
  return {
    server,
    container,
    url,
    stop() {
      // Stop accepting HTTP, let requests in flight finish, then close Redis and the store.
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }).then(() => container.close());
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
  const container = await createContainer(config);
  const running = await startApi(container);
  container.logger.info({ url: running.url, store: container.storeEngine }, 'Stint API listening');
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
