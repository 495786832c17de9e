// Tells people in Slack what happened to an elevation (the notifications worker calls this with the
// notices the Notifications port queued): the approval message with Approve/Deny buttons in the
// tenant's approval channel and in each eligible approver's DM, updated in place as decisions come
// in; DMs to the requester on activation, before the end, on extension and when it ends; alerts to
// the alert channel. Everything is rendered (by the SlackViews port) from the store at the time of
// sending, so a late or repeated notice shows the current truth.
import type { Decision } from '../../domain/approval.ts';
import { openRound } from '../../domain/decision-round.ts';
import type { Elevation } from '../../domain/elevation.ts';
import { hasAnyRole } from '../../domain/roles.ts';
import type { ExpiryWarnings, Notice } from '../ports/notifications.ts';
import type { Clock, EventLog } from '../ports/runtime.ts';
import type { People, SlackApi, SlackApprovalMessages, SlackMessage, SlackViews } from '../ports/slack.ts';
import type { Store } from '../ports/store.ts';
import type { TechnicianRecord } from '../ports/technicians.ts';

export interface SlackNotices {
  /** Sends what one notice means to Slack; a retry skips approval messages already posted. */
  deliver(notice: Notice): Promise<void>;
  /**
   * The delayed reminder: sent while the grant is active and about to end. A grant extended
   * since the reminder was queued answers how much later to try again instead.
   */
  warnExpiring(elevationId: string): Promise<{ outcome: 'sent' | 'skipped' } | { outcome: 'later'; delayMs: number }>;
}

export interface SlackNoticesDeps {
  store: Pick<Store, 'technicians' | 'tenants' | 'elevations' | 'reviews'>;
  clock: Clock;
  slack: SlackApi;
  views: SlackViews;
  messages: SlackApprovalMessages;
  warnings: ExpiryWarnings;
  alertChannel: string | null;
  warnBeforeMs: number;
  /** Where the web UI is, for links in messages (optional). */
  publicUrl?: string | null;
  log: EventLog;
}

/** A reminder that fires this much early still counts as on time. */
const warningToleranceMs = 5000;

export function createSlackNotices(deps: SlackNoticesDeps): SlackNotices {
  return {
    deliver: (notice) => deliver(deps, notice),
    warnExpiring: (elevationId) => warnExpiring(deps, elevationId),
  };
}

async function deliver(deps: SlackNoticesDeps, notice: Notice): Promise<void> {
  if (notice.kind === 'alert') {
    if (!deps.alertChannel) {
      deps.log.warn({ alert: notice.alert, subject: notice.subject }, 'alert not sent to Slack: no slack.alertChannel configured');
      return;
    }
    await deps.slack.postMessage(deps.alertChannel, deps.views.alertMessage(notice.alert, notice.subject, notice.details));
    return;
  }
  if (notice.kind === 'review_completed') return summariseReview(deps, notice.reviewId);
  const e = await deps.store.elevations.findById(notice.elevationId);
  if (!e) return;
  switch (notice.kind) {
    case 'approval_requested':
      return askApprovers(deps, e);
    case 'decided':
      return refresh(deps, e);
    case 'activated':
      await dmRequester(deps, e, e.state === 'active' ? deps.views.activatedDm(e, await tenantName(deps, e.tenantId)) : null);
      await scheduleWarning(deps, e);
      return refresh(deps, e);
    case 'extended':
      await dmRequester(deps, e, e.state === 'active' ? deps.views.extendedDm(e, await tenantName(deps, e.tenantId)) : null);
      await scheduleWarning(deps, e);
      return refresh(deps, e);
    case 'ended':
      await deps.warnings.cancel(e.id);
      await dmRequester(deps, e, deps.views.endedDm(e, await tenantName(deps, e.tenantId), await peopleOf(deps, e)));
      return refresh(deps, e);
  }
}

async function warnExpiring(
  deps: SlackNoticesDeps,
  elevationId: string,
): Promise<{ outcome: 'sent' | 'skipped' } | { outcome: 'later'; delayMs: number }> {
  const e = await deps.store.elevations.findById(elevationId);
  if (!e || e.state !== 'active' || !e.endsAt) return { outcome: 'skipped' };
  const now = deps.clock.now();
  const due = e.endsAt.getTime() - deps.warnBeforeMs;
  if (due - now.getTime() > warningToleranceMs) return { outcome: 'later', delayMs: due - now.getTime() };
  if (e.endsAt.getTime() <= now.getTime()) return { outcome: 'skipped' };
  await dmRequester(deps, e, deps.views.expiringDm(e, await tenantName(deps, e.tenantId), now));
  return { outcome: 'sent' };
}

