// What the Slack use cases share (slack-service.ts builds it): their ports, the work carried on
// after Slack has been answered, and the few look-ups every answer needs.
import type { Decision } from '../../domain/approval.ts';
import type { Elevation } from '../../domain/elevation.ts';
import { auditOrigin, type RequestContext } from '../context.ts';
import type { ElevationFilter } from '../ports/elevations.ts';
import type { Clock, EventLog } from '../ports/runtime.ts';
import type { People, SlackApi, SlackRequestVerifier, SlackViews } from '../ports/slack.ts';
import type { Store } from '../ports/store.ts';
import type { TechnicianRecord } from '../ports/technicians.ts';

/** The elevation use cases Slack drives (the elevation service); a subset of what it offers. */
export interface SlackElevationUseCases {
  request(
    technician: TechnicianRecord,
    input: { tenantId: string; profile: string; durationSeconds?: number; justification?: string; ticket?: string; code: string },
    ctx: RequestContext,
  ): Promise<Elevation>;
  approve(technician: TechnicianRecord, elevationId: string, code: string, ctx: RequestContext): Promise<Elevation>;
  deny(technician: TechnicianRecord, elevationId: string, code: string, reason: string | null, ctx: RequestContext): Promise<Elevation>;
  revokeByUser(technician: TechnicianRecord, elevationId: string, ctx: RequestContext): Promise<Elevation>;
  list(technician: TechnicianRecord, filter: ElevationFilter): Promise<Elevation[]>;
  get(technician: TechnicianRecord, elevationId: string): Promise<Elevation>;
  pendingApprovals(technician: TechnicianRecord): Promise<Elevation[]>;
}

/** What Slack gets back at once: a 200 with this JSON body, or an empty 200. */
export interface SlackAck {
  body?: Record<string, unknown>;
}

export interface SlackServiceDeps {
  store: Pick<Store, 'technicians' | 'tenants' | 'profiles' | 'transaction'>;
  clock: Clock;
  slack: SlackApi;
  views: SlackViews;
  verifier: SlackRequestVerifier;
  elevations: SlackElevationUseCases;
  log: EventLog;
}

export interface SlackContext extends SlackServiceDeps {
  /** Work that goes on after Slack has been answered; its failures are logged, never lost silently. */
  later(what: string, work: () => Promise<unknown>): void;
}

export interface SlackUser {
  id: string;
  teamId: string | null;
}

/** What a modal remembers between opening and submission (Slack hands it back untouched). */
export type ModalState =
  | { k: 'request'; tenant: string; profile: string; durationSeconds?: number }
  | { k: 'decide'; elevationId: string; decision: 'approve' | 'deny' };

export const ephemeral = (text: string): SlackAck => ({ body: { response_type: 'ephemeral', text } });

export const unknownUserText =
  'Stint does not know your Slack account, so it cannot act for you. Ask a Stint admin to add your Slack user id to your technician record.';

export async function technicianFor(deps: SlackContext, user: SlackUser): Promise<TechnicianRecord | null> {
  const technician = await deps.store.technicians.findBySlackUserId(user.id);
  if (!technician)
    deps.log.warn({ slackUserId: user.id, slackTeamId: user.teamId }, 'Slack request from a Slack user no technician is linked to');
  return technician;
}

/** The Slack side of an action, in the audit chain, before the use case runs (fail closed). */
export async function auditSlack(
  deps: SlackContext,
  technician: TechnicianRecord,
  user: SlackUser,
  action: string,
  details: Record<string, unknown>,
  ctx: RequestContext,
  tenantId?: string,
): Promise<void> {
  const at = deps.clock.now();
  await deps.store.transaction((tx) =>
    tx.audit.append(
      {
        actor: technician.id,
        action: 'slack.interaction',
        tenantId: tenantId ?? null,
        target: typeof details.elevationId === 'string' ? details.elevationId : null,
        details: { slackUserId: user.id, slackTeamId: user.teamId, action, ...details },
        ...auditOrigin(ctx),
      },
      at,
    ),
  );
}

/** Display names of these technicians ("someone" for one not found). */
export async function names(deps: SlackContext, ids: readonly string[]): Promise<People> {
  const map = new Map<string, string>();
  for (const id of new Set(ids)) {
    const t = await deps.store.technicians.findById(id);
    map.set(id, t?.displayName ?? t?.username ?? 'someone');
  }
  return { name: (id: string) => map.get(id) ?? 'someone' };
}

export const peopleOf = (deps: SlackContext, e: Elevation) =>
  names(deps, [e.technicianId, ...e.decisions.map((d: Decision) => d.approverId)]);

export async function tenantName(deps: SlackContext, tenantId: string): Promise<string> {
  return (await deps.store.tenants.findById(tenantId))?.displayName ?? tenantId;
}
