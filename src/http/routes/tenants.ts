// Tenant administration (admin only). Bind passwords go in and never come out.
import { z } from 'zod';
import { inactiveDaysRange } from '../../domain/review.ts';
import { defaultRiskThreshold, riskThresholdRange } from '../../domain/risk.ts';
import { driftModes } from '../../domain/tenant.ts';
import type { Services } from '../../container.ts';
import { presentTenant } from '../../services/tenants/index.ts';
import { defineRoute, idParams, type Route } from '../route.ts';

const pem = z
  .string()
  .min(1)
  .max(64 * 1024)
  .regex(/-----BEGIN CERTIFICATE-----/, 'a PEM certificate');
const dn = z.string().min(3).max(1024);
const reviewSchedule = z
  .string()
  .min(9)
  .max(100)
  .describe('A five-field cron pattern in the tenant’s time zone (default "0 6 * * 1": Mondays at 06:00)');
const inactiveDays = z
  .number()
  .int()
  .min(inactiveDaysRange.min)
  .max(inactiveDaysRange.max)
  .describe('No elevation and no logon for this many days: inactive (default 45)');
const disableInactive = z.boolean().describe('Reviews disable inactive MSP accounts (default false: reported only)');
const riskThreshold = z
  .number()
  .int()
  .min(riskThresholdRange.min)
  .max(riskThresholdRange.max)
  .describe(
    `risk score (0–100) from which a request needs approval even where its profile grants at once, and raises an alert; default ${defaultRiskThreshold}`,
  );
const slackChannel = z
  .string()
  .regex(/^[CG][A-Z0-9]{2,20}$/, 'a Slack channel id such as C012AB3CD')
  .nullable();

