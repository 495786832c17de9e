// Master-key rotation re-seals every secret at rest; signing-key rotation keeps old tokens valid
// through their lifetime while new ones use the new key.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { createContainer } from '../../src/container.ts';
import { createLogger } from '../../src/adapters/logging/logger.ts';
import { parseMasterKey } from '../../src/adapters/crypto/secret-box.ts';
import { systemContext } from '../../src/services/context.ts';
import { startHarness, testConfig, type Harness } from '../support/harness.ts';
import { bearer, createTechnician, login, type TestTechnician } from '../support/factories.ts';
import { testServices } from '../support/services.ts';

describe('key rotation', () => {
  let h: Harness;
  let technician: TestTechnician;
  const { acme } = testServices().domains;

  before(async () => {
    h = await startHarness();
    technician = await createTechnician(h);
    await login(h, technician);
    await h.container.services.tenants.create(
      {
        id: 'acme',
        displayName: 'Acme',
        timeZone: 'UTC',
        directory: { url: acme.ldapsUrl, bindDn: acme.bindDn, bindPassword: acme.bindPassword, baseDn: acme.baseDn, caCertificate: readFileSync(acme.caFile, 'utf8') },
      },
      'system',
      systemContext,
    );
  });
  after(async () => {
    await h.close();
  });

  it('when the master key is rotated, then every secret is re-sealed and the old key is no longer needed', async () => {
    const oldKey = h.masterKey;
    const newKey = randomBytes(32).toString('base64');
    await h.container.close();
    const base = { ...h.config, logging: { level: 'silent' as const } };
    const rotating = await createContainer(
      testConfig({ ...base, secrets: { masterKey: newKey, previousMasterKeys: [oldKey] } }),
      { clock: h.clock, logger: createLogger('silent') },
    );
    try {
      const counts = await rotating.services.keys.rotateMasterKey('system');
      assert.deepEqual(counts, { masterKeyId: parseMasterKey(newKey).id, tenantBindPasswords: 1, totpSecrets: 1, signingKeys: 1 });
    } finally {
      await rotating.close();
    }

    const newOnly = await createContainer(testConfig({ ...base, secrets: { masterKey: newKey } }), {
      clock: h.clock,
      logger: createLogger('silent'),
    });
    try {
      const newId = parseMasterKey(newKey).id;
      const sealedValues = [
        ...(await newOnly.store.tenants.listSealedBindPasswords()).map((r) => r.sealed),
        ...(await newOnly.store.technicians.listSealedTotpSecrets()).map((r) => r.sealed),
        ...(await newOnly.store.signingKeys.list()).map((k) => k.privateJwkSealed),
      ];
      assert.ok(sealedValues.length >= 3);
      for (const sealed of sealedValues) assert.equal(decodeProtectedHeader(sealed).kid, newId);
      // Everything still opens with the new key alone: the tenant's bind, a login with TOTP.
      assert.equal((await newOnly.services.tenants.checkConnection('acme')).baseDn.toLowerCase(), acme.baseDn.toLowerCase());
      h.container = newOnly;
      h.http = (await import('supertest')).default((await import('../../src/http/app.ts')).createApp(newOnly).app);
      const tokens = await login(h, technician);
      assert.equal((await h.http.get('/api/v1/me').set(bearer(tokens.accessToken))).status, 200);
      const rotated = await newOnly.store.audit.list({ action: 'keys.master_rotated', limit: 1 });
      assert.equal(rotated.length, 1);
    } catch (error) {
      await newOnly.close();
      throw error;
    }
  });

  it('when the signing key is rotated, then old tokens still verify, new ones use the new key, and the JWKS lists both', async () => {
    const before = await login(h, technician);
    const oldKid = decodeProtectedHeader(before.accessToken).kid;
    const newKid = await h.container.services.keys.rotateSigningKey('system');
    assert.notEqual(newKid, oldKid);
    assert.equal((await h.http.get('/api/v1/me').set(bearer(before.accessToken))).status, 200);
    const after = await login(h, await createTechnician(h));
    assert.equal(decodeProtectedHeader(after.accessToken).kid, newKid);
    const jwks = await h.http.get('/.well-known/jwks.json');
    const kids = jwks.body.keys.map((k: { kid: string }) => k.kid);
    assert.ok(kids.includes(oldKid) && kids.includes(newKid));
    assert.ok(jwks.body.keys.every((k: Record<string, unknown>) => k.d === undefined), 'a private key is published');
  });
});
