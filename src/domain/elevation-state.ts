// The elevation state machine (docs/architecture.md, Words): its states, why a grant ended, and the
// only transitions there are.
import { DomainError } from './errors.ts';

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
