// The elevation history export (CSV or NDJSON, streamed): the report for a client's auditor.
// Mounted before the elevation routes, so `/api/v1/elevations/export` is not taken for an id.
import { z } from 'zod';
import type { Services } from '../../container.ts';
import { exportFormats } from '../../domain/audit-export.ts';
import { defineRoute, type Route } from '../route.ts';

const query = z.strictObject({
  format: z.enum(exportFormats).default('csv'),
  from: z.iso.datetime({ offset: true }).optional().describe('Requested at or after this time'),
  to: z.iso.datetime({ offset: true }).optional().describe('Requested before this time'),
  tenant: z.string().min(1).max(40).optional(),
  technician: z.string().min(1).max(128).optional().describe('The requester’s technician id'),
});

export function elevationHistoryRoutes(services: Services): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/elevations/export',
      summary:
        'Every elevation in a time range: requester, tenant, profile, groups, justification, ticket, approvals, activation, end and why (audited)',
      tag: 'elevations',
      auth: 'session',
      roles: ['auditor', 'admin'],
      query,
      responses: { 200: { description: 'One row (CSV) or line (NDJSON) per elevation, oldest request first' } },
      async handler({ query: q, principal, context }) {
        const exported = await services.elevationHistory.export(
          {
            from: q.from ? new Date(q.from) : undefined,
            to: q.to ? new Date(q.to) : undefined,
            tenantId: q.tenant,
            technicianId: q.technician,
          },
          q.format,
          principal!.technician.id,
          context,
        );
        return { status: 200, stream: exported };
      },
    }),
  ];
}
