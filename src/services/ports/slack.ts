// Slack's Web API and request signatures, as the Slack use cases see them.
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
