// Stint in Slack (docs/architecture.md, Slack): the `/stint` slash command and the interactions (Approve/Deny
// buttons, the TOTP modals). Every request is verified before anything else; Slack users map to
// technicians by their stored Slack user id; Slack is answered within its 3 s, and the slow work
// (LDAP, approvals) carries on afterwards, its outcome shown in the modal or sent as a DM. The
// elevation use cases do the deciding and audit it; this file adds a `slack.interaction` audit
// event naming the Slack user, written before the use case runs, with the same request id.
import type { Decision } from '../../domain/approval.ts';
import { DomainError } from '../../domain/errors.ts';
import { isEligible } from '../../domain/profile.ts';
import { auditOrigin, type RequestContext } from '../context.ts';
import type { Clock, EventLog } from '../ports/runtime.ts';
import type { Elevation } from '../../domain/elevation.ts';
import type { ElevationFilter } from '../ports/elevations.ts';
import type { SlackApi, SlackRequestVerifier, SlackSignedRequest, SlackView } from '../ports/slack.ts';
import type { Store } from '../ports/store.ts';
import type { TechnicianRecord } from '../ports/technicians.ts';
import {
  actionIds,
  callbackIds,
  decideModal,
  describeDecisionOutcome,
  describeRequestOutcome,
  duration,
  escape,
  helpText,
  inputBlocks,
  noticeModal,
  openRound,
  requestModal,
  shortId,
  when,
} from './slack-blocks.ts';

/** The elevation use cases Slack drives (the elevation service). */
export interface ElevationUseCases {
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

export type SlackService = ReturnType<typeof createSlackService>;

/** How long a modal submission may take before Slack is answered and the rest goes on in the background. */
const submissionBudgetMs = 2000;

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
    case 'request': {
      const [tenant, profile, maybeDuration, ...rest] = words.slice(1);
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
    default:
      return { kind: 'help', unknown: verb };
  }
}

/** What a modal remembers between opening and submission (Slack hands it back untouched). */
type ModalState =
  | { k: 'request'; tenant: string; profile: string; durationSeconds?: number }
  | { k: 'decide'; elevationId: string; decision: 'approve' | 'deny' };

interface SlackUser {
  id: string;
  teamId: string | null;
}

const ephemeral = (text: string): SlackAck => ({ body: { response_type: 'ephemeral', text } });

const unknownUserText =
  'Stint does not know your Slack account, so it cannot act for you. Ask a Stint admin to add your Slack user id to your technician record.';

/** Which modal input a refusal belongs to, so Slack can show it beside the field. */
function fieldOf(error: DomainError, blocks: readonly string[]): string | null {
  if (['mfa_invalid', 'mfa_replay', 'mfa_locked', 'mfa_not_enrolled'].includes(error.code)) return inputBlocks.code;
  const field = error.details?.field;
  if (field === 'justification' && blocks.includes(inputBlocks.justification)) return inputBlocks.justification;
  if (field === 'ticket' && blocks.includes(inputBlocks.ticket)) return inputBlocks.ticket;
  return null;
}

