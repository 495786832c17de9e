// A tenant's stored bind password is sent only to the endpoint it was given for: pointing the
// tenant at another server, another CA or another bind DN needs the password again, and a server
// of the caller's choosing receives nothing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { bearer, createTechnician, login } from '../support/factories.ts';
import { startBindTrap, type BindTrap } from '../support/bind-trap.ts';
import { testServices } from '../support/services.ts';
import { addTenant } from '../support/world.ts';

for (const engine of engines) {
  describe(`a tenant's bind password and a new endpoint (${engine})`, () => {
    let h: Harness;
    let token: string;
    let trap: BindTrap;
    const { acme, globex } = testServices().domains;

    before(async () => {
      h = await startHarness({ engine });
      token = (await login(h, await createTechnician(h, ['admin']))).accessToken;
      await addTenant(h, acme);
      trap = await startBindTrap();
    });
    after(async () => {
      await trap.close();
      await h.close();
    });

    const patch = (body: object) => h.http.patch(`/api/v1/tenants/${acme.name}`).set(bearer(token)).send(body);

    async function assertRefused(directory: Record<string, string>) {
      const headBefore = await h.container.store.audit.head();
      const stored = await h.container.store.tenants.findById(acme.name);
      const response = await patch({ directory });
      assert.equal(response.status, 422, JSON.stringify(response.body));
      assert.equal(response.body.error.code, 'password_required');
      assert.equal(response.body.error.details.field, 'directory.bindPassword');
      assert.deepEqual(await h.container.store.tenants.findById(acme.name), stored, 'the tenant changed');
      assert.deepEqual(await h.container.store.audit.head(), headBefore, 'a refused change left an audit event');
    }

    it('when an admin points the tenant at their own LDAPS server and CA without the password, then 422 and the server receives nothing', async () => {
      await assertRefused({ url: trap.url, caCertificate: trap.caCertificate });
      await assertRefused({ url: trap.url });
      assert.equal(trap.connections(), 0, 'Stint connected to the new server');
      assert.equal(trap.received().length, 0, 'Stint sent the new server something');
      assert.ok(!trap.received().includes(Buffer.from(acme.bindPassword)));
      assert.equal((await h.http.post(`/api/v1/tenants/${acme.name}/check`).set(bearer(token))).status, 200);
    });

    it('when only the CA or only the bind DN changes without the password, then 422 and nothing changes', async () => {
      await assertRefused({ caCertificate: readFileSync(globex.caFile, 'utf8') });
      await assertRefused({ bindDn: `CN=Someone Else,CN=Users,${acme.baseDn}` });
    });

    it('when the endpoint stays the same, then the stored password is used; with the password given, a new endpoint is checked with it', async () => {
      const sameEndpoint = await patch({
        directory: { baseDn: acme.baseDn, url: acme.ldapsUrl, caCertificate: `${readFileSync(acme.caFile, 'utf8').trim()}\n` },
      });
      assert.equal(sameEndpoint.status, 200, JSON.stringify(sameEndpoint.body));
      assert.ok(sameEndpoint.body.connection.latencyMs >= 0);
      const withPassword = await patch({ directory: { bindDn: acme.bindDn, bindPassword: acme.bindPassword } });
      assert.equal(withPassword.status, 200, JSON.stringify(withPassword.body));
    });
  });
}
