// The elevation plans (src/domain/elevation-plans.ts): what activation, extension, undo, the kill
// switches and the reconciler decide, without a directory or a store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAccountEnabled, toFileTime } from '../../src/domain/ad.ts';
import type { ActivationSteps, Elevation } from '../../src/domain/elevation.ts';
import {
  assertWindowOpen,
  groupsStillNeeded,
  isActivationLapsed,
  killSwitchOutcome,
  killSwitchSelection,
  planActivation,
  planExtension,
  planUndo,
  readBackMatches,
  reconcileDecision,
  restoredAccount,
  type AccountSettings,
} from '../../src/domain/elevation-plans.ts';
import type { ElevationState } from '../../src/domain/elevation-state.ts';
import { DomainError } from '../../src/domain/errors.ts';
import type { WeeklyWindow } from '../../src/domain/profile.ts';
import { logonHoursFor } from '../../src/domain/windows.ts';

// Monday 2 November 2026, UTC.
const monday = (h: number, m = 0) => new Date(Date.UTC(2026, 10, 2, h, m));
const hour = 3600_000;
const office: WeeklyWindow[] = [{ days: [1], start: '09:00', end: '17:00' }];
const enabled = 0x200;
const disabled = 0x202;

const refused = (code: string) => (error: unknown) => error instanceof DomainError && error.code === code;

const steps = (changes: Partial<ActivationSteps> = {}): ActivationSteps => ({
  previousUserAccountControl: enabled,
  previousAccountExpires: '133000000000000000',
  previousLogonHours: null,
  previousUserWorkstations: null,
  enabled: false,
  groupsAdded: [],
  ttlMembership: false,
  ...changes,
});

const account = (changes: Partial<AccountSettings> = {}): AccountSettings => ({
  userAccountControl: disabled,
  accountExpires: '0',
  logonHours: null,
  userWorkstations: null,
  ...changes,
});

const group = (name: string) => ({ dn: `CN=${name},OU=Groups,DC=acme,DC=test`, guid: `${name}-guid`, name });

const grant = (changes: Partial<Elevation> = {}): Elevation => ({
  id: 'e1',
  tenantId: 'acme',
  profileId: 'p',
  profileName: 'helpdesk',
  technicianId: 'tech-1',
  accountId: 'a',
  accountDn: 'CN=t1,DC=acme,DC=test',
  accountGuid: 'g',
  groups: [group('Helpdesk')],
  state: 'active',
  durationSeconds: 3600,
  justification: null,
  ticket: null,
  requestedAt: monday(9),
  activatedAt: monday(10),
  endsAt: monday(11),
  endedAt: null,
  revocationReason: null,
  failureReason: null,
  steps: null,
  overdueAlertedAt: null,
  updatedAt: monday(10),
  approvalsRequired: 0,
  approverIds: [],
  approvalDeadline: null,
  windowClosesAt: null,
  extension: null,
  extendedSeconds: 0,
  decisions: [],
  risk: null,
  lease: null,
  ...changes,
});

describe('windows', () => {
  it('answers when the open window closes, and refuses a closed one with the next opening', () => {
    assert.deepEqual(assertWindowOpen({ windows: office }, 'UTC', monday(10), 'activation'), { closesAt: monday(17) });
    assert.deepEqual(assertWindowOpen({ windows: [] }, 'UTC', monday(20), 'request'), { closesAt: null });
    assert.throws(
      () => assertWindowOpen({ windows: office }, 'UTC', monday(18), 'request'),
      (error: unknown) => refused('outside_window')(error) && (error as DomainError).details?.timeZone === 'UTC',
    );
    assert.throws(
      () => assertWindowOpen({ windows: office }, 'UTC', monday(8), 'extension'),
      (error: unknown) =>
        refused('outside_window')(error) &&
        (error as DomainError).details?.opensAt === monday(9).toISOString() &&
        !('timeZone' in (error as DomainError).details!),
    );
  });
});

