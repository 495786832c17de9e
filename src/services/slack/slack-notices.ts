// Tells people in Slack what happened to an elevation (the notifications worker calls this): the
// approval message with Approve/Deny buttons in the tenant's approval channel and in each eligible
// approver's DM, updated in place as decisions come in; DMs to the requester on activation, before
// the end, on extension and when it ends; alerts to the alert channel. Everything is rendered from
// the store at the time of sending, so a late or repeated notice shows the current truth.
import type { Decision } from '../../domain/approval.ts';
import { hasAnyRole } from '../../domain/roles.ts';
import type { Clock, EventLog } from '../ports/runtime.ts';
import type { Elevation } from '../../domain/elevation.ts';
import type { ExpiryWarnings, Notice } from '../ports/notifications.ts';
import type { SlackApi, SlackApprovalMessages } from '../ports/slack.ts';
import type { Store } from '../ports/store.ts';
import type { TechnicianRecord } from '../ports/technicians.ts';
import {
  activatedDm,
  alertMessage,
  approvalMessage,
  endedDm,
  expiringDm,
  extendedDm,
  openRound,
  reviewSummaryMessage,
  type People,
} from './slack-blocks.ts';

export type SlackNotices = ReturnType<typeof createSlackNotices>;

/** A reminder that fires this much early still counts as on time. */
const warningToleranceMs = 5000;

