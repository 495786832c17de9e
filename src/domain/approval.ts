// Approval rules (docs/architecture.md, Approvals): N approvals from a named set of approvers; the requester never
// approves their own request; one approver counts once; one deny ends it; no answer within the
// timeout ends it `cancelled`. An extension may ask for approval again (docs/architecture.md, Extending a grant): each round of
// decisions is counted on its own.
import { DomainError } from './errors.ts';
import type { Role } from './roles.ts';

export interface ApprovalRule {
  /** 0: granted without approval. */
  required: number;
  /** Technician ids who may approve; empty: any approver of the tenant. */
  approvers: string[];
  timeoutSeconds: number;
  /** Extensions need the same approvals again. */
  reapproveExtensions: boolean;
}

export const defaultApprovalTimeoutSeconds = 3600;
export const noApproval: ApprovalRule = {
  required: 0,
  approvers: [],
  timeoutSeconds: defaultApprovalTimeoutSeconds,
  reapproveExtensions: false,
};

export type DecisionKind = 'approve' | 'deny';

export interface Decision {
  /** 0: the request; n: the n-th extension. */
  round: number;
  approverId: string;
  decision: DecisionKind;
  reason: string | null;
  at: Date;
}

export interface Approver {
  id: string;
  roles: readonly Role[];
  approverTenants: readonly string[];
  status: string;
}

/** Whether `approver` may decide on a request by `requesterId` in `tenantId`; throws why not. */
export function assertMayDecide(
  approver: Approver,
  request: { tenantId: string; technicianId: string; approverIds: readonly string[] },
): void {
  const approvesTenant = approver.roles.includes('approver') && approver.approverTenants.includes(request.tenantId);
  if (!approvesTenant || (request.approverIds.length > 0 && !request.approverIds.includes(approver.id))) {
    throw new DomainError('forbidden', 'You are not an approver for this request');
  }
  if (approver.id === request.technicianId) {
    throw new DomainError('self_approval', 'Nobody approves their own request');
  }
  if (approver.status !== 'active') throw new DomainError('technician_suspended', 'A suspended approver cannot decide');
}

export type Tally = { outcome: 'approved' | 'denied' | 'waiting'; approvals: number };

/** The outcome of one round: a deny ends it; `required` distinct approvals grant it. */
export function tally(decisions: readonly Decision[], round: number, required: number): Tally {
  const mine = decisions.filter((d) => d.round === round);
  if (mine.some((d) => d.decision === 'deny')) return { outcome: 'denied', approvals: 0 };
  const approvals = new Set(mine.filter((d) => d.decision === 'approve').map((d) => d.approverId)).size;
  return { outcome: approvals >= required ? 'approved' : 'waiting', approvals };
}

export function assertApprovalRule(rule: ApprovalRule): void {
  if (!Number.isInteger(rule.required) || rule.required < 0 || rule.required > 10) {
    throw new DomainError('validation_failed', 'Between 0 and 10 approvals may be required', { field: 'approval.required' });
  }
  if (rule.approvers.length > 0 && rule.approvers.length < rule.required) {
    throw new DomainError('validation_failed', 'Fewer named approvers than required approvals: no request could ever be approved', {
      field: 'approval.approvers',
    });
  }
  if (!Number.isInteger(rule.timeoutSeconds) || rule.timeoutSeconds < 60 || rule.timeoutSeconds > 7 * 24 * 3600) {
    throw new DomainError('validation_failed', 'The approval timeout is between 60 seconds and 7 days', {
      field: 'approval.timeoutSeconds',
    });
  }
}
