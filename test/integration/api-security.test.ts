// The API's edges: forged and expired tokens, roles, bad input, headers, health and the OpenAPI
// document — all against the real app, store and Redis.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT, base64url } from 'jose';
import { DomainError } from '../../src/domain/errors.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { bearer, createTechnician, login } from '../support/factories.ts';

const encode = (value: unknown) => base64url.encode(JSON.stringify(value));

for (const engine of engines)
  describe(`API security edges (${engine})`, () => {
    let h: Harness;
    let adminToken: string;
    let technicianToken: string;
    let claims: Record<string, unknown>;
    let kid: string;

    before(async () => {
      h = await startHarness({ engine });
      adminToken = (await login(h, await createTechnician(h, ['admin']))).accessToken;
      technicianToken = (await login(h, await createTechnician(h, ['technician']))).accessToken;
      const [header, payload] = technicianToken.split('.');
      claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
      kid = JSON.parse(Buffer.from(header!, 'base64url').toString()).kid;
    });
    after(async () => {
      await h.close();
    });

    const me = (token: string) => h.http.get('/api/v1/me').set(bearer(token));

    it('when a token says alg none, then it is refused', async () => {
      const forged = `${encode({ alg: 'none', typ: 'at+jwt', kid })}.${encode(claims)}.`;
      assert.equal((await me(forged)).status, 401);
    });

    it('when a token is HS256-signed with the public key, then it is refused', async () => {
      const jwks = (await h.http.get('/.well-known/jwks.json')).body as { keys: Array<{ x: string; kid: string }> };
      const publicKey = jwks.keys.find((k) => k.kid === kid)!;
      for (const secret of [Buffer.from(publicKey.x, 'base64url'), Buffer.from(JSON.stringify(publicKey))]) {
        const head = encode({ alg: 'HS256', typ: 'at+jwt', kid });
        const body = encode(claims);
        const signature = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
        assert.equal((await me(`${head}.${body}.${signature}`)).status, 401);
      }
    });

    it('when the payload is changed, then the signature no longer matches', async () => {
      const [head, , signature] = technicianToken.split('.');
      const forged = `${head}.${encode({ ...claims, sub: 'someone-else' })}.${signature}`;
      assert.equal((await me(forged)).status, 401);
    });

    it('when a token is signed by a key Stint does not know, or for another audience, then it is refused', async () => {
      const { privateKey } = await (await import('jose')).generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const foreign = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid }).sign(privateKey);
      assert.equal((await me(foreign)).status, 401);

      const otherAudience = await startHarness({ config: { auth: { audience: 'someone-else' } } });
      try {
        const other = await login(otherAudience, await createTechnician(otherAudience));
        assert.equal((await me(other.accessToken)).status, 401);
      } finally {
        await otherAudience.close();
      }
    });

    it('when there is no token or a malformed header, then the answer is 401 with the error shape', async () => {
      const none = await h.http.get('/api/v1/me');
      assert.equal(none.status, 401);
      assert.equal(none.body.error.code, 'unauthenticated');
      assert.equal((await h.http.get('/api/v1/me').set('authorization', 'Basic abc')).status, 401);
      assert.equal((await me('not.a.jwt')).status, 401);
    });

    it('when a technician calls admin and auditor routes, then each is 403 and nothing changes', async () => {
      const before = await h.container.store.technicians.list();
      for (const [method, path] of [
        ['get', '/api/v1/technicians'],
        ['post', '/api/v1/technicians'],
        ['get', '/api/v1/tenants'],
        ['post', '/api/v1/tenants'],
        ['get', '/api/v1/audit'],
        ['get', '/api/v1/audit/siem'],
      ] as const) {
        const response = await h.http[method](path)
          .set(bearer(technicianToken))
          .send(method === 'post' ? {} : undefined);
        assert.equal(response.status, 403, `${method} ${path}`);
        assert.equal(response.body.error.code, 'forbidden');
      }
      assert.equal((await h.container.store.technicians.list()).length, before.length);
    });

    it('when bodies are malformed, mistyped, oversized or not JSON, then the answer is 4xx and nothing changes', async () => {
      const before = (await h.container.store.technicians.list()).length;
      const post = () => h.http.post('/api/v1/technicians').set(bearer(adminToken));
      const malformed = await post().set('content-type', 'application/json').send('{"username": ');
      assert.equal(malformed.status, 400);
      assert.equal(malformed.body.error.code, 'validation_failed');
      const mistyped = await post().send({ username: 42, displayName: [], email: 'x', roles: 'admin' });
      assert.equal(mistyped.status, 400);
      assert.ok(Array.isArray(mistyped.body.error.details.issues) && mistyped.body.error.details.issues.length >= 3);
      const unknownField = await post().send({
        username: 'ok-name',
        displayName: 'X',
        email: 'x@example.test',
        roles: ['technician'],
        password: 'long-enough-password',
        isAdmin: true,
      });
      assert.equal(unknownField.status, 400);
      const oversized = await post().send({ username: 'x'.repeat(100_000) });
      assert.equal(oversized.status, 413);
      const form = await post().type('form').send('username=abc');
      assert.equal(form.status, 415);
      const badRole = await post().send({
        username: 'ok-name',
        displayName: 'X',
        email: 'x@example.test',
        roles: ['root'],
        password: 'long-enough-password',
      });
      assert.equal(badRole.status, 400);
      const shortPassword = await post().send({
        username: 'ok-name',
        displayName: 'X',
        email: 'x@example.test',
        roles: ['technician'],
        password: 'short',
      });
      assert.equal(shortPassword.status, 400);
      assert.equal((await h.container.store.technicians.list()).length, before);
    });

    it('when odd requests arrive, then none of them produces a 5xx', async () => {
      const probes = [
        h.http.get('/api/v1/technicians/%E0%A4%A').set(bearer(adminToken)),
        h.http.get('/api/v1/technicians/does-not-exist').set(bearer(adminToken)),
        h.http.get('/api/v1/audit?limit=-1').set(bearer(adminToken)),
        h.http.get('/api/v1/audit?from=yesterday').set(bearer(adminToken)),
        h.http.get('/api/v1/audit?action=drop.tables').set(bearer(adminToken)),
        h.http.patch('/api/v1/technicians/x').set(bearer(adminToken)).send({}),
        h.http.post('/api/v1/auth/login').send({ username: 'a'.repeat(129), password: 'x' }),
        h.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: 'garbage', code: '123456' }),
        h.http.post('/api/v1/auth/refresh').send({ refreshToken: 'a.b.c' }),
        h.http.post('/api/v1/auth/login').set('content-type', 'application/json').send('[]'),
        h.http.post('/api/v1/auth/login').set('content-type', 'application/json; charset=utf-16').send('{}'),
        h.http.get('/nope'),
      ];
      for (const [index, response] of (await Promise.all(probes)).entries()) {
        assert.ok(response.status >= 400 && response.status < 500, `probe ${index} gave ${response.status}`);
        assert.equal(typeof response.body.error?.code, 'string');
      }
    });

    it('when the last active admin would lose the role, then the change is refused', async () => {
      const admins = (await h.container.store.technicians.list()).filter((t) => t.roles.includes('admin'));
      assert.equal(admins.length, 1);
      const response = await h.http
        .patch(`/api/v1/technicians/${admins[0]!.id}`)
        .set(bearer(adminToken))
        .send({ roles: ['auditor'] });
      assert.equal(response.status, 409);
      assert.equal(response.body.error.code, 'last_admin');
    });

    it('when responses go out, then they carry security headers, no-store and a request id', async () => {
      const response = await h.http.get('/healthz').set('x-request-id', 'req-12345678');
      assert.equal(response.status, 200);
      assert.equal(response.headers['x-request-id'], 'req-12345678');
      assert.equal(response.headers['cache-control'], 'no-store');
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
      assert.match(response.headers['content-security-policy'] ?? '', /default-src 'none';script-src 'self'/);
      assert.equal(response.headers['x-powered-by'], undefined);
    });

    it('when the store, Redis and the audit log all work, then /readyz says ready', async () => {
      const response = await h.http.get('/readyz');
      assert.equal(response.status, 200);
      assert.deepEqual(response.body, { status: 'ready', checks: { store: 'ok', redis: 'ok', audit: 'ok' } });
    });

    it('when Redis cannot be reached, then /readyz says not ready', async () => {
      const broken = await startHarness({ config: { redis: { url: 'redis://127.0.0.1:1' } } });
      try {
        const response = await broken.http.get('/readyz');
        assert.equal(response.status, 503);
        assert.equal(response.body.checks.redis, 'failing');
        assert.equal(response.body.checks.store, 'ok');
      } finally {
        await broken.close();
      }
    });

    it('when the OpenAPI document is fetched, then it describes exactly the mounted routes', async () => {
      const response = await h.http.get('/api/v1/openapi.json');
      assert.equal(response.status, 200);
      assert.equal(response.body.openapi, '3.1.0');
      const documented = Object.entries(response.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
        Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
      );
      const { createApp } = await import('../../src/http/app.ts');
      const mounted = createApp(h.container).routes.map((r) => `${r.method.toUpperCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
      assert.deepEqual(documented.sort(), mounted.sort());
      const create = response.body.paths['/api/v1/technicians'].post.requestBody.content['application/json'].schema;
      assert.deepEqual(create.required.sort(), ['displayName', 'email', 'roles', 'username']);
    });

    it('when a Slack user id or a username another technician holds is given, then 409 and nothing changes', async () => {
      const post = (body: Record<string, unknown>) => h.http.post('/api/v1/technicians').set(bearer(adminToken)).send(body);
      const person = (username: string, slackUserId: string | null) => ({
        username,
        displayName: username,
        email: `${username}@example.test`,
        roles: ['technician'],
        password: 'long-enough-password',
        slackUserId,
      });
      assert.equal((await post(person(`holder-${engine}`, 'U0DUPLICATE'))).status, 201);
      const other = await post(person(`other-${engine}`, null));
      assert.equal(other.status, 201);
      const stored = await h.container.store.technicians.list();
      const head = await h.container.store.audit.head();

      const duplicate = await post(person(`third-${engine}`, 'U0DUPLICATE'));
      assert.equal(duplicate.status, 409, JSON.stringify(duplicate.body));
      assert.equal(duplicate.body.error.code, 'conflict');
      assert.deepEqual(duplicate.body.error.details, { fields: ['slackUserId'] });
      const patched = await h.http
        .patch(`/api/v1/technicians/${other.body.id}`)
        .set(bearer(adminToken))
        .send({ slackUserId: 'U0DUPLICATE' });
      assert.equal(patched.status, 409, JSON.stringify(patched.body));
      assert.equal(patched.body.error.code, 'conflict');
      const sameName = await post(person(`holder-${engine}`, null));
      assert.equal(sameName.status, 409, JSON.stringify(sameName.body));

      assert.deepEqual(await h.container.store.technicians.list(), stored);
      assert.deepEqual(await h.container.store.audit.head(), head, 'a refused change left an audit event');
    });

    it('when a NUL character is in a login name, a path id, a body field, a body key or a query, then 400 and nothing changes', async () => {
      const target = (await h.container.store.technicians.list()).find((t) => !t.roles.includes('admin'))!;
      const head = await h.container.store.audit.head();
      const probes = [
        h.http.post('/api/v1/auth/login').send({ username: 'adm\u0000in', password: 'whatever-password' }),
        h.http.get('/api/v1/technicians/abc%00def').set(bearer(adminToken)),
        h.http.patch(`/api/v1/technicians/${target.id}`).set(bearer(adminToken)).send({ displayName: 'Eve\u0000' }),
        h.http
          .patch(`/api/v1/technicians/${target.id}`)
          .set(bearer(adminToken))
          .send({ ['display\u0000Name']: 'Eve' }),
        h.http
          .post('/api/v1/technicians')
          .set(bearer(adminToken))
          .send({
            username: 'nul',
            displayName: 'X',
            email: 'x@example.test',
            roles: ['technician'],
            password: 'long-enough-password',
            deep: [[[{ a: '\u0000' }]]],
          }),
        h.http.get('/api/v1/audit?actor=%00').set(bearer(adminToken)),
        h.http.get('/api/v1/tenants/%00/accounts').set(bearer(adminToken)),
      ];
      for (const [index, response] of (await Promise.all(probes)).entries()) {
        assert.equal(response.status, 400, `probe ${index} gave ${response.status}: ${JSON.stringify(response.body)}`);
        assert.equal(response.body.error.code, 'validation_failed');
      }
      assert.equal((await h.container.store.technicians.findById(target.id))?.displayName, target.displayName);
      assert.deepEqual(await h.container.store.audit.head(), head);
    });

    it('when a value the engine cannot hold reaches the store, then the store answers with a validation error, not a raw one', async () => {
      const outcome = await h.container.store.technicians.findByUsername('adm\u0000in').then(
        (found) => (found === null ? 'not found' : 'found'),
        (error: unknown) => (error instanceof DomainError ? error.code : String(error)),
      );
      assert.equal(outcome, engine === 'postgres' ? 'validation_failed' : 'not found');
    });

    it('when login is hammered from one address, then the rate limiter answers 429', async () => {
      const limited = await startHarness({ config: { rateLimit: { loginPerWindow: 3, mfaPerWindow: 3 } } });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++) {
          statuses.push((await limited.http.post('/api/v1/auth/login').send({ username: 'nobody', password: 'x' })).status);
        }
        assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
      } finally {
        await limited.close();
      }
    });
  });
