// What the elevation use cases decide before they touch anything (docs/architecture.md, A request,
// end to end): pure functions of what was read, so they are tested without a directory or a store.
// Extension plans, the activation plan and its undo, the kill switches' selection and the
// reconciler's decision per grant.
import { toFileTime, withAccountEnabled, isAccountEnabled } from './ad.ts';
import { DomainError } from './errors.ts';
import type { AccessProfile } from './profile.ts';
import type { ActivationSteps, Elevation, ElevationGroup } from './elevation.ts';
import type { ElevationState } from './elevation-state.ts';
import { checkWindow, localTime, logonHoursFor, unionLogonHours } from './windows.ts';

/** The settings of a directory account an elevation changes (the directory's read of it). */
export interface AccountSettings {
  userAccountControl: number;
  accountExpires: string;
  logonHours: Uint8Array | null;
  userWorkstations: string | null;
}

/** What is written to an account (only the fields present). */
export type AccountSettingsChange = Partial<AccountSettings>;

/** What a tenant's rules say about accounts and time. */
export interface TenantRules {
  keepAccountsDisabled: boolean;
  timeZone: string;
}

/** States in which a grant keeps (or is getting) access: what other grants of the account still need. */
export const liveStates: readonly ElevationState[] = ['activating', 'active'];

const refusedWhenClosed = {
  request: (opens: string) => `This profile may be requested only in its windows; the next opens ${opens}`,
  activation: (opens: string) => `The profile's window closed before the grant could start; it opens again ${opens}`,
  extension: () => 'The profile’s window has closed; the grant cannot be extended',
};

/**
 * The profile's window at `at` (docs/architecture.md, Weekly windows), refused `outside_window`
 * when it is closed — on a request, when an approved request is about to start, on an extension.
 * Answers when the open window closes (null: no windows).
 */
export function assertWindowOpen(
  profile: Pick<AccessProfile, 'windows'>,
  timeZone: string,
  at: Date,
  when: keyof typeof refusedWhenClosed,
): { closesAt: Date | null } {
  const window = checkWindow(profile.windows, timeZone, at);
  if (window.open) return { closesAt: window.closesAt };
  throw new DomainError('outside_window', refusedWhenClosed[when](localTime(window.opensAt, timeZone)), {
    opensAt: window.opensAt.toISOString(),
    ...(when === 'request' && { timeZone }),
  });
}

/** Where an extension by `seconds` would end: within the profile's maximum total and the window. */
export function planExtension(
  e: Pick<Elevation, 'activatedAt' | 'endsAt' | 'windowClosesAt'>,
  profile: Pick<AccessProfile, 'maxTotalDurationSeconds' | 'windows'>,
  timeZone: string,
  seconds: number,
  now: Date,
): { endsAt: Date; windowClosesAt: Date | null } {
  if (!Number.isInteger(seconds) || seconds <= 0)
    throw new DomainError('validation_failed', 'An extension is a positive number of seconds', { field: 'durationSeconds' });
  const latest = e.activatedAt!.getTime() + profile.maxTotalDurationSeconds * 1000;
  let endsAt = new Date(e.endsAt!.getTime() + seconds * 1000);
  if (endsAt.getTime() > latest) {
    throw new DomainError(
      'extension_refused',
      `A grant of this profile runs ${profile.maxTotalDurationSeconds} seconds at most in all; this one may run until ${new Date(latest).toISOString()}`,
      {
        maxTotalDurationSeconds: profile.maxTotalDurationSeconds,
        latestEndsAt: new Date(latest).toISOString(),
      },
    );
  }
  let windowClosesAt = e.windowClosesAt;
  const window = assertWindowOpen(profile, timeZone, now, 'extension');
  if (window.closesAt && window.closesAt < endsAt) {
    endsAt = window.closesAt;
    windowClosesAt = window.closesAt;
    if (endsAt.getTime() <= e.endsAt!.getTime()) {
      throw new DomainError('extension_refused', `The window closes ${localTime(window.closesAt, timeZone)}; the grant already ends then`, {
        windowClosesAt: window.closesAt.toISOString(),
      });
    }
  }
  return { endsAt, windowClosesAt };
}

/** The groups (lower-cased DNs) that other live grants of the same account still need: never removed by this one's end. */
export function groupsStillNeeded(others: readonly Pick<Elevation, 'groups'>[]): Set<string> {
  return new Set(others.flatMap((o) => o.groups.map((g) => g.dn.toLowerCase())));
}

/** The groups of `e` whose membership goes with it (those no other live grant needs). */
export function groupsToRemove(e: Pick<Elevation, 'groups'>, needed: ReadonlySet<string>): ElevationGroup[] {
  return e.groups.filter((g) => !needed.has(g.dn.toLowerCase()));
}

/**
 * The account put back once the technician's last live grant in the tenant is gone. Two ways:
 * - `end` (the grant ended: revoked or expired): where accounts are kept disabled it is disabled
 *   (from its flags of now) and expires now; otherwise it expires as before the first grant (never
 *   when that is unknown: '0').
 * - `undo` (an activation failed or was interrupted): exactly what the activation recorded — the
 *   flags as they were (disabled where accounts are kept disabled), the previous accountExpires
 *   where known (else left as it is).
 * Both put the logon hours and workstations back where the activation recorded them.
 */
