// An elevation, its value types and the request rules (docs/architecture.md, Words and Requesting);
// its states and their transitions are in elevation-state.ts.
import { DomainError } from './errors.ts';
import { maxJustificationLength, type AccessProfile } from './profile.ts';
import { assertTicketMatches, maxTicketLength } from './ticket-pattern.ts';
import type { Decision } from './approval.ts';
import type { RiskAssessment } from './risk.ts';
import type { ElevationState, RevocationReason } from './elevation-state.ts';

export interface ElevationRequest {
  durationSeconds?: number;
  justification?: string;
  ticket?: string;
}

/** Duration, justification and ticket rules; answers the duration to grant. */
export function checkRequest(profile: AccessProfile, request: ElevationRequest): number {
  const duration = request.durationSeconds ?? profile.defaultDurationSeconds;
  if (!Number.isInteger(duration) || duration <= 0) {
    throw new DomainError('validation_failed', 'The duration must be a positive number of seconds', { field: 'durationSeconds' });
  }
  if (duration > profile.maxDurationSeconds) {
    throw new DomainError('validation_failed', `The longest this profile grants is ${profile.maxDurationSeconds} seconds`, {
      field: 'durationSeconds',
      maxDurationSeconds: profile.maxDurationSeconds,
    });
  }
  const justification = request.justification?.trim() ?? '';
  if (profile.requireJustification && justification.length === 0) {
    throw new DomainError('validation_failed', 'This profile needs a justification', { field: 'justification' });
  }
  if (justification.length > maxJustificationLength) {
    throw new DomainError('validation_failed', `A justification has at most ${maxJustificationLength} characters`, {
      field: 'justification',
    });
  }
  if ((request.ticket ?? '').length > maxTicketLength) {
    throw new DomainError('validation_failed', `A ticket id has at most ${maxTicketLength} characters`, { field: 'ticket' });
  }
  if (profile.ticketPattern !== null) {
    assertTicketMatches(profile.ticketPattern, request.ticket ?? '');
  }
  return duration;
}

export interface ElevationGroup {
  dn: string;
  guid: string;
  name: string;
}

/** What activation changed in the directory, so a failure or a crash can be undone exactly. */
export interface ActivationSteps {
  previousUserAccountControl: number | null;
  previousAccountExpires: string | null;
  /** Base64 of the account's logonHours before its first live grant (null: none set); absent in records from before windows. */
  previousLogonHours?: string | null;
  previousUserWorkstations?: string | null;
  enabled: boolean;
  groupsAdded: string[];
  ttlMembership: boolean;
}

export interface Elevation {
  id: string;
  tenantId: string;
  profileId: string;
  profileName: string;
  technicianId: string;
  accountId: string;
  accountDn: string;
  accountGuid: string;
  groups: ElevationGroup[];
  state: ElevationState;
  durationSeconds: number;
  justification: string | null;
  ticket: string | null;
  requestedAt: Date;
  activatedAt: Date | null;
  endsAt: Date | null;
  endedAt: Date | null;
  revocationReason: RevocationReason | null;
  failureReason: string | null;
  steps: ActivationSteps | null;
  overdueAlertedAt: Date | null;
  updatedAt: Date;
  /** Approvals the request needs (0: none); a snapshot of the profile's rule at request time. */
  approvalsRequired: number;
  /** Who may approve (empty: any approver of the tenant). */
  approverIds: string[];
  /** A request still pending at this time ends `cancelled`. */
  approvalDeadline: Date | null;
  /** Set when the grant was cut short to end with its window: that window's end. */
  windowClosesAt: Date | null;
  /** An extension waiting for approval. */
  extension: PendingExtension | null;
  /** Seconds added by extensions so far. */
  extendedSeconds: number;
  /** Approvers' decisions, every round. */
  decisions: Decision[];
  /** The risk score and its reasons at request time (docs/security-model.md, Risk signals); null for requests from before risk scoring. */
  risk: RiskAssessment | null;
  /** While `activating`: the lease of the process doing it (renewed while it works); null otherwise. */
  lease?: ActivationLease | null;
}

/** Who is activating an elevation, and until when unless renewed (docs/architecture.md, Activation leases). */
export interface ActivationLease {
  holder: string;
  until: Date;
}

export interface PendingExtension {
  seconds: number;
  /** The decision round it is approved in (1 for the first extension, …). */
  round: number;
  requestedAt: Date;
  deadline: Date;
}

/**
 * A revocation job becomes ready this long before its grant's end, and the service waits for the
 * end itself: thousands of delayed jobs due together are promoted before the end, not after it.
 */
export const revocationLeadMs = 1000;
