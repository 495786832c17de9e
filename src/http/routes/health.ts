// Liveness, readiness, the signing keys and the API description.
import { z } from 'zod';
import type { Container } from '../../container.ts';
import { DomainError } from '../../domain/errors.ts';
import { defineRoute, type Route } from '../route.ts';

const readiness = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.object({ store: z.string(), redis: z.string(), audit: z.string() }),
});

async function check(probe: () => Promise<void>): Promise<string> {
  try {
    await probe();
    return 'ok';
  } catch {
    return 'failing';
  }
}

export function healthRoutes(container: Pick<Container, 'store' | 'queueHealth' | 'tokens' | 'clock' | 'metrics'>, openApi: () => unknown): Route[] {
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
      summary: 'Ready: the store answers, Redis answers, and the audit log can be written',
      tag: 'health',
      auth: 'none',
      responses: { 200: { description: 'Ready', schema: readiness }, 503: { description: 'Not ready', schema: readiness } },
      async handler() {
        const checks = {
          store: await check(() => container.store.ping()),
          redis: await check(() => container.queueHealth.ping()),
          audit: await check(() => container.store.probeAuditWritable()),
        };
        const ready = Object.values(checks).every((c) => c === 'ok');
        return { status: ready ? 200 : 503, body: { status: ready ? 'ready' : 'not_ready', checks } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics: elevations by state, revocation lag, queue depth, LDAP latency, SIEM backlog per target',
      tag: 'health',
      auth: 'none',
      responses: { 200: { description: 'Prometheus text exposition format' } },
      async handler() {
        return { status: 200, text: { contentType: container.metrics.contentType, body: await container.metrics.render() } };
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