export function restoredAccount(
  steps: ActivationSteps | null,
  keepAccountsDisabled: boolean,
  restore: { for: 'end'; account: Pick<AccountSettings, 'userAccountControl'>; now: Date } | { for: 'undo' },
): AccountSettingsChange {
  const changes: AccountSettingsChange = {};
  if (restore.for === 'end') {
    if (keepAccountsDisabled) changes.userAccountControl = withAccountEnabled(restore.account.userAccountControl, false);
    changes.accountExpires = keepAccountsDisabled ? toFileTime(restore.now) : (steps?.previousAccountExpires ?? '0');
  } else {
    if (steps && steps.previousUserAccountControl !== null && keepAccountsDisabled) {
      changes.userAccountControl = withAccountEnabled(steps.previousUserAccountControl, false);
    }
    if (steps && steps.previousAccountExpires !== null) changes.accountExpires = steps.previousAccountExpires;
  }
  if (steps?.previousLogonHours !== undefined) {
    changes.logonHours = steps.previousLogonHours === null ? null : Buffer.from(steps.previousLogonHours, 'base64');
  }
  if (steps?.previousUserWorkstations !== undefined) changes.userWorkstations = steps.previousUserWorkstations;
  return changes;
}

/**
 * Undoing an activation: the memberships no other live grant needs, and — once no other live grant
 * is left — the account as the activation found it (null: the account stays as it is).
 */
export function planUndo(
  e: Pick<Elevation, 'groups'>,
  steps: ActivationSteps,
  others: readonly Pick<Elevation, 'groups'>[],
  keepAccountsDisabled: boolean,
): { remove: ElevationGroup[]; account: AccountSettingsChange | null } {
  return {
    remove: groupsToRemove(e, groupsStillNeeded(others)),
    account: others.length > 0 ? null : restoredAccount(steps, keepAccountsDisabled, { for: 'undo' }),
  };
}

/** What an activation is about to write, read from the account and the technician's other live grants. */
export interface ActivationPlan {
  /** What to remember before the first write (so a failure, a crash or the last grant's end can put it back). */
  steps: ActivationSteps;
  /** The account's new settings: accountExpires = latest end + skew, and enabled / logon hours / workstations where needed. */
  changes: AccountSettingsChange & { accountExpires: string };
  endsAt: Date;
  /** Set when the window cut the grant short: its end. */
  windowClosesAt: Date | null;
}

export interface ActivationInput {
  e: Pick<Elevation, 'durationSeconds' | 'groups'>;
  account: AccountSettings;
  /** The technician's other live grants in the tenant. */
  others: readonly Pick<Elevation, 'steps' | 'endsAt'>[];
  profile: Pick<AccessProfile, 'windows' | 'workstations'>;
  tenant: TenantRules;
  activatedAt: Date;
  /** When the profile's open window closes (null: no windows). */
  windowClosesAt: Date | null;
  ttlMembership: boolean;
  accountExpirySkewMs: number;
}

/** The account as it was before the technician's first live grant (the baseline another live grant recorded, if any). */
function baselineSteps(account: AccountSettings, others: ActivationInput['others'], ttlMembership: boolean): ActivationSteps {
  const baseline = others.find((o) => o.steps)?.steps;
  const first = others.length === 0;
  return {
    previousUserAccountControl: account.userAccountControl,
    previousAccountExpires: first ? account.accountExpires : (baseline?.previousAccountExpires ?? null),
    previousLogonHours: first
      ? account.logonHours
        ? Buffer.from(account.logonHours).toString('base64')
        : null
      : baseline?.previousLogonHours,
    previousUserWorkstations: first ? account.userWorkstations : baseline?.previousUserWorkstations,
    enabled: false,
    groupsAdded: [],
    ttlMembership,
  };
}

/** docs/architecture.md, Activation: what a grant starting at `activatedAt` writes to the account, and until when it runs. */
export function planActivation(input: ActivationInput): ActivationPlan {
  const { account, others, profile, tenant, activatedAt } = input;
  const steps = baselineSteps(account, others, input.ttlMembership);
  let endsAt = new Date(activatedAt.getTime() + input.e.durationSeconds * 1000);
  // A grant never outlives its window (docs/architecture.md, Weekly windows): cut short, and the answer says so.
  let windowClosesAt: Date | null = null;
  if (input.windowClosesAt && input.windowClosesAt < endsAt) {
    endsAt = input.windowClosesAt;
    windowClosesAt = input.windowClosesAt;
  }
  const latestEnd = Math.max(endsAt.getTime(), ...others.map((o) => o.endsAt?.getTime() ?? 0));
  // Enable (where accounts are kept disabled), accountExpires = end + skew, logon hours, workstations.
  const changes: ActivationPlan['changes'] = { accountExpires: toFileTime(new Date(latestEnd + input.accountExpirySkewMs)) };
  if (tenant.keepAccountsDisabled && !isAccountEnabled(account.userAccountControl)) {
    changes.userAccountControl = withAccountEnabled(account.userAccountControl, true);
    steps.enabled = true;
  }
  if (profile.windows.length) {
    const hours = logonHoursFor(profile.windows, tenant.timeZone, activatedAt);
    // Another live grant's hours stay allowed; one without any limit keeps the account unlimited.
    if (others.length === 0) changes.logonHours = hours;
    else if (account.logonHours) changes.logonHours = unionLogonHours(hours, account.logonHours);
  }
  if (profile.workstations.length) {
    const current = others.length && account.userWorkstations ? account.userWorkstations.split(',') : [];
    if (others.length === 0 || current.length) changes.userWorkstations = [...new Set([...current, ...profile.workstations])].join(',');
  }
  // Every group it may add is recorded before the first write, so whoever undoes it knows them.
  steps.groupsAdded = input.e.groups.map((g) => g.dn);
  return { steps, changes, endsAt, windowClosesAt };
}