export const tenantView = z.object({
  id: z.string(),
  displayName: z.string(),
  timeZone: z.string(),
  directory: z.object({ url: z.string(), bindDn: z.string(), baseDn: z.string(), caCertificate: z.string() }),
  keepAccountsDisabled: z.boolean(),
  slackChannel: z.string().nullable(),
  driftMode: z.enum(driftModes),
  reviewSchedule: z.string(),
  inactiveDays: z.number().int(),
  disableInactive: z.boolean(),
  riskThreshold: z.number().int().describe('a request scoring at or above this (0–100) needs approval and raises an alert'),
  frozen: z
    .object({
      at: z.iso.datetime(),
      by: z.string().describe('the admin who threw the kill switch or archived the tenant'),
      reason: z.string().nullable(),
    })
    .nullable()
    .describe(
      'set by the tenant kill switch (or an archive): no request, approval or extension (423 tenant_frozen) until an admin lifts it',
    ),
  archived: z
    .object({ at: z.iso.datetime(), by: z.string() })
    .nullable()
    .describe(
      'an archived tenant grants nothing ever again (409 tenant_archived) and its directory is no longer used; its records stay for the audit. Final',
    ),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const connectionView = z.object({ baseDn: z.string(), latencyMs: z.number() }).nullable();

const createBody = z.strictObject({
  id: z.string().min(1).max(40),
  displayName: z.string().trim().min(1).max(128),
  timeZone: z.string().min(1).max(64),
  keepAccountsDisabled: z.boolean().optional(),
  slackChannel: slackChannel.optional(),
  driftMode: z.enum(driftModes).optional(),
  reviewSchedule: reviewSchedule.optional(),
  inactiveDays: inactiveDays.optional(),
  disableInactive: disableInactive.optional(),
  riskThreshold: riskThreshold.optional(),
  directory: z.strictObject({
    url: z.string().min(1).max(512),
    bindDn: dn,
    bindPassword: z.string().min(1).max(1024),
    baseDn: dn,
    caCertificate: pem,
  }),
});

const updateBody = z
  .strictObject({
    displayName: z.string().trim().min(1).max(128).optional(),
    timeZone: z.string().min(1).max(64).optional(),
    keepAccountsDisabled: z.boolean().optional(),
    slackChannel: slackChannel.optional(),
    driftMode: z.enum(driftModes).optional(),
    reviewSchedule: reviewSchedule.optional(),
    inactiveDays: inactiveDays.optional(),
    disableInactive: disableInactive.optional(),
    riskThreshold: riskThreshold.optional(),
    directory: z
      .strictObject({
        url: z.string().min(1).max(512).optional(),
        bindDn: dn.optional(),
        bindPassword: z.string().min(1).max(1024).optional(),
        baseDn: dn.optional(),
        caCertificate: pem.optional(),
      })
      .optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'name at least one field to change');

const answer = z.object({ tenant: tenantView, connection: connectionView });
const codeBody = z.strictObject({ code: z.string().min(1).max(16) });
const archiveBody = z.strictObject({ code: z.string().min(1).max(16), reason: z.string().trim().min(1).max(500).optional() });

export function tenantRoutes(services: Services): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/tenants',
      summary: 'List tenants',
      tag: 'tenants',
      auth: 'session',
      roles: ['admin'],
      responses: { 200: { description: 'Tenants', schema: z.object({ tenants: z.array(tenantView) }) } },
      async handler() {
        return { status: 200, body: { tenants: (await services.tenants.list()).map(presentTenant) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/tenants',
      summary: 'Create a tenant; its directory connection is checked first (LDAPS with the CA, bind, base DN)',
      tag: 'tenants',
      auth: 'session',
      roles: ['admin'],
      body: createBody,
      responses: {
        201: { description: 'Created', schema: answer },
        409: { description: 'The id is taken' },
        422: { description: 'The directory connection failed: unreachable, TLS not trusted, bad credentials, base DN missing' },
      },
      async handler({ body, principal, context }) {
        const { tenant, connection } = await services.tenants.create(body, principal!.technician.id, context);
        return { status: 201, body: { tenant: presentTenant(tenant), connection } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/tenants/:id',
      summary: 'One tenant',
      tag: 'tenants',
      auth: 'session',
      roles: ['admin'],
      params: idParams,
      responses: { 200: { description: 'The tenant', schema: tenantView }, 404: { description: 'Not found' } },
      async handler({ params }) {
        return { status: 200, body: presentTenant(await services.tenants.get(params.id)) };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/v1/tenants/:id',
      summary: 'Change a tenant; a changed connection is checked before it is saved',
      tag: 'tenants',
      auth: 'session',
      roles: ['admin'],
      params: idParams,
      body: updateBody,
      responses: {
        200: { description: 'Updated', schema: answer },
        422: {
          description: 'The directory connection failed, or a new URL, CA or bind DN came without the bind password (password_required)',
        },
      },
      async handler({ params, body, principal, context }) {
        const { tenant, connection } = await services.tenants.update(params.id, body, principal!.technician.id, context);
        return { status: 200, body: { tenant: presentTenant(tenant), connection } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/tenants/:id/check',
      summary: 'Check the stored directory connection now',
      tag: 'tenants',
      auth: 'session',
      roles: ['admin'],
      params: idParams,
      responses: { 200: { description: 'It works', schema: connectionView }, 422: { description: 'It does not' } },
      async handler({ params }) {
        return { status: 200, body: await services.tenants.checkConnection(params.id) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/v1/tenants/:id',
      summary: 'Delete a tenant that nothing refers to',
      tag: 'tenants',
      auth: 'session',
      roles: ['admin'],
      params: idParams,
      responses: { 204: { description: 'Deleted' }, 409: { description: 'In use: a tenant with history can be archived instead' } },
      async handler({ params, principal, context }) {
        await services.tenants.remove(params.id, principal!.technician.id, context);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/tenants/:id/unfreeze',
      summary: 'Lift the freeze the tenant kill switch set (fresh TOTP code); requests, approvals and extensions are possible again',
      tag: 'tenants',
      auth: 'session',
      roles: ['admin'],
      params: idParams,
      body: codeBody,
      responses: {
        200: { description: 'Lifted', schema: tenantView },
        401: { description: 'Wrong or replayed TOTP code' },
        404: { description: 'No such tenant' },
        409: { description: 'Not frozen, or archived (archiving is final)' },
      },
      async handler({ params, body, principal, context }) {
        return {
          status: 200,
          body: presentTenant(await services.elevations.unfreezeTenant(principal!.technician, params.id, body, context)),
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/tenants/:id/archive',
      summary:
        'Archive a tenant for good (fresh TOTP code): frozen, everything in it ended as by its kill switch, then archived — no access ever again, its directory no longer used, its records kept for the audit',
      tag: 'tenants',
      auth: 'session',
      roles: ['admin'],
      params: idParams,
      body: archiveBody,
      responses: {
        200: {
          description: 'Archived',
          schema: z.object({
            tenant: tenantView,
            revoked: z.number().describe('grants ended, membership confirmed gone'),
            cancelled: z.number().describe('requests still waiting for approval, withdrawn'),
          }),
        },
        401: { description: 'Wrong or replayed TOTP code' },
        404: { description: 'No such tenant' },
        409: {
          description:
            'Already archived; or some grant is not confirmed ended yet (the tenant stays frozen: archive again once the reconciler has ended it)',
        },
      },
      async handler({ params, body, principal, context }) {
        const result = await services.elevations.archiveTenant(principal!.technician, params.id, body, context);
        return { status: 200, body: { ...result, tenant: presentTenant(result.tenant) } };
      },
    }),
  ];
}