describe('planExtension', () => {
  const profile = { maxTotalDurationSeconds: 4 * 3600, windows: [] as WeeklyWindow[] };

  it('adds to the current end', () => {
    assert.deepEqual(planExtension(grant(), profile, 'UTC', 1800, monday(10, 30)), { endsAt: monday(11, 30), windowClosesAt: null });
  });

  it('refuses past the maximum total, and a duration that is not a positive whole number of seconds', () => {
    assert.throws(
      () => planExtension(grant(), profile, 'UTC', 4 * 3600, monday(10, 30)),
      (error: unknown) => refused('extension_refused')(error) && (error as DomainError).details?.latestEndsAt === monday(14).toISOString(),
    );
    assert.throws(() => planExtension(grant(), profile, 'UTC', 0, monday(10, 30)), refused('validation_failed'));
    assert.throws(() => planExtension(grant(), profile, 'UTC', 1.5, monday(10, 30)), refused('validation_failed'));
  });

  it('is cut at the window’s end, and refused when the grant already ends then or the window is closed', () => {
    const windowed = { ...profile, windows: office };
    const late = grant({ activatedAt: monday(15), endsAt: monday(16, 30) });
    assert.deepEqual(planExtension(late, windowed, 'UTC', 3600, monday(16)), { endsAt: monday(17), windowClosesAt: monday(17) });
    const ending = grant({ activatedAt: monday(15), endsAt: monday(17), windowClosesAt: monday(17) });
    assert.throws(() => planExtension(ending, windowed, 'UTC', 600, monday(16)), refused('extension_refused'));
    assert.throws(() => planExtension(late, windowed, 'UTC', 600, monday(18)), refused('outside_window'));
  });
});

describe('planActivation', () => {
  const base = {
    e: { durationSeconds: 3600, groups: [group('Helpdesk'), group('Backup')] },
    profile: { windows: [] as WeeklyWindow[], workstations: [] as string[] },
    tenant: { keepAccountsDisabled: true, timeZone: 'UTC' },
    activatedAt: monday(10),
    windowClosesAt: null,
    ttlMembership: true,
    accountExpirySkewMs: 60_000,
  };

  it('for a first grant: the account as found is the baseline; enabled, expiring at the end plus the skew', () => {
    const plan = planActivation({ ...base, account: account({ accountExpires: '0', userWorkstations: 'WS1' }), others: [] });
    assert.equal(plan.endsAt.getTime(), monday(11).getTime());
    assert.equal(plan.windowClosesAt, null);
    assert.equal(plan.changes.accountExpires, toFileTime(new Date(monday(11).getTime() + 60_000)));
    assert.equal(isAccountEnabled(plan.changes.userAccountControl!), true);
    assert.deepEqual(plan.steps, {
      previousUserAccountControl: disabled,
      previousAccountExpires: '0',
      previousLogonHours: null,
      previousUserWorkstations: 'WS1',
      enabled: true,
      groupsAdded: base.e.groups.map((g) => g.dn),
      ttlMembership: true,
    });
    assert.equal(plan.changes.logonHours, undefined, 'no windows: the hours are left alone');
  });

  it('leaves an enabled account’s flags alone, and where accounts are not kept disabled', () => {
    assert.equal(
      planActivation({ ...base, account: account({ userAccountControl: enabled }), others: [] }).changes.userAccountControl,
      undefined,
    );
    const open = planActivation({ ...base, tenant: { keepAccountsDisabled: false, timeZone: 'UTC' }, account: account(), others: [] });
    assert.equal(open.changes.userAccountControl, undefined);
    assert.equal(open.steps.enabled, false);
  });

  it('with another live grant: its baseline kept, the latest end wins, hours and workstations added to', () => {
    const hours = new Uint8Array(21).fill(0xff);
    const other = {
      steps: steps({ previousAccountExpires: '42', previousLogonHours: 'AAAA', previousUserWorkstations: 'OLD' }),
      endsAt: monday(13),
    };
    const plan = planActivation({
      ...base,
      profile: { windows: office, workstations: ['WS2', 'WS1'] },
      account: account({ userAccountControl: enabled, logonHours: hours, userWorkstations: 'WS1' }),
      others: [other],
      windowClosesAt: monday(17),
    });
    assert.equal(plan.steps.previousAccountExpires, '42');
    assert.equal(plan.steps.previousLogonHours, 'AAAA');
    assert.equal(plan.steps.previousUserWorkstations, 'OLD');
    assert.equal(plan.changes.accountExpires, toFileTime(new Date(monday(13).getTime() + 60_000)));
    assert.deepEqual(plan.changes.logonHours, hours, 'the union with all hours allowed is all hours');
    assert.equal(plan.changes.userWorkstations, 'WS1,WS2');
  });

  it('an account without limits stays without them while another grant is live', () => {
    const plan = planActivation({
      ...base,
      profile: { windows: office, workstations: ['WS2'] },
      account: account(),
      others: [{ steps: null, endsAt: monday(12) }],
      windowClosesAt: monday(17),
    });
    assert.equal('logonHours' in plan.changes, false);
    assert.equal('userWorkstations' in plan.changes, false);
  });

  it('is cut at the window’s end, with the window’s hours', () => {
    const plan = planActivation({
      ...base,
      e: { ...base.e, durationSeconds: 8 * 3600 },
      profile: { windows: office, workstations: [] },
      account: account(),
      others: [],
      windowClosesAt: monday(17),
    });
    assert.equal(plan.endsAt.getTime(), monday(17).getTime());
    assert.equal(plan.windowClosesAt?.getTime(), monday(17).getTime());
    assert.deepEqual(plan.changes.logonHours, logonHoursFor(office, 'UTC', monday(10)));
  });

  it('reads back only what was written', () => {
    const plan = planActivation({ ...base, account: account(), others: [] });
    const written = account({ userAccountControl: plan.changes.userAccountControl!, accountExpires: plan.changes.accountExpires });
    assert.equal(readBackMatches(plan, written), true);
    assert.equal(readBackMatches(plan, { ...written, accountExpires: '0' }), false);
    assert.equal(readBackMatches(plan, { ...written, userAccountControl: disabled }), false);
    assert.equal(readBackMatches(plan, null), false);
  });
});

