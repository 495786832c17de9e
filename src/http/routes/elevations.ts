// Elevations: request (with a fresh TOTP code), approve or deny, cancel, extend, read, and revoke.
import { z } from 'zod';
import type { Services } from '../../container.ts';
import { elevationStates } from '../../domain/elevation-state.ts';
import { riskSignals } from '../../domain/risk.ts';
import type { Elevation } from '../../domain/elevation.ts';
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
  approval: z.object({
    required: z.number(),
    approvers: z.array(z.string()).describe('who may approve; empty: any approver of the tenant'),
    deadline: z.iso.datetime().nullable(),
    decisions: z.array(
      z.object({
        round: z.number(),
        approverId: z.string(),
        decision: z.enum(['approve', 'deny']),
        reason: z.string().nullable(),
        at: z.iso.datetime(),
      }),
    ),
  }),
  clampedToWindowEnd: z.iso.datetime().nullable().describe('set when the grant was cut short to end with its window'),
  extendedSeconds: z.number(),
  pendingExtension: z
    .object({ seconds: z.number(), round: z.number(), requestedAt: z.iso.datetime(), deadline: z.iso.datetime() })
    .nullable(),
  risk: z
    .object({
      score: z.number().int().min(0).max(100),
      reasons: z.array(z.object({ signal: z.enum(riskSignals), points: z.number(), detail: z.string() })),
    })
    .nullable()
    .describe(
      'the risk score at request time and what made it up (docs/security-model.md, Risk signals); null for requests from before risk scoring',
    ),
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
    approval: {
      required: e.approvalsRequired,
      approvers: e.approverIds,
      deadline: iso(e.approvalDeadline),
      decisions: e.decisions.map((d) => ({
        round: d.round,
        approverId: d.approverId,
        decision: d.decision,
        reason: d.reason,
        at: d.at.toISOString(),
      })),
    },
    clampedToWindowEnd:
      e.windowClosesAt && e.endsAt && e.windowClosesAt.getTime() === e.endsAt.getTime() ? e.windowClosesAt.toISOString() : null,
    extendedSeconds: e.extendedSeconds,
    pendingExtension: e.extension
      ? {
          seconds: e.extension.seconds,
          round: e.extension.round,
          requestedAt: e.extension.requestedAt.toISOString(),
          deadline: e.extension.deadline.toISOString(),
        }
      : null,
    risk: e.risk
      ? { score: e.risk.score, reasons: e.risk.reasons.map((r) => ({ signal: r.signal, points: r.points, detail: r.detail })) }
      : null,
  };
}

const requestableView = z.object({
  tenant: z.object({ id: z.string(), displayName: z.string(), timeZone: z.string() }),
  name: z.string(),
  description: z.string(),
  groups: z.array(z.string()).describe('group names'),
  defaultDurationSeconds: z.number(),
  maxDurationSeconds: z.number(),
  requireJustification: z.boolean(),
  ticketPattern: z.string().nullable(),
  approvalsRequired: z.number(),
  windows: z.array(z.object({ days: z.array(z.number()), start: z.string(), end: z.string() })),
});

const codeBody = z.strictObject({ code: z.string().min(1).max(16) });
const denyBody = z.strictObject({ code: z.string().min(1).max(16), reason: z.string().trim().min(1).max(500).optional() });
const extendBody = z.strictObject({
  durationSeconds: z
    .number()
    .int()
    .positive()
    .max(7 * 24 * 3600),
  code: z.string().min(1).max(16),
});

