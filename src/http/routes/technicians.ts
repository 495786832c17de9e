// Technician administration (admin only).
import { z } from 'zod';
import type { Services } from '../../container.ts';
import { roles } from '../../domain/roles.ts';
import { presentTechnician } from '../../services/access/index.ts';
import { defineRoute, idParams, type Route } from '../route.ts';

const role = z.enum(roles);
const displayName = z.string().trim().min(1).max(128);
const email = z.email().max(254);
const slackUserId = z
  .string()
  .regex(/^[UW][A-Z0-9]{2,20}$/, 'a Slack user id such as U012AB3CD')
  .nullable();
const tenantId = z.string().min(1).max(40);

export const technicianView = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  email: z.string(),
  slackUserId: z.string().nullable(),
  roles: z.array(role),
  approverTenants: z.array(z.string()),
  status: z.enum(['active', 'suspended']),
  identitySource: z.enum(['local', 'ldap']),
  mfaEnrolled: z.boolean(),
  mfaLockedUntil: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const createBody = z.strictObject({
  username: z.string().min(2).max(64),
  displayName,
  email,
  slackUserId: slackUserId.optional(),
  roles: z.array(role).min(1).max(4),
  approverTenants: z.array(tenantId).max(500).optional(),
  identitySource: z.enum(['local', 'ldap']).default('local'),
  password: z.string().min(12).max(256).optional(),
});

const updateBody = z
  .strictObject({
    displayName: displayName.optional(),
    email: email.optional(),
    slackUserId: slackUserId.optional(),
    roles: z.array(role).min(1).max(4).optional(),
    approverTenants: z.array(tenantId).max(500).optional(),
    status: z.enum(['active', 'suspended']).optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'name at least one field to change');

export function technicianRoutes(services: Services): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/technicians',
      summary: 'List technicians',
      tag: 'technicians',
      auth: 'session',
      roles: ['admin'],
      responses: { 200: { description: 'Technicians', schema: z.object({ technicians: z.array(technicianView) }) } },
      async handler() {
        return { status: 200, body: { technicians: (await services.technicians.list()).map(presentTechnician) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/technicians',
      summary: 'Create a technician (local accounts need a password of 12+ characters)',
      tag: 'technicians',
      auth: 'session',
      roles: ['admin'],
      body: createBody,
      responses: { 201: { description: 'Created', schema: technicianView }, 409: { description: 'Username or Slack user id taken' } },
      async handler({ body, principal, context }) {
        const technician = await services.technicians.create(body, principal!.technician.id, context);
        return { status: 201, body: presentTechnician(technician) };
      },
    }),
    // Before /technicians/:id, which would otherwise take `names` for an id.
    defineRoute({
      method: 'get',
      path: '/api/v1/technicians/names',
      summary:
        'Technicians by name for pickers: id, username and display name only. Admins and auditors see everyone; an approver sees those linked in the tenants they approve for, and themselves',
      tag: 'technicians',
      auth: 'session',
      roles: ['admin', 'auditor', 'approver'],
      responses: {
        200: {
          description: 'By display name',
          schema: z.object({ technicians: z.array(z.object({ id: z.string(), username: z.string(), displayName: z.string() })) }),
        },
      },
      async handler({ principal }) {
        return { status: 200, body: { technicians: await services.technicians.names(principal!.technician) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/technicians/:id',
      summary: 'One technician',
      tag: 'technicians',
      auth: 'session',
      roles: ['admin'],
      params: idParams,
      responses: { 200: { description: 'The technician', schema: technicianView }, 404: { description: 'Not found' } },
      async handler({ params }) {
        return { status: 200, body: presentTechnician(await services.technicians.get(params.id)) };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/v1/technicians/:id',
      summary: 'Change roles, status (suspending ends every session at once) or contact details',
      tag: 'technicians',
      auth: 'session',
      roles: ['admin'],
      params: idParams,
      body: updateBody,
      responses: {
        200: { description: 'Updated', schema: technicianView },
        409: { description: 'Would leave no active admin, or the Slack user id is taken' },
      },
      async handler({ params, body, principal, context }) {
        return {
          status: 200,
          body: presentTechnician(await services.technicians.update(params.id, body, principal!.technician.id, context)),
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/technicians/:id/mfa-reset',
      summary: 'Clear the technician’s authenticator; they enrol again at the next login',
      tag: 'technicians',
      auth: 'session',
      roles: ['admin'],
      params: idParams,
      responses: { 204: { description: 'Reset' } },
      async handler({ params, principal, context }) {
        await services.technicians.resetMfa(params.id, principal!.technician.id, context);
        return { status: 204 };
      },
    }),
  ];
}
