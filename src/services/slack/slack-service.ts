// Stint in Slack (docs/architecture.md, Slack): the `/stint` slash command (command.ts) and the
// interactions (interactions.ts: Approve/Deny buttons, the TOTP modals). Every request is verified
// before anything else; Slack users map to technicians by their stored Slack user id; Slack is
// answered within its 3 s, and the slow work (LDAP, approvals) carries on afterwards, its outcome
// shown in the modal or sent as a DM. The elevation use cases do the deciding and audit it; this
// context adds a `slack.interaction` audit event naming the Slack user, written before the use case
// runs, with the same request id. What Slack shows is drawn by the SlackViews port.
import { DomainError } from '../../domain/errors.ts';
import type { RequestContext } from '../context.ts';
import type { SlackSignedRequest } from '../ports/slack.ts';
import { command } from './command.ts';
import { interaction } from './interactions.ts';
import type { SlackAck, SlackContext, SlackServiceDeps } from './slack-context.ts';

export interface SlackService {
  /**
   * One request from Slack: verified (401 otherwise), a replay answered with an empty 200 and
   * nothing done, then the slash command or the interaction.
   */
  receive(kind: 'command' | 'interaction', request: SlackSignedRequest, ctx: RequestContext): Promise<SlackAck>;
  /** Resolves once the work started after answering Slack is done (shutdown, tests). */
  idle(): Promise<void>;
}

export function createSlackService(deps: SlackServiceDeps): SlackService {
  const inFlight = new Set<Promise<void>>();
  const context: SlackContext = { ...deps, later: (what, work) => later(deps, inFlight, what, work) };
  return {
    receive: (kind, request, ctx) => receive(context, kind, request, ctx),
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}

/** Work that goes on after Slack has been answered; its failures are logged, never lost silently. */
function later(deps: SlackServiceDeps, inFlight: Set<Promise<void>>, what: string, work: () => Promise<unknown>): void {
  const running: Promise<void> = work()
    .then(() => undefined)
    .catch((error: unknown) => deps.log.error({ err: (error as Error).message, work: what }, 'Slack follow-up failed'))
    .finally(() => inFlight.delete(running));
  inFlight.add(running);
}

async function receive(
  deps: SlackContext,
  kind: 'command' | 'interaction',
  request: SlackSignedRequest,
  ctx: RequestContext,
): Promise<SlackAck> {
  if ((await deps.verifier.verify(request)) === 'replayed') {
    deps.log.warn({ requestId: ctx.requestId }, 'replayed Slack request ignored');
    return {};
  }
  const fields = new URLSearchParams(request.rawBody.toString('utf8'));
  if (kind === 'command') return command(deps, fields, ctx);
  let payload: unknown;
  try {
    payload = JSON.parse(fields.get('payload') ?? '');
  } catch {
    throw new DomainError('validation_failed', 'An interaction carries a JSON payload');
  }
  if (typeof payload !== 'object' || payload === null) throw new DomainError('validation_failed', 'An interaction carries a JSON payload');
  return interaction(deps, payload as Record<string, unknown>, ctx);
}
