// Activation and its undo (docs/architecture.md, Activation; Activation leases): a directory that
// fails part-way leaves the account exactly as the activation found it, a group that became
// protected after the request refuses the grant (and suspends its profile), and an activation
// whose process stops renewing its lease is undone by the lease check.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ctx, disabledUac, elevationWorld, grantingAtOnce, previousExpires, refusedWith, settings, until } from './elevations-world.ts';

describe('elevations: activation and undo', () => {
  it('when the directory fails on the second group add, then the grant ends `failed`, the first group is removed, the account is as it was', async () => {
    const h = await grantingAtOnce({ groups: ['Helpdesk', 'Printers'] });
    const [first, second] = h.groups as [(typeof h.groups)[0], (typeof h.groups)[0]];
    h.acme.fail('addMembers', undefined, 1, 1);
    await assert.rejects(h.request(h.alice), refusedWith('activation_failed'));
    const [e] = await h.w.store.elevations.list({});
    assert.equal(e!.state, 'failed');
    assert.match(e!.failureReason!, /The fake directory is down/);
    assert.deepEqual(e!.steps!.groupsAdded, [first.dn, second.dn]);
    assert.equal(e!.steps!.enabled, true);
    // The first add went through and was undone; the second never landed.
    assert.deepEqual(
      h.acme.calls.filter((c) => c.method === 'addMembers').map((c) => c.arg),
      [first.dn, second.dn],
    );
    assert.deepEqual(h.acme.members(first.dn), []);
    assert.deepEqual(h.acme.members(second.dn), []);
    assert.equal(h.user.userAccountControl, disabledUac);
    assert.equal(h.user.accountExpires, previousExpires);
    assert.deepEqual(await h.actions(e!.id), ['elevation.requested', 'elevation.failed']);
    assert.deepEqual(
      h.w.notifications.published.map((n) => n.kind),
      ['ended'],
    );
    // The job queued meanwhile finds nothing to do at the end.
    h.clock.advance(2 * 3_600_000);
    assert.equal(await h.upkeep.endIfDue(e!.id), 'nothing');
  });

  it('when the account write fails, then the memberships already added are removed and the account is left as it was', async () => {
    const h = await grantingAtOnce();
    h.acme.fail('updateAccount');
    await assert.rejects(h.request(h.alice), refusedWith('activation_failed'));
    const [e] = await h.w.store.elevations.list({});
    assert.equal(e!.state, 'failed');
    assert.deepEqual(h.acme.members(h.groups[0]!.dn), []);
    assert.equal(h.user.userAccountControl, disabledUac);
    assert.equal(h.user.accountExpires, previousExpires);
  });

  it('when the undo itself fails, then the grant stays `activating` for the lease check, which undoes it once the lease lapses', async () => {
    const h = await grantingAtOnce();
    h.acme.fail('addMembers');
    h.acme.fail('updateAccount', undefined, 1, 1); // the activation's write goes through; the undo's is refused
    await assert.rejects(h.request(h.alice), refusedWith('activation_failed'));
    const [e] = await h.w.store.elevations.list({});
    assert.equal(e!.state, 'activating');
    assert.equal(h.user.userAccountControl & 0x2, 0, 'still enabled: the undo did not get through');
    assert.equal(await h.upkeep.undoLapsedActivations(), 0, 'its lease still runs');
    h.clock.advance(settings.activationLeaseMs);
    assert.equal(await h.upkeep.undoLapsedActivations(), 1);
    const after = await h.elevation(e!.id);
    assert.equal(after.state, 'failed');
    assert.equal(after.failureReason, 'interrupted during activation; undone');
    assert.equal(h.user.userAccountControl, disabledUac);
    assert.equal(h.user.accountExpires, previousExpires);
  });

  it('when a group is nested into Domain Admins after the request, then the approval refuses it, suspends the profile, and writes nothing', async () => {
    const h = await elevationWorld();
    const alice = await h.technician('alice');
    const user = await h.link(alice);
    const bob = await h.technician('bob', { roles: ['approver'], approverTenants: ['acme'] });
    const { profile, groups } = await h.profile('acme', { approval: { required: 1 } });
    const acme = h.w.domains.acme!;
    const e = await h.request(alice);
    acme.addMember(acme.domainAdmins.dn, groups[0]!.dn);
    await assert.rejects(h.useCases.approve(await h.fresh(bob), e.id, await h.code(bob), ctx), refusedWith('group_protected'));
    assert.equal((await h.elevation(e.id)).state, 'failed');
    assert.deepEqual(acme.members(groups[0]!.dn), []);
    assert.equal(user.userAccountControl, disabledUac);
    assert.equal(acme.calls.filter((c) => c.method === 'updateAccount' || c.method === 'addMembers').length, 0);
    const suspended = (await h.w.store.profiles.findById(profile.id))!;
    assert.equal(suspended.status, 'suspended');
    assert.match(suspended.suspendedReason!, /is protected/);
    const [event] = await h.w.store.audit.list({ action: 'profile.suspended', limit: 1 });
    assert.equal((event!.details as { protectedGroup: string }).protectedGroup, acme.domainAdmins.dn);
    // And nobody can ask for it again until an admin looks at it.
    h.clock.advance(60_000);
    await assert.rejects(h.request(alice), refusedWith('profile_suspended'));
  });

  it('when the process stops renewing while the directory hangs, then the lease check undoes it and the late add is undone too', async () => {
    const h = await grantingAtOnce();
    const gate = h.acme.hang('addMembers');
    const asked = h.request(h.alice);
    asked.catch(() => undefined);
    await until(() => h.acme.calls.some((c) => c.method === 'addMembers'), 'the activation reaches the group add');
    const [e] = await h.w.store.elevations.list({});
    assert.equal(e!.state, 'activating');
    // Renewed once in time: still held.
    h.clock.advance(10_000);
    assert.equal(h.timers.runDue(), 1);
    await until(() => h.w.store.tables.elevations.get(e!.id)!.lease!.until.getTime() > e!.lease!.until.getTime(), 'the lease renewed');
    h.clock.advance(10_000);
    assert.equal(await h.upkeep.undoLapsedActivations(), 0);
    // No renewal since (the process is stuck): lapsed, taken over and undone.
    h.clock.advance(settings.activationLeaseMs);
    assert.equal(await h.upkeep.undoLapsedActivations(), 1);
    assert.equal((await h.elevation(e!.id)).state, 'failed');
    assert.equal(h.user.userAccountControl, disabledUac);
    // The stuck add lands late: the activation finds its lease gone, undoes it and never goes active.
    gate.release();
    await assert.rejects(asked, refusedWith('conflict'));
    assert.deepEqual(h.acme.members(h.groups[0]!.dn), []);
    assert.equal(h.user.userAccountControl, disabledUac);
    assert.equal(h.user.accountExpires, previousExpires);
    assert.equal((await h.elevation(e!.id)).state, 'failed');
    assert.equal(h.timers.pending.length, 0, 'the renewal timer is stopped');
  });
});
