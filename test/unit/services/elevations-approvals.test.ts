// Approvals (docs/architecture.md, Approvals) through the use cases: N distinct approvers, one
// deny ends it, nobody approves their own, only the named approvers count, a decision counts
// once, and a request nobody decided on in time lapses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ctx, elevationWorld, refusedWith } from './elevations-world.ts';

async function twoApprovals(approvers?: 'named') {
  const h = await elevationWorld();
  const alice = await h.technician('alice', { roles: ['technician', 'approver'], approverTenants: ['acme'] });
  const user = await h.link(alice);
  const bob = await h.technician('bob', { roles: ['approver'], approverTenants: ['acme'] });
  const carol = await h.technician('carol', { roles: ['approver'], approverTenants: ['acme'] });
  const dave = await h.technician('dave', { roles: ['approver'], approverTenants: ['acme'] });
  const { groups } = await h.profile('acme', {
    approval: { required: 2, timeoutSeconds: 600, ...(approvers && { approvers: [bob.id, carol.id] }) },
  });
  const e = await h.request(alice);
  const approve = async (who: { id: string }) => h.useCases.approve(await h.fresh(who), e.id, await h.code(who), ctx);
  return { ...h, alice, user, bob, carol, dave, group: groups[0]!, e, approve, acme: h.w.domains.acme! };
}

