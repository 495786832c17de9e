// Slack interactions (docs/architecture.md, Slack): the Approve/Deny buttons, which open the TOTP
// modal, and the modal submissions, which run the elevation use case and show its outcome.
import { openRound } from '../../domain/decision-round.ts';
import { DomainError } from '../../domain/errors.ts';
import type { Elevation } from '../../domain/elevation.ts';
import type { RequestContext } from '../context.ts';
import { actionIds, callbackIds, inputBlocks, type SlackView } from '../ports/slack.ts';
import {
  auditSlack,
  peopleOf,
  technicianFor,
  tenantName,
  unknownUserText,
  type ModalState,
  type SlackAck,
  type SlackContext,
  type SlackUser,
} from './slack-context.ts';

/** How long a modal submission may take before Slack is answered and the rest goes on in the background. */
const submissionBudgetMs = 2000;

/** One interaction payload: a button click, a modal submission, or something acknowledged and ignored. */
export async function interaction(deps: SlackContext, payload: Record<string, unknown>, ctx: RequestContext): Promise<SlackAck> {
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
      return decisionClicked(deps, payload, user, decision, action.value);
    }
    case 'view_submission':
      return submitted(deps, payload, user, ctx);
    default:
      // view_closed and anything else Slack may send: acknowledged, nothing to do.
      return {};
  }
}

// ---- Buttons ----------------------------------------------------------------------------------

/** Approve/Deny clicked: check what can be checked at once, then open the TOTP modal. */
async function decisionClicked(
  deps: SlackContext,
  payload: Record<string, unknown>,
  user: SlackUser,
  decision: 'approve' | 'deny',
  elevationId: string,
): Promise<SlackAck> {
  const channel =
    (payload.channel as { id?: string } | undefined)?.id ?? (payload.container as { channel_id?: string } | undefined)?.channel_id;
  const tell = (text: string): SlackAck => {
    if (channel) deps.later('ephemeral reply', () => deps.slack.postEphemeral(channel, user.id, { text }));
    return {};
  };
  const technician = await technicianFor(deps, user);
  if (!technician) return tell(unknownUserText);
  let e: Elevation;
  try {
    e = await deps.elevations.get(technician, elevationId);
  } catch {
    return tell('That request does not exist, or it is not yours to decide.');
  }
  if (e.technicianId === technician.id) return tell('Nobody approves or denies their own request.');
  const round = openRound(e);
  if (round === null) return tell(`That request has already been decided (it is ${e.state.replace('_', ' ')}).`);
  if (e.approverIds.length > 0 && !e.approverIds.includes(technician.id)) return tell('You are not one of the approvers of that request.');
  const earlier = e.decisions.find((d) => d.round === round && d.approverId === technician.id);
  if (earlier)
    return tell(`You have already ${earlier.decision === 'approve' ? 'approved' : 'denied'} that request; a decision counts once.`);
  const state: ModalState = { k: 'decide', elevationId: e.id, decision };
  const view = deps.views.decideModal(e, decision, await tenantName(deps, e.tenantId), await peopleOf(deps, e), JSON.stringify(state));
  deps.later('open decision modal', () => deps.slack.openView(String(payload.trigger_id ?? ''), view));
  return {};
}

// ---- Modal submissions ----------------------------------------------------------------------

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

type Outcome = { ok: true; message: string } | { ok: false; error: unknown };

function present(deps: SlackContext, title: string, result: Outcome): SlackView {
  if (result.ok) return deps.views.noticeModal(title, result.message);
  if (result.error instanceof DomainError) return deps.views.noticeModal(title, deps.views.refusal(result.error.message));
  return deps.views.noticeModal(title, ':warning: Something went wrong; Stint logged it. Check `/stint list` before trying again.');
}

/**
 * Runs the use case and answers Slack with its outcome when it is done within the budget: a
 * refusal about an input (a wrong or replayed code, a bad ticket) is shown beside that input,
 * and the modal stays open; any other outcome replaces the modal. When the use case takes
 * longer (the directory is slow), the modal says it is under way and is updated when it is done.
 */
async function answerSubmission(
  deps: SlackContext,
  view: Record<string, unknown>,
  title: string,
  work: Promise<string>,
): Promise<SlackAck> {
  const outcome = work.then(
    (message): Outcome => ({ ok: true, message }),
    (error: unknown): Outcome => ({ ok: false, error }),
  );
  const timer = deps.clock.sleep(submissionBudgetMs).then(() => null);
  const settled = await Promise.race([outcome, timer]);
  if (settled === null) {
    const viewId = String(view.id ?? '');
    deps.later('finish submission', async () => {
      const result = await outcome;
      if (!result.ok && !(result.error instanceof DomainError))
        deps.log.error({ err: (result.error as Error).message }, 'Slack submission failed');
      await deps.slack.updateView(viewId, present(deps, title, result));
    });
    return {
      body: {
        response_action: 'update',
        view: deps.views.noticeModal(title, ':hourglass_flowing_sand: Working on it… this window will show the outcome.'),
      },
    };
  }
  if (!settled.ok && settled.error instanceof DomainError) {
    const field = fieldOf(settled.error, blockIds(view));
    if (field) return { body: { response_action: 'errors', errors: { [field]: settled.error.message } } };
  } else if (!settled.ok) {
    deps.log.error({ err: (settled.error as Error).message }, 'Slack submission failed');
  }
  return { body: { response_action: 'update', view: present(deps, title, settled) } };
}

async function submitted(deps: SlackContext, payload: Record<string, unknown>, user: SlackUser, ctx: RequestContext): Promise<SlackAck> {
  const view = (payload.view as Record<string, unknown> | undefined) ?? {};
  let state: ModalState;
  try {
    state = JSON.parse(String(view.private_metadata ?? '')) as ModalState;
  } catch {
    return {};
  }
  const technician = await technicianFor(deps, user);
  if (!technician) return { body: { response_action: 'update', view: deps.views.noticeModal('Stint', unknownUserText) } };
  const code = inputValue(view, inputBlocks.code) ?? '';
  if (state.k === 'request' && view.callback_id === callbackIds.request) {
    const justification = inputValue(view, inputBlocks.justification);
    const ticket = inputValue(view, inputBlocks.ticket);
    const { tenant, profile, durationSeconds } = state;
    await auditSlack(deps, technician, user, 'request', { profile, durationSeconds: durationSeconds ?? null }, ctx, tenant);
    const work = deps.elevations
      .request(technician, { tenantId: tenant, profile, durationSeconds, justification, ticket, code }, ctx)
      .then((e) => deps.views.requestOutcome(e));
    return answerSubmission(deps, view, 'Request access', work);
  }
  if (state.k === 'decide' && view.callback_id === callbackIds.decide) {
    const { decision, elevationId } = state;
    const reason = inputValue(view, inputBlocks.reason);
    await auditSlack(deps, technician, user, decision, { elevationId }, ctx);
    const work = (
      decision === 'approve'
        ? deps.elevations.approve(technician, elevationId, code, ctx)
        : deps.elevations.deny(technician, elevationId, code, reason ?? null, ctx)
    ).then(async (e) => deps.views.decisionOutcome(e, decision, await peopleOf(deps, e)));
    return answerSubmission(deps, view, decision === 'approve' ? 'Approve request' : 'Deny request', work);
  }
  return {};
}