export function createSlackNotices(deps: {
  store: Store;
  clock: Clock;
  slack: SlackApi;
  messages: SlackApprovalMessages;
  warnings: ExpiryWarnings;
  alertChannel: string | null;
  warnBeforeMs: number;
  /** Where the web UI is, for links in messages (optional). */
  publicUrl?: string | null;
  log: EventLog;
}) {
  const { store, clock, slack, messages, warnings, log } = deps;

  async function people(ids: readonly string[]): Promise<People> {
    const map = new Map<string, string>();
    for (const id of new Set(ids)) {
      const t = await store.technicians.findById(id);
      map.set(id, t?.displayName ?? t?.username ?? 'someone');
    }
    return { name: (id) => map.get(id) ?? 'someone' };
  }

  const peopleOf = (e: Elevation) => people([e.technicianId, ...e.decisions.map((d: Decision) => d.approverId)]);
  const tenantName = async (tenantId: string) => (await store.tenants.findById(tenantId))?.displayName ?? tenantId;

  /** Active approvers who may decide this request and can be reached in Slack; never the requester. */
  async function reachableApprovers(e: Elevation): Promise<TechnicianRecord[]> {
    const all = await store.technicians.list();
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

  async function dmRequester(e: Elevation, message: Parameters<SlackApi['postMessage']>[1] | null): Promise<void> {
    if (!message) return;
    const requester = await store.technicians.findById(e.technicianId);
    if (!requester?.slackUserId) return;
    await slack.postMessage(requester.slackUserId, message);
  }

  /** Posts the open round's approval message wherever it has not been posted yet (a retry skips what was sent). */
  async function askApprovers(e: Elevation): Promise<void> {
    const round = openRound(e);
    if (round === null) return refresh(e);
    const tenant = await store.tenants.findById(e.tenantId);
    const message = approvalMessage(e, round, tenant?.displayName ?? e.tenantId, await peopleOf(e));
    const sent = new Set((await messages.list(e.id)).filter((m) => m.round === round).map((m) => m.target));
    const targets = [...(tenant?.slackChannel ? [tenant.slackChannel] : []), ...(await reachableApprovers(e)).map((t) => t.slackUserId!)];
    if (targets.length === 0)
      log.warn(
        { elevationId: e.id, tenantId: e.tenantId },
        'nobody to ask for approval in Slack: no approval channel and no approver with a Slack id',
      );
    for (const target of targets) {
      if (sent.has(target)) continue;
      const posted = await slack.postMessage(target, message);
      await messages.remember(e.id, { round, target, channel: posted.channel, ts: posted.ts });
    }
  }

  /** Redraws every approval message of the elevation from what the store says now. */
  async function refresh(e: Elevation): Promise<void> {
    const posted = await messages.list(e.id);
    if (posted.length === 0) return;
    const name = await tenantName(e.tenantId);
    const who = await peopleOf(e);
    for (const m of posted) await slack.updateMessage(m.channel, m.ts, approvalMessage(e, m.round, name, who));
  }

  /** The review summary goes to the alert channel and to the tenant's own channel, where there are. */
  async function summariseReview(reviewId: string): Promise<void> {
    const review = await store.reviews.findById(reviewId);
    if (!review) return;
    const tenant = await store.tenants.findById(review.tenantId);
    const targets = [...new Set([deps.alertChannel, tenant?.slackChannel ?? null].filter((c): c is string => c !== null))];
    if (targets.length === 0) {
      log.warn({ reviewId, tenantId: review.tenantId }, 'review summary not sent to Slack: no alert channel and no tenant channel');
      return;
    }
    const message = reviewSummaryMessage(
      review,
      tenant?.displayName ?? review.tenantId,
      await store.reviews.findings(reviewId),
      deps.publicUrl ? `${deps.publicUrl.replace(/\/$/, '')}/app/reviews?id=${review.id}` : null,
    );
    for (const channel of targets) await slack.postMessage(channel, message);
  }

  async function scheduleWarning(e: Elevation): Promise<void> {
    if (e.state !== 'active' || !e.endsAt) return;
    const at = new Date(e.endsAt.getTime() - deps.warnBeforeMs);
    // A grant shorter than the warning gets none: its activation DM already says when it ends.
    if (at.getTime() <= clock.now().getTime()) return warnings.cancel(e.id);
    await warnings.schedule(e.id, at);
  }

  return {
    async deliver(notice: Notice): Promise<void> {
      if (notice.kind === 'alert') {
        if (!deps.alertChannel) {
          log.warn({ alert: notice.alert, subject: notice.subject }, 'alert not sent to Slack: no slack.alertChannel configured');
          return;
        }
        await slack.postMessage(deps.alertChannel, alertMessage(notice.alert, notice.subject, notice.details));
        return;
      }
      if (notice.kind === 'review_completed') return summariseReview(notice.reviewId);
      const e = await store.elevations.findById(notice.elevationId);
      if (!e) return;
      switch (notice.kind) {
        case 'approval_requested':
          return askApprovers(e);
        case 'decided':
          return refresh(e);
        case 'activated':
          await dmRequester(e, e.state === 'active' ? activatedDm(e, await tenantName(e.tenantId)) : null);
          await scheduleWarning(e);
          return refresh(e);
        case 'extended':
          await dmRequester(e, e.state === 'active' ? extendedDm(e, await tenantName(e.tenantId)) : null);
          await scheduleWarning(e);
          return refresh(e);
        case 'ended':
          await warnings.cancel(e.id);
          await dmRequester(e, endedDm(e, await tenantName(e.tenantId), await peopleOf(e)));
          return refresh(e);
      }
    },

    /**
     * The delayed reminder: sent while the grant is active and about to end. A grant extended
     * since the reminder was queued answers how much later to try again instead.
     */
    async warnExpiring(elevationId: string): Promise<{ outcome: 'sent' | 'skipped' } | { outcome: 'later'; delayMs: number }> {
      const e = await store.elevations.findById(elevationId);
      if (!e || e.state !== 'active' || !e.endsAt) return { outcome: 'skipped' };
      const now = clock.now();
      const due = e.endsAt.getTime() - deps.warnBeforeMs;
      if (due - now.getTime() > warningToleranceMs) return { outcome: 'later', delayMs: due - now.getTime() };
      if (e.endsAt.getTime() <= now.getTime()) return { outcome: 'skipped' };
      await dmRequester(e, expiringDm(e, await tenantName(e.tenantId), now));
      return { outcome: 'sent' };
    },
  };
}