describe('elevations: approvals', () => {
  it('when a profile needs two approvals, then the request waits, the first keeps it pending, the second (another approver) activates it', async () => {
    const h = await twoApprovals();
    assert.equal(h.e.state, 'pending_approval');
    assert.deepEqual(h.e.approvalDeadline, new Date(h.e.requestedAt.getTime() + 600_000));
    assert.deepEqual(h.acme.members(h.group.dn), []);
    assert.deepEqual(
      (await h.useCases.pendingApprovals(h.bob)).map((e) => e.id),
      [h.e.id],
    );

    const first = await h.approve(h.bob);
    assert.equal(first.state, 'pending_approval');
    assert.deepEqual(
      first.decisions.map((d) => [d.round, d.approverId, d.decision]),
      [[0, h.bob.id, 'approve']],
    );
    assert.deepEqual(await h.useCases.pendingApprovals(h.bob), [], 'nothing left for bob to decide');
    assert.deepEqual(h.acme.members(h.group.dn), []);
    assert.equal(h.w.revocations.scheduled.size, 0);

    const second = await h.approve(h.carol);
    assert.equal(second.state, 'active');
    assert.deepEqual(h.acme.members(h.group.dn), [h.user.dn]);
    assert.deepEqual(h.w.revocations.scheduled.get(h.e.id), second.endsAt);
    assert.deepEqual(await h.actions(h.e.id), ['elevation.requested', 'elevation.approved', 'elevation.approved', 'elevation.activated']);
    const [last] = await h.w.store.audit.list({ target: h.e.id, action: 'elevation.approved', limit: 1 });
    assert.deepEqual(last!.details, { round: 0, approvals: 2, required: 2, reason: null });
  });

  it('when the same approver approves a second time, then it is refused and still counts once', async () => {
    const h = await twoApprovals();
    await h.approve(h.bob);
    await assert.rejects(h.approve(h.bob), refusedWith('already_decided'));
    const e = await h.elevation(h.e.id);
    assert.equal(e.state, 'pending_approval');
    assert.equal(e.decisions.length, 1);
    assert.deepEqual(h.acme.members(h.group.dn), []);
  });

  it('when one approver denies, then the request ends `denied` at once, whatever approvals it had', async () => {
    const h = await twoApprovals();
    await h.approve(h.bob);
    const denied = await h.useCases.deny(await h.fresh(h.carol), h.e.id, await h.code(h.carol), 'not now', ctx);
    assert.equal(denied.state, 'denied');
    assert.deepEqual(denied.endedAt, h.clock.now());
    assert.deepEqual(h.acme.members(h.group.dn), []);
    assert.equal(h.w.revocations.scheduled.size, 0);
    assert.deepEqual(
      h.w.notifications.published.map((n) => n.kind),
      ['approval_requested', 'decided', 'decided', 'ended'],
    );
    await assert.rejects(h.approve(h.dave), refusedWith('approval_closed'));
  });

  it('when the requester (an approver of the tenant too) approves their own request, then it is refused and not counted', async () => {
    const h = await twoApprovals();
    await assert.rejects(h.approve(h.alice), refusedWith('self_approval'));
    assert.deepEqual((await h.elevation(h.e.id)).decisions, []);
    assert.deepEqual(await h.useCases.pendingApprovals(h.alice), []);
  });

  it('when the profile names its approvers, then another approver of the tenant is refused, and the named two activate it', async () => {
    const h = await twoApprovals('named');
    await assert.rejects(h.approve(h.dave), refusedWith('forbidden'));
    assert.deepEqual(await h.useCases.pendingApprovals(h.dave), []);
    await h.approve(h.bob);
    assert.equal((await h.approve(h.carol)).state, 'active');
  });

  it('when an approver of another tenant decides, then the request is not even found', async () => {
    const h = await twoApprovals();
    const gina = await h.technician('gina', { roles: ['approver'], approverTenants: ['globex'] });
    await assert.rejects(h.approve(gina), refusedWith('not_found'));
  });

  it('when a wrong code is given, then the decision is refused and nothing is counted', async () => {
    const h = await twoApprovals();
    await assert.rejects(h.useCases.approve(await h.fresh(h.bob), h.e.id, '000000', ctx), refusedWith('mfa_invalid'));
    assert.deepEqual((await h.elevation(h.e.id)).decisions, []);
  });

  it('when the requester withdraws a waiting request, then it ends `cancelled` (withdrawn) and nobody may approve it after', async () => {
    const h = await twoApprovals();
    const cancelled = await h.useCases.cancel(await h.fresh(h.alice), h.e.id, ctx);
    assert.equal(cancelled.state, 'cancelled');
    const [event] = await h.w.store.audit.list({ target: h.e.id, action: 'elevation.cancelled', limit: 1 });
    assert.deepEqual(event!.details, { reason: 'withdrawn' });
    await assert.rejects(h.approve(h.bob), refusedWith('approval_closed'));
    await assert.rejects(h.useCases.cancel(await h.fresh(h.bob), h.e.id, ctx), refusedWith('forbidden'));
  });

  it('when nobody decides before the deadline, then the reconciler cancels it (approval_timeout) and a late approval is refused', async () => {
    const h = await twoApprovals();
    await h.approve(h.bob);
    h.clock.advance(599_000);
    assert.equal((await h.upkeep.reconcile()).lapsed, 0);
    assert.equal((await h.elevation(h.e.id)).state, 'pending_approval');
    h.clock.advance(1000);
    const counts = await h.upkeep.reconcile();
    assert.equal(counts.lapsed, 1);
    const e = await h.elevation(h.e.id);
    assert.equal(e.state, 'cancelled');
    const [event] = await h.w.store.audit.list({ target: h.e.id, action: 'elevation.cancelled', limit: 1 });
    assert.deepEqual(event!.details, { reason: 'approval_timeout', deadline: h.e.approvalDeadline!.toISOString() });
    assert.equal((await h.w.store.audit.list({ action: 'elevation.reconciled', limit: 1 })).length, 1);
    await assert.rejects(h.approve(h.carol), refusedWith('approval_closed'));
    assert.deepEqual(h.acme.members(h.group.dn), []);
  });

  it('when an approval comes after the deadline but before the reconciler ran, then the decision itself lapses the request', async () => {
    const h = await twoApprovals();
    h.clock.advance(600_000);
    await assert.rejects(h.approve(h.bob), refusedWith('approval_closed'));
    assert.equal((await h.elevation(h.e.id)).state, 'cancelled');
    assert.deepEqual((await h.elevation(h.e.id)).decisions, []);
  });
});
