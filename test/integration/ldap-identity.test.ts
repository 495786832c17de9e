// The `ldap` identity source: a technician's password is checked by binding to the MSP's own
// directory (here the globex test domain) over verified LDAPS.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { systemContext } from '../../src/services/context.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { createUser, deleteEntry } from '../support/directory.ts';
import { testServices } from '../support/services.ts';

describe('ldap identity source', () => {
  const { globex } = testServices().domains;
  const username = `ldaptech${randomBytes(3).toString('hex')}`;
  const password = `Pw-${randomBytes(9).toString('base64url')}-9a`;
  let h: Harness;
  let userDn: string;

  before(async () => {
    userDn = await createUser(globex, username, password);
    h = await startHarness({
      config: { auth: { ldap: { url: globex.ldapsUrl, caFile: globex.caFile, userPrincipalSuffix: globex.realm.toLowerCase() } } },
    });
    await h.container.services.technicians.create(
      { username, displayName: 'LDAP tech', email: `${username}@example.test`, roles: ['technician'], identitySource: 'ldap' },
      'system',
      systemContext,
    );
  });
  after(async () => {
    await h.close();
    await deleteEntry(globex, userDn);
  });

  it('when the directory password is right, then the password stage passes', async () => {
    const response = await h.http.post('/api/v1/auth/login').send({ username, password });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.next, 'enrol');
  });

  it('when the directory password is wrong or empty-ish, then login is refused like any bad password', async () => {
    for (const attempt of ['Wrong-Password-1', ' ']) {
      const response = await h.http.post('/api/v1/auth/login').send({ username, password: attempt });
      assert.equal(response.status, 401);
      assert.equal(response.body.error.code, 'invalid_credentials');
    }
    const failures = await h.container.store.audit.list({ action: 'auth.login.failed', limit: 5 });
    assert.ok(failures.some((e) => e.details.reason === 'bad_password' && e.details.username === username));
  });
});
