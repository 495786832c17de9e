// Access reviews (docs/security-model.md, Access reviews) against both real Samba domains, both stores, real Redis and the real
// reviews worker, with the fake Slack API: a linked MSP account nested into Domain Admins is a
// critical finding; an account whose lastLogonTimestamp the test writes far in the past is found
// inactive and disabled where the tenant says so (acme), only reported where not (globex); a
// standing member of a managed group is found; a profile whose group was nested into a protected
// group is suspended and reported; sign-off needs a valid fresh TOTP code, once; a tenant whose
// directory does not answer gives a critical finding and an incomplete review; each tenant's
// repeatable job is in Redis with its cron pattern and time zone; the summary reaches Slack.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parse as parseCsv } from 'csv-parse/sync';
import { Attribute, Change } from 'ldapts';
import { toFileTime } from '../../src/domain/ad.ts';
import { systemContext } from '../../src/services/context.ts';
import { bindPasswordContext } from '../../src/services/tenants/index.ts';
import { reviewSchedulerId } from '../../src/adapters/queue/jobs.ts';
import { startWorkers, type RunningWorkers } from '../../workers/runtime.ts';
import { runningClock } from '../support/clock.ts';
import { addMember, createTestOu, domainAdminsDn, readUser, removeMember, withAdmin } from '../support/directory.ts';
import { bearer, codeNow, createTechnician, login, type TestTechnician } from '../support/factories.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { testServices, type SambaDomain } from '../support/services.ts';
import { addTenant, eventually, operative } from '../support/world.ts';

const { acme, globex } = testServices().domains;
const alertChannel = 'C0REVIEWS';
const day = 86_400_000;

