// Extending a grant (docs/architecture.md, Extending a grant): the owner's extension adds to the
// current end, no further than the profile's maximum total, cut at the window's end
// (clampedToWindowEnd, a time); where the profile asks for approval again it waits as a pending
// extension, decided, withdrawn or lapsed as a request is.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromFileTime } from '../../../src/domain/ad.ts';
import { ctx, elevationWorld, grantingAtOnce, hour, refusedWith, settings } from './elevations-world.ts';

/** Mondays 08:00–12:00 in the tenant's zone (UTC); the fake clock starts Monday 2026-11-02 09:00:10Z. */
const mondayMorning = [{ days: [1], start: '08:00', end: '12:00' }];
const noon = new Date('2026-11-02T12:00:00.000Z');

describe('elevations: extension', () => {
  it('when the owner extends, then the time is added to the current end: directory, store and job all move to the new end', async () => {
    const h = await grantingAtOnce();
    const e = await h.request(h.alice);
    h.clock.advance(20 * 60_000);
    const extended = await h.useCases.extend(await h.fresh(h.alice), e.id, { durationSeconds: 1800, code: await h.code(h.alice) }, ctx);
    const endsAt = new Date(e.endsAt!.getTime() + 1800_000);
    assert.deepEqual(extended.endsAt, endsAt);
    assert.equal(extended.extendedSeconds, 1800);
    assert.equal(fromFileTime(h.user.accountExpires)?.getTime(), endsAt.getTime() + settings.accountExpirySkewMs);
    assert.deepEqual(h.w.revocations.scheduled.get(e.id), endsAt);
    const [event] = await h.w.store.audit.list({ target: e.id, action: 'elevation.extended', limit: 1 });
    assert.deepEqual(event!.details, {
      requestedSeconds: 1800,
      addedSeconds: 1800,
      previousEndsAt: e.endsAt!.toISOString(),
      endsAt: endsAt.toISOString(),
      requestedAt: h.clock.now().toISOString(),
    });
  });

  it('when an extension would run past the profile maximum total, then it is refused and nothing moves; up to it is fine', async () => {
    const h = await grantingAtOnce({ maxDurationSeconds: 3600, maxTotalDurationSeconds: 2 * 3600 });
    const e = await h.request(h.alice);
    const latest = new Date(e.activatedAt!.getTime() + 2 * hour);
    await assert.rejects(
      h.useCases.extend(await h.fresh(h.alice), e.id, { durationSeconds: 3601, code: await h.code(h.alice) }, ctx),
      (error: unknown) =>
        refusedWith('extension_refused')(error) &&
        (error as { details: { latestEndsAt: string } }).details.latestEndsAt === latest.toISOString(),
    );
    assert.deepEqual((await h.elevation(e.id)).endsAt, e.endsAt);
    assert.deepEqual(h.w.revocations.scheduled.get(e.id), e.endsAt);
    const extended = await h.useCases.extend(await h.fresh(h.alice), e.id, { durationSeconds: 3600, code: await h.code(h.alice) }, ctx);
    assert.deepEqual(extended.endsAt, latest);
  });

  it('when the window closes before the extended end, then the grant is cut at the window end, said as clampedToWindowEnd', async () => {
    const h = await grantingAtOnce({ windows: mondayMorning });
    const e = await h.request(h.alice);
    assert.equal(e.windowClosesAt, null, 'the hour asked fits the window');
    const extended = await h.useCases.extend(await h.fresh(h.alice), e.id, { durationSeconds: 3 * 3600, code: await h.code(h.alice) }, ctx);
    assert.deepEqual(extended.endsAt, noon);
    assert.deepEqual(extended.windowClosesAt, noon);
    assert.equal(extended.extendedSeconds, (noon.getTime() - e.endsAt!.getTime()) / 1000);
    const [event] = await h.w.store.audit.list({ target: e.id, action: 'elevation.extended', limit: 1 });
    assert.equal((event!.details as { clampedToWindowEnd: string }).clampedToWindowEnd, noon.toISOString());
    assert.deepEqual(h.w.revocations.scheduled.get(e.id), noon);
    // Already at the window's end: nothing more to add.
    await assert.rejects(
      h.useCases.extend(await h.fresh(h.alice), e.id, { durationSeconds: 600, code: await h.code(h.alice) }, ctx),
      refusedWith('extension_refused'),
    );
  });

  it('when a grant is asked for longer than its window runs, then the activation itself ends it at the window end', async () => {
    const h = await grantingAtOnce({ windows: mondayMorning });
    const e = await h.request(h.alice, 'acme', 'helpdesk', 4 * 3600);
    assert.deepEqual(e.endsAt, noon);
    assert.deepEqual(e.windowClosesAt, noon);
    const [event] = await h.w.store.audit.list({ target: e.id, action: 'elevation.activated', limit: 1 });
    assert.equal((event!.details as { clampedToWindowEnd: string }).clampedToWindowEnd, noon.toISOString());
  });

  it('when someone else extends, then another technician does not find it and even an admin may not', async () => {
    const h = await grantingAtOnce();
    const e = await h.request(h.alice);
    const bob = await h.technician('bob');
    await assert.rejects(h.useCases.extend(bob, e.id, { durationSeconds: 600, code: await h.code(bob) }, ctx), refusedWith('not_found'));
    await assert.rejects(
      h.useCases.extend(h.admin, e.id, { durationSeconds: 600, code: await h.code(h.admin) }, ctx),
      refusedWith('forbidden'),
    );
    assert.deepEqual((await h.elevation(e.id)).endsAt, e.endsAt);
  });
});

