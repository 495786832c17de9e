// Kill switches (docs/security-model.md, Kill switches and the tenant freeze; admin, fresh TOTP): end everything one technician holds, everywhere,
// and suspend them; or freeze one tenant and end everything held in it. Both answer with what they ended.
import { z } from 'zod';
import type { Services } from '../../container.ts';
import { defineRoute, idParams, type Route } from '../route.ts';

const body = z.strictObject({ code: z.string().min(1).max(16), reason: z.string().trim().min(1).max(500).optional() });
const outcome = z.object({
  revoked: z.number().describe('grants ended, membership confirmed gone'),
  cancelled: z.number().describe('requests still waiting for approval, withdrawn'),
  stillRevoking: z.number().describe('grants claimed but not yet confirmed gone (directory unreachable); the reconciler finishes them'),
});

export function killSwitchRoutes(services: Services): Route[] {
  const common = {
    method: 'post' as const,
    tag: 'kill switches',
    auth: 'session' as const,
    roles: ['admin' as const],
    params: idParams,
    body,
  };
  return [
    defineRoute({
      ...common,
      path: '/api/v1/technicians/:id/kill-switch',
      summary: 'Suspend a technician (their sessions end at once) and end every grant and request they hold, in every tenant',
      responses: {
        200: { description: 'Done', schema: outcome.extend({ endedSessions: z.number(), suspended: z.literal(true) }) },
        401: { description: 'Wrong or replayed TOTP code' },
        404: { description: 'No such technician' },
        409: { description: 'The last active admin' },
      },
      async handler({ params, body, principal, context }) {
        return { status: 200, body: await services.elevations.killTechnician(principal!.technician, params.id, body, context) };
      },
    }),
    defineRoute({
      ...common,
      path: '/api/v1/tenants/:id/kill-switch',
      summary:
        'Freeze one tenant (no request, approval or extension until an admin lifts it) and end every grant and request in it, those being activated included',
      responses: {
        200: { description: 'Done', schema: outcome.extend({ frozen: z.literal(true) }) },
        401: { description: 'Wrong or replayed TOTP code' },
        404: { description: 'No such tenant' },
      },
      async handler({ params, body, principal, context }) {
        return { status: 200, body: await services.elevations.killTenant(principal!.technician, params.id, body, context) };
      },
    }),
  ];
}
