// The audit trail, newest first, for auditors and admins.
import { z } from 'zod';
import type { Services } from '../../container.ts';
import { auditActions, type AuditEvent } from '../../domain/audit.ts';
import { exportFormats, type ExportFilter } from '../../domain/audit-export.ts';
import type { StoredCheckpoint } from '../../services/ports/audit.ts';
import type { SiemForwarding, SiemTargetStatus } from '../../services/siem/index.ts';
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

const exportQuery = z
  .strictObject({
    format: z.enum(exportFormats).default('ndjson'),
    fromSeq: z.coerce.number().int().positive().optional().describe('First sequence number (inclusive)'),
    toSeq: z.coerce.number().int().positive().optional().describe('Last sequence number (inclusive)'),
    from: z.iso.datetime({ offset: true }).optional().describe('Events at or after this time'),
    to: z.iso.datetime({ offset: true }).optional().describe('Events before this time'),
    tenant: z.string().min(1).max(40).optional(),
    technician: z.string().min(1).max(128).optional().describe('The actor: a technician id, `system` or a Slack user'),
    action: z.enum(auditActions).optional(),
  })
  .refine((q) => q.fromSeq === undefined || q.toSeq === undefined || q.fromSeq <= q.toSeq, {
    message: 'fromSeq must not be after toSeq',
    path: ['fromSeq'],
  });

export function exportFilterOf(q: z.infer<typeof exportQuery>): ExportFilter {
  const filter: ExportFilter = {};
  if (q.fromSeq !== undefined) filter.fromSeq = q.fromSeq;
  if (q.toSeq !== undefined) filter.toSeq = q.toSeq;
  // Normalised to UTC ISO text: the manifest names the filter exactly as it was applied.
  if (q.from !== undefined) filter.from = new Date(q.from).toISOString();
  if (q.to !== undefined) filter.to = new Date(q.to).toISOString();
  if (q.tenant !== undefined) filter.tenantId = q.tenant;
  if (q.technician !== undefined) filter.actor = q.technician;
  if (q.action !== undefined) filter.action = q.action;
  return filter;
}

const checkpointView = z.object({ seq: z.number(), hash: z.string(), at: z.iso.datetime(), kid: z.string(), jws: z.string() });
const presentCheckpoint = (c: StoredCheckpoint) => ({ ...c, at: c.at.toISOString() });

const jwkView = z.object({ kty: z.string(), crv: z.string(), x: z.string(), kid: z.string(), alg: z.string(), use: z.string() }).loose();

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const siemTargetView = z.object({
  target: z.string(),
  state: z.enum(['ok', 'stalled', 'not_started']),
  forwardedSeq: z.number().describe('every event up to this one has been sent'),
  backlog: z.number().describe('kept events not yet sent: the chain head minus the cursor'),
  oldestUnforwardedAt: z.iso.datetime().nullable(),
  oldestUnforwardedAgeSeconds: z.number(),
  stalledSince: z.iso.datetime().nullable(),
  failures: z.number().describe('failed attempts in a row'),
  nextAttemptAt: z.iso.datetime().nullable(),
  backlogAlertedAt: z.iso.datetime().nullable().describe('when the backlog alert went out in this outage'),
  lastSuccessAt: z.iso.datetime().nullable(),
  lastError: z.object({ at: z.iso.datetime(), message: z.string() }).nullable(),
});
const presentSiemTarget = (t: SiemTargetStatus) => ({
  ...t,
  oldestUnforwardedAt: iso(t.oldestUnforwardedAt),
  stalledSince: iso(t.stalledSince),
  nextAttemptAt: iso(t.nextAttemptAt),
  backlogAlertedAt: iso(t.backlogAlertedAt),
  lastSuccessAt: iso(t.lastSuccessAt),
  lastError: t.lastError ? { at: t.lastError.at.toISOString(), message: t.lastError.message } : null,
});

export function auditRoutes(services: Services, siem: Pick<SiemForwarding, 'status'>): Route[] {
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
    defineRoute({
      method: 'get',
      path: '/api/v1/audit/export',
      summary: 'Export the trail (NDJSON or CSV, streamed) with a signed manifest as its last line; `stint audit verify` checks it offline',
      tag: 'audit',
      auth: 'session',
      roles: ['auditor', 'admin'],
      query: exportQuery,
      responses: {
        200: { description: 'The export: event, omitted-run and manifest records, one a line (docs/architecture.md, Exports)' },
        500: { description: 'The stored chain is broken; nothing is signed' },
      },
      async handler({ query: q, principal, context }) {
        const exported = await services.audit.export(exportFilterOf(q), q.format, principal!.technician.id, context);
        return { status: 200, stream: exported };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/audit/verify',
      summary: 'Check the live chain from its anchor to the head, against every signed checkpoint',
      tag: 'audit',
      auth: 'session',
      roles: ['auditor', 'admin'],
      responses: {
        200: {
          description: 'ok is false with the first break when the chain does not hold',
          schema: z.object({
            ok: z.boolean(),
            fromSeq: z.number(),
            headSeq: z.number(),
            head: z.string(),
            count: z.number(),
            checkpoints: z.number().describe('signed checkpoints matched along the way'),
            firstBreak: z.object({ seq: z.number(), reason: z.string(), message: z.string() }).nullable(),
          }),
        },
      },
      async handler() {
        const result = await services.audit.verifyStoredChain();
        return { status: 200, body: { ok: result.firstBreak === null, ...result } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/audit/checkpoints',
      summary: 'Sign a checkpoint of the chain head now (the request is audited first, so it is covered)',
      tag: 'audit',
      auth: 'session',
      roles: ['auditor', 'admin'],
      responses: { 201: { description: 'The signed checkpoint', schema: checkpointView } },
      async handler({ principal, context }) {
        return { status: 201, body: presentCheckpoint(await services.audit.checkpointNow(principal!.technician.id, context)) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/audit/checkpoints',
      summary: 'Signed checkpoints, newest first',
      tag: 'audit',
      auth: 'session',
      roles: ['auditor', 'admin'],
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      responses: { 200: { description: 'Checkpoints', schema: z.object({ checkpoints: z.array(checkpointView) }) } },
      async handler({ query: q }) {
        return {
          status: 200,
          body: { checkpoints: (await services.audit.listCheckpoints((q as { limit: number }).limit)).map(presentCheckpoint) },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/audit/siem',
      summary: 'SIEM forwarding per configured target: backlog, oldest waiting event, last success and last error',
      tag: 'audit',
      auth: 'session',
      roles: ['auditor', 'admin'],
      responses: {
        200: {
          description: 'One entry per target in siem.targets (none configured: an empty list)',
          schema: z.object({ headSeq: z.number(), backlogAlertThreshold: z.number(), targets: z.array(siemTargetView) }),
        },
      },
      async handler() {
        const status = await siem.status();
        return { status: 200, body: { ...status, targets: status.targets.map(presentSiemTarget) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/audit/jwks.json',
      summary: 'The audit signing keys (JWKS): every key that ever signed a checkpoint or an export, for offline verification',
      tag: 'audit',
      auth: 'none',
      responses: { 200: { description: 'A JWK set', schema: z.object({ keys: z.array(jwkView) }) } },
      async handler() {
        return { status: 200, body: await services.audit.jwks() };
      },
    }),
  ];
}
