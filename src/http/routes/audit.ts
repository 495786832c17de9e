// The audit trail, newest first, for auditors and admins.
import { z } from 'zod';
import type { Services } from '../../container.ts';
import { auditActions, type AuditEvent } from '../../domain/audit.ts';
import { defineRoute, type Route } from '../route.ts';

const query = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  actor: z.string().min(1).max(128).optional(),
  action: z.enum(auditActions).optional(),
  tenant: z.string().min(1).max(40).optional(),
  before: z.coerce.number().int().positive().optional().describe('Page: events with a lower sequence number'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const eventView = z.object({
  seq: z.number(),
  at: z.iso.datetime(),
  actor: z.string(),
  action: z.string(),
  tenantId: z.string().nullable(),
  target: z.string().nullable(),
  requestId: z.string().nullable(),
  sourceIp: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});

const present = (e: AuditEvent) => ({ ...e, at: e.at.toISOString() });

export function auditRoutes(services: Services): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/audit',
      summary: 'Audit events, newest first, filtered by time, actor, action and tenant',
      tag: 'audit',
      auth: 'session',
      roles: ['auditor', 'admin'],
      query,
      responses: {
        200: {
          description: 'A page of events; pass nextBefore as `before` for the next page',
          schema: z.object({ events: z.array(eventView), nextBefore: z.number().nullable() }),
        },
      },
      async handler({ query: q }) {
        const events = await services.audit.list({
          from: q.from ? new Date(q.from) : undefined,
          to: q.to ? new Date(q.to) : undefined,
          actor: q.actor,
          action: q.action,
          tenantId: q.tenant,
          beforeSeq: q.before,
          limit: q.limit,
        });
        const last = events.length === q.limit ? events[events.length - 1] : undefined;
        return { status: 200, body: { events: events.map(present), nextBefore: last ? last.seq : null } };
      },
    }),
  ];
}
