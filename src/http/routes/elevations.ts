// Elevations: request (with a fresh TOTP code), read, and revoke.
import { z } from 'zod';
import type { Services } from '../../container.ts';
import { elevationStates } from '../../domain/elevation.ts';
import type { Elevation } from '../../services/ports.ts';
import { defineRoute, idParams, type Route } from '../route.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const elevationView = z.object({
  id: z.string(),
  tenantId: z.string(),
  profile: z.string(),
  technicianId: z.string(),
  account: z.string(),
  groups: z.array(z.object({ dn: z.string(), name: z.string() })),
  state: z.enum(elevationStates),
  durationSeconds: z.number(),
  justification: z.string().nullable(),
  ticket: z.string().nullable(),
  requestedAt: z.iso.datetime(),
  activatedAt: z.iso.datetime().nullable(),
  endsAt: z.iso.datetime().nullable(),
  endedAt: z.iso.datetime().nullable(),
  revocationReason: z.string().nullable(),
  failureReason: z.string().nullable(),
});

export function presentElevation(e: Elevation) {
  return {
    id: e.id,
    tenantId: e.tenantId,
    profile: e.profileName,
    technicianId: e.technicianId,
    account: e.accountDn,
    groups: e.groups.map((g) => ({ dn: g.dn, name: g.name })),
    state: e.state,
    durationSeconds: e.durationSeconds,
    justification: e.justification,
    ticket: e.ticket,
    requestedAt: e.requestedAt.toISOString(),
    activatedAt: iso(e.activatedAt),
    endsAt: iso(e.endsAt),
    endedAt: iso(e.endedAt),
    revocationReason: e.revocationReason,
    failureReason: e.failureReason,
  };
}

const requestBody = z.strictObject({
  tenant: z.string().min(1).max(40),
  profile: z.string().min(1).max(64),
  durationSeconds: z.number().int().positive().max(7 * 24 * 3600).optional(),
  justification: z.string().max(1000).optional(),
  ticket: z.string().max(100).optional(),
  code: z.string().min(1).max(16),
});

const listQuery = z.strictObject({
  state: z.enum(elevationStates).optional(),
  tenant: z.string().min(1).max(40).optional(),
  technician: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

export function elevationRoutes(services: Services): Route[] {
  return [
    defineRoute({
      method: 'post',
      path: '/api/v1/elevations',
      summary: 'Request an elevation with a fresh TOTP code; answers once the membership is confirmed in the directory',
      tag: 'elevations',
      auth: 'session',
      roles: ['technician'],
      body: requestBody,
      responses: {
        201: { description: 'Active: the account is in the groups until endsAt', schema: elevationView },
        401: { description: 'Wrong or replayed TOTP code' },
        403: { description: 'Not eligible' },
        422: { description: 'Bad duration, justification or ticket; no linked account; a group became protected' },
        502: { description: 'The directory refused a change; everything done was undone and the elevation is failed' },
      },
      async handler({ body, principal, context }) {
        const elevation = await services.elevations.request(
          principal!.technician,
          {
            tenantId: body.tenant,
            profile: body.profile,
            durationSeconds: body.durationSeconds,
            justification: body.justification,
            ticket: body.ticket,
            code: body.code,
          },
          context,
        );
        return { status: 201, body: presentElevation(elevation) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/elevations',
      summary: 'Elevations the caller may see: their own; their tenants’ as approver; all as auditor or admin',
      tag: 'elevations',
      auth: 'session',
      query: listQuery,
      responses: { 200: { description: 'Newest first', schema: z.object({ elevations: z.array(elevationView) }) } },
      async handler({ query, principal }) {
        const elevations = await services.elevations.list(principal!.technician, {
          states: query.state ? [query.state] : undefined,
          tenantIds: query.tenant ? [query.tenant] : undefined,
          technicianId: query.technician,
          limit: query.limit,
        });
        return { status: 200, body: { elevations: elevations.map(presentElevation) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/elevations/:id',
      summary: 'One elevation (404 when the caller may not see it)',
      tag: 'elevations',
      auth: 'session',
      params: idParams,
      responses: { 200: { description: 'The elevation', schema: elevationView }, 404: { description: 'Not found' } },
      async handler({ params, principal }) {
        return { status: 200, body: presentElevation(await services.elevations.get(principal!.technician, params.id)) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/elevations/:id/revoke',
      summary: 'End an elevation now: the owner their own (reason self), an admin any (reason admin)',
      tag: 'elevations',
      auth: 'session',
      params: idParams,
      responses: { 200: { description: 'Revoked; the membership is confirmed gone', schema: elevationView } },
      async handler({ params, principal, context }) {
        return { status: 200, body: presentElevation(await services.elevations.revokeByUser(principal!.technician, params.id, context)) };
      },
    }),
  ];
}
