// The elevation as the API presents it, and how a page names its state (in words, not colour).
export interface Elevation {
  id: string;
  tenantId: string;
  profile: string;
  technicianId: string;
  account: string;
  groups: Array<{ dn: string; name: string }>;
  state: string;
  durationSeconds: number;
  justification: string | null;
  ticket: string | null;
  requestedAt: string;
  activatedAt: string | null;
  endsAt: string | null;
  endedAt: string | null;
  revocationReason: string | null;
  failureReason: string | null;
  approval: {
    required: number;
    approvers: string[];
    deadline: string | null;
    decisions: Array<{ round: number; approverId: string; decision: string; at: string }>;
  };
  clampedToWindowEnd: string | null;
  extendedSeconds: number;
  pendingExtension: { seconds: number; round: number; requestedAt: string; deadline: string } | null;
  risk: { score: number; reasons: Array<{ signal: string; points: number; detail: string }> } | null;
}

const stateNames: Record<string, string> = {
  pending_approval: 'Waiting for approval',
  activating: 'Activating',
  active: 'Active',
  revoking: 'Ending',
  expired: 'Expired',
  revoked: 'Revoked',
  denied: 'Denied',
  cancelled: 'Cancelled',
  failed: 'Failed',
};

export const stateName = (state: string) => stateNames[state] ?? state;

/** The account's own name (CN) from its DN, for people rather than machines. */
export const accountName = (dn: string) => /^CN=((?:\\,|[^,])+)/i.exec(dn)?.[1]?.replace(/\\,/g, ',') ?? dn;