function inputValue(view: Record<string, unknown>, block: string): string | undefined {
  const values = (view.state as { values?: Record<string, Record<string, { value?: unknown }>> } | undefined)?.values;
  const value = values?.[block]?.[block]?.value;
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function blockIds(view: Record<string, unknown>): string[] {
  return ((view.blocks as Array<{ block_id?: unknown }> | undefined) ?? [])
    .map((b) => b.block_id)
    .filter((id): id is string => typeof id === 'string');
}

export function createSlackService(deps: {
  store: Store;
  clock: Clock;
  slack: SlackApi;
  verifier: SlackRequestVerifier;
  elevations: ElevationUseCases;
  log: EventLog;
}) {
  const { store, slack, verifier, elevations, log } = deps;
  const inFlight = new Set<Promise<void>>();

  /** Work that goes on after Slack has been answered; its failures are logged, never lost silently. */
  function later(what: string, work: () => Promise<unknown>): void {
    const running: Promise<void> = work()
      .then(() => undefined)
      .catch((error: unknown) => log.error({ err: (error as Error).message, work: what }, 'Slack follow-up failed'))
      .finally(() => inFlight.delete(running));
    inFlight.add(running);
  }

  async function technicianFor(user: SlackUser): Promise<TechnicianRecord | null> {
    const technician = await store.technicians.findBySlackUserId(user.id);
    if (!technician)
      log.warn({ slackUserId: user.id, slackTeamId: user.teamId }, 'Slack request from a Slack user no technician is linked to');
    return technician;
  }

  /** The Slack side of an action, in the audit chain, before the use case runs (fail closed). */
  async function auditSlack(
    technician: TechnicianRecord,
    user: SlackUser,
    action: string,
    details: Record<string, unknown>,
    ctx: RequestContext,
    tenantId?: string,
  ) {
    const at = deps.clock.now();
    await store.transaction((tx) =>
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

  const names = async (ids: readonly string[]) => {
    const map = new Map<string, string>();
    for (const id of new Set(ids)) {
      const t = await store.technicians.findById(id);
      map.set(id, t?.displayName ?? t?.username ?? 'someone');
    }
    return { name: (id: string) => map.get(id) ?? 'someone' };
  };

  async function tenantName(tenantId: string) {
    return (await store.tenants.findById(tenantId))?.displayName ?? tenantId;
  }

  const peopleOf = (e: Elevation) => names([e.technicianId, ...e.decisions.map((d: Decision) => d.approverId)]);

  // ---- /stint ---------------------------------------------------------------------------------

  async function listText(technician: TechnicianRecord): Promise<string> {
    const mine = await elevations.list(technician, {
      technicianId: technician.id,
      states: ['pending_approval', 'activating', 'active', 'revoking'],
      limit: 50,
    });
    const waiting = technician.roles.includes('approver') ? await elevations.pendingApprovals(technician) : [];
    const lines: string[] = [];
    lines.push(mine.length ? '*Your open requests and grants*' : 'You have no open requests or grants.');
    for (const e of mine) {
      const until = e.state === 'active' && e.endsAt ? ` until ${when(e.endsAt)}` : '';
      lines.push(`• \`${shortId(e.id)}\` *${escape(e.profileName)}* in *${escape(e.tenantId)}*: ${e.state.replace('_', ' ')}${until}`);
    }
    if (waiting.length) {
      const people = await names(waiting.map((e) => e.technicianId));
      lines.push('*Waiting for your approval*');
      for (const e of waiting)
        lines.push(
          `• \`${shortId(e.id)}\` ${escape(people.name(e.technicianId))}: *${escape(e.profileName)}* in *${escape(e.tenantId)}* for ${duration(e.durationSeconds)}`,
        );
    }
    return lines.join('\n');
  }

  async function revokeCommand(technician: TechnicianRecord, user: SlackUser, given: string, ctx: RequestContext): Promise<SlackAck> {
    // Ids may be shortened to the 8 characters `/stint list` shows: match among grants the caller may end.
    const candidates = await elevations.list(technician, {
      states: ['active'],
      ...(technician.roles.includes('admin') ? {} : { technicianId: technician.id }),
      limit: 1000,
    });
    const matches = candidates.filter((e) => e.id === given || (given.length >= 6 && e.id.startsWith(given)));
    if (matches.length !== 1) {
      return ephemeral(
        matches.length
          ? `\`${escape(given)}\` matches more than one grant; give more of the id.`
          : `You have no active grant \`${escape(given)}\`. \`/stint list\` shows yours.`,
      );
    }
    const e = matches[0]!;
    await auditSlack(technician, user, 'revoke', { elevationId: e.id }, ctx, e.tenantId);
    later('revoke', async () => {
      try {
        await elevations.revokeByUser(technician, e.id, ctx);
      } catch (error) {
        const message = error instanceof DomainError ? error.message : 'Stint could not finish it; it will be retried';
        await slack.postMessage(user.id, { text: `Revoking ${shortId(e.id)} did not complete: ${message}` });
        if (!(error instanceof DomainError)) throw error;
      }
    });
    return ephemeral(
      `Revoking \`${shortId(e.id)}\` (*${escape(e.profileName)}* in *${escape(e.tenantId)}*). You will get a DM once the membership is gone.`,
    );
  }

  async function requestCommand(
    technician: TechnicianRecord,
    command: Extract<StintCommand, { kind: 'request' }>,
    triggerId: string,
  ): Promise<SlackAck> {
    const tenant = await store.tenants.findById(command.tenant);
    const profile = tenant ? await store.profiles.findByName(tenant.id, command.profile) : null;
    // The same answer for "no such tenant/profile" and "not yours", as the API gives.
    if (!tenant || !profile || !isEligible(profile, technician)) return ephemeral('You are not eligible for that profile.');
    if (tenant.archived) return ephemeral(`*${escape(tenant.id)}* is archived: it grants no access.`);
    if (tenant.frozen)
      return ephemeral(
        `*${escape(tenant.id)}* is frozen by its kill switch: nothing can be requested there until an admin lifts the freeze.`,
      );
    const state: ModalState = {
      k: 'request',
      tenant: tenant.id,
      profile: profile.name,
      ...(command.durationSeconds !== undefined && { durationSeconds: command.durationSeconds }),
    };
    const view = requestModal(
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
    later('open request modal', () => slack.openView(triggerId, view));
    return {};
  }

  async function command(fields: URLSearchParams, ctx: RequestContext): Promise<SlackAck> {
    const user: SlackUser = { id: fields.get('user_id') ?? '', teamId: fields.get('team_id') };
    if (!user.id) throw new DomainError('validation_failed', 'A slash command names its user');
    const technician = await technicianFor(user);
    if (!technician) return ephemeral(unknownUserText);
    if (technician.status !== 'active') return ephemeral('Your Stint account is suspended.');
    const parsed = parseCommand(fields.get('text') ?? '');
    switch (parsed.kind) {
      case 'help':
        return ephemeral(`${parsed.unknown ? `Unknown command \`${escape(parsed.unknown)}\`.\n` : ''}${helpText()}`);
      case 'usage':
        return ephemeral(parsed.message);
      case 'list':
        return ephemeral(await listText(technician));
      case 'revoke':
        return revokeCommand(technician, user, parsed.id, ctx);
      case 'request':
        return requestCommand(technician, parsed, fields.get('trigger_id') ?? '');
    }
  }

  // ---- Buttons ----------------------------------------------------------------------------------

  /** Approve/Deny clicked: check what can be checked at once, then open the TOTP modal. */
  async function decisionClicked(
    payload: Record<string, unknown>,
    user: SlackUser,
    decision: 'approve' | 'deny',
    elevationId: string,
  ): Promise<SlackAck> {
    const channel =
      (payload.channel as { id?: string } | undefined)?.id ?? (payload.container as { channel_id?: string } | undefined)?.channel_id;
    const tell = (text: string): SlackAck => {
      if (channel) later('ephemeral reply', () => slack.postEphemeral(channel, user.id, { text }));
      return {};
    };
    const technician = await technicianFor(user);
    if (!technician) return tell(unknownUserText);
    let e: Elevation;
    try {
      e = await elevations.get(technician, elevationId);
    } catch {
      return tell('That request does not exist, or it is not yours to decide.');
    }
    if (e.technicianId === technician.id) return tell('Nobody approves or denies their own request.');
    const round = openRound(e);
    if (round === null) return tell(`That request has already been decided (it is ${e.state.replace('_', ' ')}).`);
    if (e.approverIds.length > 0 && !e.approverIds.includes(technician.id))
      return tell('You are not one of the approvers of that request.');
    const earlier = e.decisions.find((d) => d.round === round && d.approverId === technician.id);
    if (earlier)
      return tell(`You have already ${earlier.decision === 'approve' ? 'approved' : 'denied'} that request; a decision counts once.`);
    const state: ModalState = { k: 'decide', elevationId: e.id, decision };
    const view = decideModal(e, decision, await tenantName(e.tenantId), await peopleOf(e), JSON.stringify(state));
    later('open decision modal', () => slack.openView(String(payload.trigger_id ?? ''), view));
    return {};
  }

  // ---- Modal submissions ----------------------------------------------------------------------

  /**
   * Runs the use case and answers Slack with its outcome when it is done within the budget: a
   * refusal about an input (a wrong or replayed code, a bad ticket) is shown beside that input,
   * and the modal stays open; any other outcome replaces the modal. When the use case takes
   * longer (the directory is slow), the modal says it is under way and is updated when it is done.
   */
  async function answerSubmission(view: Record<string, unknown>, title: string, work: Promise<string>): Promise<SlackAck> {
    const outcome = work.then(
      (message) => ({ ok: true as const, message }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    const timer = new Promise<null>((resolve) => setTimeout(() => resolve(null), submissionBudgetMs).unref());
    const settled = await Promise.race([outcome, timer]);
    const present = (result: Awaited<typeof outcome>): SlackView => {
      if (result.ok) return noticeModal(title, result.message);
      if (result.error instanceof DomainError) return noticeModal(title, `:no_entry: ${escape(result.error.message)}`);
      return noticeModal(title, ':warning: Something went wrong; Stint logged it. Check `/stint list` before trying again.');
    };
    if (settled === null) {
      const viewId = String(view.id ?? '');
      later('finish submission', async () => {
        const result = await outcome;
        if (!result.ok && !(result.error instanceof DomainError))
          log.error({ err: (result.error as Error).message }, 'Slack submission failed');
        await slack.updateView(viewId, present(result));
      });
      return {
        body: {
          response_action: 'update',
          view: noticeModal(title, ':hourglass_flowing_sand: Working on it… this window will show the outcome.'),
        },
      };
    }
    if (!settled.ok && settled.error instanceof DomainError) {
      const field = fieldOf(settled.error, blockIds(view));
      if (field) return { body: { response_action: 'errors', errors: { [field]: settled.error.message } } };
    } else if (!settled.ok) {
      log.error({ err: (settled.error as Error).message }, 'Slack submission failed');
    }
    return { body: { response_action: 'update', view: present(settled) } };
  }

  async function submitted(payload: Record<string, unknown>, user: SlackUser, ctx: RequestContext): Promise<SlackAck> {
    const view = (payload.view as Record<string, unknown> | undefined) ?? {};
    let state: ModalState;
    try {
      state = JSON.parse(String(view.private_metadata ?? '')) as ModalState;
    } catch {
      return {};
    }
    const technician = await technicianFor(user);
    if (!technician) return { body: { response_action: 'update', view: noticeModal('Stint', unknownUserText) } };
    const code = inputValue(view, inputBlocks.code) ?? '';
    if (state.k === 'request' && view.callback_id === callbackIds.request) {
      const justification = inputValue(view, inputBlocks.justification);
      const ticket = inputValue(view, inputBlocks.ticket);
      await auditSlack(
        technician,
        user,
        'request',
        { profile: state.profile, durationSeconds: state.durationSeconds ?? null },
        ctx,
        state.tenant,
      );
      const work = elevations
        .request(
          technician,
          { tenantId: state.tenant, profile: state.profile, durationSeconds: state.durationSeconds, justification, ticket, code },
          ctx,
        )
        .then(describeRequestOutcome);
      return answerSubmission(view, 'Request access', work);
    }
    if (state.k === 'decide' && view.callback_id === callbackIds.decide) {
      const reason = inputValue(view, inputBlocks.reason);
      await auditSlack(technician, user, state.decision, { elevationId: state.elevationId }, ctx);
      const work = (
        state.decision === 'approve'
          ? elevations.approve(technician, state.elevationId, code, ctx)
          : elevations.deny(technician, state.elevationId, code, reason ?? null, ctx)
      ).then(async (e) => describeDecisionOutcome(e, state.decision, await peopleOf(e)));
      return answerSubmission(view, state.decision === 'approve' ? 'Approve request' : 'Deny request', work);
    }
    return {};
  }

  async function interaction(payload: Record<string, unknown>, ctx: RequestContext): Promise<SlackAck> {
    const slackUser = payload.user as { id?: unknown; team_id?: unknown } | undefined;
    const team = payload.team as { id?: unknown } | undefined;
    const user: SlackUser = {
      id: typeof slackUser?.id === 'string' ? slackUser.id : '',
      teamId: typeof team?.id === 'string' ? team.id : typeof slackUser?.team_id === 'string' ? slackUser.team_id : null,
    };
    if (!user.id) throw new DomainError('validation_failed', 'An interaction names its user');
    switch (payload.type) {
      case 'block_actions': {
        const action = (payload.actions as Array<{ action_id?: unknown; value?: unknown }> | undefined)?.[0];
        const decision = action?.action_id === actionIds.approve ? 'approve' : action?.action_id === actionIds.deny ? 'deny' : null;
        if (!decision || typeof action?.value !== 'string') return {};
        return decisionClicked(payload, user, decision, action.value);
      }
      case 'view_submission':
        return submitted(payload, user, ctx);
      default:
        // view_closed and anything else Slack may send: acknowledged, nothing to do.
        return {};
    }
  }

  return {
    /**
     * One request from Slack: verified (401 otherwise), a replay answered with an empty 200 and
     * nothing done, then the slash command or the interaction.
     */
    async receive(kind: 'command' | 'interaction', request: SlackSignedRequest, ctx: RequestContext): Promise<SlackAck> {
      if ((await verifier.verify(request)) === 'replayed') {
        log.warn({ requestId: ctx.requestId }, 'replayed Slack request ignored');
        return {};
      }
      const fields = new URLSearchParams(request.rawBody.toString('utf8'));
      if (kind === 'command') return command(fields, ctx);
      let payload: unknown;
      try {
        payload = JSON.parse(fields.get('payload') ?? '');
      } catch {
        throw new DomainError('validation_failed', 'An interaction carries a JSON payload');
      }
      if (typeof payload !== 'object' || payload === null)
        throw new DomainError('validation_failed', 'An interaction carries a JSON payload');
      return interaction(payload as Record<string, unknown>, ctx);
    },

    /** Resolves once the work started after answering Slack is done (shutdown, tests). */
    async idle(): Promise<void> {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
