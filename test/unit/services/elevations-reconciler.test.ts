// The reconciler and the expiry (docs/architecture.md, The reconciler): a grant past its end
// whose job was lost is expired, one stuck `revoking` is finished once stuckAfter has passed, a
// lost revocation job is queued again, an overdue revocation is alerted once, and a suspended
// technician keeps nothing. The revocation job ends a grant at its end, never before.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromFileTime } from '../../../src/domain/ad.ts';
import { ctx, disabledUac, grantingAtOnce, hour, settings } from './elevations-world.ts';

const overdueAlerts = (h: Awaited<ReturnType<typeof grantingAtOnce>>) =>
  h.w.notifications.published.filter((n) => n.kind === 'alert' && n.alert === 'revocation_overdue');

describe('elevations: the reconciler', () => {
  it('when a grant is past its end and its job was lost, then the reconciler expires it: out of its groups, disabled, `expired`', async () => {
    const h = await grantingAtOnce();
    const e = await h.request(h.alice);
    await h.w.revocations.cancel(e.id);
    h.clock.advance(hour + 5_000);
    const counts = await h.upkeep.reconcile();
    assert.equal(counts.expired, 1);
    assert.equal(counts.overdue, 0, 'five seconds late is not overdue yet');
    const ended = await h.elevation(e.id);
    assert.equal(ended.state, 'expired');
    assert.equal(ended.revocationReason, 'expired');
    assert.deepEqual(h.acme.members(h.groups[0]!.dn), []);
    assert.equal(h.user.userAccountControl, disabledUac);
    const [event] = await h.w.store.audit.list({ target: e.id, action: 'elevation.expired', limit: 1 });
    assert.equal((event!.details as { lagMs: number }).lagMs, h.clock.now().getTime() - e.endsAt!.getTime());
    const [run] = await h.w.store.audit.list({ action: 'elevation.reconciled', limit: 1 });
    assert.equal((run!.details as { expired: number }).expired, 1);
  });

  it('when nothing is out of place, then the reconciler changes nothing and audits no run', async () => {
    const h = await grantingAtOnce();
    const e = await h.request(h.alice);
    const before = await h.actions();
    const counts = await h.upkeep.reconcile();
    assert.deepEqual(counts, {
      expired: 0,
      resumed: 0,
      undone: 0,
      rescheduled: 0,
      overdue: 0,
      lapsed: 0,
      suspended: 0,
      frozen: 0,
      errors: 0,
    });
    assert.deepEqual(await h.actions(), before);
    assert.equal((await h.elevation(e.id)).state, 'active');
  });

  it("when a grant's revocation job was lost, then the reconciler queues it again for the grant's end", async () => {
    const h = await grantingAtOnce();
    const e = await h.request(h.alice);
    h.w.revocations.scheduled.delete(e.id);
    assert.equal((await h.upkeep.reconcile()).rescheduled, 1);
    assert.deepEqual(h.w.revocations.scheduled.get(e.id), e.endsAt);
    assert.equal((await h.upkeep.reconcile()).rescheduled, 0, 'queued already: left alone');
  });

  it('when a revocation stopped half-way, then it stays `revoking` until stuckAfter has passed, then the reconciler finishes it', async () => {
    const h = await grantingAtOnce();
    const e = await h.request(h.alice);
    h.acme.fail('removeMembers');
    await assert.rejects(h.useCases.revokeByUser(await h.fresh(h.alice), e.id, ctx));
    assert.equal((await h.elevation(e.id)).state, 'revoking');
    h.clock.advance(settings.stuckAfterMs);
    assert.equal((await h.upkeep.reconcile()).resumed, 0, 'not stuck yet: its revocation may still be running');
    h.clock.advance(1000);
    assert.equal((await h.upkeep.reconcile()).resumed, 1);
    const ended = await h.elevation(e.id);
    assert.equal(ended.state, 'revoked');
    assert.equal(ended.revocationReason, 'self', 'finished for the reason it was claimed for');
    assert.deepEqual(h.acme.members(h.groups[0]!.dn), []);
    assert.equal(h.user.userAccountControl, disabledUac);
  });

  it('when an expiry stopped half-way, then the reconciler finishes it with the other expiries, `expired`', async () => {
    const h = await grantingAtOnce();
    const e = await h.request(h.alice);
    h.clock.advance(hour);
    h.acme.fail('removeMembers');
    await assert.rejects(h.upkeep.expire(h.clock.now()));
    assert.equal((await h.elevation(e.id)).state, 'revoking');
    h.clock.advance(settings.stuckAfterMs + 1000);
    const counts = await h.upkeep.reconcile();
    assert.equal(counts.resumed, 1);
    assert.equal((await h.elevation(e.id)).state, 'expired');
  });

  it('when a revocation is overdue, then it is alerted once, however many runs it takes to end it', async () => {
    const h = await grantingAtOnce();
    const e = await h.request(h.alice);
    h.acme.fail('removeMembers', undefined, 100);
    h.clock.advance(hour + settings.overdueAfterMs + 1000);
    const first = await h.upkeep.reconcile();
    assert.equal(first.overdue, 1);
    assert.equal(first.errors, 1);
    assert.equal((await h.elevation(e.id)).state, 'revoking');
    assert.notEqual((await h.elevation(e.id)).overdueAlertedAt, null);
    h.clock.advance(30_000);
    assert.equal((await h.upkeep.reconcile()).overdue, 0);
    assert.equal(overdueAlerts(h).length, 1);
    assert.deepEqual(
      (await h.actions(e.id)).filter((a) => a === 'elevation.revocation_overdue'),
      ['elevation.revocation_overdue'],
    );
    h.acme.fail('removeMembers', undefined, 0);
    h.clock.advance(settings.stuckAfterMs);
    assert.equal((await h.upkeep.reconcile()).resumed, 1);
    assert.equal((await h.elevation(e.id)).state, 'expired');
    assert.equal(overdueAlerts(h).length, 1);
  });

  it('when a technician is suspended outside a kill switch, then the reconciler ends what they hold (policy)', async () => {
    const h = await grantingAtOnce();
    const e = await h.request(h.alice);
    await h.w.store.technicians.update(h.alice.id, { status: 'suspended' }, h.clock.now());
    assert.equal((await h.upkeep.reconcile()).suspended, 1);
    const ended = await h.elevation(e.id);
    assert.equal(ended.state, 'revoked');
    assert.equal(ended.revocationReason, 'policy');
    assert.deepEqual(h.acme.members(h.groups[0]!.dn), []);
  });
});

