// Slack's Web API, request signatures and rendering, as the Slack use cases see them.
import type { Elevation } from '../../domain/elevation.ts';
import type { Review, StoredFinding } from './reviews.ts';

/** Block Kit JSON, as Slack's API takes it (blocks, modal views). */
export type SlackBlock = Record<string, unknown>;

export type SlackView = Record<string, unknown>;

export interface SlackMessage {
  /** The notification and accessibility text; the blocks are what people see. */
  text: string;
  blocks?: SlackBlock[];
}

/** The few Slack Web API methods Stint uses. Errors carry Slack's own error string. */
export interface SlackApi {
  /** A channel id, or a user id for a DM from the app. */
  postMessage(channel: string, message: SlackMessage): Promise<{ channel: string; ts: string }>;
  updateMessage(channel: string, ts: string, message: SlackMessage): Promise<void>;
  postEphemeral(channel: string, user: string, message: SlackMessage): Promise<void>;
  openView(triggerId: string, view: SlackView): Promise<{ viewId: string }>;
  updateView(viewId: string, view: SlackView): Promise<void>;
}

export interface SlackSignedRequest {
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: Buffer;
}

export interface SlackRequestVerifier {
  /**
   * Throws DomainError `unauthenticated` unless Slack signed this request within 5 minutes of
   * now (either way). Answers `replayed` for a request that passed before: it must change nothing.
   */
  verify(request: SlackSignedRequest): Promise<'fresh' | 'replayed'>;
}

export interface SlackMessageRef {
  channel: string;
  ts: string;
}

export interface SlackApprovalMessage extends SlackMessageRef {
  /** The decision round it asks about (0: the request; n: the n-th extension). */
  round: number;
  /** Where it was sent: the tenant's channel id, or the approver's Slack user id for a DM. */
  target: string;
}

/** Where an elevation's approval messages were posted, so a decision can update them. */
export interface SlackApprovalMessages {
  remember(elevationId: string, message: SlackApprovalMessage): Promise<void>;
  list(elevationId: string): Promise<SlackApprovalMessage[]>;
}

// ---- What Stint shows in Slack (implemented by src/adapters/slack/blocks.ts) --------------------

/**
 * The ids both sides of the Slack protocol agree on: the renderer puts them in the blocks and
 * modals it draws, the Slack use cases read them back from the payloads Slack sends.
 */
export const actionIds = { approve: 'stint_approve', deny: 'stint_deny' } as const;
export const callbackIds = { request: 'stint_request', decide: 'stint_decide' } as const;
/** Block ids of the modals' inputs: errors from a submission are shown against them. */
export const inputBlocks = { code: 'code', justification: 'justification', ticket: 'ticket', reason: 'reason' } as const;

export interface People {
  /** Display name by technician id. */
  name(technicianId: string): string;
}

export interface RequestModalInput {
  tenantId: string;
  tenantName: string;
  profile: string;
  durationSeconds: number | undefined;
  defaultDurationSeconds: number;
  justification: string | undefined;
  requireJustification: boolean;
  ticketPattern: string | null;
  approvalsRequired: number;
}

/**
 * Block Kit and mrkdwn for everything Stint shows in Slack: pure functions of what the store holds
 * (times are written with Slack's date token so each reader sees their own time zone). The Slack use
 * cases decide what to say and to whom; this says how it looks.
 */
export interface SlackViews {
  /** The message approvers see in the tenant's channel and in their DMs, for one decision round. */
  approvalMessage(e: Elevation, round: number, tenantName: string, people: People): SlackMessage;
  /** The TOTP modal of `/stint request`; `privateMetadata` comes back with the submission. */
  requestModal(input: RequestModalInput, privateMetadata: string): SlackView;
  /** The TOTP modal behind Approve/Deny (a reason input for a denial). */
  decideModal(e: Elevation, decision: 'approve' | 'deny', tenantName: string, people: People, privateMetadata: string): SlackView;
  /** A modal that only tells something (the outcome of a submission, or that it is under way). */
  noticeModal(title: string, body: string): SlackView;
  /** A submission refused with this (DomainError) message. */
  refusal(message: string): string;
  /** Where a request stands after it was made. */
  requestOutcome(e: Elevation): string;
  /** Where a request stands after the caller decided on it. */
  decisionOutcome(e: Elevation, decision: 'approve' | 'deny', people: People): string;
  /** `/stint help`, after "Unknown command" when the verb was not one. */
  help(unknownVerb?: string): string;
  /** `/stint list`: the caller's open requests and grants, and those waiting for their approval. */
  list(mine: readonly Elevation[], waiting: readonly Elevation[], people: People): string;
  /** `/stint revoke <id>` when `given` matches no grant (`matches` 0) or several. */
  revokeNotFound(given: string, matches: number): string;
  /** `/stint revoke <id>` accepted; the revocation runs after Slack has its answer. */
  revokeStarted(e: Elevation): string;
  /** The DM when a revocation from Slack did not complete. */
  revokeFailed(e: Elevation, message: string): string;
  /** `/stint request` in a tenant that grants nothing now. */
  tenantClosed(tenantId: string, why: 'archived' | 'frozen'): string;
  /** DMs to the requester. */
  activatedDm(e: Elevation, tenantName: string): SlackMessage;
  expiringDm(e: Elevation, tenantName: string, now: Date): SlackMessage;
  extendedDm(e: Elevation, tenantName: string): SlackMessage;
  /** The DM for an elevation that reached a final state; null for states nobody needs telling about. */
  endedDm(e: Elevation, tenantName: string, people: People): SlackMessage | null;
  alertMessage(alert: string, subject: string, details: Record<string, string | number>): SlackMessage;
  /** A finished access review: counts by severity and the most severe findings; the rest is in the web UI. */
  reviewSummaryMessage(review: Review, tenantName: string, findings: readonly StoredFinding[], reviewUrl: string | null): SlackMessage;
}
