// What Stint shows in Slack, as Block Kit (the SlackViews port, src/services/ports/slack.ts): the
// approval message with its Approve/Deny buttons, the TOTP modals, the results shown in a modal, the
// replies to `/stint`, and the DMs. Pure functions of what the store holds; times are written with
// Slack's date token so each reader sees their own time zone.
import type { Decision } from '../../domain/approval.ts';
import { openRound } from '../../domain/decision-round.ts';
import type { RiskAssessment } from '../../domain/risk.ts';
import type { Elevation } from '../../domain/elevation.ts';
import type { Review, StoredFinding } from '../../services/ports/reviews.ts';
import {
  actionIds,
  callbackIds,
  inputBlocks,
  type People,
  type RequestModalInput,
  type SlackBlock,
  type SlackMessage,
  type SlackView,
  type SlackViews,
} from '../../services/ports/slack.ts';

const shortId = (id: string) => id.slice(0, 8);

/** Slack escapes: &, <, > are control characters in mrkdwn and must be written as entities. */
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A time in the reader's own time zone, with the ISO time as the fallback. */
function when(at: Date): string {
  return `<!date^${Math.floor(at.getTime() / 1000)}^{date_short_pretty} at {time}|${at.toISOString()}>`;
}

function duration(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds >= 3600) {
    const h = Math.floor(seconds / 3600);
    const m = Math.round((seconds % 3600) / 60);
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

const text = (t: string): SlackBlock => ({ type: 'section', text: { type: 'mrkdwn', text: t } });
const context = (t: string): SlackBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text: t }] });
const plain = (t: string) => ({ type: 'plain_text', text: t });

function decisionsIn(e: Elevation, round: number): Decision[] {
  return e.decisions.filter((d) => d.round === round);
}

function outcome(e: Elevation, round: number, people: People): string {
  const mine = decisionsIn(e, round);
  const denial = mine.find((d) => d.decision === 'deny');
  const approvers = [...new Set(mine.filter((d) => d.decision === 'approve').map((d) => people.name(d.approverId)))];
  if (denial) return `:x: Denied by *${escape(people.name(denial.approverId))}*${denial.reason ? `: ${escape(denial.reason)}` : ''}`;
  const approved = approvers.length ? `:white_check_mark: Approved by ${approvers.map((a) => `*${escape(a)}*`).join(', ')}` : '';
  if (round > 0) return approved || 'Closed without a decision';
  switch (e.state) {
    case 'cancelled':
      return `:no_entry_sign: Cancelled${e.failureReason ? `: ${escape(e.failureReason)}` : ''}`;
    case 'activating':
      return `${approved} · activating`;
    case 'active':
      return `${approved} · active until ${when(e.endsAt!)}`;
    case 'revoking':
    case 'expired':
    case 'revoked':
      return `${approved} · ended (${e.revocationReason ?? e.state})`;
    case 'failed':
      return `${approved} · activation failed: ${escape(e.failureReason ?? 'unknown reason')}`;
    default:
      return approved || e.state;
  }
}

/** The score with its reasons, e.g. "65/100: fan-out +60 (…), first in tenant +20 (…)". */
function riskSummary(risk: RiskAssessment): string {
  const reasons = risk.reasons.map((r) => `${r.signal.replace(/_/g, ' ')} +${r.points} (${escape(r.detail)})`);
  return `${risk.score}/100${reasons.length ? `: ${reasons.join(', ')}` : ''}`;
}

