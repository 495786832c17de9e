// Risk signals (docs/security-model.md, Risk signals) against both real Samba domains, both stores, real Redis and workers, and
// the fake Slack: a fan-out into three tenants within minutes is held for approval although its
// profile grants at once, alerts and is audited with its score and reasons; a request in the
// technician's learned hours is low risk and one at 03:00 local is not; MFA failures raise the
// score; a bad threshold is refused and changes nothing. Tenants acme-east (acme's domain, New
// York time) stands for a third client.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DateTime } from 'luxon';
import { stringify } from 'yaml';
import { totpCodeAt } from '../../src/adapters/crypto/totp.ts';
import { readApplyFile } from '../../src/cli/apply-file.ts';
import { systemContext } from '../../src/services/context.ts';
import type { Elevation } from '../../src/domain/elevation.ts';
import { startWorkers, type RunningWorkers } from '../../workers/runtime.ts';
import { runningClock } from '../support/clock.ts';
import { createTestOu, membersOf } from '../support/directory.ts';
import { bearer, codeNow, createTechnician, login, type TestTechnician } from '../support/factories.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { testServices, type SambaDomain } from '../support/services.ts';
import { addTenant, eventually, operative, requestElevation, type Operative } from '../support/world.ts';

const { acme, globex } = testServices().domains;
const alertChannel = 'C0RISKALERTS';
const eastChannel = 'C0RISKEAST';
const east = 'acme-east';
const eastZone = 'America/New_York';

type Ou = Awaited<ReturnType<typeof createTestOu>>;
type Reason = { signal: string; points: number; detail: string };