describe('elevations: the revocation job', () => {
  it('when the job runs before the end, then it answers when to run again; at the end it ends the grant', async () => {
    const h = await grantingAtOnce();
    const e = await h.request(h.alice);
    h.clock.advance(30 * 60_000);
    const early = await h.upkeep.endIfDue(e.id);
    assert.ok(typeof early === 'object', String(early));
    assert.ok(early.rescheduleInMs > 0 && early.rescheduleInMs <= 30 * 60_000);
    assert.equal((await h.elevation(e.id)).state, 'active');
    h.clock.set(e.endsAt!);
    assert.deepEqual(h.w.revocations.due(h.clock.now()), [e.id]);
    assert.equal(await h.upkeep.endIfDue(e.id), 'revoked');
    await h.upkeep.idle();
    const ended = await h.elevation(e.id);
    assert.equal(ended.state, 'expired');
    assert.deepEqual(h.acme.members(h.groups[0]!.dn), []);
    assert.equal(h.user.userAccountControl, disabledUac);
    assert.equal(fromFileTime(h.user.accountExpires)!.getTime(), ended.endedAt!.getTime(), 'expires the moment it ended');
    assert.equal(await h.upkeep.endIfDue(e.id), 'nothing', 'a second run finds nothing to do');
  });

  it('when a grant was extended after its job was queued, then the job at the old end leaves it running', async () => {
    const h = await grantingAtOnce();
    const e = await h.request(h.alice);
    await h.useCases.extend(await h.fresh(h.alice), e.id, { durationSeconds: 1800, code: await h.code(h.alice) }, ctx);
    h.clock.set(e.endsAt!);
    const outcome = await h.upkeep.endIfDue(e.id);
    assert.ok(typeof outcome === 'object', String(outcome));
    assert.equal((await h.elevation(e.id)).state, 'active');
    assert.deepEqual(h.acme.members(h.groups[0]!.dn), [h.user.dn]);
  });
});
