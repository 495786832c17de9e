// Access profiles: what may be requested in one tenant (docs/architecture.md, Access profiles).
import { assertApprovalRule, type ApprovalRule } from './approval.ts';
import { DomainError } from './errors.ts';
import type { Role } from './roles.ts';
import { assertTicketPattern } from './ticket-pattern.ts';

export interface ProfileGroup {
  dn: string;
  guid: string;
  sid: string;
  name: string;
}

export interface WeeklyWindow {
  /** 0 = Sunday … 6 = Saturday, in the tenant's time zone. */
  days: number[];
  /** "HH:MM", local time. */
  start: string;
  end: string;
}

export type ProfileStatus = 'active' | 'suspended';

export interface AccessProfile {
  id: string;
  tenantId: string;
  name: string;
  description: string;
  groups: ProfileGroup[];
  eligibleTechnicians: string[];
  eligibleRoles: Role[];
  defaultDurationSeconds: number;
  maxDurationSeconds: number;
  /** The longest a grant may run in all, extensions included (default: maxDurationSeconds). */
  maxTotalDurationSeconds: number;
  approval: ApprovalRule;
  windows: WeeklyWindow[];
  workstations: string[];
  requireJustification: boolean;
  ticketPattern: string | null;
  status: ProfileStatus;
  suspendedReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export const profileNamePattern = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
export const maxJustificationLength = 1000;

export function assertProfileRules(p: {
  defaultDurationSeconds: number;
  maxDurationSeconds: number;
  maxTotalDurationSeconds: number;
  approval: ApprovalRule;
  windows: WeeklyWindow[];
  ticketPattern: string | null;
  workstations: string[];
}): void {
  if (p.defaultDurationSeconds > p.maxDurationSeconds) {
    throw new DomainError('validation_failed', 'The default duration is longer than the maximum', { field: 'defaultDurationSeconds' });
  }
  if (p.maxTotalDurationSeconds < p.maxDurationSeconds) {
    throw new DomainError('validation_failed', 'The maximum total (with extensions) is shorter than the maximum duration', {
      field: 'maxTotalDurationSeconds',
    });
  }
  assertApprovalRule(p.approval);
  for (const window of p.windows) {
    if (window.days.length === 0 || window.days.some((d) => !Number.isInteger(d) || d < 0 || d > 6)) {
      throw new DomainError('validation_failed', 'A window names days 0 (Sunday) to 6', { field: 'windows' });
    }
    if (minutesOf(window.start) === null || minutesOf(window.end) === null || minutesOf(window.start)! >= minutesOf(window.end)!) {
      throw new DomainError('validation_failed', 'A window runs from start to a later end, "HH:MM"', { field: 'windows' });
    }
  }
  if (p.ticketPattern !== null) assertTicketPattern(p.ticketPattern);
  for (const ws of p.workstations) {
    if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,14}$/.test(ws)) {
      throw new DomainError('validation_failed', `${ws} is not a NetBIOS computer name`, { field: 'workstations' });
    }
  }
}

export function minutesOf(hhmm: string): number | null {
  const match = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(hhmm);
  if (!match) return null;
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  return minutes <= 24 * 60 ? minutes : null;
}

export function isEligible(profile: AccessProfile, technician: { id: string; roles: readonly Role[] }): boolean {
  return profile.eligibleTechnicians.includes(technician.id) || profile.eligibleRoles.some((r) => technician.roles.includes(r));
}