describe('restoring the account', () => {
  const now = monday(11);
  const recorded = steps({ previousLogonHours: Buffer.from([1, 2, 3]).toString('base64'), previousUserWorkstations: 'WS1' });

  it('at the end, where accounts are kept disabled: disabled from its flags of now, expiring now', () => {
    assert.deepEqual(restoredAccount(recorded, true, { for: 'end', account: { userAccountControl: enabled }, now }), {
      userAccountControl: disabled,
      accountExpires: toFileTime(now),
      logonHours: Buffer.from([1, 2, 3]),
      userWorkstations: 'WS1',
    });
  });

  it('at the end, otherwise: expiring as before the first grant (never, when that is unknown)', () => {
    assert.deepEqual(restoredAccount(steps(), false, { for: 'end', account: { userAccountControl: enabled }, now }), {
      accountExpires: '133000000000000000',
      logonHours: null,
      userWorkstations: null,
    });
    assert.deepEqual(restoredAccount(null, false, { for: 'end', account: { userAccountControl: enabled }, now }), { accountExpires: '0' });
  });

  it('on undo: the flags and the expiry exactly as recorded; an unknown expiry is left as it is', () => {
    assert.deepEqual(restoredAccount(recorded, true, { for: 'undo' }), {
      userAccountControl: disabled,
      accountExpires: '133000000000000000',
      logonHours: Buffer.from([1, 2, 3]),
      userWorkstations: 'WS1',
    });
    const unknown = steps({
      previousUserAccountControl: null,
      previousAccountExpires: null,
      previousLogonHours: undefined,
      previousUserWorkstations: undefined,
    });
    assert.deepEqual(restoredAccount(unknown, true, { for: 'undo' }), {});
    assert.deepEqual(restoredAccount(steps(), false, { for: 'undo' }), {
      accountExpires: '133000000000000000',
      logonHours: null,
      userWorkstations: null,
    });
  });
});

