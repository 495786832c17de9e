// The audit trail over HTTP (roles, filters, paging) and the promise that logs and audit details
// never carry a password, a TOTP code or a token.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import supertest from 'supertest';
import { createLogger } from '../../src/adapters/logging/logger.ts';
import { createContainer } from '../../src/container.ts';
import { createApp } from '../../src/http/app.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { bearer, codeNow, createTechnician, login } from '../support/factories.ts';

describe('audit trail', () => {
  let h: Harness;
  let auditorToken: string;
  let technicianId: string;

  before(async () => {
    h = await startHarness();
    auditorToken = (await login(h, await createTechnician(h, ['auditor']))).accessToken;
    const t = await createTechnician(h);
    technicianId = t.id;
    await login(h, t);
    await h.http.post('/api/v1/auth/login').send({ username: t.username, password: 'wrong-password' });
  });
  after(async () => {
    await h.close();
  });

  it('when an auditor filters by actor and action, then only matching events come back, newest first', async () => {
    const response = await h.http.get(`/api/v1/audit?actor=${technicianId}&action=auth.login.failed`).set(bearer(auditorToken));
    assert.equal(response.status, 200);
    assert.equal(response.body.events.length, 1);
    assert.equal(response.body.events[0].details.reason, 'bad_password');

    const all = await h.http.get(`/api/v1/audit?actor=${technicianId}`).set(bearer(auditorToken));
    const seqs = all.body.events.map((e: { seq: number }) => e.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => b - a),
    );
    assert.ok(all.body.events.every((e: { actor: string }) => e.actor === technicianId));
  });

  it('when pages are followed, then every event comes exactly once', async () => {
    const total = (await h.container.store.audit.head()).seq;
    const seen: number[] = [];
    let before: number | null = null;
    do {
      const page: supertest.Response = await h.http
        .get(`/api/v1/audit?limit=3${before ? `&before=${before}` : ''}`)
        .set(bearer(auditorToken));
      assert.equal(page.status, 200);
      seen.push(...page.body.events.map((e: { seq: number }) => e.seq));
      before = page.body.nextBefore;
    } while (before !== null);
    assert.deepEqual(
      seen,
      Array.from({ length: total }, (_, i) => total - i),
    );
  });

  it('when filtered by time, then only events inside the range come back', async () => {
    h.clock.advance(1000);
    const from = h.clock.now().toISOString();
    await h.http.post('/api/v1/auth/login').send({ username: 'ghost', password: 'nothing-here' });
    const response = await h.http.get(`/api/v1/audit?from=${encodeURIComponent(from)}`).set(bearer(auditorToken));
    assert.deepEqual(
      response.body.events.map((e: { details: { username?: string } }) => e.details.username),
      ['ghost'],
    );
  });

  it('when logins, codes and tokens pass through, then neither the logs nor the audit details contain them', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const container = await createContainer(h.config, { clock: h.clock, logger: createLogger('trace', sink) });
    try {
      const http = supertest(createApp(container).app);
      const t = await createTechnician({ ...h, container });
      const step = await http.post('/api/v1/auth/login').send({ username: t.username, password: t.password });
      const enrol = await http.post('/api/v1/auth/mfa/enrol').send({ mfaToken: step.body.mfaToken });
      h.clock.advance(30_000);
      const code = await codeNow(h, enrol.body.secret);
      const verified = await http.post('/api/v1/auth/mfa/verify').send({ mfaToken: step.body.mfaToken, code });
      assert.equal(verified.status, 200);
      await http.get('/api/v1/me').set(bearer(verified.body.accessToken));
      await http.post('/api/v1/auth/refresh').send({ refreshToken: verified.body.refreshToken });
      await http.post('/api/v1/auth/mfa/verify').send({ mfaToken: step.body.mfaToken, code: '000000' });

      const logs = lines.join('');
      assert.ok(logs.includes(t.username) || logs.includes('/api/v1/me'), 'the logs were captured (sanity check)');
      const audit = JSON.stringify(await container.store.audit.list({ limit: 500 }));
      for (const secret of [
        t.password,
        enrol.body.secret,
        code,
        step.body.mfaToken,
        verified.body.accessToken,
        verified.body.refreshToken,
      ]) {
        assert.ok(!logs.includes(secret), `a secret is in the logs: ${secret.slice(0, 12)}…`);
        assert.ok(!audit.includes(secret), `a secret is in the audit trail: ${secret.slice(0, 12)}…`);
      }
    } finally {
      await container.close();
    }
  });
});
