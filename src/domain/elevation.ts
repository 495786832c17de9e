// The elevation state machine and request rules (docs/architecture.md, Words and Requesting).
import { DomainError } from './errors.ts';
import { maxJustificationLength, type AccessProfile } from './profile.ts';
import { assertTicketMatches, maxTicketLength } from './ticket-pattern.ts';

export const elevationStates = [
  'pending_approval',
  'activating',
  'active',
  'revoking',
  'expired',
  'revoked',
  'denied',
  'cancelled',
  'failed',
] as const;
export type ElevationState = (typeof elevationStates)[number];

export const revocationReasons = ['expired', 'self', 'admin', 'kill_switch', 'drift', 'policy'] as const;
export type RevocationReason = (typeof revocationReasons)[number];

const transitions: Record<ElevationState, readonly ElevationState[]> = {
  pending_approval: ['activating', 'denied', 'cancelled'],
  // `revoking`: a kill switch ends a grant mid-activation; its activation then finds it gone and undoes itself.
  activating: ['active', 'failed', 'revoking'],
  active: ['revoking'],
  revoking: ['expired', 'revoked'],
  expired: [],
  revoked: [],
  denied: [],
  cancelled: [],
  failed: [],
};

export function canTransition(from: ElevationState, to: ElevationState): boolean {
  return transitions[from].includes(to);
}

export function assertTransition(from: ElevationState, to: ElevationState): void {
  if (!canTransition(from, to)) throw new DomainError('conflict', `An elevation that is ${from} cannot become ${to}`);
}

export const isFinal = (state: ElevationState) => transitions[state].length === 0;

/** States in which the technician may hold the membership in the directory. */
export const holdingStates: readonly ElevationState[] = ['activating', 'active', 'revoking'];

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