/** The message approvers see in the tenant's channel and in their DMs, for one decision round. */
function approvalMessage(e: Elevation, round: number, tenantName: string, people: People): SlackMessage {
  const requester = escape(people.name(e.technicianId));
  const what =
    round === 0
      ? `*${requester}* asks for *${escape(e.profileName)}* in *${escape(tenantName)}* for *${duration(e.durationSeconds)}*`
      : `*${requester}* asks to extend *${escape(e.profileName)}* in *${escape(tenantName)}* by *${duration(e.extension?.round === round ? e.extension.seconds : 0)}*`;
  const fields = [
    { type: 'mrkdwn', text: `*Groups*\n${e.groups.map((g) => escape(g.name)).join(', ') || '—'}` },
    { type: 'mrkdwn', text: `*Justification*\n${e.justification ? escape(e.justification) : '—'}` },
    { type: 'mrkdwn', text: `*Ticket*\n${e.ticket ? escape(e.ticket) : '—'}` },
  ];
  if (e.risk) fields.push({ type: 'mrkdwn', text: `*Risk*\n${riskSummary(e.risk)}` });
  const blocks: SlackBlock[] = [text(what), { type: 'section', fields }];
  const open = openRound(e) === round;
  if (open) {
    const approvals = new Set(
      decisionsIn(e, round)
        .filter((d) => d.decision === 'approve')
        .map((d) => d.approverId),
    );
    const deadline = round === 0 ? e.approvalDeadline : e.extension?.deadline;
    const by = [...approvals].map((id) => escape(people.name(id))).join(', ');
    blocks.push(
      context(
        `${approvals.size} of ${e.approvalsRequired} approvals${by ? ` (${by})` : ''}${deadline ? ` · cancelled if not approved by ${when(deadline)}` : ''} · request ${shortId(e.id)}`,
      ),
      {
        type: 'actions',
        block_id: `decide-${e.id}-${round}`,
        elements: [
          { type: 'button', action_id: actionIds.approve, text: plain('Approve'), style: 'primary', value: e.id },
          { type: 'button', action_id: actionIds.deny, text: plain('Deny'), style: 'danger', value: e.id },
        ],
      },
    );
  } else {
    blocks.push(context(`${outcome(e, round, people)} · request ${shortId(e.id)}`));
  }
  const summary =
    round === 0
      ? `${people.name(e.technicianId)} asks for ${e.profileName} in ${tenantName}`
      : `${people.name(e.technicianId)} asks to extend ${e.profileName} in ${tenantName}`;
  return { text: open ? `Approval needed: ${summary}` : `${summary}: decided`, blocks };
}

function codeInput(): SlackBlock {
  return {
    type: 'input',
    block_id: inputBlocks.code,
    label: plain('Authenticator code'),
    hint: plain('The 6-digit code your authenticator app shows now for Stint.'),
    element: { type: 'plain_text_input', action_id: inputBlocks.code, min_length: 6, max_length: 8, placeholder: plain('123456') },
  };
}

function requestModal(input: RequestModalInput, privateMetadata: string): SlackView {
  const blocks: SlackBlock[] = [
    text(
      `*${escape(input.profile)}* in *${escape(input.tenantName)}* for *${duration(input.durationSeconds ?? input.defaultDurationSeconds)}*` +
        (input.approvalsRequired > 0
          ? `\nNeeds ${input.approvalsRequired} approval${input.approvalsRequired > 1 ? 's' : ''} before it starts.`
          : ''),
    ),
    codeInput(),
    {
      type: 'input',
      block_id: inputBlocks.justification,
      optional: !input.requireJustification,
      label: plain('Justification'),
      element: {
        type: 'plain_text_input',
        action_id: inputBlocks.justification,
        multiline: true,
        max_length: 1000,
        ...(input.justification && { initial_value: input.justification.slice(0, 1000) }),
      },
    },
  ];
  if (input.ticketPattern) {
    blocks.push({
      type: 'input',
      block_id: inputBlocks.ticket,
      label: plain('Ticket'),
      hint: plain(`Must match ${input.ticketPattern}`.slice(0, 150)),
      element: { type: 'plain_text_input', action_id: inputBlocks.ticket, max_length: 100 },
    });
  }
  return {
    type: 'modal',
    callback_id: callbackIds.request,
    title: plain('Request access'),
    submit: plain('Request'),
    close: plain('Cancel'),
    private_metadata: privateMetadata,
    blocks,
  };
}

function decideModal(e: Elevation, decision: 'approve' | 'deny', tenantName: string, people: People, privateMetadata: string): SlackView {
  const round = openRound(e) ?? 0;
  const blocks: SlackBlock[] = [...approvalMessage(e, round, tenantName, people).blocks!.filter((b) => b.type !== 'actions'), codeInput()];
  if (decision === 'deny') {
    blocks.push({
      type: 'input',
      block_id: inputBlocks.reason,
      optional: true,
      label: plain('Reason'),
      element: { type: 'plain_text_input', action_id: inputBlocks.reason, multiline: true, max_length: 500 },
    });
  }
  return {
    type: 'modal',
    callback_id: callbackIds.decide,
    title: plain(decision === 'approve' ? 'Approve request' : 'Deny request'),
    submit: plain(decision === 'approve' ? 'Approve' : 'Deny'),
    close: plain('Cancel'),
    private_metadata: privateMetadata,
    blocks,
  };
}

/** A modal that only tells something (the outcome of a submission, or that it is under way). */
function noticeModal(title: string, body: string): SlackView {
  return { type: 'modal', title: plain(title.slice(0, 24)), close: plain('Close'), blocks: [text(body)] };
}

function describeRequestOutcome(e: Elevation): string {
  const what = `*${escape(e.profileName)}* in *${escape(e.tenantId)}*`;
  switch (e.state) {
    case 'pending_approval':
      return `Your request for ${what} waits for ${e.approvalsRequired} approval${e.approvalsRequired > 1 ? 's' : ''}. You will get a DM when it is decided. (request ${shortId(e.id)})`;
    case 'active':
      return `:white_check_mark: ${what} is active until ${when(e.endsAt!)}. (request ${shortId(e.id)})`;
    default:
      return `Your request for ${what} is ${e.state.replace('_', ' ')}. (request ${shortId(e.id)})`;
  }
}

