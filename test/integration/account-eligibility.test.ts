// Which accounts may be a tenant account (docs/security-model.md, Account eligibility), against real Samba domains:
// the domain controller's computer account, built-in accounts, adminCount=1 and members of
// protected groups (nested, primary group, the tenant's own) are refused at link time, with
// nothing stored; an account that becomes ineligible after linking is never activated, and the end
// of its grant removes its memberships without disabling it. Also: the tenant's own protected
// groups, a base DN below the domain root, and account.moved.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Attribute, Change } from 'ldapts';
import { isAccountEnabled } from '../../src/domain/ad.ts';
import { systemContext } from '../../src/services/context.ts';
import { fakeClock } from '../support/clock.ts';
import {
  addMember,
  createTestOu,
  deleteEntry,
  domainAdminsDn,
  membersOf,
  readUser,
  removeMember,
  renameEntry,
  withAdmin,
} from '../support/directory.ts';
import { bearer, codeNow, createTechnician, login } from '../support/factories.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { testServices } from '../support/services.ts';
import { addTenant, operative, requestElevation } from '../support/world.ts';

const { acme } = testServices().domains;

for (const engine of engines) {
  describe(`tenant account eligibility on ${engine}`, () => {
    // Names are unique per run: other runs may share the domain (sAMAccountName is domain-wide).
    const tag = `${engine[0]}${Math.random().toString(36).slice(2, 6)}`;
    let h: Harness;
    let ou: Awaited<ReturnType<typeof createTestOu>>;
    let admin: Awaited<ReturnType<typeof createTechnician>> & { accessToken: string };
    let grantGroup: string;
    /** Nested into Domain Admins in `before`; taken out again in `after`. */
    let intoDomainAdmins: string;
    const replace = (dn: string, type: string, value: string) =>
      withAdmin(acme, (client) =>
        client.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) })),
      );

    const link = (account: string, technicianId: string) =>
      h.http.post('/api/v1/tenants/acme/accounts').set(bearer(admin.accessToken)).send({ technicianId, account });
    const refusals = async () =>
      (await h.container.store.audit.list({ action: 'account.not_eligible', tenantId: 'acme', limit: 1000 })).map(
        (e) => e.details as Record<string, unknown>,
      );

    before(async () => {
      h = await startHarness({
        engine,
        clock: fakeClock(),
        config: { auth: { accessTokenTtlSeconds: 86_400, refreshIdleSeconds: 86_400 } },
      });
      await addTenant(h, acme);
      ou = await createTestOu(acme, `elig-${engine}`);
      const a = await createTechnician(h, ['admin']);
      admin = { ...a, accessToken: (await login(h, a)).accessToken };
      grantGroup = await ou.group(`Elig-Grant-${tag}`);
      intoDomainAdmins = await ou.group(`Elig-Into-DA-${tag}`);
      await addMember(acme, domainAdminsDn(acme), intoDomainAdmins);
      const created = await h.http
        .post('/api/v1/tenants/acme/profiles')
        .set(bearer(admin.accessToken))
        .send({
          name: 'elig-helpdesk',
          groups: [grantGroup],
          eligibleRoles: ['technician'],
          defaultDurationSeconds: 600,
          maxDurationSeconds: 600,
        });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    });
    after(async () => {
      await removeMember(acme, domainAdminsDn(acme), intoDomainAdmins).catch(() => undefined);
      await h.close();
      await ou.cleanup();
      // Whatever a failed test left under its new name (renamed accounts), then the OU itself.
      await withAdmin(acme, async (client) => {
        const { searchEntries } = await client
          .search(ou.dn, { scope: 'sub', filter: '(objectClass=*)', attributes: ['distinguishedName'] })
          .catch(() => ({ searchEntries: [] }));
        for (const entry of searchEntries.sort((a, b) => b.dn.length - a.dn.length)) await client.del(entry.dn).catch(() => undefined);
      });
    });

    it('when an admin links a domain controller, a built-in, an adminCount=1 or a protected-group member account, then each is refused (422 account_not_eligible, why) and nothing is stored', async () => {
      const t = await createTechnician(h, ['technician']);
      const password = `Elig-${Math.random().toString(36).slice(2)}-9Z`;
      const adminCounted = await ou.user(`el-ac-${tag}`, password);
      await replace(adminCounted, 'adminCount', '1');
      // Two deep: the user → a group → a group that is in Domain Admins.
      const nested = await ou.user(`el-nest-${tag}`, password);
      const middle = await ou.group(`Elig-Middle-${tag}`);
      await addMember(acme, middle, nested);
      await addMember(acme, intoDomainAdmins, middle);
      // Domain Admins as the primary group (never in memberOf).
      const primary = await ou.user(`el-prim-${tag}`, password);
      await addMember(acme, domainAdminsDn(acme), primary);
      await replace(primary, 'primaryGroupID', '512');

      const cases: Array<[string, RegExp]> = [
        [`CN=DC1,OU=Domain Controllers,${acme.baseDn}`, /computer/],
        ['DC1$', /computer/],
        ['krbtgt', /RID 502/],
        ['Administrator', /RID 500/],
        ['Guest', /RID 501/],
        [adminCounted, /adminCount=1/],
        [nested, /Domain Admins/],
        [primary, /Domain Admins/],
      ];
      for (const [account, why] of cases) {
        const res = await link(account, t.id);
        assert.equal(res.status, 422, `${account}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.code, 'account_not_eligible', account);
        assert.match(res.body.error.message, why, account);
      }
      assert.equal(await h.container.store.accounts.find('acme', t.id), null, 'nothing linked');
      const audited = (await refusals()).filter((d) => d.step === 'link');
      assert.ok(audited.length >= cases.length, 'every refusal audited');

      // Already linked to someone else: 409, the first link untouched.
      const mine = await ou.user(`el-mine-${tag}`, password);
      const owner = await createTechnician(h, ['technician']);
      assert.equal((await link(mine, owner.id)).status, 201);
      const again = await link(mine, t.id);
      assert.equal(again.status, 409, JSON.stringify(again.body));
      assert.equal(
        (await h.container.store.accounts.findByGuid('acme', (await h.container.store.accounts.find('acme', owner.id))!.guid))
          ?.technicianId,
        owner.id,
      );
      assert.equal(await h.container.store.accounts.find('acme', t.id), null);
    });

    it('when a linked account is nested into Domain Admins after linking, then activation is refused and the account is neither enabled nor added', async () => {
      const tech = await operative(h, acme, ou);
      const via = await ou.group(`Elig-Later-${tag}`);
      await addMember(acme, via, tech.accountDn);
      await addMember(acme, intoDomainAdmins, via);
      const res = await requestElevation(h, tech, { tenant: 'acme', profile: 'elig-helpdesk' });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'account_not_eligible');
      assert.match(res.body.error.message, /Domain Admins/);
      assert.equal(isAccountEnabled((await readUser(acme, tech.accountDn)).userAccountControl), false, 'still disabled');
      assert.ok(!(await membersOf(acme, grantGroup)).includes(tech.accountDn.toLowerCase()), 'not added');
      const failed = await h.container.store.elevations.findById(res.body.error.details.elevationId as string);
      assert.equal(failed?.state, 'failed');
      assert.ok((await refusals()).some((d) => d.step === 'activation' && d.dn === tech.accountDn));
    });

    it('when the account of an active grant becomes ineligible, then revoking and expiring remove its memberships but never disable it (audited)', async () => {
      for (const how of ['revoke', 'expire'] as const) {
        const tech = await operative(h, acme, ou);
        const granted = await requestElevation(h, tech, { tenant: 'acme', profile: 'elig-helpdesk' });
        assert.equal(granted.status, 201, JSON.stringify(granted.body));
        assert.ok((await membersOf(acme, grantGroup)).includes(tech.accountDn.toLowerCase()));
        const via = await ou.group(`Elig-${how}-${tag}`);
        await addMember(acme, via, tech.accountDn);
        await addMember(acme, intoDomainAdmins, via);
        const before = await readUser(acme, tech.accountDn);
        assert.equal(isAccountEnabled(before.userAccountControl), true);
        if (how === 'revoke') {
          await h.container.elevationUpkeep.end(granted.body.id, 'self', tech.id, systemContext);
        } else {
          h.clock.advance(601_000);
          await h.container.elevationUpkeep.expire(h.clock.now());
        }
        const ended = await h.container.store.elevations.findById(granted.body.id);
        assert.equal(ended?.state, how === 'revoke' ? 'revoked' : 'expired', how);
        assert.ok(!(await membersOf(acme, grantGroup)).includes(tech.accountDn.toLowerCase()), `${how}: membership removed`);
        const afterwards = await readUser(acme, tech.accountDn);
        assert.equal(afterwards.userAccountControl, before.userAccountControl, `${how}: the account is not disabled`);
        assert.equal(afterwards.accountExpires, before.accountExpires, `${how}: the account is not written at all`);
        assert.ok(
          (await refusals()).some((d) => d.step === 'revocation' && d.elevationId === granted.body.id),
          `${how}: audited`,
        );
        const final = (await h.container.store.audit.list({ target: granted.body.id, limit: 50 })).find(
          (e) => e.action === (how === 'revoke' ? 'elevation.revoked' : 'elevation.expired'),
        );
        assert.equal((final?.details as { accountDisabled: boolean }).accountDisabled, false);
        await removeMember(acme, intoDomainAdmins, via);
      }
    });

    it('when the account of an active grant becomes ineligible, then an extension is refused and accountExpires is not moved', async () => {
      const created = await h.http
        .post('/api/v1/tenants/acme/profiles')
        .set(bearer(admin.accessToken))
        .send({
          name: 'elig-extendable',
          groups: [grantGroup],
          eligibleRoles: ['technician'],
          defaultDurationSeconds: 600,
          maxDurationSeconds: 600,
          maxTotalDurationSeconds: 1800,
        });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const tech = await operative(h, acme, ou);
      const granted = await requestElevation(h, tech, { tenant: 'acme', profile: 'elig-extendable' });
      assert.equal(granted.status, 201, JSON.stringify(granted.body));
      const via = await ou.group(`Elig-Ext-${tag}`);
      await addMember(acme, via, tech.accountDn);
      await addMember(acme, intoDomainAdmins, via);
      const before = await readUser(acme, tech.accountDn);
      h.clock.advance(30_000);
      const code = await codeNow(h, tech.totpSecret!);
      const res = await h.http
        .post(`/api/v1/elevations/${granted.body.id}/extend`)
        .set(bearer(tech.accessToken))
        .send({ durationSeconds: 600, code });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'account_not_eligible');
      assert.equal((await readUser(acme, tech.accountDn)).accountExpires, before.accountExpires);
      assert.equal((await h.container.store.elevations.findById(granted.body.id))?.endsAt?.toISOString(), granted.body.endsAt);
      assert.ok((await refusals()).some((d) => d.step === 'extension' && d.elevationId === granted.body.id));
      await h.container.elevationUpkeep.end(granted.body.id, 'self', tech.id, systemContext);
      await removeMember(acme, intoDomainAdmins, via);
    });

    it('when the tenant protects a group of its own, then a profile nesting into it and an account inside it are refused, until it is taken off the list', async () => {
      const own = await ou.group(`Elig-Own-${tag}`);
      const inner = await ou.group(`Elig-Inner-${tag}`);
      await addMember(acme, own, inner);
      const added = await h.http.post('/api/v1/tenants/acme/protected-groups').set(bearer(admin.accessToken)).send({ group: own });
      assert.equal(added.status, 201, JSON.stringify(added.body));
      assert.equal(
        (await h.http.post('/api/v1/tenants/acme/protected-groups').set(bearer(admin.accessToken)).send({ group: own })).status,
        409,
      );
      assert.equal(
        (
          await h.http
            .post('/api/v1/tenants/acme/protected-groups')
            .set(bearer(admin.accessToken))
            .send({ group: `CN=nope,${ou.dn}` })
        ).status,
        422,
      );
      const listed = await h.http.get('/api/v1/tenants/acme/protected-groups').set(bearer(admin.accessToken));
      assert.deepEqual(
        listed.body.groups.map((g: { dn: string }) => g.dn.toLowerCase()),
        [own.toLowerCase()],
      );

      const profile = {
        name: 'elig-own',
        groups: [inner],
        eligibleRoles: ['technician'],
        defaultDurationSeconds: 600,
        maxDurationSeconds: 600,
      };
      const refused = await h.http.post('/api/v1/tenants/acme/profiles').set(bearer(admin.accessToken)).send(profile);
      assert.equal(refused.status, 422, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'group_protected');
      const picked = await h.http
        .get('/api/v1/tenants/acme/groups')
        .query({ q: `Elig-Inner-${tag}` })
        .set(bearer(admin.accessToken));
      assert.equal(picked.body.groups[0].protection.protectedGroup.toLowerCase(), own.toLowerCase());

      const t = await createTechnician(h, ['technician']);
      const member = await ou.user(`el-own-${tag}`, `Elig-${Math.random().toString(36).slice(2)}-9Z`);
      await addMember(acme, inner, member);
      const linkRefused = await link(member, t.id);
      assert.equal(linkRefused.status, 422, JSON.stringify(linkRefused.body));
      assert.equal(linkRefused.body.error.code, 'account_not_eligible');

      const removed = await h.http.delete(`/api/v1/tenants/acme/protected-groups/${added.body.guid}`).set(bearer(admin.accessToken));
      assert.equal(removed.status, 204);
      assert.equal((await h.http.post('/api/v1/tenants/acme/profiles').set(bearer(admin.accessToken)).send(profile)).status, 201);
      assert.equal((await link(member, t.id)).status, 201);
      const actions = (await h.container.store.audit.list({ tenantId: 'acme', limit: 1000 })).map((e) => e.action);
      assert.ok(actions.includes('tenant.protected_group_added') && actions.includes('tenant.protected_group_removed'));
    });

    it('when a tenant’s base DN is an OU below the domain root, then a group nested into Domain Admins is still refused', async () => {
      const id = `elig-ou-${tag}`;
      const created = await h.http
        .post('/api/v1/tenants')
        .set(bearer(admin.accessToken))
        .send({
          id,
          displayName: id,
          timeZone: 'UTC',
          directory: {
            url: acme.ldapsUrl,
            bindDn: acme.bindDn,
            bindPassword: acme.bindPassword,
            baseDn: ou.dn,
            caCertificate: readFileSync(acme.caFile, 'utf8'),
          },
        });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const res = await h.http
        .post(`/api/v1/tenants/${id}/profiles`)
        .set(bearer(admin.accessToken))
        .send({
          name: 'below-root',
          groups: [intoDomainAdmins],
          eligibleRoles: ['technician'],
          defaultDurationSeconds: 600,
          maxDurationSeconds: 600,
        });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'group_protected');
      assert.match(res.body.error.details.protectedGroup, /^CN=Domain Admins,CN=Users,/i);
    });

    it('when a linked account is renamed, then the next activation audits account.moved with the old and the new DN', async () => {
      const tech = await operative(h, acme, ou);
      const renamed = await renameEntry(acme, tech.accountDn, `moved-${tech.username.slice(0, 10)}`);
      const res = await requestElevation(h, tech, { tenant: 'acme', profile: 'elig-helpdesk' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const moved = (await h.container.store.audit.list({ action: 'account.moved', target: tech.id, limit: 10 })).map(
        (e) => e.details as { from: string; to: string },
      );
      assert.equal(moved.length, 1);
      assert.equal(moved[0]!.from.toLowerCase(), tech.accountDn.toLowerCase());
      assert.equal(moved[0]!.to.toLowerCase(), renamed.toLowerCase());
      assert.equal((await h.container.store.accounts.find('acme', tech.id))?.dn.toLowerCase(), renamed.toLowerCase());
      await h.container.elevationUpkeep.end(res.body.id, 'self', tech.id, systemContext);
      await deleteEntry(acme, renamed);
    });

    it('when a linked account is renamed during a grant, or between grants, then the reconciler’s DN refresh and a review each audit account.moved once', async () => {
      const moves = async (technicianId: string) =>
        (await h.container.store.audit.list({ action: 'account.moved', target: technicianId, limit: 10 })).map(
          (e) => e.details as { from: string; to: string },
        );
      const tech = await operative(h, acme, ou);
      const granted = await requestElevation(h, tech, { tenant: 'acme', profile: 'elig-helpdesk' });
      assert.equal(granted.status, 201, JSON.stringify(granted.body));
      const during = await renameEntry(acme, tech.accountDn, `mv1-${tech.username.slice(0, 10)}`);
      // Within the reconciler's look-ahead of the end (two minutes), not past it.
      h.clock.advance(540_000);
      await h.container.elevationUpkeep.reconcile();
      await h.container.elevationUpkeep.reconcile();
      let seen = await moves(tech.id);
      assert.equal(seen.length, 1, JSON.stringify(seen));
      assert.equal(seen[0]!.to.toLowerCase(), during.toLowerCase());
      await h.container.elevationUpkeep.end(granted.body.id, 'self', tech.id, systemContext);

      const between = await renameEntry(acme, during, `mv2-${tech.username.slice(0, 10)}`);
      for (let i = 0; i < 2; i++) {
        const review = await h.container.services.reviews.request('acme', admin.id, systemContext);
        await h.container.services.reviews.run(review.id);
      }
      seen = await moves(tech.id);
      assert.equal(seen.length, 2, JSON.stringify(seen));
      assert.deepEqual(
        [seen[0]!.from.toLowerCase(), seen[0]!.to.toLowerCase()].sort(),
        [during.toLowerCase(), between.toLowerCase()].sort(),
      );
      assert.equal((await h.container.store.accounts.find('acme', tech.id))?.dn.toLowerCase(), between.toLowerCase());
      await deleteEntry(acme, between);
    });

    it('when a review would disable an inactive account that has become ineligible, then it leaves the account as it is and audits why', async () => {
      const tech = await operative(h, acme, ou);
      await replace(tech.accountDn, 'userAccountControl', '512');
      const via = await ou.group(`Elig-Rev-${tag}`);
      await addMember(acme, via, tech.accountDn);
      await addMember(acme, intoDomainAdmins, via);
      await h.container.services.tenants.update('acme', { disableInactive: true, inactiveDays: 1 }, 'system', systemContext);
      h.clock.advance(2 * 86_400_000);
      const review = await h.container.services.reviews.request('acme', admin.id, systemContext);
      await h.container.services.reviews.run(review.id);
      const inactive = (await h.container.services.reviews.get(review.id)).findings.find(
        (f) => f.kind === 'inactive_account' && f.technicianId === tech.id,
      );
      assert.equal(inactive?.action, 'not_eligible', JSON.stringify(inactive));
      assert.equal((await readUser(acme, tech.accountDn)).userAccountControl, 512, 'still enabled: never written');
      assert.ok((await refusals()).some((d) => d.step === 'review_disable' && d.dn === tech.accountDn));
      await removeMember(acme, intoDomainAdmins, via);
    });
  });
}
