// The web UI's session cookies are Secure whenever the public URL is https, as behind a proxy that
// ends TLS: the request itself then arrives over plain HTTP and, with the default trustProxy:
// false, `req.secure` never holds.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startHarness, type Harness } from '../support/harness.ts';
import { codeNow, createTechnician } from '../support/factories.ts';

async function cookieLogin(h: Harness): Promise<string[]> {
  const who = await createTechnician(h);
  const step = await h.http.post('/api/v1/auth/login').send({ username: who.username, password: who.password });
  const enrol = await h.http.post('/api/v1/auth/mfa/enrol').send({ mfaToken: step.body.mfaToken });
  h.clock.advance(30_000);
  const verify = await h.http
    .post('/api/v1/auth/mfa/verify')
    .send({ mfaToken: step.body.mfaToken, code: await codeNow(h, enrol.body.secret), session: 'cookie' });
  assert.equal(verify.status, 200, JSON.stringify(verify.body));
  const cookies = verify.headers['set-cookie'] as unknown as string[];
  assert.ok(cookies.length >= 2, 'session cookies were set');
  return cookies;
}

describe('session cookies and the public URL', () => {
  const harnesses: Harness[] = [];
  after(async () => {
    for (const h of harnesses) await h.close();
  });

  it('when the public URL is https and the request comes over plain HTTP from a proxy, then every session cookie is Secure', async () => {
    const h = await startHarness({ config: { server: { publicUrl: 'https://stint.example.test' } } });
    harnesses.push(h);
    for (const cookie of await cookieLogin(h)) assert.match(cookie, /;\s*Secure/i, cookie);
  });

  it('when no https public URL is set and the request is plain HTTP, then the cookies are not marked Secure (local development)', async () => {
    const h = await startHarness({ config: { server: { publicUrl: 'http://127.0.0.1:8080' } } });
    harnesses.push(h);
    for (const cookie of await cookieLogin(h)) assert.doesNotMatch(cookie, /;\s*Secure/i, cookie);
  });
});