function describeDecisionOutcome(e: Elevation, decision: 'approve' | 'deny', people: People): string {
  const whose = `${escape(people.name(e.technicianId))}'s request for *${escape(e.profileName)}* in *${escape(e.tenantId)}*`;
  if (decision === 'deny') return `:x: You denied ${whose}. They have been told.`;
  const round = openRound(e);
  if (round !== null) {
    const approvals = new Set(
      decisionsIn(e, round)
        .filter((d) => d.decision === 'approve')
        .map((d) => d.approverId),
    ).size;
    return `:white_check_mark: You approved ${whose}: ${approvals} of ${e.approvalsRequired} approvals so far.`;
  }
  return `:white_check_mark: You approved ${whose}. ${e.state === 'active' ? `It is active until ${when(e.endsAt!)}.` : `It is ${e.state}.`}`;
}

// ---- DMs to the requester ------------------------------------------------------------------

function activatedDm(e: Elevation, tenantName: string): SlackMessage {
  const body = `:unlock: Your access to *${escape(e.profileName)}* in *${escape(tenantName)}* is active until ${when(e.endsAt!)}.\nGroups: ${e.groups.map((g) => escape(g.name)).join(', ')}`;
  return {
    text: `Access granted: ${e.profileName} in ${tenantName}`,
    blocks: [text(body), context(`request ${shortId(e.id)} · end it early with \`/stint revoke ${shortId(e.id)}\``)],
  };
}

function expiringDm(e: Elevation, tenantName: string, now: Date): SlackMessage {
  const minutes = Math.max(1, Math.round((e.endsAt!.getTime() - now.getTime()) / 60_000));
  const body = `:hourglass_flowing_sand: Your access to *${escape(e.profileName)}* in *${escape(tenantName)}* ends in about ${minutes} min (${when(e.endsAt!)}). Extend it from Stint if you need longer.`;
  return { text: `Access ends soon: ${e.profileName} in ${tenantName}`, blocks: [text(body), context(`request ${shortId(e.id)}`)] };
}

function extendedDm(e: Elevation, tenantName: string): SlackMessage {
  const body = `:arrows_counterclockwise: Your access to *${escape(e.profileName)}* in *${escape(tenantName)}* now ends ${when(e.endsAt!)}.`;
  return { text: `Access extended: ${e.profileName} in ${tenantName}`, blocks: [text(body), context(`request ${shortId(e.id)}`)] };
}

const revocationWords: Record<string, string> = {
  expired: 'has ended: its time is up',
  self: 'has ended: you revoked it',
  admin: 'was revoked by an admin',
  kill_switch: 'was revoked by a kill switch',
  drift: 'was revoked: the directory had changed (drift)',
  policy: 'was revoked by policy',
};

/** The DM for an elevation that reached a final state; null for states nobody needs telling about. */
function endedDm(e: Elevation, tenantName: string, people: People): SlackMessage | null {
  const what = `*${escape(e.profileName)}* in *${escape(tenantName)}*`;
  let body: string;
  switch (e.state) {
    case 'expired':
    case 'revoked':
      body = `:lock: Your access to ${what} ${revocationWords[e.revocationReason ?? (e.state === 'expired' ? 'expired' : 'admin')] ?? 'has ended'}. The membership is gone.`;
      break;
    case 'denied': {
      const denial = e.decisions.find((d) => d.decision === 'deny');
      body = `:x: Your request for ${what} was denied${denial ? ` by *${escape(people.name(denial.approverId))}*` : ''}${denial?.reason ? `: ${escape(denial.reason)}` : '.'}`;
      break;
    }
    case 'cancelled':
      body = `:no_entry_sign: Your request for ${what} was cancelled${e.failureReason ? `: ${escape(e.failureReason)}` : '.'}`;
      break;
    case 'failed':
      body = `:warning: Your access to ${what} could not be activated: ${escape(e.failureReason ?? 'unknown reason')}. Whatever was changed has been undone.`;
      break;
    default:
      return null;
  }
  return { text: `${e.profileName} in ${tenantName}: ${e.state}`, blocks: [text(body), context(`request ${shortId(e.id)}`)] };
}

function alertMessage(alert: string, subject: string, details: Record<string, string | number>): SlackMessage {
  const lines = Object.entries(details).map(([k, v]) => `• ${escape(k)}: ${escape(String(v))}`);
  const body = `:rotating_light: *${escape(alert.replace(/_/g, ' '))}*: ${escape(subject)}${lines.length ? `\n${lines.join('\n')}` : ''}`;
  return { text: `Stint alert: ${alert.replace(/_/g, ' ')}: ${subject}`, blocks: [text(body)] };
}