describe('planUndo', () => {
  const e = { groups: [group('Helpdesk'), group('Backup')] };

  it('keeps the groups another live grant needs (whatever the case of their DN), and the account while one is live', () => {
    const other = { groups: [{ ...group('Backup'), dn: group('Backup').dn.toUpperCase() }] };
    assert.deepEqual(groupsStillNeeded([other]), new Set([group('Backup').dn.toLowerCase()]));
    assert.deepEqual(planUndo(e, steps(), [other], true), { remove: [group('Helpdesk')], account: null });
  });

  it('with no other live grant: every group removed, the account put back', () => {
    const plan = planUndo(e, steps(), [], true);
    assert.deepEqual(plan.remove, e.groups);
    assert.equal(plan.account?.userAccountControl, disabled);
  });
});

describe('killSwitchSelection', () => {
  it('cancels what waits, ends what is live or being activated, leaves what is already ending', () => {
    const open = (['pending_approval', 'activating', 'active', 'revoking', 'expired'] as ElevationState[]).map((state, i) => ({
      id: `e${i}`,
      state,
    }));
    const { cancel, end } = killSwitchSelection(open);
    assert.deepEqual(
      cancel.map((e) => e.id),
      ['e0'],
    );
    assert.deepEqual(
      end.map((e) => e.id),
      ['e1', 'e2'],
    );
    assert.deepEqual(killSwitchOutcome(3, 2, 1), { revoked: 2, cancelled: 1, stillRevoking: 1 });
  });
});

describe('the reconciler’s decision', () => {
  const settings = { overdueAfterMs: 60_000, stuckAfterMs: 120_000 };
  const now = monday(12);

  it('past its end and active: expired with the others, and alerted once overdue', () => {
    assert.deepEqual(reconcileDecision(grant({ endsAt: monday(11) }), now, settings, undefined), { action: 'expire', alertOverdue: true });
    assert.deepEqual(reconcileDecision(grant({ endsAt: monday(11), overdueAlertedAt: monday(11, 5) }), now, settings, undefined), {
      action: 'expire',
      alertOverdue: false,
    });
    assert.deepEqual(reconcileDecision(grant({ endsAt: new Date(now.getTime() - 1000) }), now, settings, undefined), {
      action: 'expire',
      alertOverdue: false,
    });
  });

  it('stuck revoking: resumed alone, or with the other expiries; left to this process while it is ending it', () => {
    const stuck = grant({ state: 'revoking', endsAt: monday(11), updatedAt: monday(11, 50), revocationReason: 'admin' });
    assert.equal(reconcileDecision(stuck, now, settings, undefined).action, 'resume');
    assert.equal(reconcileDecision({ ...stuck, revocationReason: 'expired' }, now, settings, undefined).action, 'resume_expiring');
    assert.deepEqual(reconcileDecision(stuck, now, settings, 'memberships'), { action: 'none', alertOverdue: true });
    assert.deepEqual(reconcileDecision(stuck, now, settings, 'accounts'), { action: 'none', alertOverdue: false });
    assert.equal(reconcileDecision({ ...stuck, updatedAt: monday(11, 59) }, now, settings, undefined).action, 'none', 'not stuck yet');
  });

  it('activating: undone if its lease lapsed (never alerted); active: rescheduled if its job is missing', () => {
    assert.deepEqual(reconcileDecision(grant({ state: 'activating', endsAt: monday(11) }), now, settings, undefined), {
      action: 'undo_if_lapsed',
      alertOverdue: false,
    });
    assert.equal(reconcileDecision(grant({ endsAt: monday(13) }), now, settings, undefined).action, 'reschedule_if_missing');
    assert.equal(reconcileDecision(grant({ state: 'active', endsAt: null }), now, settings, undefined).action, 'none');
  });

  it('an activation lapses when its lease ran out, or (from before leases) when left untouched too long', () => {
    assert.equal(isActivationLapsed({ lease: { holder: 'h', until: monday(12) }, updatedAt: monday(11) }, now, 120_000), true);
    assert.equal(
      isActivationLapsed({ lease: { holder: 'h', until: new Date(now.getTime() + 1) }, updatedAt: monday(9) }, now, 120_000),
      false,
    );
    assert.equal(isActivationLapsed({ lease: null, updatedAt: new Date(now.getTime() - 2 * hour) }, now, 120_000), true);
    assert.equal(isActivationLapsed({ lease: null, updatedAt: new Date(now.getTime() - 60_000) }, now, 120_000), false);
  });
});
