// The reads behind the web UI's pickers, against the real acme Samba domain: groups searched in a
// tenant's directory (each with its protection finding: docs/security-model.md, Protected groups) and technicians by name for the audit page.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemContext } from '../../src/services/context.ts';
import { addMember, createTestOu, domainAdminsDn } from '../support/directory.ts';
import { bearer, createTechnician, login, type TestTechnician } from '../support/factories.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { testServices } from '../support/services.ts';
import { addTenant } from '../support/world.ts';

const { acme } = testServices().domains;

interface GroupChoice {
  dn: string;
  name: string;
  protection: { protectedGroup: string; reason: string; path: string[] } | null;
}

describe('pickers: group search and technician names', () => {
  let h: Harness;
  let ou: Awaited<ReturnType<typeof createTestOu>>;
  let suffix: string;
  let adminToken: string;
  let plainGroup: string;
  let nestedGroup: string;
  let middleGroup: string;

  before(async () => {
    h = await startHarness();
    await addTenant(h, acme);
    suffix = Math.random().toString(36).slice(2, 7);
    ou = await createTestOu(acme, 'pick');
    plainGroup = await ou.group(`Pick-Plain-${suffix}`);
    await ou.group(`Pick-Other-${suffix}`);
    middleGroup = await ou.group(`Pick-Middle-${suffix}`);
    nestedGroup = await ou.group(`Pick-Nested-${suffix}`);
    await addMember(acme, domainAdminsDn(acme), middleGroup);
    await addMember(acme, middleGroup, nestedGroup);
    adminToken = (await login(h, await createTechnician(h, ['admin']))).accessToken;
  });
  after(async () => {
    await h.close();
    await ou.cleanup();
  });

  const search = (q: string, token = adminToken, extra = '') =>
    h.http.get(`/api/v1/tenants/acme/groups?q=${encodeURIComponent(q)}${extra}`).set(bearer(token));

  it('when an admin searches groups by name, then matching groups come back, each protected one with its reason and nesting path', async () => {
    const response = await search(`Pick-`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const groups = response.body.groups as GroupChoice[];
    const ours = groups.filter((g) => g.name.endsWith(suffix));
    assert.deepEqual(
      ours.map((g) => g.name).sort(),
      ['Middle', 'Nested', 'Other', 'Plain'].map((n) => `Pick-${n}-${suffix}`),
    );
    const byName = new Map(ours.map((g) => [g.name, g]));
    assert.equal(byName.get(`Pick-Plain-${suffix}`)!.protection, null);
    assert.equal(byName.get(`Pick-Plain-${suffix}`)!.dn.toLowerCase(), plainGroup.toLowerCase());
    const nested = byName.get(`Pick-Nested-${suffix}`)!.protection!;
    assert.equal(nested.reason, 'Domain Admins (RID 512)');
    assert.deepEqual(
      nested.path.map((p) => p.toLowerCase()),
      [nestedGroup, middleGroup, domainAdminsDn(acme)].map((p) => p.toLowerCase()),
    );

    const admins = (await search('Domain Admins')).body.groups as GroupChoice[];
    const domainAdmins = admins.find((g) => g.name === 'Domain Admins');
    assert.ok(domainAdmins, 'Domain Admins is found');
    assert.deepEqual(domainAdmins.protection, {
      protectedGroup: domainAdmins.dn,
      reason: 'Domain Admins (RID 512)',
      path: [domainAdmins.dn],
    });
  });

  it('when the search text holds filter syntax, then it is matched as text (escaped), not as a filter', async () => {
    for (const q of ['*', '*)(objectClass=*', `Pick-Plain-${suffix})(|(cn=*`, '\\2a', '(']) {
      const response = await search(q);
      assert.equal(response.status, 200, `${q}: ${JSON.stringify(response.body)}`);
      assert.deepEqual(response.body.groups, [], `${q} matches no group name`);
    }
  });

  it('when more groups match than the limit, then the answer is bounded and says it was truncated', async () => {
    const limited = await search(`Pick-`, adminToken, '&limit=2');
    assert.equal(limited.status, 200);
    assert.equal(limited.body.groups.length, 2);
    assert.equal(limited.body.truncated, true);
    const all = await search(`-${suffix}`);
    assert.equal(all.body.truncated, false);
    assert.equal((await search('x', adminToken, '&limit=1000')).status, 400);
    assert.equal((await search('x'.repeat(65))).status, 400);
    assert.equal((await h.http.get('/api/v1/tenants/nowhere/groups?q=a').set(bearer(adminToken))).status, 404);
  });

  it('when someone other than an admin searches groups, then it is refused', async () => {
    const auditor = await login(h, await createTechnician(h, ['auditor', 'technician']));
    const response = await search('Pick-', auditor.accessToken);
    assert.equal(response.status, 403);
  });

  it('when technicians are listed by name, then only id, username and display name come back, to admins and auditors all, to an approver those of their tenants', async () => {
    const linked = await createTechnician(h, ['technician']);
    const unlinked = await createTechnician(h, ['technician']);
    const accountName = `msp-pk-${suffix}`;
    await ou.user(accountName, `Acct-${suffix}-Pw-9Z!`);
    await h.container.services.accounts.link('acme', linked.id, accountName, 'system', systemContext);
    const approver: TestTechnician = await createTechnician(h, ['approver']);
    await h.container.services.technicians.update(approver.id, { approverTenants: ['acme'] }, 'system', systemContext);
    const auditor = await createTechnician(h, ['auditor']);
    const technician = await createTechnician(h, ['technician']);

    const names = async (who: TestTechnician) => {
      const response = await h.http.get('/api/v1/technicians/names').set(bearer((await login(h, who)).accessToken));
      return response;
    };
    const asAuditor = await names(auditor);
    assert.equal(asAuditor.status, 200);
    const everyone = await h.container.store.technicians.list();
    assert.equal(asAuditor.body.technicians.length, everyone.length);
    for (const t of asAuditor.body.technicians) assert.deepEqual(Object.keys(t).sort(), ['displayName', 'id', 'username']);
    const mine = asAuditor.body.technicians.find((t: { id: string }) => t.id === linked.id);
    assert.deepEqual(mine, { id: linked.id, username: linked.username, displayName: `Test ${linked.username}` });

    const asApprover = await names(approver);
    assert.equal(asApprover.status, 200);
    assert.deepEqual(asApprover.body.technicians.map((t: { id: string }) => t.id).sort(), [linked.id, approver.id].sort());
    assert.ok(!asApprover.body.technicians.some((t: { id: string }) => t.id === unlinked.id));

    assert.equal((await names(technician)).status, 403);
  });
});