/** Samba lets the domain admin write lastLogonTimestamp (it sets it itself on the first simple bind). */
async function writeLastLogon(domain: SambaDomain, dn: string, at: Date) {
  await withAdmin(domain, (client) =>
    client.modify(
      dn,
      new Change({ operation: 'replace', modification: new Attribute({ type: 'lastLogonTimestamp', values: [toFileTime(at)] }) }),
    ),
  );
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Finding {
  severity: string;
  kind: string;
  subject: string;
  technicianId: string | null;
  summary: string;
  action: string | null;
  details: Record<string, unknown>;
}

interface DomainWorld {
  domain: SambaDomain;
  ou: Awaited<ReturnType<typeof createTestOu>>;
  managed: string;
  nest: string;
  nestedProfileGroup: string;
  nestedIntoAdmins: boolean;
  privileged: { id: string; accountDn: string };
  idle: { id: string; accountDn: string };
  busy: { id: string; accountDn: string };
  stranger: string;
}

for (const engine of engines) {
  describe(`access reviews on ${engine}`, () => {
    let h: Harness;
    let fake: FakeSlack;
    let workers: RunningWorkers;
    let adminToken: string;
    let auditor: TestTechnician;
    let auditorToken: string;
    let technicianToken: string;
    const worlds: Record<'acme' | 'globex', DomainWorld> = {} as never;
    const reviewIds: Record<string, string> = {};
    let opOu: Awaited<ReturnType<typeof createTestOu>> | undefined;

    const startReview = (tenantId: string, token = auditorToken) => h.http.post('/api/v1/reviews').set(bearer(token)).send({ tenantId });
    const finished = (id: string) =>
      eventually(
        async () => (await h.http.get(`/api/v1/reviews/${id}`).set(bearer(auditorToken))).body,
        (r: { status?: string }) => r.status === 'completed' || r.status === 'incomplete',
        60_000,
        `review ${id} finished`,
      ) as Promise<{ status: string; counts: Record<string, number>; signOff: unknown; findings: Finding[]; trigger: string }>;
    const events = async (action: string) => (await h.container.store.audit.list({ action: action as never, limit: 500 })).reverse();

    async function linkedAccount(domain: SambaDomain, ou: DomainWorld['ou'], label: string, enabled: boolean) {
      const t = await createTechnician(h, ['technician']);
      const name = `rv${label}-${t.username.slice(-6)}`;
      const accountDn = await ou.user(name, `Acct-${Math.random().toString(36).slice(2)}-9Z`, enabled);
      await h.container.services.accounts.link(domain.name, t.id, name, 'system', systemContext);
      return { id: t.id, accountDn };
    }

    async function buildWorld(domain: SambaDomain): Promise<DomainWorld> {
      const ou = await createTestOu(domain, `reviews-${engine}`);
      const suffix = Math.random().toString(36).slice(2, 8);
      const managed = await ou.group(`Rev-Helpdesk-${suffix}`);
      const nest = await ou.group(`Rev-Nest-${suffix}`);
      const nestedProfileGroup = await ou.group(`Rev-Servers-${suffix}`);
      for (const [name, group] of [
        ['review-helpdesk', managed],
        ['review-servers', nestedProfileGroup],
      ] as const) {
        const created = await h.http
          .post(`/api/v1/tenants/${domain.name}/profiles`)
          .set(bearer(adminToken))
          .send({ name, groups: [group], eligibleRoles: ['technician'], defaultDurationSeconds: 600, maxDurationSeconds: 600 });
        assert.equal(created.status, 201, JSON.stringify(created.body));
      }
      const world: DomainWorld = {
        domain,
        ou,
        managed,
        nest,
        nestedProfileGroup,
        nestedIntoAdmins: false,
        privileged: await linkedAccount(domain, ou, 'p', false),
        idle: await linkedAccount(domain, ou, 'i', true),
        busy: await linkedAccount(domain, ou, 'b', true),
        stranger: await ou.user(`rv-own-${suffix}`, `Own-${Math.random().toString(36).slice(2)}-9Z`),
      };
      // The nesting: account → Rev-Nest → Domain Admins; and a profile's group → Rev-Nest.
      await addMember(domain, domainAdminsDn(domain), nest);
      world.nestedIntoAdmins = true;
      await addMember(domain, nest, world.privileged.accountDn);
      await addMember(domain, nest, nestedProfileGroup);
      await addMember(domain, managed, world.stranger);
      await writeLastLogon(domain, world.idle.accountDn, new Date(Date.now() - 120 * day));
      await writeLastLogon(domain, world.busy.accountDn, new Date(Date.now() - 2 * day));
      return world;
    }

    before(async () => {
      fake = await startFakeSlack();
      h = await startHarness({
        engine,
        clock: runningClock(),
        config: {
          // The reconciler's drift removal is not what this file tests.
          queue: { reconcileIntervalSeconds: 3600 },
          slack: {
            enabled: true,
            apiUrl: fake.apiUrl,
            botToken: fake.botToken,
            signingSecret: 'reviews-test-signing-secret-0123456789',
            alertChannel,
          },
        },
      });
      await addTenant(h, acme);
      await addTenant(h, globex);
      adminToken = (await login(h, await createTechnician(h, ['admin']))).accessToken;
      auditor = await createTechnician(h, ['auditor']);
      auditorToken = (await login(h, auditor)).accessToken;
      opOu = await createTestOu(acme, `reviews-op-${engine}`);
      technicianToken = (await operative(h, acme, opOu)).accessToken;
      // acme disables inactive accounts after 30 days and is reviewed on Tuesdays 07:15 Berlin time.
      const patched = await h.http
        .patch('/api/v1/tenants/acme')
        .set(bearer(adminToken))
        .send({ timeZone: 'Europe/Berlin', reviewSchedule: '15 7 * * 2', inactiveDays: 30, disableInactive: true });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.deepEqual(
        [patched.body.tenant.reviewSchedule, patched.body.tenant.inactiveDays, patched.body.tenant.disableInactive],
        ['15 7 * * 2', 30, true],
      );
      worlds.acme = await buildWorld(acme);
      worlds.globex = await buildWorld(globex);
      workers = await startWorkers(h.container);
    });

    after(async () => {
      // Never leave a test group inside Domain Admins, whatever happened above.
      for (const world of Object.values(worlds)) {
        if (world.nestedIntoAdmins) await removeMember(world.domain, domainAdminsDn(world.domain), world.nest).catch(() => undefined);
      }
      await workers?.close();
      await h.close();
      await fake.close();
      for (const world of Object.values(worlds)) await world.ou.cleanup();
      await opOu?.cleanup();
    });

    it('when tenants are configured, then each one’s repeatable review job is in Redis with its cron pattern and time zone', async () => {
      const acmeJob = await h.container.queues.reviews.getJobScheduler(reviewSchedulerId('acme'));
      assert.equal(acmeJob?.pattern, '15 7 * * 2');
      assert.equal(acmeJob?.tz, 'Europe/Berlin');
      assert.deepEqual(acmeJob?.template?.data, { tenantId: 'acme' }, 'ids only in the payload');
      const globexJob = await h.container.queues.reviews.getJobScheduler(reviewSchedulerId('globex'));
      assert.equal(globexJob?.pattern, '0 6 * * 1', 'weekly by default');
      assert.equal(globexJob?.tz, 'UTC');
      // The next run is Tuesday 07:15 in Berlin, whatever UTC says.
      const next = new Date(acmeJob!.next!);
      assert.equal(
        new Intl.DateTimeFormat('en-GB', {
          timeZone: 'Europe/Berlin',
          weekday: 'short',
          hour: '2-digit',
          minute: '2-digit',
          hourCycle: 'h23',
        }).format(next),
        'Tue 07:15',
      );

      for (const bad of [
        { reviewSchedule: '* * * * *' },
        { reviewSchedule: 'weekly' },
        { inactiveDays: 0 },
        { inactiveDays: 1.5 },
        { disableInactive: 'yes' },
      ]) {
        const refused = await h.http.patch('/api/v1/tenants/globex').set(bearer(adminToken)).send(bad);
        assert.equal(refused.status, 400, JSON.stringify(bad));
      }
      const stored = (await h.container.store.tenants.findById('globex'))!;
      assert.deepEqual([stored.reviewSchedule, stored.inactiveDays, stored.disableInactive], ['0 6 * * 1', 45, false], 'nothing changed');
      assert.equal((await h.container.queues.reviews.getJobScheduler(reviewSchedulerId('globex')))?.pattern, '0 6 * * 1');
    });

    for (const tenant of ['acme', 'globex'] as const) {
      it(`when ${tenant} is reviewed on demand, then the nested Domain Admin is critical, the standing member and the suspended profile are found, and the inactive account is ${tenant === 'acme' ? 'disabled' : 'only reported'}`, async () => {
        const w = worlds[tenant];
        const started = await startReview(tenant);
        assert.equal(started.status, 202, JSON.stringify(started.body));
        assert.equal(started.body.status, 'queued');
        assert.equal(started.body.trigger, 'on_demand');
        reviewIds[tenant] = started.body.id;
        const review = await finished(started.body.id);
        assert.equal(review.status, 'completed');
        const of = (kind: string, subject: string) =>
          review.findings.filter((f) => f.kind === kind && f.subject.toLowerCase() === subject.toLowerCase());

        const critical = of('protected_group_member', w.privileged.accountDn);
        assert.equal(critical.length, 1, JSON.stringify(review.findings));
        assert.equal(critical[0]!.severity, 'critical');
        assert.equal(critical[0]!.technicianId, w.privileged.id);
        assert.equal((critical[0]!.details.protectedGroup as string).toLowerCase(), domainAdminsDn(w.domain).toLowerCase());
        assert.deepEqual(
          (critical[0]!.details.path as string[]).map((p) => p.toLowerCase()),
          [w.nest, domainAdminsDn(w.domain)].map((p) => p.toLowerCase()),
        );
        assert.equal(review.findings.filter((f) => f.kind === 'protected_group_member').length, 1, 'only the nested account');
        assert.equal(review.findings[0]!.severity, 'critical', 'most severe first');

        const standing = of('member_without_grant', w.stranger);
        assert.equal(standing.length, 1);
        assert.equal((standing[0]!.details.group as string).toLowerCase(), w.managed.toLowerCase());

        const suspended = review.findings.filter((f) => f.kind === 'profile_suspended');
        assert.deepEqual(
          suspended.map((f) => [f.subject, f.action]),
          [['review-servers', 'suspended']],
        );
        const profile = await h.container.store.profiles.findByName(tenant, 'review-servers');
        assert.equal(profile?.status, 'suspended');

        const idle = of('inactive_account', w.idle.accountDn);
        assert.equal(idle.length, 1, JSON.stringify(review.findings));
        assert.equal(idle[0]!.severity, 'medium');
        assert.equal(of('inactive_account', w.busy.accountDn).length, 0, 'a logon two days ago is activity');
        const uac = (await readUser(w.domain, w.idle.accountDn)).userAccountControl;
        if (tenant === 'acme') {
          assert.equal(idle[0]!.action, 'disabled');
          assert.equal(uac & 2, 2, 'disabled in the directory');
          const audited = (await events('review.account_disabled')).filter((e) => e.tenantId === 'acme');
          assert.equal(audited.length, 1);
          assert.equal(audited[0]!.target, w.idle.id);
          assert.equal(audited[0]!.details.reviewId, started.body.id);
        } else {
          assert.equal(idle[0]!.action, null);
          assert.equal(uac & 2, 0, 'left enabled: globex does not disable');
          assert.equal((await events('review.account_disabled')).filter((e) => e.tenantId === 'globex').length, 0);
        }
        assert.equal(
          of('enabled_without_grant', w.busy.accountDn)[0]?.severity,
          'high',
          'enabled between grants where accounts are kept disabled',
        );
        assert.equal(of('not_in_protected_users', w.privileged.accountDn).length, 1);

        const completed = (await events('review.completed')).filter((e) => e.target === started.body.id);
        assert.equal(completed.length, 1);
        assert.equal(completed[0]!.details.critical, review.counts.critical);
        assert.equal(completed[0]!.details.findings, review.findings.length);
        const message = await eventually(
          async () => fake.messagesIn(alertChannel).find((m) => m.text.includes(`access review of ${tenant}`)),
          (m) => m !== undefined,
          15_000,
          'a review summary in Slack',
        );
        assert.match(message!.text, new RegExp(`critical ${review.counts.critical} `));
        assert.match(JSON.stringify(message!.blocks), /protected group/);
      });
    }

    it('when a review is signed off, then only an auditor with a valid fresh code can, a replayed code is refused, and only once', async () => {
      const id = reviewIds.acme!;
      const otherId = reviewIds.globex!;
      const signoff = (reviewId: string, code: string, token = auditorToken) =>
        h.http.post(`/api/v1/reviews/${reviewId}/signoff`).set(bearer(token)).send({ code, comment: 'Reviewed with the client' });
      const signedBy = async (reviewId: string) => (await h.container.store.reviews.findById(reviewId))!.signedOffBy;

      assert.equal((await signoff(id, '000000', adminToken)).status, 403, 'admins read reviews; auditors sign them off');
      h.clock.advance(30_000);
      const good = await codeNow(h, auditor.totpSecret!);
      const wrong = good === '123456' ? '654321' : '123456';
      const refused = await signoff(id, wrong);
      assert.equal(refused.status, 401);
      assert.equal(refused.body.error.code, 'mfa_invalid');
      assert.equal(await signedBy(id), null, 'nothing changed');

      const signed = await signoff(id, good);
      assert.equal(signed.status, 200, JSON.stringify(signed.body));
      assert.equal(signed.body.signOff.by, auditor.id);
      assert.equal(signed.body.signOff.comment, 'Reviewed with the client');
      const replayed = await signoff(otherId, good);
      assert.equal(replayed.status, 401);
      assert.equal(replayed.body.error.code, 'mfa_replay');
      assert.equal(await signedBy(otherId), null, 'a replayed code signs nothing');

      h.clock.advance(30_000);
      const again = await signoff(id, await codeNow(h, auditor.totpSecret!));
      assert.equal(again.status, 409);
      const audited = (await events('review.signed_off')).filter((e) => e.target === id);
      assert.equal(audited.length, 1);
      assert.equal(audited[0]!.actor, auditor.id);
    });

    it('when a review is exported, then the CSV has one row per finding and the JSON the review with its findings, both audited', async () => {
      const id = reviewIds.globex!;
      const review = await finished(id);
      const csv = await h.http.get(`/api/v1/reviews/${id}/export?format=csv`).set(bearer(adminToken));
      assert.equal(csv.status, 200);
      assert.match(csv.headers['content-type'] ?? '', /text\/csv/);
      const rows = parseCsv(csv.text, { columns: true }) as Array<Record<string, string>>;
      assert.equal(rows.length, review.findings.length);
      assert.deepEqual(
        rows.map((r) => r.kind),
        review.findings.map((f) => f.kind),
      );
      assert.ok(rows.every((r) => r.review_id === id && r.tenant === 'globex'));
      const json = await h.http
        .get(`/api/v1/reviews/${id}/export?format=json`)
        .set(bearer(auditorToken))
        .buffer(true)
        .parse((res, done) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => done(null, text));
        });
      const parsed = JSON.parse(json.body as string) as { review: { id: string }; findings: Finding[] };
      assert.equal(parsed.review.id, id);
      assert.equal(parsed.findings.length, review.findings.length);
      assert.equal((await h.http.get(`/api/v1/reviews/${id}/export?format=xml`).set(bearer(adminToken))).status, 400);
      assert.deepEqual(
        (await events('review.exported')).filter((e) => e.target === id).map((e) => e.details.format),
        ['csv', 'json'],
      );
    });

    it('when a tenant’s directory does not answer, then the review is incomplete with a critical directory_unreachable finding, never a pass', async () => {
      const id = `offline-${engine}`;
      const port = await freeLoopbackPort();
      await h.container.store.tenants.insert(
        {
          id,
          displayName: 'Offline Ltd',
          timeZone: 'UTC',
          directory: {
            url: `ldaps://127.0.0.1:${port}`,
            bindDn: acme.bindDn,
            baseDn: acme.baseDn,
            caCertificate: readFileSync(acme.caFile, 'utf8'),
          },
          keepAccountsDisabled: true,
          slackChannel: null,
          driftMode: 'remove',
          reviewSchedule: '0 6 * * 1',
          inactiveDays: 45,
          disableInactive: false,
          riskThreshold: 50,
          bindPasswordSealed: await h.container.secrets.seal('not-used', bindPasswordContext(id)),
        },
        h.clock.now(),
      );
      const started = await startReview(id);
      assert.equal(started.status, 202);
      const review = await finished(started.body.id);
      assert.equal(review.status, 'incomplete');
      assert.equal(review.counts.critical, 1);
      assert.deepEqual(
        review.findings.map((f) => [f.kind, f.severity]),
        [['directory_unreachable', 'critical']],
      );
      assert.equal(review.findings[0]!.details.code, 'directory_unreachable');
      const message = await eventually(
        async () => fake.messagesIn(alertChannel).find((m) => m.text.includes('access review of Offline Ltd')),
        (m) => m !== undefined,
        15_000,
        'the incomplete review in Slack',
      );
      assert.match(message!.text, /incomplete/);
      assert.equal((await h.http.get(`/api/v1/reviews?tenant=${id}`).set(bearer(adminToken))).body.reviews[0].status, 'incomplete');
    });

    it('when the scheduled job runs twice with the same key (a retry), then one scheduled review exists and it runs once; the worker runs a scheduled job', async () => {
      const first = await h.container.services.reviews.runScheduled('globex', `repeat:test-${engine}`);
      const second = await h.container.services.reviews.runScheduled('globex', `repeat:test-${engine}`);
      assert.equal(first.status, 'completed');
      assert.equal(second.status, 'skipped');
      const scheduled = (await h.container.services.reviews.list({ tenantId: 'globex', limit: 50 })).filter(
        (r) => r.trigger === 'scheduled',
      );
      assert.equal(scheduled.length, 1);
      assert.equal(scheduled[0]!.requestedBy, null);

      // What the scheduler enqueues (the tenant id only), taken by the real reviews worker.
      await h.container.queues.reviews.add('scheduled', { tenantId: 'acme' }, { jobId: `scheduled-run-${engine}` });
      const ran = await eventually(
        async () => (await h.container.services.reviews.list({ tenantId: 'acme', limit: 50 })).filter((r) => r.trigger === 'scheduled'),
        (list) => list.length === 1 && list[0]!.status === 'completed',
        60_000,
        'a scheduled review of acme run by the worker',
      );
      assert.equal((await events('review.requested')).filter((e) => e.target === ran[0]!.id && e.actor === 'system').length, 1);
    });

    it('when a review’s job was lost (Redis flushed, or never queued), then the reconciler queues it again and the worker runs it; a review just asked for is left alone', async () => {
      const review = (at: Date) => ({
        id: crypto.randomUUID(),
        tenantId: 'globex',
        trigger: 'on_demand' as const,
        requestedBy: auditor.id,
        status: 'queued' as const,
        requestedAt: at,
        startedAt: null,
        finishedAt: null,
        counts: { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
        signedOffBy: null,
        signedOffAt: null,
        signOffComment: null,
      });
      // Recorded, but no job in Redis: one asked for three minutes ago, one just now.
      const lost = review(new Date(h.clock.now().getTime() - 180_000));
      const fresh = review(h.clock.now());
      // A scheduled review runs under its scheduler's job: never queued a second time here.
      const scheduled = {
        ...review(new Date(h.clock.now().getTime() - 180_000)),
        trigger: 'scheduled' as const,
        requestedBy: null,
        status: 'running' as const,
      };
      await h.container.store.reviews.insert(lost, null);
      await h.container.store.reviews.insert(fresh, null);
      await h.container.store.reviews.insert(scheduled, `sched-${scheduled.id}`);
      assert.equal(await h.container.services.reviews.resumeWaiting(), 1);
      assert.equal(await h.container.services.reviews.resumeWaiting(), 0, 'its job is live now: not queued twice');
      const done = await finished(lost.id);
      assert.equal(done.status, 'completed');
      assert.equal((await h.container.store.reviews.findById(fresh.id))!.status, 'queued');
      assert.equal(await h.container.queues.reviews.getJob(`review-run-${scheduled.id}`), undefined);
    });

    it('when the caller is not an auditor or admin, or the input is bad, then the answer is 4xx and no review is made', async () => {
      const before = (await h.container.services.reviews.list({ limit: 500 })).length;
      assert.equal((await startReview('acme', technicianToken)).status, 403);
      assert.equal((await h.http.get('/api/v1/reviews').set(bearer(technicianToken))).status, 403);
      assert.equal((await h.http.get(`/api/v1/reviews/${reviewIds.acme}`).set(bearer(technicianToken))).status, 403);
      assert.equal((await startReview('no-such-tenant')).status, 404);
      assert.equal((await h.http.post('/api/v1/reviews').set(bearer(auditorToken)).send({ tenantId: 'acme', extra: 1 })).status, 400);
      assert.equal((await h.http.post('/api/v1/reviews').set(bearer(auditorToken)).send({})).status, 400);
      assert.equal((await h.http.get('/api/v1/reviews/not-a-review').set(bearer(auditorToken))).status, 404);
      assert.equal((await h.container.services.reviews.list({ limit: 500 })).length, before);
    });

    it('when the nesting is undone, then the next review of the tenant has no critical finding for the account', async () => {
      const w = worlds.globex;
      await removeMember(w.domain, domainAdminsDn(w.domain), w.nest);
      w.nestedIntoAdmins = false;
      const started = await startReview('globex');
      const review = await finished(started.body.id);
      assert.equal(review.findings.filter((f) => f.kind === 'protected_group_member').length, 0);
      assert.equal(review.counts.critical, 0);
    });
  });
}
