// The `/stint` slash command (docs/architecture.md, Slack): `request` opens the TOTP modal, `list`
// shows the caller's requests and grants, `revoke` ends one of them, `help` says all this.
import { DomainError } from '../../domain/errors.ts';
import { isEligible } from '../../domain/profile.ts';
import type { RequestContext } from '../context.ts';
import type { TechnicianRecord } from '../ports/technicians.ts';
import {
  auditSlack,
  ephemeral,
  names,
  technicianFor,
  unknownUserText,
  type ModalState,
  type SlackAck,
  type SlackContext,
  type SlackUser,
} from './slack-context.ts';

const durationPattern = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/i;

/** `30m`, `2h`, `1h30m`, `1d` → seconds; null when the word is not a duration. */
export function parseDuration(word: string): number | null {
  const match = durationPattern.exec(word);
  if (!match || word === '') return null;
  const [, d, h, m, s] = match;
  const seconds = Number(d ?? 0) * 86_400 + Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
  return seconds > 0 ? seconds : null;
}

export type StintCommand =
  | { kind: 'help'; unknown?: string }
  | { kind: 'list' }
  | { kind: 'revoke'; id: string }
  | { kind: 'request'; tenant: string; profile: string; durationSeconds: number | undefined; justification: string | undefined }
  | { kind: 'usage'; message: string };

/** Parses the text after `/stint`. */
export function parseCommand(text: string): StintCommand {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const verb = words[0]?.toLowerCase();
  switch (verb) {
    case undefined:
    case 'help':
      return { kind: 'help' };
    case 'list':
      return { kind: 'list' };
    case 'revoke':
      if (words.length !== 2) return { kind: 'usage', message: 'Usage: `/stint revoke <id>` (the id from `/stint list`)' };
      return { kind: 'revoke', id: words[1]!.toLowerCase() };
    case 'request':
      return parseRequest(words.slice(1));
    default:
      return { kind: 'help', unknown: verb };
  }
}

function parseRequest(words: readonly string[]): StintCommand {
  const [tenant, profile, maybeDuration, ...rest] = words;
  if (!tenant || !profile) return { kind: 'usage', message: 'Usage: `/stint request <tenant> <profile> [duration] [justification…]`' };
  const durationSeconds = maybeDuration ? parseDuration(maybeDuration) : null;
  const justificationWords = durationSeconds === null && maybeDuration ? [maybeDuration, ...rest] : rest;
  const justification = justificationWords.join(' ').trim();
  return {
    kind: 'request',
    tenant: tenant.toLowerCase(),
    profile: profile.toLowerCase(),
    durationSeconds: durationSeconds ?? undefined,
    justification: justification || undefined,
  };
}

/** One slash command, answered within Slack's 3 s; slow work carries on afterwards. */
export async function command(deps: SlackContext, fields: URLSearchParams, ctx: RequestContext): Promise<SlackAck> {
  const user: SlackUser = { id: fields.get('user_id') ?? '', teamId: fields.get('team_id') };
  if (!user.id) throw new DomainError('validation_failed', 'A slash command names its user');
  const technician = await technicianFor(deps, user);
  if (!technician) return ephemeral(unknownUserText);
  if (technician.status !== 'active') return ephemeral('Your Stint account is suspended.');
  const parsed = parseCommand(fields.get('text') ?? '');
  switch (parsed.kind) {
    case 'help':
      return ephemeral(deps.views.help(parsed.unknown));
    case 'usage':
      return ephemeral(parsed.message);
    case 'list':
      return ephemeral(await listText(deps, technician));
    case 'revoke':
      return revokeCommand(deps, technician, user, parsed.id, ctx);
    case 'request':
      return requestCommand(deps, technician, parsed, fields.get('trigger_id') ?? '');
  }
}

async function listText(deps: SlackContext, technician: TechnicianRecord): Promise<string> {
  const mine = await deps.elevations.list(technician, {
    technicianId: technician.id,
    states: ['pending_approval', 'activating', 'active', 'revoking'],
    limit: 50,
  });
  const waiting = technician.roles.includes('approver') ? await deps.elevations.pendingApprovals(technician) : [];
  const people = await names(
    deps,
    waiting.map((e) => e.technicianId),
  );
  return deps.views.list(mine, waiting, people);
}

async function revokeCommand(
  deps: SlackContext,
  technician: TechnicianRecord,
  user: SlackUser,
  given: string,
  ctx: RequestContext,
): Promise<SlackAck> {
  // Ids may be shortened to the 8 characters `/stint list` shows: match among grants the caller may end.
  const candidates = await deps.elevations.list(technician, {
    states: ['active'],
    ...(technician.roles.includes('admin') ? {} : { technicianId: technician.id }),
    limit: 1000,
  });
  const matches = candidates.filter((e) => e.id === given || (given.length >= 6 && e.id.startsWith(given)));
  if (matches.length !== 1) return ephemeral(deps.views.revokeNotFound(given, matches.length));
  const e = matches[0]!;
  await auditSlack(deps, technician, user, 'revoke', { elevationId: e.id }, ctx, e.tenantId);
  deps.later('revoke', async () => {
    try {
      await deps.elevations.revokeByUser(technician, e.id, ctx);
    } catch (error) {
      const message = error instanceof DomainError ? error.message : 'Stint could not finish it; it will be retried';
      await deps.slack.postMessage(user.id, { text: deps.views.revokeFailed(e, message) });
      if (!(error instanceof DomainError)) throw error;
    }
  });
  return ephemeral(deps.views.revokeStarted(e));
}

async function requestCommand(
  deps: SlackContext,
  technician: TechnicianRecord,
  command: Extract<StintCommand, { kind: 'request' }>,
  triggerId: string,
): Promise<SlackAck> {
  const tenant = await deps.store.tenants.findById(command.tenant);
  const profile = tenant ? await deps.store.profiles.findByName(tenant.id, command.profile) : null;
  // The same answer for "no such tenant/profile" and "not yours", as the API gives.
  if (!tenant || !profile || !isEligible(profile, technician)) return ephemeral('You are not eligible for that profile.');
  if (tenant.archived) return ephemeral(deps.views.tenantClosed(tenant.id, 'archived'));
  if (tenant.frozen) return ephemeral(deps.views.tenantClosed(tenant.id, 'frozen'));
  const state: ModalState = {
    k: 'request',
    tenant: tenant.id,
    profile: profile.name,
    ...(command.durationSeconds !== undefined && { durationSeconds: command.durationSeconds }),
  };
  const view = deps.views.requestModal(
    {
      tenantId: tenant.id,
      tenantName: tenant.displayName,
      profile: profile.name,
      durationSeconds: command.durationSeconds,
      defaultDurationSeconds: profile.defaultDurationSeconds,
      justification: command.justification,
      requireJustification: profile.requireJustification,
      ticketPattern: profile.ticketPattern,
      approvalsRequired: profile.approval.required,
    },
    JSON.stringify(state),
  );
  // The trigger id lives 3 s: the modal is opened right after Slack has its answer.
  deps.later('open request modal', () => deps.slack.openView(triggerId, view));
  return {};
}