async function people(deps: SlackNoticesDeps, ids: readonly string[]): Promise<People> {
  const map = new Map<string, string>();
  for (const id of new Set(ids)) {
    const t = await deps.store.technicians.findById(id);
    map.set(id, t?.displayName ?? t?.username ?? 'someone');
  }
  return { name: (id) => map.get(id) ?? 'someone' };
}

const peopleOf = (deps: SlackNoticesDeps, e: Elevation) =>
  people(deps, [e.technicianId, ...e.decisions.map((d: Decision) => d.approverId)]);
const tenantName = async (deps: SlackNoticesDeps, tenantId: string) =>
  (await deps.store.tenants.findById(tenantId))?.displayName ?? tenantId;

/** Active approvers who may decide this request and can be reached in Slack; never the requester. */
async function reachableApprovers(deps: SlackNoticesDeps, e: Elevation): Promise<TechnicianRecord[]> {
  const all = await deps.store.technicians.list();
  return all.filter(
    (t) =>
      t.slackUserId !== null &&
      t.id !== e.technicianId &&
      t.status === 'active' &&
      hasAnyRole(t.roles, ['approver']) &&
      t.approverTenants.includes(e.tenantId) &&
      (e.approverIds.length === 0 || e.approverIds.includes(t.id)),
  );
}

async function dmRequester(deps: SlackNoticesDeps, e: Elevation, message: SlackMessage | null): Promise<void> {
  if (!message) return;
  const requester = await deps.store.technicians.findById(e.technicianId);
  if (!requester?.slackUserId) return;
  await deps.slack.postMessage(requester.slackUserId, message);
}

/** Posts the open round's approval message wherever it has not been posted yet (a retry skips what was sent). */
async function askApprovers(deps: SlackNoticesDeps, e: Elevation): Promise<void> {
  const round = openRound(e);
  if (round === null) return refresh(deps, e);
  const tenant = await deps.store.tenants.findById(e.tenantId);
  const message = deps.views.approvalMessage(e, round, tenant?.displayName ?? e.tenantId, await peopleOf(deps, e));
  const sent = new Set((await deps.messages.list(e.id)).filter((m) => m.round === round).map((m) => m.target));
  const targets = [
    ...(tenant?.slackChannel ? [tenant.slackChannel] : []),
    ...(await reachableApprovers(deps, e)).map((t) => t.slackUserId!),
  ];
  if (targets.length === 0)
    deps.log.warn(
      { elevationId: e.id, tenantId: e.tenantId },
      'nobody to ask for approval in Slack: no approval channel and no approver with a Slack id',
    );
  for (const target of targets) {
    if (sent.has(target)) continue;
    const posted = await deps.slack.postMessage(target, message);
    await deps.messages.remember(e.id, { round, target, channel: posted.channel, ts: posted.ts });
  }
}

/** Redraws every approval message of the elevation from what the store says now. */
async function refresh(deps: SlackNoticesDeps, e: Elevation): Promise<void> {
  const posted = await deps.messages.list(e.id);
  if (posted.length === 0) return;
  const name = await tenantName(deps, e.tenantId);
  const who = await peopleOf(deps, e);
  for (const m of posted) await deps.slack.updateMessage(m.channel, m.ts, deps.views.approvalMessage(e, m.round, name, who));
}

/** The review summary goes to the alert channel and to the tenant's own channel, where there are. */
async function summariseReview(deps: SlackNoticesDeps, reviewId: string): Promise<void> {
  const review = await deps.store.reviews.findById(reviewId);
  if (!review) return;
  const tenant = await deps.store.tenants.findById(review.tenantId);
  const targets = [...new Set([deps.alertChannel, tenant?.slackChannel ?? null].filter((c): c is string => c !== null))];
  if (targets.length === 0) {
    deps.log.warn({ reviewId, tenantId: review.tenantId }, 'review summary not sent to Slack: no alert channel and no tenant channel');
    return;
  }
  const message = deps.views.reviewSummaryMessage(
    review,
    tenant?.displayName ?? review.tenantId,
    await deps.store.reviews.findings(reviewId),
    deps.publicUrl ? `${deps.publicUrl.replace(/\/$/, '')}/app/reviews?id=${review.id}` : null,
  );
  for (const channel of targets) await deps.slack.postMessage(channel, message);
}

async function scheduleWarning(deps: SlackNoticesDeps, e: Elevation): Promise<void> {
  if (e.state !== 'active' || !e.endsAt) return;
  const at = new Date(e.endsAt.getTime() - deps.warnBeforeMs);
  // A grant shorter than the warning gets none: its activation DM already says when it ends.
  if (at.getTime() <= deps.clock.now().getTime()) return deps.warnings.cancel(e.id);
  await deps.warnings.schedule(e.id, at);
}
