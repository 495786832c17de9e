// Item 1 of issue 6: every stored audit event fits the catalogue, and none carries a secret.
// The main flows run for real (login with MFA enrolment, a wrong password and a wrong code, a
// refresh, a tenant created and its bind password changed over HTTP, an elevation requested with
// a TOTP code, logout); then every event in the store is searched for every secret that passed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { totpCodeAt } from '../../src/adapters/crypto/totp.ts';
import { auditDetailsProblem } from '../../src/domain/audit-catalogue.ts';
import { createTestOu } from '../support/directory.ts';
import { bearer, createTechnician } from '../support/factories.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { testServices } from '../support/services.ts';
import { operative, requestElevation } from '../support/world.ts';

const { acme } = testServices().domains;

describe('audit events and secrets', () => {
  let h: Harness;
  let ou: Awaited<ReturnType<typeof createTestOu>>;
  const secrets = new Map<string, string>();
  const totpSecrets: string[] = [];
  let startedAt: number;

  before(async () => {
    h = await startHarness();
    startedAt = h.clock.now().getTime();
    ou = await createTestOu(acme, 'audit-secrets');

    // Login: password, MFA enrolment (the TOTP secret), a code; a wrong password and a wrong code.
    const admin = await createTechnician(h, ['admin']);
    secrets.set('admin password', admin.password);
    const wrongPassword = `wrong-${admin.password}`;
    secrets.set('wrong password', wrongPassword);
    assert.equal((await h.http.post('/api/v1/auth/login').send({ username: admin.username, password: wrongPassword })).status, 401);
    const step = await h.http.post('/api/v1/auth/login').send({ username: admin.username, password: admin.password });
    secrets.set('MFA challenge token', step.body.mfaToken);
    const enrol = await h.http.post('/api/v1/auth/mfa/enrol').send({ mfaToken: step.body.mfaToken });
    totpSecrets.push(enrol.body.secret);
    h.clock.advance(30_000);
    const rightCode = await totpCodeAt(enrol.body.secret, h.clock.now());
    const wrongCode = String((Number(rightCode) + 1) % 1_000_000).padStart(6, '0');
    secrets.set('wrong TOTP code', wrongCode);
    assert.notEqual((await h.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: step.body.mfaToken, code: wrongCode })).status, 200);
    const verified = await h.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: step.body.mfaToken, code: rightCode });
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    secrets.set('admin access token', verified.body.accessToken);
    secrets.set('admin refresh token', verified.body.refreshToken);
    const refreshed = await h.http.post('/api/v1/auth/refresh').send({ refreshToken: verified.body.refreshToken });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    secrets.set('refreshed access token', refreshed.body.accessToken);
    secrets.set('refreshed refresh token', refreshed.body.refreshToken);
    const adminToken = refreshed.body.accessToken as string;

    // A tenant created over HTTP with its bind password, then the password changed.
    const directory = {
      url: acme.ldapsUrl,
      bindDn: acme.bindDn,
      bindPassword: acme.bindPassword,
      baseDn: acme.baseDn,
      caCertificate: readFileSync(acme.caFile, 'utf8'),
    };
    secrets.set('bind password', acme.bindPassword);
    const created = await h.http
      .post('/api/v1/tenants')
      .set(bearer(adminToken))
      .send({ id: acme.name, displayName: 'Acme', timeZone: 'UTC', directory });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const changed = await h.http
      .patch(`/api/v1/tenants/${acme.name}`)
      .set(bearer(adminToken))
      .send({ directory: { bindPassword: acme.bindPassword } });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));

    // An elevation requested with a TOTP code by a technician whose tenant account has a password.
    const group = await ou.group('Secrets-Helpdesk');
    const profile = await h.http
      .post(`/api/v1/tenants/${acme.name}/profiles`)
      .set(bearer(adminToken))
      .send({ name: 'helpdesk', groups: [group], eligibleRoles: ['technician'], defaultDurationSeconds: 60, maxDurationSeconds: 600 });
    assert.equal(profile.status, 201, JSON.stringify(profile.body));
    const tech = await operative(h, acme, ou);
    secrets.set('technician password', tech.password);
    secrets.set('technician access token', tech.accessToken);
    secrets.set('tenant account password', tech.accountPassword);
    totpSecrets.push(tech.totpSecret!);
    const elevation = await requestElevation(h, tech, { tenant: acme.name, profile: 'helpdesk', justification: 'audit secrets test' });
    assert.equal(elevation.status, 201, JSON.stringify(elevation.body));
    const revoked = await h.http.post(`/api/v1/elevations/${elevation.body.id}/revoke`).set(bearer(tech.accessToken)).send({});
    assert.ok(revoked.status < 300, JSON.stringify(revoked.body));

    assert.equal((await h.http.post('/api/v1/auth/logout').set(bearer(adminToken))).status, 204);
  });
  after(async () => {
    await h.close();
    await ou.cleanup();
  });

  it('when the main flows have run, then every stored event fits its catalogue entry', async () => {
    const events = await h.container.store.audit.range(1, 100_000);
    const actions = new Set(events.map((e) => e.action));
    for (const expected of [
      'auth.login.failed',
      'auth.login.succeeded',
      'mfa.enrolment.completed',
      'mfa.verify.failed',
      'tenant.created',
      'tenant.updated',
      'elevation.requested',
      'elevation.activated',
      'elevation.revoked',
      'auth.logout',
    ]) {
      assert.ok(actions.has(expected as never), `the flows produced ${expected}`);
    }
    for (const event of events) assert.equal(auditDetailsProblem(event), null, `${event.seq} ${event.action}`);
  });

  it('when every stored event is searched, then no password, bind password, TOTP secret or code, or token appears in it', async () => {
    // Every code either TOTP secret had from the test's start to now (the codes used are among them).
    const codes = new Set<string>();
    for (const secret of totpSecrets) {
      for (let at = startedAt - 60_000; at <= h.clock.now().getTime() + 60_000; at += 30_000)
        codes.add(await totpCodeAt(secret, new Date(at)));
    }
    const events = await h.container.store.audit.range(1, 100_000);
    assert.ok(events.length > 15);
    for (const event of events) {
      // The hashes are left out: hex digests of the content, in which a 6-digit code could occur by chance.
      const text = JSON.stringify({ ...event, hash: undefined, prevHash: undefined });
      for (const [what, secret] of secrets) assert.ok(!text.includes(secret), `event ${event.seq} (${event.action}) contains the ${what}`);
      for (const secret of totpSecrets) assert.ok(!text.includes(secret), `event ${event.seq} (${event.action}) contains a TOTP secret`);
      for (const code of codes)
        assert.ok(!new RegExp(`(^|\\D)${code}(\\D|$)`).test(text), `event ${event.seq} (${event.action}) contains a TOTP code`);
    }
  });

  it('when a service would add a secret to an event, then the store refuses the append and nothing is written', async () => {
    const head = await h.container.store.audit.head();
    await assert.rejects(
      h.container.store.transaction((tx) =>
        tx.audit.append(
          { actor: 'system', action: 'auth.login.failed', details: { username: 'u', reason: 'bad_password', password: 'hunter2' } },
          h.clock.now(),
        ),
      ),
      /does not match the catalogue: \(details\): unrecognized_keys password/,
    );
    assert.deepEqual(await h.container.store.audit.head(), head);
  });
});
