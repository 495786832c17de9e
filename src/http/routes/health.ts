// Liveness, readiness, metrics, the signing keys and the API description.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Request, RequestHandler } from 'express';
import { z } from 'zod';
import type { Container } from '../../container.ts';
import { DomainError } from '../../domain/errors.ts';
import { defineRoute, type HandlerResult, type Route } from '../route.ts';

const readiness = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.object({ store: z.string(), redis: z.string(), audit: z.string() }),
});

type Readiness = z.infer<typeof readiness>;

async function check(probe: () => Promise<void>): Promise<string> {
  try {
    await probe();
    return 'ok';
  } catch {
    return 'failing';
  }
}

/** How long one readiness answer is reused: a flood of probes costs the store one query per window. */
export const readinessReuseMs = 2000;

/**
 * /readyz is public and unauthenticated, so it must be cheap: the checks run at most once per
 * `readinessReuseMs` whatever the number of callers (callers meanwhile share the answer, or the probe
 * in flight), and none of them takes a lock — the audit check asks whether the store accepts writes
 * (not a standby, not read-only) instead of taking the audit chain's write lock.
 */
function readinessProbe(container: Pick<Container, 'store' | 'queueHealth'>): () => Promise<Readiness> {
  let last: { at: number; answer: Promise<Readiness> } | undefined;
  const probe = async (): Promise<Readiness> => {
    const [store, redis, audit] = await Promise.all([
      check(() => container.store.ping()),
      check(() => container.queueHealth.ping()),
      check(() => container.store.probeWritable()),
    ]);
    const checks = { store, redis, audit };
    return { status: Object.values(checks).every((c) => c === 'ok') ? 'ready' : 'not_ready', checks };
  };
  return () => {
    const now = performance.now();
    if (!last || now - last.at >= readinessReuseMs) last = { at: now, answer: probe() };
    return last.answer;
  };
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Who may read /metrics (it names every tenant): with `metrics.token`, only a caller sending it as a
 * bearer token; with `metrics.listen`, only the metrics listener (the API's own answers 404); with
 * neither, anyone in development mode and no one in production.
 */
export function metricsGate(config: Container['config']): (req: Request, onMetricsListener: boolean) => void {
  const { token, tokenFile, listen } = config.metrics;
  const expected = token ?? (tokenFile ? readFileSync(tokenFile, 'utf8').trim() : undefined);
  const expectedDigest = expected ? digest(expected) : null;
  return (req, onMetricsListener) => {
    if (listen && !onMetricsListener) throw new DomainError('not_found', 'No such route');
    if (expectedDigest) {
      const sent = /^Bearer (\S+)$/.exec(req.get('authorization') ?? '')?.[1];
      // Compared as digests: same length whatever was sent, and in constant time.
      if (!sent || !timingSafeEqual(digest(sent), expectedDigest)) {
        throw new DomainError('unauthenticated', 'Send the metrics token: Authorization: Bearer <metrics.token>');
      }
      return;
    }
    if (!listen && config.mode === 'production') {
      throw new DomainError('forbidden', 'Metrics are off on this address: set metrics.token or metrics.listen');
    }
  };
}

export async function renderMetrics(container: Pick<Container, 'metrics'>): Promise<HandlerResult> {
  return { status: 200, text: { contentType: container.metrics.contentType, body: await container.metrics.render() } };
}

export function healthRoutes(
  container: Pick<Container, 'store' | 'queueHealth' | 'tokens' | 'clock' | 'metrics' | 'config'>,
  openApi: () => unknown,
  limits: { ready: RequestHandler },
): Route[] {
  const ready = readinessProbe(container);
  const gate = metricsGate(container.config);
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      summary: 'Alive',
      tag: 'health',
      auth: 'none',
      responses: { 200: { description: 'The process answers', schema: z.object({ status: z.literal('ok') }) } },
      handler: async () => ({ status: 200, body: { status: 'ok' } }),
    }),
    defineRoute({
      method: 'get',
      path: '/readyz',
      summary:
        'Ready: the store answers, Redis answers, and the store accepts writes (the audit log can be written). Answers are reused for 2 s; rate limited per address',
      tag: 'health',
      auth: 'none',
      before: [limits.ready],
      responses: {
        200: { description: 'Ready', schema: readiness },
        503: { description: 'Not ready: the checks say which part is failing', schema: readiness },
      },
      async handler() {
        const answer = await ready();
        return { status: answer.status === 'ready' ? 200 : 503, body: answer };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/metrics',
      summary:
        'Prometheus metrics: elevations by state, revocation lag, queue depth, LDAP latency, SIEM backlog per target. Needs the metrics token where one is set; on its own address where metrics.listen is set',
      tag: 'health',
      auth: 'none',
      responses: {
        200: { description: 'Prometheus text exposition format' },
        401: { description: 'The metrics token is missing or wrong' },
        403: { description: 'Production mode with neither metrics.token nor metrics.listen set' },
        404: { description: 'Served on metrics.listen, not here' },
      },
      async handler({ req }) {
        gate(req, false);
        return renderMetrics(container);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/.well-known/jwks.json',
      summary: 'Public keys that verify Stint’s tokens (current and recently retired)',
      tag: 'health',
      auth: 'none',
      responses: { 200: { description: 'JWK set', schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }) } },
      async handler() {
        return { status: 200, body: await container.tokens.jwks(container.clock.now()) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/openapi.json',
      summary: 'This API’s OpenAPI 3.1 description',
      tag: 'health',
      auth: 'none',
      responses: { 200: { description: 'OpenAPI document' } },
      async handler() {
        return { status: 200, body: openApi() };
      },
    }),
  ];
}

export const notFound = () => new DomainError('not_found', 'No such route');
