// Master-key rotation re-seals every secret at rest; signing-key rotation keeps old tokens valid
// through their lifetime while new ones use the new key, is audited or does not happen, and two
// processes adding a key at once leave one current key, on both store engines.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { createContainer } from '../../src/container.ts';
import { createLogger } from '../../src/adapters/logging/logger.ts';
import { createRandomSource } from '../../src/adapters/crypto/random.ts';
import { parseMasterKey } from '../../src/adapters/crypto/secret-box.ts';
import { createTokenService } from '../../src/adapters/crypto/tokens.ts';
import { systemContext } from '../../src/services/context.ts';
import { createStore, openDatabase } from '../../src/adapters/store/index.ts';
import { createKeyService } from '../../src/services/access/index.ts';
import type { SigningKeyRepository } from '../../src/services/ports/audit.ts';
import type { Store } from '../../src/services/ports/store.ts';
import { engines, startHarness, testConfig, type Harness } from '../support/harness.ts';
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
        directory: {
          url: acme.ldapsUrl,
          bindDn: acme.bindDn,
          bindPassword: acme.bindPassword,
          baseDn: acme.baseDn,
          caCertificate: readFileSync(acme.caFile, 'utf8'),
        },
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
    const rotating = await createContainer(testConfig({ ...base, secrets: { masterKey: newKey, previousMasterKeys: [oldKey] } }), {
      clock: h.clock,
      logger: createLogger('silent'),
    });
    try {
      const counts = await rotating.services.keys.rotateMasterKey('system');
      assert.deepEqual(counts, {
        masterKeyId: parseMasterKey(newKey).id,
        tenantBindPasswords: 1,
        totpSecrets: 1,
        signingKeys: 1,
        auditSigningKeys: 1,
      });
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
    assert.ok(
      jwks.body.keys.every((k: Record<string, unknown>) => k.d === undefined),
      'a private key is published',
    );
  });
});

/** Resolves for each caller once `count` have arrived, or after `maxWaitMs`. */
function meetingPoint(count: number, maxWaitMs: number): () => Promise<void> {
  let arrived = 0;
  let release: () => void = () => {};
  const everyone = new Promise<void>((resolve) => (release = resolve));
  return async () => {
    arrived += 1;
    if (arrived >= count) release();
    await Promise.race([everyone, delay(maxWaitMs)]);
  };
}

/** The store, with every signing-key insert (in a transaction or not) waiting at `wait` once written. */
function withInsertsWaitingAt(store: Store, wait: () => Promise<void>): Store {
  const waiting = (keys: SigningKeyRepository): SigningKeyRepository => ({
    ...keys,
    async insert(key) {
      await keys.insert(key);
      await wait();
    },
  });
  return {
    ...store,
    signingKeys: waiting(store.signingKeys),
    transaction: (work) => store.transaction((tx) => work({ ...tx, signingKeys: waiting(tx.signingKeys) })),
  };
}

for (const engine of engines) {
  describe(`signing keys in the ${engine} store`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({ engine });
    });
    after(async () => {
      await h.close();
    });

    it('when the audit event of a signing-key rotation cannot be written, then the key is not rotated', async () => {
      const { store } = h.container;
      const keysBefore = await store.signingKeys.list();
      const auditRefuses: Store = {
        ...store,
        transaction: (work) =>
          store.transaction((tx) =>
            work({
              ...tx,
              audit: {
                ...tx.audit,
                append: async () => {
                  throw new Error('the audit log refused the write');
                },
              },
            }),
          ),
      };
      const keys = createKeyService({ store: auditRefuses, clock: h.clock, secrets: h.container.secrets, tokens: h.container.tokens });
      await assert.rejects(keys.rotateSigningKey('system'), /audit log refused/);
      assert.deepEqual(await store.signingKeys.list(), keysBefore, 'no key added, none retired');
      assert.equal((await store.audit.list({ action: 'keys.signing_rotated', limit: 10 })).length, 0);
    });

    it('when a signing-key rotation is audited, then the event names the new key, which is the one current', async () => {
      const kid = await h.container.services.keys.rotateSigningKey('system');
      const [event] = await h.container.store.audit.list({ action: 'keys.signing_rotated', limit: 1 });
      assert.equal(event?.target, kid);
      assert.deepEqual(
        (await h.container.store.signingKeys.list()).filter((k) => k.retiredAt === null).map((k) => k.kid),
        [kid],
      );
    });

    it('when two processes start at once on a store with no current signing key, then both end up signing with the same current key', async () => {
      // Each "process" has its own token service and, on PostgreSQL, its own connection pool. SQLite
      // writers queue at BEGIN IMMEDIATE, one after the other, which sharing one connection models
      // (a second node:sqlite connection in this process would block the event loop while it waits).
      const secondDatabase = engine === 'postgres' ? openDatabase(h.databaseUrl, h.dataDir) : undefined;
      const stores = [h.container.store, secondDatabase ? createStore(secondDatabase.db) : h.container.store];
      try {
        for (let round = 0; round < 3; round++) {
          h.clock.advance(1000);
          const now = h.clock.now();
          await h.container.store.transaction((tx) => tx.signingKeys.retireAllExcept('none', now));
          // Each insert waits (a little, in case the other is queued behind it) for the other
          // process's insert, so that both rows are written before either retires anything.
          const barrier = meetingPoint(2, 250);
          const processes = stores.map((store) => {
            const tokens = createTokenService(store.signingKeys, h.container.secrets, createRandomSource(), {
              issuer: 'stint',
              audience: 'stint-api',
              longestTokenLifetimeMs: 900_000,
            });
            return {
              tokens,
              keys: createKeyService({ store: withInsertsWaitingAt(store, barrier), clock: h.clock, secrets: h.container.secrets, tokens }),
            };
          });
          await Promise.all(processes.map((p) => p.keys.ensureSigningKey()));

          const current = (await stores[0]!.signingKeys.list()).filter((k) => k.retiredAt === null);
          assert.ok(current.length >= 1, `round ${round}: no current key left`);
          const claims = { technicianId: 't', sessionId: 's', expiresAt: new Date(now.getTime() + 60_000) };
          const tokens = await Promise.all(processes.map((p) => p.tokens.issueAccessToken(claims, now)));
          assert.equal(
            decodeProtectedHeader(tokens[0]!).kid,
            decodeProtectedHeader(tokens[1]!).kid,
            `round ${round}: the processes sign with different keys`,
          );
          assert.equal((await processes[1]!.tokens.verifyAccessToken(tokens[0]!, now)).technicianId, 't');
        }
      } finally {
        await secondDatabase?.db.destroy();
      }
    });
  });
}
