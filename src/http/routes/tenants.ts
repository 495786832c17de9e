// Tenant administration (admin only). Bind passwords go in and never come out.
import { z } from 'zod';
import { inactiveDaysRange } from '../../domain/review.ts';
import { defaultRiskThreshold, riskThresholdRange } from '../../domain/risk.ts';
import { driftModes } from '../../domain/tenant.ts';
import type { Services } from '../../container.ts';
import { presentTenant } from '../../services/tenant-service.ts';
import { defineRoute, idParams, type Route } from '../route.ts';

const pem = z.string().min(1).max(64 * 1024).regex(/-----BEGIN CERTIFICATE-----/, 'a PEM certificate');
const dn = z.string().min(3).max(1024);
const reviewSchedule = z.string().min(9).max(100).describe('A five-field cron pattern in the tenant’s time zone (default "0 6 * * 1": Mondays at 06:00)');
const inactiveDays = z.number().int().min(inactiveDaysRange.min).max(inactiveDaysRange.max).describe('No elevation and no logon for this many days: inactive (default 45)');
const disableInactive = z.boolean().describe('Reviews disable inactive MSP accounts (default false: reported only)');
const riskThreshold = z
  .number()
  .int()
  .min(riskThresholdRange.min)
  .max(riskThresholdRange.max)
  .describe(`risk score (0–100) from which a request needs approval even where its profile grants at once, and raises an alert; default ${defaultRiskThreshold}`);
const slackChannel = z.string().regex(/^[CG][A-Z0-9]{2,20}$/, 'a Slack channel id such as C012AB3CD').nullable();

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
      responses: { 200: { description: 'Updated', schema: answer }, 422: { description: 'The directory connection failed' } },
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
      responses: { 204: { description: 'Deleted' }, 409: { description: 'In use' } },
      async handler({ params, principal, context }) {
        await services.tenants.remove(params.id, principal!.technician.id, context);
        return { status: 204 };
      },
    }),
  ];
}