/** A finished access review: counts by severity and the most severe findings; the rest is in the web UI. */
function reviewSummaryMessage(
  review: Review,
  tenantName: string,
  findings: readonly StoredFinding[],
  reviewUrl: string | null,
): SlackMessage {
  const c = review.counts;
  const incomplete = review.status === 'incomplete';
  const head = `${incomplete ? ':warning:' : c.critical > 0 ? ':rotating_light:' : ':clipboard:'} *Access review of ${escape(tenantName)}*${incomplete ? ' is *incomplete*' : ' finished'} (${review.trigger === 'scheduled' ? 'scheduled' : 'on demand'})`;
  const counts = `critical ${c.critical} · high ${c.high} · medium ${c.medium} · low ${c.low} · info ${c.info}`;
  const top = findings.filter((f) => f.severity === 'critical' || f.severity === 'high').slice(0, 5);
  const lines = top.map((f) => `• *${f.severity}*: ${escape(f.summary)}`);
  const more =
    findings.length > top.length
      ? `\n_${findings.length - top.length} more finding(s)${reviewUrl ? `: <${reviewUrl}|open the review>` : ' in the web UI'}; it awaits an auditor's sign-off._`
      : '';
  return {
    text: `Stint access review of ${tenantName}: ${incomplete ? 'incomplete, ' : ''}${counts}`,
    blocks: [text(`${head}\n${counts}${lines.length ? `\n${lines.join('\n')}` : ''}${more}`)],
  };
}

function help(unknownVerb?: string): string {
  const intro = unknownVerb ? `Unknown command \`${escape(unknownVerb)}\`.\n` : '';
  return `${intro}${[
    '*Stint*: just-in-time admin access to client domains.',
    '`/stint request <tenant> <profile> [duration] [justification…]`: ask for access (duration like `30m`, `2h`, `1h30m`); a modal asks for your authenticator code',
    '`/stint list`: your open requests and grants, and requests waiting for your approval',
    '`/stint revoke <id>`: end one of your grants now (the id from `/stint list`)',
    '`/stint help`: this text',
  ].join('\n')}`;
}

// ---- Replies to `/stint` -------------------------------------------------------------------

function list(mine: readonly Elevation[], waiting: readonly Elevation[], people: People): string {
  const lines: string[] = [];
  lines.push(mine.length ? '*Your open requests and grants*' : 'You have no open requests or grants.');
  for (const e of mine) {
    const until = e.state === 'active' && e.endsAt ? ` until ${when(e.endsAt)}` : '';
    lines.push(`• \`${shortId(e.id)}\` *${escape(e.profileName)}* in *${escape(e.tenantId)}*: ${e.state.replace('_', ' ')}${until}`);
  }
  if (waiting.length) {
    lines.push('*Waiting for your approval*');
    for (const e of waiting)
      lines.push(
        `• \`${shortId(e.id)}\` ${escape(people.name(e.technicianId))}: *${escape(e.profileName)}* in *${escape(e.tenantId)}* for ${duration(e.durationSeconds)}`,
      );
  }
  return lines.join('\n');
}

function revokeNotFound(given: string, matches: number): string {
  return matches
    ? `\`${escape(given)}\` matches more than one grant; give more of the id.`
    : `You have no active grant \`${escape(given)}\`. \`/stint list\` shows yours.`;
}

function revokeStarted(e: Elevation): string {
  return `Revoking \`${shortId(e.id)}\` (*${escape(e.profileName)}* in *${escape(e.tenantId)}*). You will get a DM once the membership is gone.`;
}

function tenantClosed(tenantId: string, why: 'archived' | 'frozen'): string {
  return why === 'archived'
    ? `*${escape(tenantId)}* is archived: it grants no access.`
    : `*${escape(tenantId)}* is frozen by its kill switch: nothing can be requested there until an admin lifts the freeze.`;
}

export const slackViews: SlackViews = {
  approvalMessage,
  requestModal,
  decideModal,
  noticeModal,
  refusal: (message) => `:no_entry: ${escape(message)}`,
  requestOutcome: describeRequestOutcome,
  decisionOutcome: describeDecisionOutcome,
  help,
  list,
  revokeNotFound,
  revokeStarted,
  revokeFailed: (e, message) => `Revoking ${shortId(e.id)} did not complete: ${message}`,
  tenantClosed,
  activatedDm,
  expiringDm,
  extendedDm,
  endedDm,
  alertMessage,
  reviewSummaryMessage,
};