for (const engine of engines) {
  describe(`risk signals on ${engine}`, () => {
    let h: Harness;
    let fake: FakeSlack;
    let workers: RunningWorkers;
    let ou: Ou;
    let globexOu: Ou;
    let adminT: TestTechnician;
    /** A fresh admin session (the clock jumps days in these tests). */
    const admin = async () => (await login(h, adminT)).accessToken;
    const groups: Record<string, string> = {};

    /** A technician with linked accounts in acme (always) and in the other tenants named. */
    async function technician(tenants: string[]): Promise<Operative> {
      const t = await operative(h, acme, ou);
      for (const tenant of tenants) {
        const name = `${tenant === east ? 'mse' : 'msp'}-${t.username.slice(0, 12)}`;
        await (tenant === 'globex' ? globexOu : ou).user(name, t.accountPassword);
        await h.container.services.accounts.link(tenant, t.id, name, 'system', systemContext);
      }
      return t;
    }

    const ask = (who: Operative, tenant: string) => requestElevation(h, who, { tenant, profile: 'helpdesk', justification: 'risk test' });
    const revoke = async (who: Operative, id: string) => {
      const done = await h.http.post(`/api/v1/elevations/${id}/revoke`).set(bearer(who.accessToken)).send({});
      assert.equal(done.status, 200, JSON.stringify(done.body));
    };
    const signals = (body: { risk: { reasons: Reason[] } }) => body.risk.reasons.map((r) => r.signal).sort();
    const eventsFor = async (target: string) =>
      (await h.container.store.audit.list({ limit: 1000 })).filter((e) => e.target === target).reverse();
    /** Moves the clock to a local time and logs in again (the session would have lapsed). */
    async function at(who: Operative, local: DateTime) {
      h.clock.set(local.toJSDate());
      who.accessToken = (await login(h, who)).accessToken;
    }
    async function tenantOn(id: string, domain: SambaDomain, timeZone: string, slackChannel: string | null) {
      await h.container.services.tenants.create(
        {
          id,
          displayName: id,
          timeZone,
          slackChannel,
          directory: {
            url: domain.ldapsUrl,
            bindDn: domain.bindDn,
            bindPassword: domain.bindPassword,
            baseDn: domain.baseDn,
            caCertificate: readFileSync(domain.caFile, 'utf8'),
          },
        },
        'system',
        systemContext,
      );
    }

    before(async () => {
      fake = await startFakeSlack();
      const clock = runningClock();
      clock.set(Date.UTC(2026, 10, 2, 14, 0, 0)); // Monday 14:00 UTC, 09:00 in New York: working hours in every tenant
      h = await startHarness({
        engine,
        clock,
        config: {
          slack: {
            enabled: true,
            apiUrl: fake.apiUrl,
            botToken: fake.botToken,
            signingSecret: 'risk-test-signing-secret-0123456789',
            alertChannel,
          },
        },
      });
      await addTenant(h, acme);
      await addTenant(h, globex);
      await tenantOn(east, acme, eastZone, eastChannel);
      ou = await createTestOu(acme, `risk-${engine}`);
      globexOu = await createTestOu(globex, `risk-${engine}`);
      groups.acme = await ou.group(`Risk-${engine}-Acme`);
      groups[east] = await ou.group(`Risk-${engine}-East`);
      groups.globex = await globexOu.group(`Risk-${engine}-Globex`);
      adminT = await createTechnician(h, ['admin']);
      const adminToken = await admin();
      for (const tenant of ['acme', 'globex', east]) {
        const created = await h.http
          .post(`/api/v1/tenants/${tenant}/profiles`)
          .set(bearer(adminToken))
          .send({
            name: 'helpdesk',
            groups: [groups[tenant]],
            eligibleRoles: ['technician'],
            defaultDurationSeconds: 1800,
            maxDurationSeconds: 3600,
          });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        assert.equal(created.body.approval.required, 0, 'the profile grants at once');
      }
      workers = await startWorkers(h.container);
    });
    after(async () => {
      await workers?.close();
      await h.close();
      await fake.close();
      await ou.cleanup();
      await globexOu.cleanup();
    });

    it('when one technician fans out into three tenants within minutes, then the third waits for approval although its profile auto-approves, alerts in Slack and is audited with its score and reasons', async () => {
      const tech = await technician(['globex', east]);
      const first = await ask(tech, 'acme');
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.deepEqual(first.body.risk, {
        score: 20,
        reasons: [{ signal: 'first_in_tenant', points: 20, detail: 'first elevation into acme' }],
      });
      h.clock.advance(120_000);
      const second = await ask(tech, 'globex');
      assert.equal(second.status, 201, JSON.stringify(second.body));
      assert.deepEqual(signals(second.body), ['first_in_tenant'], 'two tenants are no fan-out yet');

      h.clock.advance(120_000);
      const third = await ask(tech, east);
      assert.equal(third.status, 202, JSON.stringify(third.body));
      assert.equal(third.body.state, 'pending_approval');
      assert.equal(third.body.approval.required, 1, 'one approval by any approver of the tenant');
      assert.deepEqual(third.body.approval.approvers, []);
      assert.deepEqual(signals(third.body), ['fan_out', 'first_in_tenant']);
      assert.equal(third.body.risk.score, 80);
      assert.match(
        third.body.risk.reasons.find((r: Reason) => r.signal === 'fan_out').detail,
        /3 tenants within 15 minutes \(acme, acme-east, globex\)/,
      );
      assert.ok(
        !(await membersOf(acme, groups[east]!)).includes(`cn=mse-${tech.username.slice(0, 12)},${ou.dn}`.toLowerCase()),
        'nothing in AD before approval',
      );

      // Stored and shown on reads.
      const read = await h.http.get(`/api/v1/elevations/${third.body.id}`).set(bearer(tech.accessToken));
      assert.deepEqual(read.body.risk, third.body.risk);
      const listed = await h.http.get('/api/v1/elevations').set(bearer(tech.accessToken));
      assert.deepEqual(listed.body.elevations.find((e: { id: string }) => e.id === third.body.id).risk, third.body.risk);

      // Audited: the request carries the score and reasons, and the flag is an event of its own.
      const audit = await eventsFor(third.body.id);
      const requested = audit.find((e) => e.action === 'elevation.requested')!;
      assert.deepEqual(requested.details.risk, { score: 80, reasons: third.body.risk.reasons, threshold: 50, flagged: true });
      const flagged = audit.find((e) => e.action === 'elevation.risk_flagged')!;
      assert.deepEqual(flagged.details, {
        profile: 'helpdesk',
        score: 80,
        threshold: 50,
        reasons: third.body.risk.reasons,
        approvalsRequired: 1,
        profileApprovalsRequired: 0,
      });
      const firstAudit = (await eventsFor(first.body.id)).find((e) => e.action === 'elevation.requested')!;
      assert.equal((firstAudit.details.risk as { flagged: boolean }).flagged, false);
      assert.equal(
        (await eventsFor(first.body.id)).some((e) => e.action === 'elevation.risk_flagged'),
        false,
      );

      // The alert and the approval message, with the risk, reach Slack.
      const alert = await eventually(
        async () => fake.messagesIn(alertChannel).find((m) => m.text.includes(tech.username)),
        (m) => m !== undefined,
        15_000,
        'a risk alert',
      );
      assert.match(alert!.text, /risk/);
      assert.match(JSON.stringify(alert!.blocks), /score: 80/);
      assert.match(JSON.stringify(alert!.blocks), /fan_out \+60/);
      const approval = await eventually(
        async () => fake.messagesIn(eastChannel).find((m) => JSON.stringify(m.blocks).includes(third.body.id)),
        (m) => m !== undefined,
        15_000,
        'the approval message',
      );
      assert.match(
        JSON.stringify(approval!.blocks),
        /\*Risk\*\\n80\/100: first in tenant \+20 \(first elevation into acme-east\), fan out \+60/,
      );
      assert.equal(
        fake.messagesIn(alertChannel).filter((m) => m.text.includes(tech.username)).length,
        1,
        'the requests below the threshold raised no alert',
      );

      // The existing approval machinery takes it from here.
      const approver = await createTechnician(h, ['approver']);
      await h.container.services.technicians.update(approver.id, { approverTenants: [east] }, 'system', systemContext);
      const approverToken = (await login(h, approver)).accessToken;
      const queue = await h.http.get('/api/v1/approvals').set(bearer(approverToken));
      assert.deepEqual(
        queue.body.elevations.map((e: { id: string; risk: unknown }) => [e.id, e.risk]),
        [[third.body.id, third.body.risk]],
      );
      h.clock.advance(30_000);
      const approved = await h.http
        .post(`/api/v1/elevations/${third.body.id}/approve`)
        .set(bearer(approverToken))
        .send({ code: await codeNow(h, approver.totpSecret!) });
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(approved.body.state, 'active');
      assert.ok(
        (await membersOf(acme, groups[east]!)).includes(`cn=mse-${tech.username.slice(0, 12)},${ou.dn}`.toLowerCase()),
        'in AD once approved',
      );

      // The elevation history export carries the score and the reasons.
      const auditor = (await login(h, await createTechnician(h, ['auditor']))).accessToken;
      const text = (res: NodeJS.ReadableStream, done: (e: Error | null, body: string) => void) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () => done(null, body));
      };
      const csv = await h.http
        .get(`/api/v1/elevations/export?format=csv&technician=${tech.id}`)
        .set(bearer(auditor))
        .buffer(true)
        .parse(text as never);
      assert.equal(csv.status, 200);
      const lines = (csv.body as string).trim().split('\n');
      assert.ok(lines[0]!.endsWith(',risk_score,risk_reasons'), lines[0]);
      const row = lines.find((l) => l.startsWith(third.body.id))!;
      assert.match(
        row,
        /,80,"first_in_tenant \+20: first elevation into acme-east; fan_out \+60: requests into 3 tenants within 15 minutes/,
      );
      const ndjson = await h.http
        .get(`/api/v1/elevations/export?format=ndjson&technician=${tech.id}`)
        .set(bearer(auditor))
        .buffer(true)
        .parse(text as never);
      const rows = (ndjson.body as string)
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.deepEqual(
        rows.map((r) => r.risk_score),
        [20, 20, 80],
      );
      assert.deepEqual(rows[2].risk_reasons, third.body.risk.reasons);

      for (const e of [first, second, approved]) await revoke(tech, e.body.id);
    });

    it('when a technician asks in their learned usual hours, then the risk is low; at 03:00 local it is not, and a lower tenant threshold holds it for approval', async () => {
      const tech = await technician([east]);
      const profile = (await h.container.store.profiles.findByName(east, 'helpdesk'))!;
      const account = (await h.container.store.accounts.find(east, tech.id))!;
      // Six weeks of weekday mornings in New York (10:00 local, across the change from summer time).
      const wednesday = DateTime.fromObject({ year: 2026, month: 11, day: 11, hour: 10, minute: 30 }, { zone: eastZone });
      let seeded = 0;
      for (let d = 1; seeded < 25; d++) {
        const day = wednesday.minus({ days: d }).set({ hour: 10, minute: 0 });
        if (day.weekday > 5) continue;
        const requestedAt = day.toJSDate();
        const endedAt = day.plus({ minutes: 30 }).toJSDate();
        const e: Elevation = {
          id: randomUUID(),
          tenantId: east,
          profileId: profile.id,
          profileName: profile.name,
          technicianId: tech.id,
          accountId: account.id,
          accountDn: account.dn,
          accountGuid: account.guid,
          groups: [],
          state: 'expired',
          durationSeconds: 1800,
          justification: 'routine',
          ticket: null,
          requestedAt,
          activatedAt: requestedAt,
          endsAt: endedAt,
          endedAt,
          revocationReason: 'expired',
          failureReason: null,
          steps: null,
          overdueAlertedAt: null,
          updatedAt: endedAt,
          approvalsRequired: 0,
          approverIds: [],
          approvalDeadline: null,
          windowClosesAt: null,
          extension: null,
          extendedSeconds: 0,
          decisions: [],
          risk: null,
        };
        await h.container.store.elevations.insert(e);
        seeded++;
      }

      await at(tech, wednesday);
      const usual = await ask(tech, east);
      assert.equal(usual.status, 201, JSON.stringify(usual.body));
      assert.deepEqual(usual.body.risk, { score: 0, reasons: [] }, 'a known tenant in the usual hours');
      await revoke(tech, usual.body.id);

      await at(tech, DateTime.fromObject({ year: 2026, month: 11, day: 12, hour: 3 }, { zone: eastZone }));
      const night = await ask(tech, east);
      assert.equal(night.status, 201, 'below the default threshold: granted, but scored');
      assert.deepEqual(signals(night.body), ['unusual_hour']);
      assert.equal(night.body.risk.score, 25);
      assert.match(
        night.body.risk.reasons[0].detail,
        /^Thursday 03:0\d America\/New_York is outside this technician's usual hours \(26 past requests\)$/,
        'the 25 mornings and the request of yesterday',
      );
      await revoke(tech, night.body.id);

      const lowered = await h.http
        .patch(`/api/v1/tenants/${east}`)
        .set(bearer(await admin()))
        .send({ riskThreshold: 25 });
      assert.equal(lowered.status, 200, JSON.stringify(lowered.body));
      assert.equal(lowered.body.tenant.riskThreshold, 25);
      h.clock.advance(30 * 60_000);
      tech.accessToken = (await login(h, tech)).accessToken;
      const held = await ask(tech, east);
      assert.equal(held.status, 202, JSON.stringify(held.body));
      assert.equal(held.body.risk.score, 25);
      const cancelled = await h.http.post(`/api/v1/elevations/${held.body.id}/cancel`).set(bearer(tech.accessToken)).send({});
      assert.equal(cancelled.body.state, 'cancelled');
      assert.equal(
        (
          await h.http
            .patch(`/api/v1/tenants/${east}`)
            .set(bearer(await admin()))
            .send({ riskThreshold: 50 })
        ).status,
        200,
      );
    });

    it('when codes fail before a request, then the score rises with them, and more after a lockout', async () => {
      const tech = await technician([]);
      const known = await ask(tech, 'acme');
      assert.deepEqual(signals(known.body), ['first_in_tenant']);
      await revoke(tech, known.body.id);

      const wrong = async () => {
        h.clock.advance(30_000);
        const right = await totpCodeAt(tech.totpSecret!, h.clock.now());
        const code = String((Number(right) + 500_000) % 1_000_000).padStart(6, '0');
        return h.http.post('/api/v1/elevations').set(bearer(tech.accessToken)).send({ tenant: 'acme', profile: 'helpdesk', code });
      };
      for (let i = 0; i < 2; i++) assert.equal((await wrong()).status, 401);
      const after2 = await ask(tech, 'acme');
      assert.equal(after2.status, 201, JSON.stringify(after2.body));
      assert.deepEqual(after2.body.risk, {
        score: 20,
        reasons: [{ signal: 'mfa_failures', points: 20, detail: '2 failed codes in the last 24 hours' }],
      });
      await revoke(tech, after2.body.id);

      const answers = [];
      for (let i = 0; i < 5; i++) answers.push((await wrong()).status);
      assert.deepEqual(answers, [401, 401, 401, 401, 423], 'the fifth wrong code in a row locks');
      h.clock.advance(16 * 60_000);
      tech.accessToken = (await login(h, tech)).accessToken;
      const afterLock = await ask(tech, 'acme');
      assert.equal(afterLock.status, 201, JSON.stringify(afterLock.body));
      assert.deepEqual(signals(afterLock.body), ['mfa_failures']);
      assert.equal(afterLock.body.risk.score, 40);
      assert.match(afterLock.body.risk.reasons[0].detail, /^MFA locked after wrong codes in the last 24 hours \(7 failed codes\)$/);
      await revoke(tech, afterLock.body.id);
    });

    it('when a risk threshold is out of range or not a whole number, then it is refused with a 400 and nothing changes', async () => {
      const token = await admin();
      const before = await h.container.store.audit.head();
      for (const riskThreshold of [0, 101, 12.5, '50', null]) {
        const refused = await h.http.patch('/api/v1/tenants/acme').set(bearer(token)).send({ riskThreshold });
        assert.equal(refused.status, 400, `${JSON.stringify(riskThreshold)}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.error.code, 'validation_failed');
      }
      const created = await h.http
        .post('/api/v1/tenants')
        .set(bearer(token))
        .send({
          id: 'risk-bad',
          displayName: 'Bad',
          timeZone: 'UTC',
          riskThreshold: 0,
          directory: {
            url: acme.ldapsUrl,
            bindDn: acme.bindDn,
            bindPassword: acme.bindPassword,
            baseDn: acme.baseDn,
            caCertificate: readFileSync(acme.caFile, 'utf8'),
          },
        });
      assert.equal(created.status, 400);
      await assert.rejects(
        h.container.services.tenants.update('acme', { riskThreshold: 0 }, 'system', systemContext),
        (e: Error & { code?: string }) => e.code === 'validation_failed',
      );
      assert.equal((await h.container.store.tenants.findById('acme'))!.riskThreshold, 50);
      assert.equal(await h.container.store.tenants.findById('risk-bad'), null);
      assert.deepEqual(await h.container.store.audit.head(), before, 'nothing was written');

      const set = await h.http.patch('/api/v1/tenants/acme').set(bearer(token)).send({ riskThreshold: 35 });
      assert.equal(set.status, 200);
      assert.equal((await h.http.get('/api/v1/tenants/acme').set(bearer(token))).body.riskThreshold, 35);
      const updated = (await h.container.store.audit.list({ action: 'tenant.updated', tenantId: 'acme', limit: 1 }))[0]!;
      assert.deepEqual(updated.details, { changed: ['riskThreshold'] });
      await h.http.patch('/api/v1/tenants/acme').set(bearer(token)).send({ riskThreshold: 50 }).expect(200);

      // `stint apply -f` takes the threshold, defaults it to 50 and refuses a bad one.
      const dir = mkdtempSync(join(tmpdir(), 'stint-risk-'));
      const file = (extra: object) => {
        const path = join(dir, `${randomUUID()}.yaml`);
        const directory = {
          url: acme.ldapsUrl,
          bindDn: acme.bindDn,
          baseDn: acme.baseDn,
          caFile: acme.caFile,
          bindPasswordEnv: 'ACME_BIND',
        };
        writeFileSync(path, stringify({ tenants: [{ id: 'acme', displayName: 'acme', timeZone: 'UTC', directory, ...extra }] }));
        return path;
      };
      const env = { ACME_BIND: acme.bindPassword };
      assert.equal(readApplyFile(file({}), env)[0]!.riskThreshold, 50);
      assert.equal(readApplyFile(file({ riskThreshold: 70 }), env)[0]!.riskThreshold, 70);
      assert.throws(() => readApplyFile(file({ riskThreshold: 0 }), env), /riskThreshold/);
      assert.throws(() => readApplyFile(file({ riskThreshold: 'high' }), env), /riskThreshold/);
    });
  });
}
