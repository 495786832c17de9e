// Granting at once and ending a grant early (docs/architecture.md, A request, end to end): the
// account enabled and put in the profile's groups with its revocation job queued; revokeByUser by
// its owner (`self`) or an admin (`admin`), and by anyone else not even seen (`not_found`).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromFileTime } from '../../../src/domain/ad.ts';
import { ctx, disabledUac, grantingAtOnce, hour, refusedWith, settings } from './elevations-world.ts';

describe('elevations: a grant at once, and revokeByUser', () => {
  it('when a profile grants at once, then the account is enabled, in its groups, expiring after the end, and the job is queued for the end', async () => {
    const h = await grantingAtOnce();
    const e = await h.request(h.alice);
    assert.equal(e.state, 'active');
    const endsAt = new Date(e.activatedAt!.getTime() + hour);
    assert.deepEqual(e.endsAt, endsAt);
    assert.deepEqual(h.acme.members(h.groups[0]!.dn), [h.user.dn]);
    assert.equal(h.user.userAccountControl & 0x2, 0);
    assert.equal(fromFileTime(h.user.accountExpires)?.getTime(), endsAt.getTime() + settings.accountExpirySkewMs);
    assert.deepEqual(h.w.revocations.scheduled.get(e.id), endsAt);
    assert.deepEqual(await h.actions(e.id), ['elevation.requested', 'elevation.activated']);
    assert.deepEqual(
      h.w.notifications.published.map((n) => n.kind),
      ['activated'],
    );
  });

  it('when the owner revokes their grant, then it ends `revoked` for `self`: out of the group, disabled, expiring now, job cancelled', async () => {
    const h = await grantingAtOnce();
    const e = await h.request(h.alice);
    h.clock.advance(10 * 60_000);
    const ended = await h.useCases.revokeByUser(await h.fresh(h.alice), e.id, ctx);
    assert.equal(ended.state, 'revoked');
    assert.equal(ended.revocationReason, 'self');
    assert.deepEqual(ended.endedAt, h.clock.now());
    assert.deepEqual(h.acme.members(h.groups[0]!.dn), []);
    assert.equal(h.user.userAccountControl, disabledUac);
    assert.equal(fromFileTime(h.user.accountExpires)?.getTime(), h.clock.now().getTime());
    assert.equal(h.w.revocations.scheduled.has(e.id), false);
    assert.deepEqual((await h.actions(e.id)).slice(-2), ['elevation.revoking', 'elevation.revoked']);
    const [revoked] = await h.w.store.audit.list({ target: e.id, action: 'elevation.revoked', limit: 1 });
    assert.equal(revoked!.actor, h.alice.id);
    assert.deepEqual(revoked!.details, { reason: 'self', groups: [h.groups[0]!.dn], accountDisabled: true });
  });

  it("when an admin revokes someone else's grant, then it ends `revoked` for `admin`, by the admin", async () => {
    const h = await grantingAtOnce();
    const e = await h.request(h.alice);
    const ended = await h.useCases.revokeByUser(h.admin, e.id, ctx);
    assert.equal(ended.state, 'revoked');
    assert.equal(ended.revocationReason, 'admin');
    const [revoking] = await h.w.store.audit.list({ target: e.id, action: 'elevation.revoking', limit: 1 });
    assert.equal(revoking!.actor, h.admin.id);
    assert.deepEqual(h.acme.members(h.groups[0]!.dn), []);
  });

  it('when another technician (or an approver of another tenant) revokes it, then it is not found and nothing changes', async () => {
    const h = await grantingAtOnce();
    const e = await h.request(h.alice);
    const bob = await h.technician('bob');
    const globexApprover = await h.technician('gina', { roles: ['technician', 'approver'], approverTenants: ['globex'] });
    const before = await h.actions();
    await assert.rejects(h.useCases.revokeByUser(bob, e.id, ctx), refusedWith('not_found'));
    await assert.rejects(h.useCases.revokeByUser(globexApprover, e.id, ctx), refusedWith('not_found'));
    await assert.rejects(h.useCases.get(bob, e.id), refusedWith('not_found'));
    assert.equal((await h.elevation(e.id)).state, 'active');
    assert.deepEqual(h.acme.members(h.groups[0]!.dn), [h.user.dn]);
    assert.deepEqual(await h.actions(), before);
    assert.deepEqual(await h.useCases.list(bob, {}), []);
  });

  it('when an approver of the tenant (not an admin) tries to revoke a grant they can see, then it is forbidden', async () => {
    const h = await grantingAtOnce();
    const e = await h.request(h.alice);
    const approver = await h.technician('carol', { roles: ['technician', 'approver'], approverTenants: ['acme'] });
    assert.equal((await h.useCases.get(approver, e.id)).id, e.id);
    await assert.rejects(h.useCases.revokeByUser(approver, e.id, ctx), refusedWith('forbidden'));
    assert.equal((await h.elevation(e.id)).state, 'active');
  });

  it('when a grant already ended is revoked again, then it answers it as it stands and writes nothing more', async () => {
    const h = await grantingAtOnce();
    const e = await h.request(h.alice);
    await h.useCases.revokeByUser(await h.fresh(h.alice), e.id, ctx);
    const calls = h.acme.calls.length;
    const again = await h.useCases.revokeByUser(h.admin, e.id, ctx);
    assert.equal(again.state, 'revoked');
    assert.equal(again.revocationReason, 'self');
    assert.equal(h.acme.calls.length, calls);
  });

  it('when two grants of one technician share a group and one is revoked, then the shared group and the account stay for the other', async () => {
    const h = await grantingAtOnce();
    const shared = h.groups[0]!;
    const first = await h.request(h.alice);
    // A second profile granting the same group and another one.
    const other = h.acme.addGroup('Printers');
    await h.w.store.profiles.insert(
      {
        ...h.profile,
        id: 'p-2',
        name: 'printers',
        groups: [...h.profile.groups, { dn: other.dn, guid: other.guid, sid: other.sid, name: other.name }],
      },
      h.clock.now(),
    );
    const second = await h.request(h.alice, 'acme', 'printers');
    await h.useCases.revokeByUser(await h.fresh(h.alice), second.id, ctx);
    assert.deepEqual(h.acme.members(shared.dn), [h.user.dn]);
    assert.deepEqual(h.acme.members(other.dn), []);
    assert.equal(h.user.userAccountControl & 0x2, 0, 'still enabled for the first grant');
    assert.equal((await h.elevation(first.id)).state, 'active');
  });
});
