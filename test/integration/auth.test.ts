// Login, TOTP enrolment and verification, replay, lockout, sessions, over HTTP against the real
// app on both store engines.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { totpCodeAt } from '../../src/adapters/crypto/totp.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { bearer, codeNow, createTechnician, login } from '../support/factories.ts';

async function auditActions(h: Harness, target: string): Promise<string[]> {
  const events = await h.container.store.audit.list({ limit: 500 });
  return events
    .filter((e) => e.target === target || e.actor === target)
    .map((e) => e.action)
    .reverse();
}

for (const engine of engines) {
  describe(`login and MFA on ${engine}`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({ engine });
    });
    after(async () => {
      await h.close();
    });

    it('when a new technician logs in, then they enrol with an otpauth URI and QR code and get a session', async () => {
      const t = await createTechnician(h);
      const step = await h.http.post('/api/v1/auth/login').send({ username: t.username, password: t.password });
      assert.equal(step.status, 200);
      assert.equal(step.body.next, 'enrol');
      const enrol = await h.http.post('/api/v1/auth/mfa/enrol').send({ mfaToken: step.body.mfaToken });
      assert.equal(enrol.status, 200);
      assert.match(enrol.body.otpauthUri, /^otpauth:\/\/totp\/.+secret=[A-Z2-7]{32}/);
      assert.match(enrol.body.qrCodeSvg, /^<svg/);
      assert.equal(enrol.body.secret.length, 32);
      const verify = await h.http
        .post('/api/v1/auth/mfa/verify')
        .send({ mfaToken: step.body.mfaToken, code: await codeNow(h, enrol.body.secret) });
      assert.equal(verify.status, 200);
      const me = await h.http.get('/api/v1/me').set(bearer(verify.body.accessToken));
      assert.equal(me.status, 200);
      assert.equal(me.body.username, t.username);
      assert.equal(me.body.mfaEnrolled, true);
      // Enrolled now: the next login asks for a code, and enrolling again is refused.
      const again = await h.http.post('/api/v1/auth/login').send({ username: t.username, password: t.password });
      assert.equal(again.body.next, 'verify');
      const reEnrol = await h.http.post('/api/v1/auth/mfa/enrol').send({ mfaToken: again.body.mfaToken });
      assert.equal(reEnrol.status, 409);
      assert.equal(reEnrol.body.error.code, 'mfa_already_enrolled');
      assert.deepEqual((await auditActions(h, t.id)).slice(0, 5), [
        'technician.created',
        'auth.login.succeeded',
        'mfa.enrolment.started',
        'mfa.verify.succeeded',
        'mfa.enrolment.completed',
      ]);
    });

    it('when the password is wrong or the user unknown, then both answer the same 401 and are audited', async () => {
      const t = await createTechnician(h);
      const wrong = await h.http.post('/api/v1/auth/login').send({ username: t.username, password: 'not-the-password' });
      const unknown = await h.http.post('/api/v1/auth/login').send({ username: 'nobody-here', password: 'not-the-password' });
      assert.equal(wrong.status, 401);
      assert.equal(unknown.status, 401);
      assert.deepEqual(wrong.body, unknown.body);
      const failures = (await h.container.store.audit.list({ action: 'auth.login.failed', limit: 10 })).map((e) => e.details.username);
      assert.ok(failures.includes(t.username) && failures.includes('nobody-here'));
    });

    it('when a code is used twice, then the second use is refused as a replay and audited', async () => {
      const t = await createTechnician(h);
      await login(h, t);
      const step = await h.http.post('/api/v1/auth/login').send({ username: t.username, password: t.password });
      h.clock.advance(30_000);
      const code = await codeNow(h, t.totpSecret!);
      const first = await h.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: step.body.mfaToken, code });
      assert.equal(first.status, 200);
      const second = await h.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: step.body.mfaToken, code });
      assert.equal(second.status, 401);
      assert.equal(second.body.error.code, 'mfa_replay');
      assert.ok((await auditActions(h, t.id)).includes('mfa.replay_refused'));
    });

    it('when the code is from two steps away, then it is refused; one step either side is accepted', async () => {
      const t = await createTechnician(h);
      await login(h, t);
      const attempt = async (offsetMs: number) => {
        h.clock.advance(90_000);
        const step = await h.http.post('/api/v1/auth/login').send({ username: t.username, password: t.password });
        const code = await totpCodeAt(t.totpSecret!, new Date(h.clock.now().getTime() + offsetMs));
        return (await h.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: step.body.mfaToken, code })).status;
      };
      assert.equal(await attempt(-30_000), 200);
      assert.equal(await attempt(30_000), 200);
      assert.equal(await attempt(-60_000), 401);
      assert.equal(await attempt(60_000), 401);
    });

    it('when five wrong codes are sent, then MFA locks for 15 minutes, even for the right code, and is audited', async () => {
      const t = await createTechnician(h);
      await login(h, t);
      h.clock.advance(30_000);
      const step = await h.http.post('/api/v1/auth/login').send({ username: t.username, password: t.password });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        statuses.push((await h.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: step.body.mfaToken, code: '000000' })).status);
      }
      assert.deepEqual(statuses, [401, 401, 401, 401, 423]);
      const locked = await h.http
        .post('/api/v1/auth/mfa/verify')
        .send({ mfaToken: step.body.mfaToken, code: await codeNow(h, t.totpSecret!) });
      assert.equal(locked.status, 423);
      assert.equal(locked.body.error.code, 'mfa_locked');
      assert.ok((await auditActions(h, t.id)).includes('mfa.locked'));
      h.clock.advance(15 * 60_000 + 1000);
      const relogin = await h.http.post('/api/v1/auth/login').send({ username: t.username, password: t.password });
      const unlocked = await h.http
        .post('/api/v1/auth/mfa/verify')
        .send({ mfaToken: relogin.body.mfaToken, code: await codeNow(h, t.totpSecret!) });
      assert.equal(unlocked.status, 200);
    });

    it('when a session is refreshed, then the old refresh token is dead and reusing it ends the session', async () => {
      const t = await createTechnician(h);
      const first = await login(h, t);
      h.clock.advance(60_000);
      const refreshed = await h.http.post('/api/v1/auth/refresh').send({ refreshToken: first.refreshToken });
      assert.equal(refreshed.status, 200);
      assert.notEqual(refreshed.body.refreshToken, first.refreshToken);
      const reuse = await h.http.post('/api/v1/auth/refresh').send({ refreshToken: first.refreshToken });
      assert.equal(reuse.status, 401);
      // The theft signal ends the whole session, the legitimate holder's copy included.
      const after = await h.http.get('/api/v1/me').set(bearer(refreshed.body.accessToken));
      assert.equal(after.status, 401);
      assert.ok((await auditActions(h, t.id)).includes('auth.refresh_reuse_detected'));
    });

    it('when a session is idle 30 minutes or 12 hours old, then refresh is refused', async () => {
      const t = await createTechnician(h);
      const idle = await login(h, t);
      h.clock.advance(31 * 60_000);
      assert.equal((await h.http.post('/api/v1/auth/refresh').send({ refreshToken: idle.refreshToken })).status, 401);

      let tokens = await login(h, t);
      for (let i = 0; i < 26; i++) {
        h.clock.advance(29 * 60_000);
        const r = await h.http.post('/api/v1/auth/refresh').send({ refreshToken: tokens.refreshToken });
        if (r.status !== 200) {
          assert.ok(i >= 24, `refused too early, after ${i} refreshes`);
          return;
        }
        tokens = { accessToken: r.body.accessToken, refreshToken: r.body.refreshToken };
      }
      assert.fail('refresh kept working past 12 hours');
    });

    it('when an access token expires, then it is refused', async () => {
      const t = await createTechnician(h);
      const tokens = await login(h, t);
      assert.equal((await h.http.get('/api/v1/me').set(bearer(tokens.accessToken))).status, 200);
      h.clock.advance(16 * 60_000);
      const expired = await h.http.get('/api/v1/me').set(bearer(tokens.accessToken));
      assert.equal(expired.status, 401);
      assert.equal(expired.body.error.code, 'token_invalid');
    });

    it('when a technician logs out, then the access token stops working at once', async () => {
      const t = await createTechnician(h);
      const tokens = await login(h, t);
      assert.equal((await h.http.post('/api/v1/auth/logout').set(bearer(tokens.accessToken))).status, 204);
      assert.equal((await h.http.get('/api/v1/me').set(bearer(tokens.accessToken))).status, 401);
      assert.equal((await h.http.post('/api/v1/auth/refresh').send({ refreshToken: tokens.refreshToken })).status, 401);
    });

    it('when an admin suspends a technician, then their sessions end at once and they cannot log in', async () => {
      const admin = await createTechnician(h, ['admin']);
      const adminTokens = await login(h, admin);
      const t = await createTechnician(h);
      const tokens = await login(h, t);
      const suspend = await h.http.patch(`/api/v1/technicians/${t.id}`).set(bearer(adminTokens.accessToken)).send({ status: 'suspended' });
      assert.equal(suspend.status, 200);
      assert.equal(suspend.body.status, 'suspended');
      assert.equal((await h.http.get('/api/v1/me').set(bearer(tokens.accessToken))).status, 401);
      assert.equal((await h.http.post('/api/v1/auth/refresh').send({ refreshToken: tokens.refreshToken })).status, 401);
      assert.equal((await h.http.post('/api/v1/auth/login').send({ username: t.username, password: t.password })).status, 401);
      assert.ok((await auditActions(h, t.id)).includes('technician.suspended'));
    });

    it('when an admin resets MFA, then the technician enrols again with a new secret', async () => {
      const admin = await createTechnician(h, ['admin']);
      const adminTokens = await login(h, admin);
      const t = await createTechnician(h);
      await login(h, t);
      const oldSecret = t.totpSecret;
      const reset = await h.http.post(`/api/v1/technicians/${t.id}/mfa-reset`).set(bearer(adminTokens.accessToken));
      assert.equal(reset.status, 204);
      const step = await h.http.post('/api/v1/auth/login').send({ username: t.username, password: t.password });
      assert.equal(step.body.next, 'enrol');
      await login(h, t);
      assert.notEqual(t.totpSecret, oldSecret);
    });
  });
}
