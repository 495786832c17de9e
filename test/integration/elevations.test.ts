// The elevation core against a real Samba domain, real Redis/BullMQ and both stores: a grant puts
// the technician's own account into the group and takes it out again on time.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { totpCodeAt } from '../../src/adapters/crypto/totp.ts';
import { createDirectoryGateway } from '../../src/adapters/directory/gateway.ts';
import { revocationJobId } from '../../src/adapters/queue/jobs.ts';
import { fromFileTime, isAccountEnabled, memberRefByGuid, memberRefWithDn } from '../../src/domain/ad.ts';
import { createTenantAccess } from '../../src/services/tenants/index.ts';
import { runningClock } from '../support/clock.ts';
import { addMember, canBind, createTestOu, domainAdminsDn, membersOf, readUser, renameEntry } from '../support/directory.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { bearer, createTechnician, login } from '../support/factories.ts';
import { testServices } from '../support/services.ts';
import { addTenant, eventually, operative, requestElevation, type Operative } from '../support/world.ts';
import { startWorkers, type RunningWorkers } from '../../workers/runtime.ts';

const { acme, globex } = testServices().domains;

for (const engine of engines) {
  describe(`elevations on ${engine}`, () => {
    let h: Harness;
    let workers: RunningWorkers;
    let ou: Awaited<ReturnType<typeof createTestOu>>;
    let adminToken: string;
    let helpdesk: string;
    let tech: Operative;

    before(async () => {
      h = await startHarness({ engine, clock: runningClock(), config: { queue: { reconcileIntervalSeconds: 2 } } });
      workers = await startWorkers(h.container);
      await addTenant(h, acme);
      await addTenant(h, globex);
      ou = await createTestOu(acme, `el-${engine}`);
      helpdesk = await ou.group('Helpdesk-Admins');
      adminToken = (await login(h, await createTechnician(h, ['admin']))).accessToken;
      tech = await operative(h, acme, ou);
      const profile = await h.http
        .post('/api/v1/tenants/acme/profiles')
        .set(bearer(adminToken))
        .send({
          name: 'helpdesk',
          groups: [helpdesk],
          eligibleRoles: ['technician'],
          defaultDurationSeconds: 4,
          maxDurationSeconds: 60,
          ticketPattern: 'INC-[0-9]+',
        });
      assert.equal(profile.status, 201, JSON.stringify(profile.body));
    });
    after(async () => {
      await workers.close();
      await h.close();
      await ou.cleanup();
    });

    it('when a technician requests, then their account is enabled, in the group and can bind; at the end it is all taken away', async () => {
      assert.equal(await canBind(acme, tech.accountDn, tech.accountPassword), false, 'kept disabled between grants');
      const response = await requestElevation(h, tech, {
        tenant: 'acme',
        profile: 'helpdesk',
        ticket: 'INC-42',
        justification: 'printer queue',
      });
      assert.equal(response.status, 201, JSON.stringify(response.body));
      assert.equal(response.body.state, 'active');
      const endsAt = new Date(response.body.endsAt);
      assert.ok((await membersOf(acme, helpdesk)).includes(tech.accountDn.toLowerCase()));
      const account = await readUser(acme, tech.accountDn);
      assert.equal(isAccountEnabled(account.userAccountControl), true);
      const expires = fromFileTime(account.accountExpires)!;
      assert.ok(Math.abs(expires.getTime() - (endsAt.getTime() + 300_000)) < 2000, 'accountExpires is the end plus the skew');
      assert.equal(await canBind(acme, tech.accountDn, tech.accountPassword), true);

      const ended = await eventually(
        async () => (await h.http.get(`/api/v1/elevations/${response.body.id}`).set(bearer(tech.accessToken))).body,
        (e) => e.state === 'expired',
        20_000,
        'expiry',
      );
      assert.equal(ended.revocationReason, 'expired');
      assert.ok(!(await membersOf(acme, helpdesk)).includes(tech.accountDn.toLowerCase()));
      assert.equal(isAccountEnabled((await readUser(acme, tech.accountDn)).userAccountControl), false);
      assert.equal(await canBind(acme, tech.accountDn, tech.accountPassword), false);
      const actions = (await h.container.store.audit.list({ limit: 50 }))
        .filter((e) => e.target === response.body.id)
        .map((e) => e.action)
        .reverse();
      assert.deepEqual(actions, ['elevation.requested', 'elevation.activated', 'elevation.revoking', 'elevation.expired']);

      const metrics = await h.metrics();
      assert.equal(metrics.status, 200);
      assert.match(metrics.text, /stint_elevations\{state="expired"\} 1/);
      assert.match(metrics.text, /stint_revocation_lag_seconds\{quantile="0.5"\} [0-9.]+/);
      assert.match(metrics.text, /stint_ldap_operation_seconds_count\{tenant="acme",operation="add-members"\} [1-9]/);
      assert.match(metrics.text, /stint_revocation_queue_jobs\{state="delayed"\} [0-9]+/);
    });

    it('when the same code is sent twice, then the second request is refused as a replay and nothing is granted', async () => {
      h.clock.advance(30_000);
      const code = await totpCodeAt(tech.totpSecret!, h.clock.now());
      const send = () =>
        h.http
          .post('/api/v1/elevations')
          .set(bearer(tech.accessToken))
          .send({ tenant: 'acme', profile: 'helpdesk', ticket: 'INC-1', code, durationSeconds: 2 });
      const first = await send();
      assert.equal(first.status, 201);
      assert.equal((await h.http.post(`/api/v1/elevations/${first.body.id}/revoke`).set(bearer(tech.accessToken))).status, 200);
      const again = await send();
      assert.equal(again.status, 401);
      assert.equal(again.body.error.code, 'mfa_replay');
      assert.ok(!(await membersOf(acme, helpdesk)).includes(tech.accountDn.toLowerCase()));
    });

    it('when the owner revokes early, then the membership is gone at once and the reason is self', async () => {
      await eventually(
        () => h.container.store.elevations.holding('acme', tech.id, ''),
        (list) => list.length === 0,
        20_000,
        'previous grant to end',
      );
      const granted = await requestElevation(h, tech, { tenant: 'acme', profile: 'helpdesk', ticket: 'INC-7', durationSeconds: 60 });
      assert.equal(granted.status, 201, JSON.stringify(granted.body));
      const revoked = await h.http.post(`/api/v1/elevations/${granted.body.id}/revoke`).set(bearer(tech.accessToken));
      assert.equal(revoked.status, 200);
      assert.equal(revoked.body.state, 'revoked');
      assert.equal(revoked.body.revocationReason, 'self');
      assert.ok(!(await membersOf(acme, helpdesk)).includes(tech.accountDn.toLowerCase()));
      assert.equal(await h.container.jobs.isScheduled(granted.body.id), false);
    });

    it('when a request breaks the profile rules, then it is refused with 4xx and nothing changes in AD', async () => {
      const before = await membersOf(acme, helpdesk);
      const tooLong = await requestElevation(h, tech, { tenant: 'acme', profile: 'helpdesk', ticket: 'INC-1', durationSeconds: 61 });
      assert.equal(tooLong.status, 400);
      assert.equal(tooLong.body.error.details.field, 'durationSeconds');
      const badTicket = await requestElevation(h, tech, { tenant: 'acme', profile: 'helpdesk', ticket: 'JIRA-1' });
      assert.equal(badTicket.status, 400);
      const wrongCode = await h.http
        .post('/api/v1/elevations')
        .set(bearer(tech.accessToken))
        .send({ tenant: 'acme', profile: 'helpdesk', ticket: 'INC-1', code: '000000' });
      assert.equal(wrongCode.status, 401);
      assert.deepEqual(await membersOf(acme, helpdesk), before);
    });

    it('when protected groups are put in a profile, then each is refused with the protected group and the nesting path', async () => {
      const middle = await ou.group('Tier-Middle');
      const deep = await ou.group('Tier-Deep');
      await addMember(acme, domainAdminsDn(acme), middle);
      await addMember(acme, middle, deep);
      const flagged = await ou.group('Flagged', { adminCount: '1' });
      const create = (name: string, group: string) =>
        h.http
          .post('/api/v1/tenants/acme/profiles')
          .set(bearer(adminToken))
          .send({ name, groups: [group], eligibleRoles: ['technician'], defaultDurationSeconds: 60, maxDurationSeconds: 60 });

      const direct = await create('da', domainAdminsDn(acme));
      assert.equal(direct.status, 422);
      assert.equal(direct.body.error.code, 'group_protected');
      assert.match(direct.body.error.details.reason, /Domain Admins/);

      const nested = await create('deep', deep);
      assert.equal(nested.status, 422);
      assert.equal(nested.body.error.details.protectedGroup.toLowerCase(), domainAdminsDn(acme).toLowerCase());
      assert.deepEqual(
        nested.body.error.details.path.map((p: string) => p.toLowerCase()),
        [deep, middle, domainAdminsDn(acme)].map((p) => p.toLowerCase()),
      );
      assert.match(nested.body.error.message, /nested inside the protected group/);

      const admins = await create('builtin', `CN=Administrators,CN=Builtin,${acme.baseDn}`);
      assert.equal(admins.status, 422);
      const marked = await create('flagged', flagged);
      assert.equal(marked.status, 422);
      assert.equal(marked.body.error.details.reason, 'adminCount=1');
      assert.equal((await h.http.get('/api/v1/tenants/acme/profiles').set(bearer(adminToken))).body.profiles.length, 1);
      const refusals = await h.container.store.audit.list({ action: 'profile.refused_protected_group', limit: 10 });
      assert.equal(refusals.length, 4);
    });

    it('when a group is nested into a protected group after the profile was made, then activation refuses it and suspends the profile', async () => {
      const later = await ou.group('Later-Danger');
      const created = await h.http
        .post('/api/v1/tenants/acme/profiles')
        .set(bearer(adminToken))
        .send({ name: 'later', groups: [later], eligibleRoles: ['technician'], defaultDurationSeconds: 60, maxDurationSeconds: 60 });
      assert.equal(created.status, 201);
      const wrapper = await ou.group('Later-Wrapper');
      await addMember(acme, domainAdminsDn(acme), wrapper);
      await addMember(acme, wrapper, later);
      const refused = await requestElevation(h, tech, { tenant: 'acme', profile: 'later' });
      assert.equal(refused.status, 422, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'group_protected');
      assert.equal((await membersOf(acme, later)).length, 0);
      const elevation = await h.container.store.elevations.findById(refused.body.error.details.elevationId);
      assert.equal(elevation?.state, 'failed');
      const profile = await h.http.get(`/api/v1/tenants/acme/profiles/${created.body.id}`).set(bearer(adminToken));
      assert.equal(profile.body.status, 'suspended');
      const again = await requestElevation(h, tech, { tenant: 'acme', profile: 'later' });
      assert.equal(again.status, 409);
    });

    it('when an admin links accounts, then UPN, sAMAccountName and DN all resolve, once per technician, unknown ones refused', async () => {
      const t = await createTechnician(h);
      const dn = await ou.user(`msp-link-${engine}`, 'Link-Password-1a');
      const link = (account: string, technicianId = t.id) =>
        h.http.post('/api/v1/tenants/acme/accounts').set(bearer(adminToken)).send({ technicianId, account });
      const created = await link(`msp-link-${engine}@${acme.realm.toLowerCase()}`);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.dn.toLowerCase(), dn.toLowerCase());
      assert.match(created.body.guid, /^[0-9a-f-]{36}$/);
      assert.equal((await link(dn)).status, 409, 'one account per technician per tenant');
      assert.equal((await link(`msp-link-${engine}`, (await createTechnician(h)).id)).status, 409, 'one technician per account');
      const unknown = await link('nobody-by-that-name', (await createTechnician(h)).id);
      assert.equal(unknown.status, 422);
      assert.equal(unknown.body.error.code, 'account_not_found');
      const forTechnician = await h.http
        .post('/api/v1/tenants/acme/accounts')
        .set(bearer(tech.accessToken))
        .send({ technicianId: t.id, account: dn });
      assert.equal(forTechnician.status, 403);
    });

    it('when the linked account is renamed in AD, then activation finds it by GUID and keeps the new DN', async () => {
      const mover = await operative(h, acme, ou);
      const renamed = await renameEntry(acme, mover.accountDn, `moved-${engine}-${Date.now() % 100000}`);
      const granted = await requestElevation(h, mover, { tenant: 'acme', profile: 'helpdesk', ticket: 'INC-9', durationSeconds: 30 });
      assert.equal(granted.status, 201, JSON.stringify(granted.body));
      assert.equal(granted.body.account.toLowerCase(), renamed.toLowerCase());
      assert.ok((await membersOf(acme, helpdesk)).includes(renamed.toLowerCase()));
      const accounts = await h.http.get('/api/v1/tenants/acme/accounts').set(bearer(adminToken));
      assert.ok(accounts.body.accounts.some((a: { dn: string }) => a.dn.toLowerCase() === renamed.toLowerCase()));
      // Renamed again while the grant is live: the revocation still finds and removes it.
      const renamedAgain = await renameEntry(acme, renamed, `again-${engine}-${Date.now() % 100000}`);
      assert.equal(
        (await h.http.post(`/api/v1/elevations/${granted.body.id}/revoke`).set(bearer(adminToken))).body.revocationReason,
        'admin',
      );
      assert.ok(!(await membersOf(acme, helpdesk)).includes(renamedAgain.toLowerCase()));
    });

    it('when several grants end together, one account renamed during its grant, then every membership is gone and each grant expires at its end', async () => {
      const team: Operative[] = [];
      for (let i = 0; i < 3; i++) team.push(await operative(h, acme, ou, ['technician'], true));
      const granted: Array<{ id: string }> = [];
      for (const who of team) {
        const response = await requestElevation(h, who, { tenant: 'acme', profile: 'helpdesk', ticket: 'INC-5', durationSeconds: 6 }, true);
        assert.equal(response.status, 201, JSON.stringify(response.body));
        granted.push(response.body);
      }
      // Removal goes by objectGUID: a rename after activation changes nothing.
      const renamed = await renameEntry(acme, team[0]!.accountDn, `mass-${engine}-${Date.now() % 100000}`);
      // On a slow machine the grant may have ended before the rename; then only the removal is checked.
      const renamedWhileLive = (await h.container.store.elevations.findById(granted[0]!.id))?.state === 'active';
      const ended = await eventually(
        () => Promise.all(granted.map(async (g) => (await h.http.get(`/api/v1/elevations/${g.id}`).set(bearer(adminToken))).body)),
        (list) => list.every((e) => e.state === 'expired'),
        30_000,
        'all three to expire',
      );
      const members = await membersOf(acme, helpdesk);
      assert.ok(!members.includes(renamed.toLowerCase()), 'the renamed account left the group');
      for (const who of team.slice(1)) assert.ok(!members.includes(who.accountDn.toLowerCase()));
      if (renamedWhileLive) assert.equal(ended[0].account.toLowerCase(), renamed.toLowerCase(), 'the stored DN follows the rename');
      // Claimed no earlier than its end (the job is ready a little before it and waits for the end).
      const claims = await h.container.store.audit.list({ action: 'elevation.revoking', limit: 200 });
      for (const e of ended) {
        const claim = claims.find((c) => c.target === e.id);
        assert.ok(claim, 'a revoking event before the expiry');
        assert.ok(claim.at.getTime() >= new Date(e.endsAt).getTime(), `claimed at ${claim.at.toISOString()}, ends ${e.endsAt}`);
        assert.ok(new Date(e.endedAt).getTime() >= new Date(e.endsAt).getTime());
      }
    });

    it('when an account is renamed shortly before its grant ends, then the reconciler brings its DN of record up to date before the end', async () => {
      const who = await operative(h, acme, ou, ['technician'], true);
      const granted = await requestElevation(h, who, { tenant: 'acme', profile: 'helpdesk', ticket: 'INC-7', durationSeconds: 60 }, true);
      assert.equal(granted.status, 201, JSON.stringify(granted.body));
      const renamed = await renameEntry(acme, who.accountDn, `soon-${engine}-${Date.now() % 100000}`);
      // The reconciler runs every 2 s here; the grant ends within its look-ahead.
      const e = await eventually(
        () => h.container.store.elevations.findById(granted.body.id),
        (x) => x?.accountDn.toLowerCase() === renamed.toLowerCase(),
        10_000,
        'the DN of record following the rename',
      );
      assert.equal(e!.state, 'active', 'brought up to date before the end');
      assert.equal((await h.http.post(`/api/v1/elevations/${granted.body.id}/revoke`).set(bearer(who.accessToken))).status, 200);
      assert.ok(!(await membersOf(acme, helpdesk)).includes(renamed.toLowerCase()));
    });

    it('when a grant’s end moves later while its revocation job is already waiting for the end, then the same job waits again and ends it at the new end', async () => {
      await eventually(
        () => h.container.store.elevations.holding('acme', tech.id, ''),
        (list) => list.length === 0,
        20_000,
        'previous grant to end',
      );
      const granted = await requestElevation(h, tech, { tenant: 'acme', profile: 'helpdesk', ticket: 'INC-12', durationSeconds: 3 });
      assert.equal(granted.status, 201, JSON.stringify(granted.body));
      const id: string = granted.body.id;
      const jobState = async () => (await (await h.container.queues.revocations.getJob(revocationJobId(id)))?.getState()) ?? 'gone';
      // Ready 1 s before the end, the job waits for the end inside the worker.
      await eventually(jobState, (s) => s === 'active', 10_000, 'the job waiting for the end');
      const created = (await h.container.queues.revocations.getJob(revocationJobId(id)))!.timestamp;
      const newEnd = new Date(new Date(granted.body.endsAt).getTime() + 5000);
      await h.container.store.elevations.amend(id, 'active', { endsAt: newEnd }, h.clock.now());
      // Not lost (a job cannot schedule itself while it runs): back to delayed, for the new end.
      await eventually(jobState, (s) => s === 'delayed', 10_000, 'the job waiting again');
      const waiting = (await h.container.queues.revocations.getJob(revocationJobId(id)))!;
      assert.equal(waiting.timestamp, created, 'the same job, not one the reconciler made anew after it was lost');
      assert.ok(waiting.attemptsStarted >= 1, 'it has run once already');
      assert.equal((await h.container.store.elevations.findById(id))?.state, 'active', 'not ended at the old end');
      const ended = await eventually(
        () => h.container.store.elevations.findById(id),
        (e) => e?.state === 'expired',
        20_000,
        'expiry at the new end',
      );
      assert.ok(ended!.endedAt!.getTime() >= newEnd.getTime(), `ended ${ended!.endedAt!.toISOString()}, new end ${newEnd.toISOString()}`);
      assert.ok(!(await membersOf(acme, helpdesk)).includes(tech.accountDn.toLowerCase()));
    });

    it('when members are named by GUID (and DN), then the read-back finds one still present among many and a removal confirms it gone in few modifies', async () => {
      const member = await operative(h, acme, ou);
      await addMember(acme, helpdesk, member.accountDn);
      const guid = (await h.container.store.accounts.find('acme', member.id))!.guid;
      const operations: string[] = [];
      const gateway = createDirectoryGateway({
        timeoutMs: 10_000,
        connectionsPerTenant: 2,
        observe: (_tenant, operation) => operations.push(operation),
      });
      try {
        const access = createTenantAccess({ store: h.container.store, secrets: h.container.secrets, directory: gateway });
        const directory = await access.directory(await access.tenant('acme'));
        const real = memberRefByGuid(guid);
        // Accounts that do not exist (a deleted account's GUID): never members, and a delete of one is refused.
        const unknown = Array.from({ length: 59 }, () => memberRefByGuid(randomUUID()));
        for (const values of [
          [real, unknown[0]!],
          [real, ...unknown],
        ]) {
          // Two values: a filtered search; sixty: one read of the group's values with their GUIDs.
          const present = await directory.currentMembers(helpdesk, values);
          assert.deepEqual([...present], [real.toLowerCase()], `read-back of ${values.length} values`);
        }
        operations.length = 0;
        const { stillMembers } = await directory.removeMembers(helpdesk, [...unknown, real]);
        assert.deepEqual(stillMembers, []);
        assert.ok(!(await membersOf(acme, helpdesk)).includes(member.accountDn.toLowerCase()));
        // The batch fails whole once, the read finds the one member, and one modify removes it (not
        // a split down to single values: sixty values would take over a hundred modifies).
        assert.equal(operations.filter((o) => o === 'remove-members').length, 2, operations.join(' '));
        assert.equal((await directory.currentMembers(helpdesk, [real, ...unknown])).size, 0);

        // Named by GUID and a DN of record that now names another account (not a member): that
        // account is left alone and the member goes by GUID.
        const bystander = await operative(h, acme, ou);
        await addMember(acme, helpdesk, member.accountDn);
        const stale = memberRefWithDn(guid, bystander.accountDn);
        assert.deepEqual((await directory.removeMembers(helpdesk, [stale])).stillMembers, []);
        assert.ok(!(await membersOf(acme, helpdesk)).includes(member.accountDn.toLowerCase()));
        // Named by its current DN: removed by DN, in one modify.
        await addMember(acme, helpdesk, member.accountDn);
        operations.length = 0;
        assert.deepEqual((await directory.removeMembers(helpdesk, [memberRefWithDn(guid, member.accountDn)])).stillMembers, []);
        assert.deepEqual(
          operations.filter((o) => o.endsWith('-members')),
          ['remove-members'],
        );
        assert.ok(!(await membersOf(acme, helpdesk)).includes(member.accountDn.toLowerCase()));
      } finally {
        await gateway.close();
      }
    });

    it('when a technician reaches for another tenant or another technician’s elevation, then they get 403 or 404', async () => {
      const profile = await h.http
        .post('/api/v1/tenants/globex/profiles')
        .set(bearer(adminToken))
        .send({
          name: 'globex-only',
          groups: [`CN=Users,${globex.baseDn}`.replace('CN=Users', 'CN=Domain Users,CN=Users')],
          eligibleTechnicians: ['someone-else'],
          defaultDurationSeconds: 60,
          maxDurationSeconds: 60,
        });
      assert.equal(profile.status, 201, JSON.stringify(profile.body));
      const crossTenant = await requestElevation(h, tech, { tenant: 'globex', profile: 'globex-only' });
      assert.equal(crossTenant.status, 403);
      assert.equal((await requestElevation(h, tech, { tenant: 'no-such-tenant', profile: 'helpdesk' })).status, 403);

      const other = await operative(h, acme, ou);
      const mine = await h.http.get('/api/v1/elevations').set(bearer(other.accessToken));
      assert.equal(mine.status, 200);
      assert.equal(mine.body.elevations.length, 0);
      const someoneElses = (await h.container.store.elevations.list({ technicianId: tech.id, limit: 1 }))[0]!;
      assert.equal((await h.http.get(`/api/v1/elevations/${someoneElses.id}`).set(bearer(other.accessToken))).status, 404);
      assert.equal((await h.http.post(`/api/v1/elevations/${someoneElses.id}/revoke`).set(bearer(other.accessToken))).status, 404);
      const all = await h.http.get(`/api/v1/elevations?technician=${tech.id}`).set(bearer(adminToken));
      assert.ok(all.body.elevations.length >= 3);
    });
  });
}
