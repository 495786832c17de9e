// Tenant administration against both real Samba domains: a tenant is saved only when its directory
// connection verifiably works, and its bind password never comes back out.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startHarness, type Harness } from '../support/harness.ts';
import { bearer, createTechnician, login } from '../support/factories.ts';
import { testServices, type SambaDomain } from '../support/services.ts';

function tenantBody(id: string, domain: SambaDomain, changes: Record<string, unknown> = {}) {
  return {
    id,
    displayName: `${domain.name} corp`,
    timeZone: 'Europe/Berlin',
    directory: {
      url: domain.ldapsUrl,
      bindDn: domain.bindDn,
      bindPassword: domain.bindPassword,
      baseDn: domain.baseDn,
      caCertificate: readFileSync(domain.caFile, 'utf8'),
      ...changes,
    },
  };
}

describe('tenants against real domain controllers', () => {
  let h: Harness;
  let token: string;
  const { acme, globex } = testServices().domains;

  before(async () => {
    h = await startHarness();
    token = (await login(h, await createTechnician(h, ['admin']))).accessToken;
  });
  after(async () => {
    await h.close();
  });

  const create = (body: object) => h.http.post('/api/v1/tenants').set(bearer(token)).send(body);

  async function assertRefused(body: ReturnType<typeof tenantBody>, status: number, code: string) {
    const before = await h.container.store.audit.head();
    const response = await create(body);
    assert.equal(response.status, status, JSON.stringify(response.body));
    assert.equal(response.body.error.code, code);
    assert.ok(response.body.error.message.length > 10);
    assert.ok(!JSON.stringify(response.body).includes(body.directory.bindPassword), 'the bind password is echoed');
    assert.equal((await h.http.get(`/api/v1/tenants/${body.id}`).set(bearer(token))).status, 404);
    assert.deepEqual(await h.container.store.audit.head(), before, 'a refused tenant left an audit event');
    return response;
  }

  it('when each domain is given with its own CA, then both tenants are created and the connection is reported', async () => {
    for (const domain of [acme, globex]) {
      const response = await create(tenantBody(domain.name, domain));
      assert.equal(response.status, 201, JSON.stringify(response.body));
      assert.equal(response.body.tenant.id, domain.name);
      assert.equal(response.body.connection.baseDn.toLowerCase(), domain.baseDn.toLowerCase());
      assert.ok(!JSON.stringify(response.body).includes(domain.bindPassword));
      assert.equal(response.body.tenant.directory.bindPassword, undefined);
    }
    const list = await h.http.get('/api/v1/tenants').set(bearer(token));
    assert.deepEqual(list.body.tenants.map((t: { id: string }) => t.id).sort(), ['acme', 'globex']);
    assert.ok(!JSON.stringify(list.body).includes(acme.bindPassword));
    const check = await h.http.post('/api/v1/tenants/acme/check').set(bearer(token));
    assert.equal(check.status, 200);
    const created = await h.container.store.audit.list({ action: 'tenant.created', limit: 10 });
    assert.deepEqual(created.map((e) => e.tenantId).sort(), ['acme', 'globex']);
    assert.ok(!JSON.stringify(created).includes(acme.bindPassword));
  });

  it('when the CA is another domain’s, then creation fails closed as untrusted TLS', async () => {
    await assertRefused(
      tenantBody('wrong-ca', acme, { caCertificate: readFileSync(globex.caFile, 'utf8') }),
      422,
      'directory_tls_untrusted',
    );
  });

  it('when the bind password is wrong, then creation fails as bad credentials', async () => {
    await assertRefused(tenantBody('wrong-pw', acme, { bindPassword: 'Not-The-Password-1' }), 422, 'directory_bad_credentials');
  });

  it('when nothing listens at the URL, then creation fails as unreachable', async () => {
    await assertRefused(tenantBody('nowhere', acme, { url: 'ldaps://127.0.0.9:636' }), 422, 'directory_unreachable');
  });

  it('when the base DN does not exist, then creation fails as base DN missing', async () => {
    await assertRefused(tenantBody('no-base', acme, { baseDn: `OU=Nowhere,${acme.baseDn}` }), 422, 'directory_base_dn_missing');
  });

  it('when the URL is plain ldap:// in production mode, then it is refused before connecting', async () => {
    await assertRefused(tenantBody('plain', acme, { url: 'ldap://127.0.0.2:389' }), 422, 'directory_insecure');
  });

  it('when the CA is not a certificate or the time zone is made up, then the answer is 400', async () => {
    const badPem = await create(
      tenantBody('bad-pem', acme, { caCertificate: '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----' }),
    );
    assert.equal(badPem.status, 400);
    const badZone = await create({ ...tenantBody('bad-zone', acme), timeZone: 'Mars/Olympus_Mons' });
    assert.equal(badZone.status, 400);
    assert.equal(badZone.body.error.details.field, 'timeZone');
  });

  it('when a tenant is changed to a wrong password, then the change is refused and the stored connection still works', async () => {
    const refused = await h.http
      .patch('/api/v1/tenants/acme')
      .set(bearer(token))
      .send({ directory: { bindPassword: 'Not-The-Password-1' } });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error.code, 'directory_bad_credentials');
    assert.equal((await h.http.post('/api/v1/tenants/acme/check').set(bearer(token))).status, 200);

    const renamed = await h.http
      .patch('/api/v1/tenants/acme')
      .set(bearer(token))
      .send({ displayName: 'ACME Ltd', timeZone: 'America/New_York' });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.tenant.displayName, 'ACME Ltd');
    assert.equal(renamed.body.connection, null);
  });

  it('when a tenant is deleted, then it is gone and the deletion is audited', async () => {
    assert.equal((await h.http.delete('/api/v1/tenants/globex').set(bearer(token))).status, 204);
    assert.equal((await h.http.get('/api/v1/tenants/globex').set(bearer(token))).status, 404);
    const deleted = await h.container.store.audit.list({ action: 'tenant.deleted', limit: 1 });
    assert.equal(deleted[0]?.tenantId, 'globex');
  });
});
