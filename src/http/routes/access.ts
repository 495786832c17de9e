// Per-tenant administration of what may be granted: linked accounts and access profiles (admin).
import { z } from 'zod';
import type { Services } from '../../container.ts';
import { guidPattern } from '../../domain/ad.ts';
import type { AccessProfile } from '../../domain/profile.ts';
import type { TenantAccount, TenantProtectedGroup } from '../../services/ports/tenants.ts';
import { profileInputSchema } from '../../services/tenants/index.ts';
import { defineRoute, type Route } from '../route.ts';

const tenantParams = z.object({ id: z.string().min(1).max(40) });
const tenantItemParams = z.object({ id: z.string().min(1).max(40), itemId: z.string().min(1).max(64) });

const accountView = z.object({
  id: z.string(),
  tenantId: z.string(),
  technicianId: z.string(),
  guid: z.string(),
  dn: z.string(),
  samAccountName: z.string(),
  createdAt: z.iso.datetime(),
});
const presentAccount = (a: TenantAccount) => ({
  id: a.id,
  tenantId: a.tenantId,
  technicianId: a.technicianId,
  guid: a.guid,
  dn: a.dn,
  samAccountName: a.samAccountName,
  createdAt: a.createdAt.toISOString(),
});

const profileView = z.object({
  id: z.string(),
  tenantId: z.string(),
  name: z.string(),
  description: z.string(),
  groups: z.array(z.object({ dn: z.string(), guid: z.string(), sid: z.string(), name: z.string() })),
  eligibleTechnicians: z.array(z.string()),
  eligibleRoles: z.array(z.string()),
  defaultDurationSeconds: z.number(),
  maxDurationSeconds: z.number(),
  maxTotalDurationSeconds: z.number(),
  approval: z.object({
    required: z.number(),
    approvers: z.array(z.string()),
    timeoutSeconds: z.number(),
    reapproveExtensions: z.boolean(),
  }),
  windows: z.array(z.object({ days: z.array(z.number()), start: z.string(), end: z.string() })),
  workstations: z.array(z.string()),
  requireJustification: z.boolean(),
  ticketPattern: z.string().nullable(),
  status: z.enum(['active', 'suspended']),
  suspendedReason: z.string().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
const presentProfile = (p: AccessProfile) => ({ ...p, createdAt: p.createdAt.toISOString(), updatedAt: p.updatedAt.toISOString() });

const groupSearchQuery = z.strictObject({
  q: z.string().trim().max(64).default('').describe('Part of the group’s name (cn or sAMAccountName); empty: any group'),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});
const groupChoiceView = z.object({
  dn: z.string(),
  guid: z.string(),
  sid: z.string(),
  name: z.string(),
  protection: z
    .object({
      protectedGroup: z.string(),
      reason: z.string(),
      path: z.array(z.string()).describe('From this group up to the protected group it sits in (one element: the group itself)'),
    })
    .nullable()
    .describe('Set when the group is protected (docs/security-model.md, Protected groups) and can never be granted'),
});

const protectedGroupView = z.object({
  guid: z.string(),
  sid: z.string(),
  dn: z.string().describe('The DN when it was added; the checks match the group by objectSid, wherever it moves'),
  name: z.string(),
  addedAt: z.iso.datetime(),
});
const presentProtectedGroup = (g: TenantProtectedGroup) => ({
  guid: g.guid,
  sid: g.sid,
  dn: g.dn,
  name: g.name,
  addedAt: g.addedAt.toISOString(),
});
const guidParams = z.object({ id: z.string().min(1).max(40), guid: z.string().regex(guidPattern, 'an objectGUID') });

export function accessRoutes(services: Services): Route[] {
  const admin = { auth: 'session' as const, roles: ['admin' as const] };
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/tenants/:id/accounts',
      summary: 'Technicians’ linked accounts in this tenant',
      tag: 'accounts',
      ...admin,
      params: tenantParams,
      responses: { 200: { description: 'Linked accounts', schema: z.object({ accounts: z.array(accountView) }) } },
      async handler({ params }) {
        return { status: 200, body: { accounts: (await services.accounts.list(params.id)).map(presentAccount) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/tenants/:id/accounts',
      summary: 'Link a technician to their own account in the tenant’s domain (by sAMAccountName, UPN or DN); stored by objectGUID',
      tag: 'accounts',
      ...admin,
      params: tenantParams,
      body: z.strictObject({ technicianId: z.string().min(1).max(64), account: z.string().min(1).max(1024) }),
      responses: {
        201: { description: 'Linked', schema: accountView },
        409: { description: 'Already linked (this technician, or that account to another), or the tenant is archived' },
        422: {
          description:
            'No such account, or account_not_eligible: not a person’s user object (a computer, managed service, trust or service account), a built-in or well-known account (RID below 1000), adminCount=1, or a member of a protected group at any depth (primary group included)',
        },
      },
      async handler({ params, body, principal, context }) {
        const account = await services.accounts.link(params.id, body.technicianId, body.account, principal!.technician.id, context);
        return { status: 201, body: presentAccount(account) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/v1/tenants/:id/accounts/:itemId',
      summary: 'Unlink an account (not while it holds an elevation)',
      tag: 'accounts',
      ...admin,
      params: tenantItemParams,
      responses: { 204: { description: 'Unlinked' } },
      async handler({ params, principal, context }) {
        await services.accounts.unlink(params.id, params.itemId, principal!.technician.id, context);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/tenants/:id/protected-groups',
      summary:
        'The groups this tenant adds to the protected list (docs/security-model.md, Protected groups): never grantable, nor anything nested in them, and no account in them may be elevated',
      tag: 'profiles',
      ...admin,
      params: tenantParams,
      responses: {
        200: { description: 'The tenant’s own protected groups', schema: z.object({ groups: z.array(protectedGroupView) }) },
        404: { description: 'No such tenant' },
      },
      async handler({ params }) {
        return { status: 200, body: { groups: (await services.protectedGroups.list(params.id)).map(presentProtectedGroup) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/tenants/:id/protected-groups',
      summary: 'Add a group of the tenant’s directory (by DN or objectGUID) to its protected list',
      tag: 'profiles',
      ...admin,
      params: tenantParams,
      body: z.strictObject({ group: z.string().min(3).max(1024).describe('The group’s DN or objectGUID') }),
      responses: {
        201: { description: 'Protected from now on', schema: protectedGroupView },
        409: { description: 'Already on the list' },
        422: { description: 'No such group in the tenant’s directory' },
      },
      async handler({ params, body, principal, context }) {
        return {
          status: 201,
          body: presentProtectedGroup(await services.protectedGroups.add(params.id, body.group, principal!.technician.id, context)),
        };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/v1/tenants/:id/protected-groups/:guid',
      summary: 'Take a group off the tenant’s protected list',
      tag: 'profiles',
      ...admin,
      params: guidParams,
      responses: { 204: { description: 'Removed' }, 404: { description: 'Not on the list' } },
      async handler({ params, principal, context }) {
        await services.protectedGroups.remove(params.id, params.guid, principal!.technician.id, context);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/tenants/:id/groups',
      summary:
        'Search the tenant’s directory for groups to put in a profile; each says whether it is protected, why, and through which nesting',
      tag: 'profiles',
      ...admin,
      params: tenantParams,
      query: groupSearchQuery,
      responses: {
        200: {
          description: 'Groups by name, at most `limit`; truncated: there were more (narrow the search)',
          schema: z.object({ groups: z.array(groupChoiceView), truncated: z.boolean() }),
        },
        404: { description: 'No such tenant' },
      },
      async handler({ params, query }) {
        return { status: 200, body: await services.profiles.searchGroups(params.id, query.q, query.limit) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/tenants/:id/profiles',
      summary: 'Access profiles of this tenant',
      tag: 'profiles',
      ...admin,
      params: tenantParams,
      responses: { 200: { description: 'Profiles', schema: z.object({ profiles: z.array(profileView) }) } },
      async handler({ params }) {
        return { status: 200, body: { profiles: (await services.profiles.list(params.id)).map(presentProfile) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/tenants/:id/profiles',
      summary: 'Create a profile; groups are resolved in the directory and protected groups are refused with the nesting path',
      tag: 'profiles',
      ...admin,
      params: tenantParams,
      body: profileInputSchema,
      responses: {
        201: { description: 'Created', schema: profileView },
        422: { description: 'A group is protected (details name it and the nesting path) or does not exist' },
      },
      async handler({ params, body, principal, context }) {
        return { status: 201, body: presentProfile(await services.profiles.create(params.id, body, principal!.technician.id, context)) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/tenants/:id/profiles/:itemId',
      summary: 'One profile',
      tag: 'profiles',
      ...admin,
      params: tenantItemParams,
      responses: { 200: { description: 'The profile', schema: profileView } },
      async handler({ params }) {
        return { status: 200, body: presentProfile(await services.profiles.get(params.id, params.itemId)) };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/v1/tenants/:id/profiles/:itemId',
      summary: 'Replace a profile’s settings (checked like a new one; a suspended profile that checks clean is active again)',
      tag: 'profiles',
      ...admin,
      params: tenantItemParams,
      body: profileInputSchema,
      responses: { 200: { description: 'Updated', schema: profileView }, 422: { description: 'A group is protected' } },
      async handler({ params, body, principal, context }) {
        return {
          status: 200,
          body: presentProfile(await services.profiles.update(params.id, params.itemId, body, principal!.technician.id, context)),
        };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/v1/tenants/:id/profiles/:itemId',
      summary: 'Delete a profile with no open elevations',
      tag: 'profiles',
      ...admin,
      params: tenantItemParams,
      responses: { 204: { description: 'Deleted' } },
      async handler({ params, principal, context }) {
        await services.profiles.remove(params.id, params.itemId, principal!.technician.id, context);
        return { status: 204 };
      },
    }),
  ];
}