const requestBody = z.strictObject({
  tenant: z.string().min(1).max(40),
  profile: z.string().min(1).max(64),
  durationSeconds: z
    .number()
    .int()
    .positive()
    .max(7 * 24 * 3600)
    .optional(),
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
        201: {
          description: 'Active: the account is in the groups until endsAt (clampedToWindowEnd says when a window cut it short)',
          schema: elevationView,
        },
        202: {
          description: 'Waiting for approval (state pending_approval); the grant’s clock starts at activation',
          schema: elevationView,
        },
        401: { description: 'Wrong or replayed TOTP code' },
        403: { description: 'Not eligible' },
        409: {
          description:
            'Already held or awaited; the tenant is archived (tenant_archived); or the grant was ended (kill switch) while it was being activated, and undone',
        },
        422: {
          description:
            'Bad duration, justification or ticket; no linked account; a group became protected; outside the profile’s windows (details.opensAt)',
        },
        423: { description: 'The tenant is frozen by its kill switch (tenant_frozen) until an admin lifts it' },
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
        return { status: elevation.state === 'pending_approval' ? 202 : 201, body: presentElevation(elevation) };
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
      path: '/api/v1/me/profiles',
      summary: 'The profiles the caller may request now: eligible, active, in tenants where they hold a linked account',
      tag: 'elevations',
      auth: 'session',
      roles: ['technician'],
      responses: { 200: { description: 'By tenant, then name', schema: z.object({ profiles: z.array(requestableView) }) } },
      async handler({ principal }) {
        const found = await services.elevations.requestable(principal!.technician);
        return {
          status: 200,
          body: {
            profiles: found.map(({ tenant, profile: p }) => ({
              tenant,
              name: p.name,
              description: p.description,
              groups: p.groups.map((g) => g.name),
              defaultDurationSeconds: p.defaultDurationSeconds,
              maxDurationSeconds: p.maxDurationSeconds,
              requireJustification: p.requireJustification,
              ticketPattern: p.ticketPattern,
              approvalsRequired: p.approval.required,
              windows: p.windows,
            })),
          },
        };
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
      path: '/api/v1/elevations/:id/approve',
      summary: 'Approve a request (or an extension request) with a fresh TOTP code; the last approval needed activates it',
      tag: 'approvals',
      auth: 'session',
      roles: ['approver'],
      params: idParams,
      body: codeBody,
      responses: {
        200: { description: 'Counted; the elevation as it stands now (active once enough approvals arrived)', schema: elevationView },
        401: { description: 'Wrong or replayed TOTP code' },
        403: {
          description:
            'Not an approver for this request, or the requester themselves; or, at the last approval, the requester is suspended or no longer eligible (the request ends failed)',
        },
        409: {
          description:
            'Already decided by this approver, or nothing waits for approval (decided, lapsed, withdrawn); or, at the last approval, the profile was suspended or its groups changed while the request waited (it ends failed); the tenant is archived',
        },
        422: {
          description:
            'At the last approval: a group of the request has become protected, or was renamed, moved or deleted (the request ends failed)',
        },
        423: { description: 'The tenant is frozen by its kill switch (tenant_frozen)' },
      },
      async handler({ params, body, principal, context }) {
        return {
          status: 200,
          body: presentElevation(await services.elevations.approve(principal!.technician, params.id, body.code, context)),
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/elevations/:id/deny',
      summary: 'Deny a request (or an extension request) with a fresh TOTP code; one deny ends it',
      tag: 'approvals',
      auth: 'session',
      roles: ['approver'],
      params: idParams,
      body: denyBody,
      responses: {
        200: { description: 'Denied', schema: elevationView },
        401: { description: 'Wrong or replayed TOTP code' },
        403: { description: 'Not an approver for this request, or the requester themselves' },
        409: { description: 'Already decided, or nothing waits for approval; the tenant is archived' },
        423: { description: 'The tenant is frozen by its kill switch (tenant_frozen)' },
      },
      async handler({ params, body, principal, context }) {
        return {
          status: 200,
          body: presentElevation(await services.elevations.deny(principal!.technician, params.id, body.code, body.reason ?? null, context)),
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/elevations/:id/cancel',
      summary: 'The requester withdraws a request (or an extension request) still waiting for approval',
      tag: 'elevations',
      auth: 'session',
      params: idParams,
      responses: { 200: { description: 'Cancelled', schema: elevationView }, 409: { description: 'Nothing waits for approval' } },
      async handler({ params, principal, context }) {
        return { status: 200, body: presentElevation(await services.elevations.cancel(principal!.technician, params.id, context)) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/elevations/:id/extend',
      summary: 'The owner extends an active grant with a fresh TOTP code, within the profile’s maximum total and window',
      tag: 'elevations',
      auth: 'session',
      params: idParams,
      body: extendBody,
      responses: {
        200: { description: 'Extended (endsAt moved), or waiting for approval again (pendingExtension set)', schema: elevationView },
        401: { description: 'Wrong or replayed TOTP code' },
        403: { description: 'Not the owner, or the owner is suspended or no longer eligible' },
        409: {
          description:
            'Not active, or an extension already waits, or the profile is suspended or its groups changed; the tenant is archived',
        },
        422: {
          description:
            'Beyond the profile’s maximum total duration, or past the window’s end, or a group of the grant has become protected',
        },
        423: { description: 'The tenant is frozen by its kill switch (tenant_frozen)' },
      },
      async handler({ params, body, principal, context }) {
        return {
          status: 200,
          body: presentElevation(
            await services.elevations.extend(
              principal!.technician,
              params.id,
              { durationSeconds: body.durationSeconds, code: body.code },
              context,
            ),
          ),
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/approvals',
      summary: 'What waits for my decision: requests and extension requests in the tenants I approve for',
      tag: 'approvals',
      auth: 'session',
      roles: ['approver'],
      responses: { 200: { description: 'Oldest first', schema: z.object({ elevations: z.array(elevationView) }) } },
      async handler({ principal }) {
        const waiting = await services.elevations.pendingApprovals(principal!.technician);
        waiting.sort((a, b) => a.requestedAt.getTime() - b.requestedAt.getTime());
        return { status: 200, body: { elevations: waiting.map(presentElevation) } };
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
