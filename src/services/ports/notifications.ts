// Notices to technicians and approvers (Slack where configured).
/**
 * What happened to an elevation, for the people who should hear about it (Slack DMs, approval
 * messages, the alert channel). Ids only: the notifier reads the rest from the store. Publishing
 * queues the notice; it never blocks or fails the change it reports.
 */
export type Notice =
  | { kind: 'approval_requested'; elevationId: string }
  | { kind: 'decided'; elevationId: string; approverId: string; decision: 'approve' | 'deny' }
  | { kind: 'activated'; elevationId: string }
  | { kind: 'extended'; elevationId: string }
  | { kind: 'ended'; elevationId: string }
  | { kind: 'review_completed'; reviewId: string }
  | {
      kind: 'alert';
      alert: 'mfa_lockout' | 'revocation_overdue' | 'kill_switch' | 'risk' | 'siem_backlog' | 'drift';
      subject: string;
      details: Record<string, string | number>;
    };

export interface Notifications {
  publish(notices: readonly Notice[]): Promise<void>;
}

/** The "your access ends soon" reminder: one per elevation, moved when the grant is extended. */
export interface ExpiryWarnings {
  schedule(elevationId: string, at: Date): Promise<void>;
  cancel(elevationId: string): Promise<void>;
}
