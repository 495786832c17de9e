// Tenants and profiles as code: a file applied twice changes nothing the second time, a changed
// file updates only what changed, and a protected group in the file is refused.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { readApplyFile } from '../../src/cli/apply-file.ts';
import { reviewSchedulerId } from '../../src/adapters/queue/jobs.ts';
import { addMember, createTestOu } from '../support/directory.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { testServices } from '../support/services.ts';

const { acme } = testServices().domains;

describe('stint apply -f', () => {
  let h: Harness;
  let ou: Awaited<ReturnType<typeof createTestOu>>;
  let group: string;
  const dir = mkdtempSync(join(tmpdir(), 'stint-apply-'));
  const env = { ACME_BIND: acme.bindPassword };

  function file(profiles: object[], tenant: object = {}): string {
    const path = join(dir, `tenants-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      path,
      stringify({
        tenants: [
          {
            id: 'acme',
            displayName: 'Acme',
            timeZone: 'Europe/London',
            directory: { url: acme.ldapsUrl, bindDn: acme.bindDn, baseDn: acme.baseDn, caFile: acme.caFile, bindPasswordEnv: 'ACME_BIND' },
            profiles,
            ...tenant,
          },
        ],
      }),
    );
    return path;
  }

  before(async () => {
    h = await startHarness();
    ou = await createTestOu(acme, 'apply');
    group = await ou.group('Apply-Helpdesk');
  });
  after(async () => {
    await h.close();
    await ou.cleanup();
  });

  const profile = (changes: object = {}) => ({
    name: 'helpdesk',
    groups: [group],
    eligibleRoles: ['technician'],
    defaultDurationSeconds: 600,
    maxDurationSeconds: 3600,
    ...changes,
  });

  it('when the same file is applied twice, then the second run changes nothing', async () => {
    const path = file([profile()]);
    const first = await h.container.services.apply.apply(readApplyFile(path, env));
    assert.deepEqual(first.created, ['tenant acme', 'profile acme/helpdesk']);
    const headAfterFirst = await h.container.store.audit.head();
    const second = await h.container.services.apply.apply(readApplyFile(path, env));
    assert.deepEqual(second, { created: [], updated: [], unchanged: ['tenant acme', 'profile acme/helpdesk'], notInFile: [] });
    assert.deepEqual(await h.container.store.audit.head(), headAfterFirst, 'an unchanged apply wrote audit events');
  });

  it('when the file changes a profile, then only that profile is updated', async () => {
    const report = await h.container.services.apply.apply(readApplyFile(file([profile({ maxDurationSeconds: 7200 })]), env));
    assert.deepEqual(report.updated, ['profile acme/helpdesk']);
    assert.equal((await h.container.store.profiles.findByName('acme', 'helpdesk'))!.maxDurationSeconds, 7200);
  });

  it('when the file sets the drift mode, then the tenant takes it, and leaving it out means remove', async () => {
    assert.equal((await h.container.store.tenants.findById('acme'))!.driftMode, 'remove');
    const report = await h.container.services.apply.apply(
      readApplyFile(file([profile({ maxDurationSeconds: 7200 })], { driftMode: 'report' }), env),
    );
    assert.deepEqual(report.updated, ['tenant acme']);
    assert.equal((await h.container.store.tenants.findById('acme'))!.driftMode, 'report');
    const back = await h.container.services.apply.apply(readApplyFile(file([profile({ maxDurationSeconds: 7200 })]), env));
    assert.deepEqual(back.updated, ['tenant acme']);
    assert.equal((await h.container.store.tenants.findById('acme'))!.driftMode, 'remove');
    assert.throws(() => readApplyFile(file([], { driftMode: 'delete' }), env), /driftMode/);
  });

  it('when the file sets the review settings, then the tenant takes them and its review job follows the cron in the tenant’s zone; bad ones are refused', async () => {
    const settings = { reviewSchedule: '30 5 * * 3', inactiveDays: 60, disableInactive: true };
    const report = await h.container.services.apply.apply(readApplyFile(file([profile({ maxDurationSeconds: 7200 })], settings), env));
    assert.deepEqual(report.updated, ['tenant acme']);
    const tenant = (await h.container.store.tenants.findById('acme'))!;
    assert.deepEqual([tenant.reviewSchedule, tenant.inactiveDays, tenant.disableInactive], ['30 5 * * 3', 60, true]);
    const scheduler = await h.container.queues.reviews.getJobScheduler(reviewSchedulerId('acme'));
    assert.deepEqual([scheduler?.pattern, scheduler?.tz], ['30 5 * * 3', 'Europe/London']);
    assert.throws(() => readApplyFile(file([], { reviewSchedule: '*/5 * * * *' }), env), /reviewSchedule/);
    assert.throws(() => readApplyFile(file([], { inactiveDays: 0 }), env), /inactiveDays/);
    const back = await h.container.services.apply.apply(readApplyFile(file([profile({ maxDurationSeconds: 7200 })]), env));
    assert.deepEqual(back.updated, ['tenant acme'], 'left out: the defaults again');
    assert.equal((await h.container.queues.reviews.getJobScheduler(reviewSchedulerId('acme')))?.pattern, '0 6 * * 1');
  });

  it('when the file names a protected group, then apply stops with the reason and the profile is not created', async () => {
    await assert.rejects(
      h.container.services.apply.apply(
        readApplyFile(file([profile(), profile({ name: 'danger', groups: [`CN=Domain Admins,CN=Users,${acme.baseDn}`] })]), env),
      ),
      (error: Error & { code?: string }) => error.code === 'group_protected',
    );
    assert.equal(await h.container.store.profiles.findByName('acme', 'danger'), null);
  });

  it('when the file lists the tenant’s own protected groups, then the list becomes exactly those, a profile inside one is refused, and applying again changes nothing', async () => {
    const own = await ou.group('Apply-Tier0');
    const other = await ou.group('Apply-Other');
    const inner = await ou.group('Apply-Inner');
    await addMember(acme, own, inner);
    const first = await h.container.services.apply.apply(readApplyFile(file([profile()], { protectedGroups: [own, other] }), env));
    assert.ok(first.updated.includes('protected groups acme'), JSON.stringify(first));
    const listed = (await h.container.store.protectedGroups.listForTenant('acme')).map((g) => g.dn.toLowerCase()).sort();
    assert.deepEqual(listed, [own, other].map((dn) => dn.toLowerCase()).sort());
    const again = await h.container.services.apply.apply(readApplyFile(file([profile()], { protectedGroups: [own, other] }), env));
    assert.ok(again.unchanged.includes('protected groups acme'), JSON.stringify(again));
    // Narrowed to one: the other is taken off; a profile nested inside the protected one is refused.
    await assert.rejects(
      h.container.services.apply.apply(
        readApplyFile(file([profile(), profile({ name: 'inner', groups: [inner] })], { protectedGroups: [own] }), env),
      ),
      (error: Error & { code?: string }) => error.code === 'group_protected',
    );
    assert.deepEqual(
      (await h.container.store.protectedGroups.listForTenant('acme')).map((g) => g.dn.toLowerCase()),
      [own.toLowerCase()],
    );
    assert.equal(await h.container.store.profiles.findByName('acme', 'inner'), null);
    // Left out of the file: the list is left as it is.
    await h.container.services.apply.apply(readApplyFile(file([profile()]), env));
    assert.equal((await h.container.store.protectedGroups.listForTenant('acme')).length, 1);
  });

  it('when the bind password variable is missing or the file is malformed, then nothing is read', () => {
    assert.throws(() => readApplyFile(file([profile()]), {}), /ACME_BIND is not set/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'tenants:\n  - id: acme\n    surprise: true\n');
    assert.throws(() => readApplyFile(bad, env), /is not valid/);
  });
});
