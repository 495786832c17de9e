// Undoing an activation (docs/architecture.md, Activation leases): the account put back as the
// activation found it, keeping what the technician's other live grants need — after a failed
// activation, or one whose process died mid-way (its lease lapsed).
import type { ActivationSteps, Elevation } from '../../domain/elevation.ts';
import { isActivationLapsed, planUndo } from '../../domain/elevation-plans.ts';
import { systemContext } from '../context.ts';
import type { TenantDirectory } from '../ports/directory.ts';
import type { TenantRecord } from '../ports/tenants.ts';
import type { Core } from './core.ts';
import { keepLease, newLease } from './lease.ts';
import { move, othersActive } from './shared.ts';

/** Puts the account back as it was before this elevation, keeping what other live grants need. */
export async function undoInDirectory(c: Core, e: Elevation, directory: TenantDirectory, steps: ActivationSteps, tenant: TenantRecord) {
  const plan = planUndo(e, steps, await othersActive(c, e), tenant.keepAccountsDisabled);
  for (const group of plan.remove) await c.removal.remove(e.tenantId, directory, group.dn, e.accountDn);
  if (plan.account) await directory.updateAccount(e.accountDn, plan.account);
}

/** Steps for an activation that died before it recorded any: nothing to put back but its groups. */
const noSteps: ActivationSteps = {
  previousUserAccountControl: null,
  previousAccountExpires: null,
  enabled: false,
  groupsAdded: [],
  ttlMembership: false,
};

/**
 * An activation whose lease has lapsed (its process died or hung), or one from before leases
 * untouched for `stuckAfterMs`: its lease is taken over (so a process still alive that renews it
 * in time keeps it, and one that comes back finds it gone), then what it did is undone and it
 * ends `failed`. False when it is not lapsed or was renewed or moved meanwhile.
 */
export async function undoIfLapsed(c: Core, listed: Elevation, now: Date): Promise<boolean> {
  const { stuckAfterMs } = c.settings;
  if (!isActivationLapsed(listed, now, stuckAfterMs)) return false;
  const lease = newLease(c, c.clock.now());
  if (!(await c.store.elevations.takeLease(listed.id, lease.holder, lease.until, now, new Date(now.getTime() - stuckAfterMs))))
    return false;
  const keeper = keepLease(c, listed.id, lease);
  try {
    // Read again under the lease: the steps as last recorded by the process that died.
    const e = (await c.store.elevations.findById(listed.id)) ?? listed;
    const tenant = await c.access.tenant(e.tenantId);
    await undoInDirectory(c, e, await c.access.directory(tenant), e.steps ?? { ...noSteps }, tenant);
    await move(
      c,
      { ...e, state: 'activating' },
      'failed',
      { failureReason: 'interrupted during activation; undone', endedAt: c.clock.now() },
      { action: 'elevation.failed', actor: 'system', details: { reason: 'interrupted', undone: true }, ctx: systemContext },
      lease.holder,
    );
    c.log.warn({ elevationId: e.id, tenantId: e.tenantId }, 'an activation whose lease lapsed was undone');
    return true;
  } finally {
    keeper.stop();
  }
}

/**
 * The cheap check run every few seconds (queue.leaseCheckIntervalSeconds): activations whose
 * lease has lapsed are undone. Answers how many.
 */
export async function undoLapsedActivations(c: Core): Promise<number> {
  const now = c.clock.now();
  let undone = 0;
  for (const e of await c.store.elevations.list({ states: ['activating'], limit: 10_000 })) {
    try {
      if (await undoIfLapsed(c, e, now)) undone++;
    } catch (error) {
      c.log.warn({ elevationId: e.id, err: (error as Error).message }, 'could not undo an activation whose lease lapsed; will retry');
    }
  }
  return undone;
}