async function reapproved() {
  const h = await elevationWorld();
  const alice = await h.technician('alice');
  const user = await h.link(alice);
  const bob = await h.technician('bob', { roles: ['approver'], approverTenants: ['acme'] });
  await h.profile('acme', { approval: { required: 1, reapproveExtensions: true, timeoutSeconds: 300 } });
  const requested = await h.request(alice);
  const e = await h.useCases.approve(await h.fresh(bob), requested.id, await h.code(bob), ctx);
  const extend = async () => h.useCases.extend(await h.fresh(alice), e.id, { durationSeconds: 1800, code: await h.code(alice) }, ctx);
  return { ...h, alice, user, bob, e, extend };
}

describe('elevations: an extension approved again', () => {
  it('when the profile asks extensions to be approved again, then the extension waits (round 1) and the approval applies it', async () => {
    const h = await reapproved();
    assert.equal(h.e.state, 'active');
    const waiting = await h.extend();
    assert.equal(waiting.state, 'active');
    assert.deepEqual(waiting.endsAt, h.e.endsAt, 'not moved yet');
    assert.equal(waiting.extension?.round, 1);
    assert.equal(waiting.extension?.seconds, 1800);
    assert.deepEqual(waiting.extension?.deadline, new Date(waiting.extension!.requestedAt.getTime() + 300_000));
    assert.deepEqual(
      (await h.useCases.pendingApprovals(h.bob)).map((e) => e.id),
      [h.e.id],
    );
    assert.equal(h.w.notifications.published.at(-1)?.kind, 'approval_requested');

    const applied = await h.useCases.approve(await h.fresh(h.bob), h.e.id, await h.code(h.bob), ctx);
    assert.equal(applied.extension, null);
    assert.deepEqual(applied.endsAt, new Date(h.e.endsAt!.getTime() + 1800_000));
    assert.deepEqual(h.w.revocations.scheduled.get(h.e.id), applied.endsAt);
    assert.deepEqual(
      applied.decisions.map((d) => [d.round, d.decision]),
      [
        [0, 'approve'],
        [1, 'approve'],
      ],
    );
    const [event] = await h.w.store.audit.list({ target: h.e.id, action: 'elevation.extended', limit: 1 });
    assert.equal(event!.actor, h.bob.id);
  });

  it('when the extension is denied, then the grant keeps its end and stays active', async () => {
    const h = await reapproved();
    await h.extend();
    const denied = await h.useCases.deny(await h.fresh(h.bob), h.e.id, await h.code(h.bob), 'no', ctx);
    assert.equal(denied.state, 'active');
    assert.equal(denied.extension, null);
    assert.deepEqual(denied.endsAt, h.e.endsAt);
    assert.deepEqual((await h.actions(h.e.id)).slice(-2), ['elevation.denied', 'elevation.extension_denied']);
    // The next extension is a round of its own: the deny of the last one does not count in it.
    assert.equal((await h.extend()).extension?.round, 2);
    const applied = await h.useCases.approve(await h.fresh(h.bob), h.e.id, await h.code(h.bob), ctx);
    assert.deepEqual(applied.endsAt, new Date(h.e.endsAt!.getTime() + 1800_000));
  });

  it('when nobody decides on the extension in time, then the reconciler lets it lapse and the grant runs to its old end', async () => {
    const h = await reapproved();
    await h.extend();
    h.clock.advance(300_000);
    const counts = await h.upkeep.reconcile();
    assert.equal(counts.lapsed, 1);
    const e = await h.elevation(h.e.id);
    assert.equal(e.state, 'active');
    assert.equal(e.extension, null);
    assert.deepEqual(e.endsAt, h.e.endsAt);
    assert.equal((await h.actions(h.e.id)).at(-1), 'elevation.extension_expired');
  });

  it('when the owner withdraws the waiting extension, then it is gone and another may be asked (one waits at a time)', async () => {
    const h = await reapproved();
    await h.extend();
    await assert.rejects(h.extend(), refusedWith('conflict'));
    const withdrawn = await h.useCases.cancel(await h.fresh(h.alice), h.e.id, ctx);
    assert.equal(withdrawn.state, 'active');
    assert.equal(withdrawn.extension, null);
    // Nothing was decided in round 1: the next extension asks in it again.
    assert.equal((await h.extend()).extension?.round, 1);
  });
});
