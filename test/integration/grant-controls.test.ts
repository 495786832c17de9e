// What bounds a grant once it is asked for (docs/architecture.md, Weekly windows and Extending a
// grant; docs/security-model.md, Kill switches and the tenant freeze), against real Samba domains:
// weekly windows in the tenant's time zone across a DST change, logonHours as AD keeps them,
// extensions within the profile's maximum total, and the kill switches.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fromFileTime, isAccountEnabled } from '../../src/domain/ad.ts';
import { systemContext } from '../../src/services/context.ts';
import { fakeClock } from '../support/clock.ts';
import { createTestOu, membersOf, readUser } from '../support/directory.ts';
import { bearer, createTechnician, login } from '../support/factories.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { testServices } from '../support/services.ts';
import { addTenant, createProfile, operative, requestElevation, withFreshCode, type Operative } from '../support/world.ts';

const { acme, globex } = testServices().domains;
const hourOfWeekSet = (hours: Buffer, hour: number) => (hours[hour >> 3]! & (1 << (hour & 7))) !== 0;

for (const engine of engines) {
  describe(`grant controls on ${engine}`, () => {
    let h: Harness;
    let ou: Awaited<ReturnType<typeof createTestOu>>;
    let globexOu: Awaited<ReturnType<typeof createTestOu>>;
    let group: string;
    let globexGroup: string;
    let admin: Awaited<ReturnType<typeof createTechnician>> & { accessToken: string };
    let tech: Operative;

    const profile = (tenant: string, body: Record<string, unknown>) => createProfile(h, admin.accessToken, tenant, body);
    const withCode = (who: { totpSecret: string | null }, body: Record<string, unknown> = {}) => withFreshCode(h, who, body);
    /** Links `who` to a new account of the same name in globex too. */
    const linkInGlobex = async (who: Operative) => {
      const name = `msp-${who.username.slice(0, 12)}`;
      await globexOu.user(name, who.accountPassword);
      await h.container.services.accounts.link('globex', who.id, name, 'system', systemContext);
      return `CN=${name},${globexOu.dn}`;
    };

    before(async () => {
      // Friday 27 March 2026, 16:30 in Berlin (CET, UTC+1); the clocks go forward on Sunday the 29th.
      h = await startHarness({
        engine,
        clock: fakeClock(Date.UTC(2026, 2, 27, 15, 30)),
        config: { auth: { accessTokenTtlSeconds: 86_400, refreshIdleSeconds: 86_400 } },
      });
      await addTenant(h, acme);
      await addTenant(h, globex);
      await h.container.services.tenants.update('acme', { timeZone: 'Europe/Berlin' }, 'system', systemContext);
      ou = await createTestOu(acme, `gc-${engine}`);
      globexOu = await createTestOu(globex, `gc-${engine}`);
      group = await ou.group('Office-Hours-Admins');
      globexGroup = await globexOu.group('Globex-Helpdesk');
      const a = await createTechnician(h, ['admin']);
      const { accessToken } = await login(h, a);
      admin = { ...a, accessToken };
      tech = await operative(h, acme, ou);
      await profile('acme', {
        name: 'office-hours',
        groups: [group],
        defaultDurationSeconds: 3600,
        maxDurationSeconds: 7200,
        windows: [{ days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' }],
      });
      await profile('acme', {
        name: 'extendable',
        groups: [group],
        defaultDurationSeconds: 600,
        maxDurationSeconds: 1200,
        maxTotalDurationSeconds: 1800,
      });
      await profile('acme', {
        name: 'extend-approved',
        groups: [group],
        defaultDurationSeconds: 600,
        maxDurationSeconds: 600,
        maxTotalDurationSeconds: 3600,
        approval: { required: 1, reapproveExtensions: true },
      });
      await profile('globex', { name: 'helpdesk', groups: [globexGroup], defaultDurationSeconds: 600, maxDurationSeconds: 600 });
    });
    after(async () => {
      await h.close();
      await ou.cleanup();
      await globexOu.cleanup();
    });

    it('when windows are in a non-UTC zone, then grants are clamped to the window, refused outside it with the next opening after a DST change, and logonHours follow UTC', async () => {
      const before = await readUser(acme, tech.accountDn);
      const friday = await requestElevation(h, tech, { tenant: 'acme', profile: 'office-hours' });
      assert.equal(friday.status, 201, JSON.stringify(friday.body));
      // Asked for an hour at 16:30 CET: the window ends at 17:00 CET = 16:00 UTC.
      assert.equal(friday.body.endsAt, '2026-03-27T16:00:00.000Z');
      assert.equal(friday.body.clampedToWindowEnd, '2026-03-27T16:00:00.000Z');
      const expires = fromFileTime((await readUser(acme, tech.accountDn)).accountExpires)!;
      assert.equal(expires.toISOString(), '2026-03-27T16:05:00.000Z', 'accountExpires is the clamped end plus the skew');
      await h.container.elevationUpkeep.end(friday.body.id, 'self', tech.id, systemContext);

      // Saturday: closed. The next opening is Monday 09:00 in Berlin, which is now CEST (UTC+2): 07:00 UTC.
      h.clock.set(Date.UTC(2026, 2, 28, 10, 0));
      tech.accessToken = (await login(h, tech)).accessToken;
      const saturday = await requestElevation(h, tech, { tenant: 'acme', profile: 'office-hours' });
      assert.equal(saturday.status, 422, JSON.stringify(saturday.body));
      assert.equal(saturday.body.error.code, 'outside_window');
      assert.equal(saturday.body.error.details.opensAt, '2026-03-30T07:00:00.000Z');
      assert.match(saturday.body.error.message, /Mon 30 Mar 2026 09:00/);

      // Monday 09:30 CEST.
      h.clock.set(Date.UTC(2026, 2, 30, 7, 30));
      tech.accessToken = (await login(h, tech)).accessToken;
      admin.accessToken = (await login(h, admin)).accessToken;
      const monday = await requestElevation(h, tech, { tenant: 'acme', profile: 'office-hours', durationSeconds: 1800 });
      assert.equal(monday.status, 201, JSON.stringify(monday.body));
      assert.equal(new Date(monday.body.endsAt).getTime() - new Date(monday.body.activatedAt).getTime(), 1800_000);
      assert.equal(monday.body.clampedToWindowEnd, null, 'inside the window: not clamped');
      const hours = (await readUser(acme, tech.accountDn)).logonHours;
      assert.ok(hours && hours.length === 21, 'logonHours written');
      const monday0 = 24; // hour of the week, UTC, Sunday 00:00 = 0
      for (let hour = 0; hour < 24; hour++) {
        assert.equal(hourOfWeekSet(hours, monday0 + hour), hour >= 7 && hour < 15, `Monday ${hour}:00 UTC`);
      }
      assert.equal(hourOfWeekSet(hours, 0 * 24 + 10), false, 'Sunday is not in any window');
      assert.equal(hourOfWeekSet(hours, 5 * 24 + 7), true, 'Friday 09:00 CEST = 07:00 UTC');

      await h.container.elevationUpkeep.end(monday.body.id, 'self', tech.id, systemContext);
      const restored = await readUser(acme, tech.accountDn);
      assert.deepEqual(restored.logonHours, before.logonHours, 'the account’s own logonHours are back once the grant ends');
    });

    it('when the owner extends, then the end moves in the store and in accountExpires, within the maximum total, and never past it', async () => {
      const asked = await requestElevation(h, tech, { tenant: 'acme', profile: 'extendable' });
      assert.equal(asked.status, 201, JSON.stringify(asked.body));
      const endsAt = new Date(asked.body.endsAt).getTime();
      const extended = await h.http
        .post(`/api/v1/elevations/${asked.body.id}/extend`)
        .set(bearer(tech.accessToken))
        .send(await withCode(tech, { durationSeconds: 600 }));
      assert.equal(extended.status, 200, JSON.stringify(extended.body));
      assert.equal(new Date(extended.body.endsAt).getTime(), endsAt + 600_000);
      assert.equal(extended.body.extendedSeconds, 600);
      const expires = fromFileTime((await readUser(acme, tech.accountDn)).accountExpires)!;
      assert.equal(expires.getTime(), endsAt + 600_000 + 300_000, 'accountExpires moved with the end');
      assert.equal(await h.container.jobs.isScheduled(asked.body.id), true);

      const tooFar = await h.http
        .post(`/api/v1/elevations/${asked.body.id}/extend`)
        .set(bearer(tech.accessToken))
        .send(await withCode(tech, { durationSeconds: 1200 }));
      assert.equal(tooFar.status, 422, JSON.stringify(tooFar.body));
      assert.equal(tooFar.body.error.code, 'extension_refused');
      assert.equal(tooFar.body.error.details.maxTotalDurationSeconds, 1800);
      const unchanged = await h.container.store.elevations.findById(asked.body.id);
      assert.equal(unchanged!.endsAt!.getTime(), endsAt + 600_000, 'a refused extension changes nothing');
      assert.equal(fromFileTime((await readUser(acme, tech.accountDn)).accountExpires)!.getTime(), endsAt + 900_000);

      const other = await operative(h, acme, ou);
      const notMine = await h.http
        .post(`/api/v1/elevations/${asked.body.id}/extend`)
        .set(bearer(other.accessToken))
        .send(await withCode(other, { durationSeconds: 60 }));
      assert.equal(notMine.status, 404, 'another technician cannot see it, let alone extend it');
      const wrongCode = await h.http
        .post(`/api/v1/elevations/${asked.body.id}/extend`)
        .set(bearer(tech.accessToken))
        .send({ durationSeconds: 60, code: '000000' });
      assert.equal(wrongCode.status, 401);
      await h.container.elevationUpkeep.end(asked.body.id, 'self', tech.id, systemContext);
    });

    it('when the profile asks for approval again, then an extension waits for it and moves the end only once approved', async () => {
      const approver = await operative(h, acme, ou, ['approver']);
      await h.container.services.technicians.update(approver.id, { approverTenants: ['acme'] }, 'system', systemContext);
      const asked = await requestElevation(h, tech, { tenant: 'acme', profile: 'extend-approved' });
      assert.equal(asked.status, 202);
      const active = await h.http
        .post(`/api/v1/elevations/${asked.body.id}/approve`)
        .set(bearer(approver.accessToken))
        .send(await withCode(approver));
      assert.equal(active.body.state, 'active', JSON.stringify(active.body));
      const waiting = await h.http
        .post(`/api/v1/elevations/${asked.body.id}/extend`)
        .set(bearer(tech.accessToken))
        .send(await withCode(tech, { durationSeconds: 900 }));
      assert.equal(waiting.status, 200, JSON.stringify(waiting.body));
      assert.equal(waiting.body.endsAt, active.body.endsAt, 'not moved yet');
      assert.equal(waiting.body.pendingExtension.seconds, 900);
      const queue = await h.http.get('/api/v1/approvals').set(bearer(approver.accessToken));
      assert.deepEqual(
        queue.body.elevations.map((e: { id: string }) => e.id),
        [asked.body.id],
      );
      const approved = await h.http
        .post(`/api/v1/elevations/${asked.body.id}/approve`)
        .set(bearer(approver.accessToken))
        .send(await withCode(approver));
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(new Date(approved.body.endsAt).getTime(), new Date(active.body.endsAt).getTime() + 900_000);
      assert.equal(approved.body.pendingExtension, null);
      assert.deepEqual(
        approved.body.approval.decisions.map((d: { round: number }) => d.round),
        [0, 1],
      );
      await h.container.elevationUpkeep.end(asked.body.id, 'self', tech.id, systemContext);
    });

    it('when the technician kill switch is thrown, then their grants in both tenants end, their pending request is withdrawn, and their session stops working', async () => {
      const victim = await operative(h, acme, ou);
      const globexDn = await linkInGlobex(victim);
      const inAcme = await requestElevation(h, victim, { tenant: 'acme', profile: 'extendable' });
      const inGlobex = await requestElevation(h, victim, { tenant: 'globex', profile: 'helpdesk' });
      const pending = await requestElevation(h, victim, { tenant: 'acme', profile: 'extend-approved' });
      assert.deepEqual([inAcme.status, inGlobex.status, pending.status], [201, 201, 202]);
      assert.ok((await membersOf(globex, globexGroup)).includes(globexDn.toLowerCase()));
      assert.equal(isAccountEnabled((await readUser(globex, globexDn)).userAccountControl), true);

      const wrong = await h.http
        .post(`/api/v1/technicians/${victim.id}/kill-switch`)
        .set(bearer(admin.accessToken))
        .send({ code: '000000' });
      assert.equal(wrong.status, 401);
      assert.equal((await h.container.store.elevations.findById(inAcme.body.id))!.state, 'active', 'a wrong code changes nothing');

      const thrown = await h.http
        .post(`/api/v1/technicians/${victim.id}/kill-switch`)
        .set(bearer(admin.accessToken))
        .send(await withCode(admin, { reason: 'credential theft suspected' }));
      assert.equal(thrown.status, 200, JSON.stringify(thrown.body));
      assert.equal(thrown.body.revoked, 2);
      assert.equal(thrown.body.cancelled, 1);
      assert.equal(thrown.body.stillRevoking, 0);
      assert.ok(thrown.body.endedSessions >= 1);
      assert.ok(!(await membersOf(acme, group)).includes(victim.accountDn.toLowerCase()));
      assert.ok(!(await membersOf(globex, globexGroup)).includes(globexDn.toLowerCase()));
      assert.equal(isAccountEnabled((await readUser(globex, globexDn)).userAccountControl), false, 'the globex account is disabled again');
      for (const id of [inAcme.body.id, inGlobex.body.id]) {
        const e = await h.container.store.elevations.findById(id);
        assert.equal(e!.state, 'revoked');
        assert.equal(e!.revocationReason, 'kill_switch');
      }
      assert.equal((await h.container.store.elevations.findById(pending.body.id))!.state, 'cancelled');
      const locked = await h.http.get('/api/v1/elevations').set(bearer(victim.accessToken));
      assert.equal(locked.status, 401, 'the session ends at once');
      const relogin = await h.http.post('/api/v1/auth/login').send({ username: victim.username, password: victim.password });
      assert.equal(relogin.status, 401);
      const events = await h.container.store.audit.list({ limit: 50 });
      assert.ok(events.some((e) => e.action === 'kill_switch.technician' && e.target === victim.id && e.actor === admin.id));
    });

    it('when a technician is suspended while a grant is live (or it finished activating after a kill switch), then the reconciler ends it', async () => {
      const late = await operative(h, acme, ou);
      const live = await requestElevation(h, late, { tenant: 'acme', profile: 'extendable' });
      assert.equal(live.status, 201);
      await h.container.services.technicians.update(late.id, { status: 'suspended' }, admin.id, systemContext);
      const counts = await h.container.elevationUpkeep.reconcile();
      assert.equal(counts.suspended, 1);
      const ended = await h.container.store.elevations.findById(live.body.id);
      assert.equal(ended!.state, 'revoked');
      assert.equal(ended!.revocationReason, 'policy');
      assert.ok(!(await membersOf(acme, group)).includes(late.accountDn.toLowerCase()));
    });

    it('when the tenant kill switch is thrown, then every grant in that tenant ends and grants elsewhere stay', async () => {
      const one = await operative(h, acme, ou);
      const two = await operative(h, acme, ou);
      await linkInGlobex(two);
      const a1 = await requestElevation(h, one, { tenant: 'acme', profile: 'extendable' });
      const a2 = await requestElevation(h, two, { tenant: 'acme', profile: 'extendable' });
      const g2 = await requestElevation(h, two, { tenant: 'globex', profile: 'helpdesk' });
      assert.deepEqual([a1.status, a2.status, g2.status], [201, 201, 201]);
      const thrown = await h.http
        .post('/api/v1/tenants/acme/kill-switch')
        .set(bearer(admin.accessToken))
        .send(await withCode(admin));
      assert.equal(thrown.status, 200, JSON.stringify(thrown.body));
      assert.equal(thrown.body.revoked, 2);
      const members = await membersOf(acme, group);
      assert.ok(!members.includes(one.accountDn.toLowerCase()) && !members.includes(two.accountDn.toLowerCase()));
      assert.equal((await h.container.store.elevations.findById(g2.body.id))!.state, 'active', 'globex is untouched');
      const asTechnician = await h.http
        .post('/api/v1/tenants/globex/kill-switch')
        .set(bearer(one.accessToken))
        .send(await withCode(one));
      assert.equal(asTechnician.status, 403);
      assert.equal((await h.container.store.elevations.findById(g2.body.id))!.state, 'active');
      await h.container.elevationUpkeep.end(g2.body.id, 'admin', 'system', systemContext);
    });
  });
}