const sameBytes = (a: Uint8Array | null, b: Uint8Array) => a !== null && Buffer.from(a).equals(Buffer.from(b));

/** Whether the account read back after an activation's write holds what the plan wrote. */
export function readBackMatches(plan: Pick<ActivationPlan, 'steps' | 'changes'>, readBack: AccountSettings | null): boolean {
  const { changes, steps } = plan;
  return !(
    !readBack ||
    readBack.accountExpires !== changes.accountExpires ||
    (steps.enabled && !isAccountEnabled(readBack.userAccountControl)) ||
    (changes.logonHours && !sameBytes(readBack.logonHours, changes.logonHours)) ||
    (changes.userWorkstations !== undefined && readBack.userWorkstations !== changes.userWorkstations)
  );
}

/**
 * What a kill switch does with the open elevations it found: requests still waiting are cancelled,
 * live grants (active, or mid-activation) are ended; anything else (already ending or ended) is left.
 */
export function killSwitchSelection<E extends Pick<Elevation, 'state'>>(open: readonly E[]): { cancel: E[]; end: E[] } {
  return {
    cancel: open.filter((e) => e.state === 'pending_approval'),
    end: open.filter((e) => e.state === 'active' || e.state === 'activating'),
  };
}

/** A kill switch's answer: grants ended, requests cancelled, and grants claimed but not confirmed ended yet. */
export function killSwitchOutcome(claimed: number, ended: number, cancelled: number) {
  return { revoked: ended, cancelled, stillRevoking: claimed - ended };
}

/** Whether an activation's lease has lapsed at `now` (or, from before leases, it was left untouched for `stuckAfterMs`). */
export function isActivationLapsed(e: Pick<Elevation, 'lease' | 'updatedAt'>, now: Date, stuckAfterMs: number): boolean {
  return e.lease ? e.lease.until.getTime() <= now.getTime() : now.getTime() - e.updatedAt.getTime() > stuckAfterMs;
}

/**
 * The reconciler's decision for one open grant (docs/architecture.md, The reconciler):
 * - `expire`: past its end and still active (its job lost or late) — ended with every grant due;
 * - `resume`: stuck `revoking` for another reason than its end — ended again on its own;
 * - `resume_expiring`: stuck `revoking` because it expired — ended again with the others;
 * - `undo_if_lapsed`: `activating` — undone should its lease have lapsed;
 * - `reschedule_if_missing`: active with an end — its job queued again should Redis have lost it;
 * - `none`: nothing to do (this process is ending it, or it is not stuck yet).
 * `alertOverdue`: its end is more than `overdueAfterMs` past and nobody was told yet.
 */
export type ReconcileAction = 'expire' | 'resume' | 'resume_expiring' | 'undo_if_lapsed' | 'reschedule_if_missing' | 'none';

export function reconcileDecision(
  e: Pick<Elevation, 'state' | 'endsAt' | 'updatedAt' | 'overdueAlertedAt' | 'revocationReason'>,
  now: Date,
  settings: { overdueAfterMs: number; stuckAfterMs: number },
  /** How far this process is in ending it, if it is. */
  endingHere: 'memberships' | 'accounts' | undefined,
): { action: ReconcileAction; alertOverdue: boolean } {
  const overdue = !!e.endsAt && now.getTime() - e.endsAt.getTime() > settings.overdueAfterMs;
  // One whose memberships are confirmed gone while its account waits its turn is not overdue.
  const alertOverdue = overdue && !e.overdueAlertedAt && e.state !== 'activating' && endingHere !== 'accounts';
  let action: ReconcileAction = 'none';
  if (e.state === 'active' && e.endsAt && e.endsAt.getTime() <= now.getTime()) action = 'expire';
  else if (e.state === 'revoking' && now.getTime() - e.updatedAt.getTime() > settings.stuckAfterMs && !endingHere) {
    action = e.revocationReason !== 'expired' ? 'resume' : 'resume_expiring';
  } else if (e.state === 'activating') action = 'undo_if_lapsed';
  else if (e.state === 'active' && e.endsAt) action = 'reschedule_if_missing';
  return { action, alertOverdue };
}
