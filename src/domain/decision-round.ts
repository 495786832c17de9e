// Which decision round of an elevation is open (docs/architecture.md, Approvals): round 0 while the
// request waits for approval, round n while the n-th extension does; none otherwise.
import type { Elevation } from './elevation.ts';

/** The decision round open for approvers now, or null when nothing waits for a decision. */
export function openRound(e: Pick<Elevation, 'state' | 'extension'>): number | null {
  if (e.state === 'pending_approval') return 0;
  if (e.extension && e.state === 'active') return e.extension.round;
  return null;
}
