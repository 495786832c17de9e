// The tenant kill switch (docs/security-model.md, Kill switches and the tenant freeze) against real Samba domains: it ends
// everything of the tenant, grants still being activated included, and freezes the tenant until
// an admin lifts the freeze with a fresh code; a tenant with history can be archived instead of
// deleted. Races are made on purpose: an activation (or a request) is held mid-way on a gate.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isAccountEnabled } from '../../src/domain/ad.ts';
import { systemContext } from '../../src/services/context.ts';
import type { TenantAccess } from '../../src/services/tenants/index.ts';
import type { TenantDirectory } from '../../src/services/ports/directory.ts';
import { createTestOu, membersOf, readUser } from '../support/directory.ts';
import { bearer, codeNow, createTechnician, login } from '../support/factories.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { testServices } from '../support/services.ts';
import { addTenant, createProfile, operative, requestElevation, withFreshCode, type Operative } from '../support/world.ts';

const { acme, globex } = testServices().domains;

/**
 * Holds the next matching directory step of this process on a gate: `reached` resolves when it
 * gets there, `release()` lets it go on (to the real directory). `step` is either opening a
 * tenant's directory or adding `accountDn` to a group.
 */
function holdDirectory(access: TenantAccess, step: { open: string } | { addMember: string }) {
  let arrived!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => (arrived = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  const real = access.directory.bind(access);
  let held = false;
  const hold = async () => {
    held = true;
    arrived();
    await gate;
  };
  access.directory = async (tenant) => {
    if ('open' in step && tenant.id === step.open && !held) await hold();
    const directory = await real(tenant);
    if (!('addMember' in step)) return directory;
    const member = step.addMember.toLowerCase();
    return new Proxy(directory, {
      get(target, prop, receiver) {
        if (prop !== 'addMembers') {
          const value = Reflect.get(target, prop, receiver) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        }
        const addMembers: TenantDirectory['addMembers'] = async (group, members, ttl) => {
          if (!held && members.some((m) => m.toLowerCase() === member)) await hold();
          return target.addMembers(group, members, ttl);
        };
        return addMembers;
      },
    });
  };
  return {
    reached,
    release() {
      release();
      access.directory = real;
    },
  };
}

for (const engine of engines) {
  describe(`tenant kill switch, freeze and archive on ${engine}`, () => {
    let h: Harness;
    let ou: Awaited<ReturnType<typeof createTestOu>>;
    let globexOu: Awaited<ReturnType<typeof createTestOu>>;
    let group: string;
    let globexGroup: string;
    let admin: Awaited<ReturnType<typeof createTechnician>> & { accessToken: string };
    let approver: Operative;

    const profile = (tenant: string, body: Record<string, unknown>) => createProfile(h, admin.accessToken, tenant, body);
    const withCode = (who: { totpSecret: string | null }, body: Record<string, unknown> = {}) => withFreshCode(h, who, body);
    const killAcme = async (reason?: string) =>
      h.http
        .post('/api/v1/tenants/acme/kill-switch')
        .set(bearer(admin.accessToken))
        .send(await withCode(admin, reason ? { reason } : {}));
    const unfreezeAcme = async () => {
      const lifted = await h.http
        .post('/api/v1/tenants/acme/unfreeze')
        .set(bearer(admin.accessToken))
        .send(await withCode(admin));
      assert.equal(lifted.status, 200, JSON.stringify(lifted.body));
    };
    const isMember = async (domain: typeof acme, groupDn: string, dn: string) =>
      (await membersOf(domain, groupDn)).includes(dn.toLowerCase());
    const eventsFor = async (target: string) => (await h.container.store.audit.list({ limit: 10_000 })).filter((e) => e.target === target);

    before(async () => {
      h = await startHarness({ engine, config: { auth: { accessTokenTtlSeconds: 86_400, refreshIdleSeconds: 86_400 } } });
      await addTenant(h, acme);
      await addTenant(h, globex);
      ou = await createTestOu(acme, `tf-${engine}`);
      globexOu = await createTestOu(globex, `tf-${engine}`);
      group = await ou.group('Freeze-Helpdesk');
      globexGroup = await globexOu.group('Archive-Helpdesk');
      const a = await createTechnician(h, ['admin']);
      const { accessToken } = await login(h, a);
      admin = { ...a, accessToken };
      approver = await operative(h, acme, ou, ['approver']);
      await h.container.services.technicians.update(approver.id, { approverTenants: ['acme', 'globex'] }, 'system', systemContext);
      await profile('acme', {
        name: 'quick',
        groups: [group],
        defaultDurationSeconds: 600,
        maxDurationSeconds: 1200,
        maxTotalDurationSeconds: 3600,
      });
      await profile('acme', {
        name: 'approved',
        groups: [group],
        defaultDurationSeconds: 600,
        maxDurationSeconds: 600,
        approval: { required: 1 },
      });
      await profile('globex', { name: 'helpdesk', groups: [globexGroup], defaultDurationSeconds: 600, maxDurationSeconds: 600 });
      await profile('globex', {
        name: 'approved',
        groups: [globexGroup],
        defaultDurationSeconds: 600,
        maxDurationSeconds: 600,
        approval: { required: 1 },
      });
    });
    after(async () => {
      await h.close();
      await ou.cleanup();
      await globexOu.cleanup();
    });

    it('when the tenant kill switch is thrown, then everything in it ends and the tenant is frozen: a request right after it is refused with 423 tenant_frozen and nothing is written', async () => {
      const tech = await operative(h, acme, ou);
      const other = await operative(h, acme, ou);
      const live = await requestElevation(h, tech, { tenant: 'acme', profile: 'quick' });
      const waiting = await requestElevation(h, other, { tenant: 'acme', profile: 'approved' });
      assert.deepEqual([live.status, waiting.status], [201, 202]);

      const wrong = await h.http.post('/api/v1/tenants/acme/kill-switch').set(bearer(admin.accessToken)).send({ code: '000000' });
      assert.equal(wrong.status, 401);
      assert.equal((await h.container.store.tenants.findById('acme'))!.frozen, null, 'a wrong code freezes nothing');

      const thrown = await killAcme('client breach');
      assert.equal(thrown.status, 200, JSON.stringify(thrown.body));
      assert.deepEqual(thrown.body, { revoked: 1, cancelled: 1, stillRevoking: 0, frozen: true });
      assert.equal(await isMember(acme, group, tech.accountDn), false);
      assert.equal((await h.container.store.elevations.findById(waiting.body.id))!.state, 'cancelled');

      const shown = await h.http.get('/api/v1/tenants/acme').set(bearer(admin.accessToken));
      assert.equal(shown.status, 200);
      assert.equal(shown.body.frozen.by, admin.id);
      assert.equal(shown.body.frozen.reason, 'client breach');
      assert.equal(shown.body.archived, null);

      const before = await h.container.store.elevations.list({ technicianId: tech.id, limit: 100 });
      const again = await requestElevation(h, tech, { tenant: 'acme', profile: 'quick' });
      assert.equal(again.status, 423, JSON.stringify(again.body));
      assert.equal(again.body.error.code, 'tenant_frozen');
      assert.equal(
        (await h.container.store.elevations.list({ technicianId: tech.id, limit: 100 })).length,
        before.length,
        'no elevation recorded',
      );
      assert.equal(await isMember(acme, group, tech.accountDn), false);
      const offered = await h.http.get('/api/v1/me/profiles').set(bearer(tech.accessToken));
      assert.equal(
        offered.body.profiles.some((p: { tenant: { id: string } }) => p.tenant.id === 'acme'),
        false,
        'a frozen tenant offers nothing to ask for',
      );

      const frozenEvents = (await eventsFor('acme')).filter((e) => e.action === 'tenant.frozen');
      assert.equal(frozenEvents.length, 1);
      assert.deepEqual(frozenEvents[0]!.details, { reason: 'client breach', via: 'kill_switch' });
      assert.equal(frozenEvents[0]!.actor, admin.id);
      await unfreezeAcme();
    });

    it('when a grant is mid-activation as the kill switch runs and its activation finishes its directory work afterwards, then it is undone and ends revoked, never active', async () => {
      const tech = await operative(h, acme, ou);
      // Held right before the membership is added: the account is already enabled in the domain.
      const held = holdDirectory(h.container.access, { addMember: tech.accountDn });
      const answer = requestElevation(h, tech, { tenant: 'acme', profile: 'quick' }).then((r) => r);
      let late: Awaited<typeof answer>;
      let midId: string;
      try {
        await held.reached;
        const [mid] = await h.container.store.elevations.list({ technicianId: tech.id, limit: 10 });
        midId = mid!.id;
        assert.equal(mid!.state, 'activating');
        assert.equal(isAccountEnabled((await readUser(acme, tech.accountDn)).userAccountControl), true, 'the activation is half-way');

        const thrown = await killAcme();
        assert.equal(thrown.status, 200, JSON.stringify(thrown.body));
        assert.equal(thrown.body.revoked, 1, 'the grant being activated is ended too');
        assert.equal((await h.container.store.elevations.findById(midId))!.state, 'revoked');
      } finally {
        // The activation goes on after the kill switch: it adds the membership, then finds its grant gone.
        held.release();
        late = await answer;
      }
      assert.equal(late.status, 409, JSON.stringify(late.body));
      assert.equal(late.body.error.code, 'conflict');
      const ended = await h.container.store.elevations.findById(midId!);
      assert.equal(ended!.state, 'revoked');
      assert.equal(ended!.revocationReason, 'kill_switch');
      assert.equal(await isMember(acme, group, tech.accountDn), false, 'the membership added after the kill switch is undone');
      assert.equal(isAccountEnabled((await readUser(acme, tech.accountDn)).userAccountControl), false, 'the account is disabled again');
      assert.equal(
        (await eventsFor(midId)).some((e) => e.action === 'elevation.activated'),
        false,
        'never active',
      );

      await h.container.elevationUpkeep.reconcile();
      assert.equal((await h.container.store.elevations.findById(midId))!.state, 'revoked', 'the reconciler leaves it ended');
      assert.equal(await isMember(acme, group, tech.accountDn), false);
      await unfreezeAcme();
    });

    it('when a request has passed its checks but not yet committed as the kill switch commits, then it is refused and nothing reaches the directory', async () => {
      const tech = await operative(h, acme, ou);
      // Held between the request's first checks and its transaction (opening the directory for its reads).
      const held = holdDirectory(h.container.access, { open: 'acme' });
      const answer = requestElevation(h, tech, { tenant: 'acme', profile: 'quick' }).then((r) => r);
      let late: Awaited<typeof answer>;
      try {
        await held.reached;
        const thrown = await killAcme();
        assert.equal(thrown.status, 200, JSON.stringify(thrown.body));
        assert.equal(thrown.body.revoked + thrown.body.cancelled, 0, 'nothing of it existed yet');
      } finally {
        held.release();
        late = await answer;
      }
      assert.equal(late.status, 423, JSON.stringify(late.body));
      assert.equal(late.body.error.code, 'tenant_frozen');
      assert.equal((await h.container.store.elevations.list({ technicianId: tech.id, limit: 10 })).length, 0);
      assert.equal(await isMember(acme, group, tech.accountDn), false);
      assert.equal(isAccountEnabled((await readUser(acme, tech.accountDn)).userAccountControl), false);
      await unfreezeAcme();
    });

    it('when the tenant is frozen, then approvals and extensions are refused with 423 and nothing changes; once an admin lifts the freeze with a fresh code (audited), they work again', async () => {
      const tech = await operative(h, acme, ou);
      const other = await operative(h, acme, ou);
      const live = await requestElevation(h, tech, { tenant: 'acme', profile: 'quick' });
      const waiting = await requestElevation(h, other, { tenant: 'acme', profile: 'approved' });
      assert.deepEqual([live.status, waiting.status], [201, 202]);
      // Frozen as the kill switch's first step does, before it reaches the grants.
      const frozenAt = h.clock.now();
      assert.equal(await h.container.store.tenants.freeze('acme', { at: frozenAt, by: admin.id, reason: null }), true);

      const approve = await h.http
        .post(`/api/v1/elevations/${waiting.body.id}/approve`)
        .set(bearer(approver.accessToken))
        .send(await withCode(approver));
      assert.equal(approve.status, 423, JSON.stringify(approve.body));
      assert.equal(approve.body.error.code, 'tenant_frozen');
      assert.equal((await h.container.store.elevations.findById(waiting.body.id))!.state, 'pending_approval');
      const extend = await h.http
        .post(`/api/v1/elevations/${live.body.id}/extend`)
        .set(bearer(tech.accessToken))
        .send(await withCode(tech, { durationSeconds: 300 }));
      assert.equal(extend.status, 423, JSON.stringify(extend.body));
      assert.equal(extend.body.error.code, 'tenant_frozen');
      assert.equal(
        (await h.container.store.elevations.findById(live.body.id))!.endsAt!.toISOString(),
        live.body.endsAt,
        'the end did not move',
      );

      const notAdmin = await h.http
        .post('/api/v1/tenants/acme/unfreeze')
        .set(bearer(tech.accessToken))
        .send(await withCode(tech));
      assert.equal(notAdmin.status, 403);
      const wrong = await h.http.post('/api/v1/tenants/acme/unfreeze').set(bearer(admin.accessToken)).send({ code: '000000' });
      assert.equal(wrong.status, 401);
      const stale = await h.http
        .post('/api/v1/tenants/acme/unfreeze')
        .set(bearer(admin.accessToken))
        .send({ code: await codeNow(h, admin.totpSecret!) });
      const replay = await h.http
        .post('/api/v1/tenants/acme/unfreeze')
        .set(bearer(admin.accessToken))
        .send({ code: await codeNow(h, admin.totpSecret!) });
      assert.equal(stale.status, 200, JSON.stringify(stale.body));
      assert.equal(stale.body.frozen, null);
      assert.equal(replay.status, 409, 'not frozen any more; the used code is not asked for again');
      const lifted = (await eventsFor('acme')).filter(
        (e) => e.action === 'tenant.unfrozen' && e.details.frozenAt === frozenAt.toISOString(),
      );
      assert.equal(lifted.length, 1);
      assert.equal(lifted[0]!.actor, admin.id);
      assert.deepEqual(lifted[0]!.details, { frozenAt: frozenAt.toISOString(), frozenBy: admin.id, frozenReason: null });

      const approved = await h.http
        .post(`/api/v1/elevations/${waiting.body.id}/approve`)
        .set(bearer(approver.accessToken))
        .send(await withCode(approver));
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(approved.body.state, 'active');
      const extended = await h.http
        .post(`/api/v1/elevations/${live.body.id}/extend`)
        .set(bearer(tech.accessToken))
        .send(await withCode(tech, { durationSeconds: 300 }));
      assert.equal(extended.status, 200, JSON.stringify(extended.body));
      for (const id of [live.body.id, waiting.body.id]) await h.container.elevationUpkeep.end(id, 'admin', 'system', systemContext);
    });

    it('when a replayed or reused code is sent to lift a freeze, then it stays frozen', async () => {
      await h.container.store.tenants.freeze('acme', { at: h.clock.now(), by: admin.id, reason: null });
      const code = await withCode(admin);
      const first = await h.http.post('/api/v1/tenants/acme/unfreeze').set(bearer(admin.accessToken)).send(code);
      assert.equal(first.status, 200);
      await h.container.store.tenants.freeze('acme', { at: h.clock.now(), by: admin.id, reason: null });
      const reused = await h.http.post('/api/v1/tenants/acme/unfreeze').set(bearer(admin.accessToken)).send(code);
      assert.equal(reused.status, 401, JSON.stringify(reused.body));
      assert.notEqual((await h.container.store.tenants.findById('acme'))!.frozen, null, 'a code used once lifts nothing');
      await unfreezeAcme();
    });

    it('when the kill switch froze the tenant but its process died before ending the grants, then the reconciler ends them', async () => {
      const tech = await operative(h, acme, ou);
      const other = await operative(h, acme, ou);
      const live = await requestElevation(h, tech, { tenant: 'acme', profile: 'quick' });
      const waiting = await requestElevation(h, other, { tenant: 'acme', profile: 'approved' });
      assert.deepEqual([live.status, waiting.status], [201, 202]);
      await h.container.store.tenants.freeze('acme', { at: h.clock.now(), by: admin.id, reason: null });
      const counts = await h.container.elevationUpkeep.reconcile();
      assert.equal(counts.frozen, 2);
      const ended = await h.container.store.elevations.findById(live.body.id);
      assert.equal(ended!.state, 'revoked');
      assert.equal(ended!.revocationReason, 'kill_switch');
      assert.equal((await h.container.store.elevations.findById(waiting.body.id))!.state, 'cancelled');
      assert.equal(await isMember(acme, group, tech.accountDn), false);
      await unfreezeAcme();
    });

    it('when a tenant with history is archived, then its live grants end first, it grants nothing again, its directory is no longer used, its records stay, and it cannot be lifted', async () => {
      const tech = await operative(h, globex, globexOu);
      const other = await operative(h, globex, globexOu);
      const live = await requestElevation(h, tech, { tenant: 'globex', profile: 'helpdesk' });
      const waiting = await requestElevation(h, other, { tenant: 'globex', profile: 'approved' });
      assert.deepEqual([live.status, waiting.status], [201, 202]);
      const deleted = await h.http.delete('/api/v1/tenants/globex').set(bearer(admin.accessToken));
      assert.equal(deleted.status, 409, 'a tenant with history cannot be deleted');
      assert.equal(deleted.body.error.code, 'tenant_in_use');

      const wrong = await h.http.post('/api/v1/tenants/globex/archive').set(bearer(admin.accessToken)).send({ code: '000000' });
      assert.equal(wrong.status, 401);
      assert.equal((await h.container.store.tenants.findById('globex'))!.frozen, null, 'a wrong code changes nothing');
      const notAdmin = await h.http
        .post('/api/v1/tenants/globex/archive')
        .set(bearer(tech.accessToken))
        .send(await withCode(tech));
      assert.equal(notAdmin.status, 403);

      const archived = await h.http
        .post('/api/v1/tenants/globex/archive')
        .set(bearer(admin.accessToken))
        .send(await withCode(admin, { reason: 'contract ended' }));
      assert.equal(archived.status, 200, JSON.stringify(archived.body));
      assert.equal(archived.body.revoked, 1);
      assert.equal(archived.body.cancelled, 1);
      assert.equal(archived.body.tenant.archived.by, admin.id);
      assert.notEqual(archived.body.tenant.frozen, null);
      assert.equal(await isMember(globex, globexGroup, tech.accountDn), false);
      assert.equal(isAccountEnabled((await readUser(globex, tech.accountDn)).userAccountControl), false);
      assert.equal((await h.container.store.elevations.findById(live.body.id))!.state, 'revoked');
      assert.equal((await h.container.store.elevations.findById(waiting.body.id))!.state, 'cancelled');

      const listed = await h.http.get('/api/v1/tenants').set(bearer(admin.accessToken));
      assert.notEqual(listed.body.tenants.find((t: { id: string }) => t.id === 'globex').archived, null, 'listed as archived');
      const request = await requestElevation(h, tech, { tenant: 'globex', profile: 'helpdesk' });
      assert.equal(request.status, 409, JSON.stringify(request.body));
      assert.equal(request.body.error.code, 'tenant_archived');
      const offered = await h.http.get('/api/v1/me/profiles').set(bearer(tech.accessToken));
      assert.equal(
        offered.body.profiles.some((p: { tenant: { id: string } }) => p.tenant.id === 'globex'),
        false,
        'hidden from the request form',
      );
      const unfreeze = await h.http
        .post('/api/v1/tenants/globex/unfreeze')
        .set(bearer(admin.accessToken))
        .send(await withCode(admin));
      assert.equal(unfreeze.status, 409);
      assert.equal(unfreeze.body.error.code, 'tenant_archived');
      const again = await h.http
        .post('/api/v1/tenants/globex/archive')
        .set(bearer(admin.accessToken))
        .send(await withCode(admin));
      assert.equal(again.status, 409);

      // Its directory is no longer used: no check, no change, no link, no profile, no review.
      const check = await h.http.post('/api/v1/tenants/globex/check').set(bearer(admin.accessToken));
      assert.equal(check.status, 409, JSON.stringify(check.body));
      const patch = await h.http.patch('/api/v1/tenants/globex').set(bearer(admin.accessToken)).send({ displayName: 'Globex again' });
      assert.equal(patch.status, 409);
      const newcomer = await createTechnician(h, ['technician']);
      const link = await h.http
        .post('/api/v1/tenants/globex/accounts')
        .set(bearer(admin.accessToken))
        .send({ technicianId: newcomer.id, account: `msp-${tech.username.slice(0, 12)}` });
      assert.equal(link.status, 409, JSON.stringify(link.body));
      const newProfile = await h.http
        .post('/api/v1/tenants/globex/profiles')
        .set(bearer(admin.accessToken))
        .send({
          eligibleRoles: ['technician'],
          name: 'later',
          groups: [globexGroup],
          defaultDurationSeconds: 600,
          maxDurationSeconds: 600,
        });
      assert.equal(newProfile.status, 409, JSON.stringify(newProfile.body));
      const review = await h.http.post('/api/v1/reviews').set(bearer(admin.accessToken)).send({ tenantId: 'globex' });
      assert.equal(review.status, 409, JSON.stringify(review.body));

      // Kept for the audit.
      assert.equal((await h.container.store.elevations.list({ tenantIds: ['globex'], limit: 100 })).length, 2);
      const events = await eventsFor('globex');
      const archivedEvent = events.find((e) => e.action === 'tenant.archived');
      assert.deepEqual(archivedEvent?.details, { reason: 'contract ended', revoked: 1, cancelled: 1 });
      assert.deepEqual(events.find((e) => e.action === 'tenant.frozen')?.details, { reason: 'contract ended', via: 'archive' });
      const verified = await h.container.services.audit.verifyStoredChain();
      assert.equal(verified.firstBreak, null, JSON.stringify(verified));
    });
  });
}
