// Local technicians' password hashes (docs/security-model.md, Login, TOTP and sessions): argon2id PHC strings with OWASP's minimum parameters.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPasswordHasher } from '../../src/adapters/crypto/passwords.ts';

const hasher = createPasswordHasher();
const password = 'correct horse battery staple';

describe('password hashes', () => {
  it('when a password is hashed, then the result is an argon2id PHC string with 19 MiB, 2 passes, 1 lane', async () => {
    assert.match(await hasher.hash(password), /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
  });

  it('when the same password is hashed twice, then the hashes differ (fresh salt) and both verify', async () => {
    const [a, b] = [await hasher.hash(password), await hasher.hash(password)];
    assert.notEqual(a, b);
    assert.equal(await hasher.verify(a, password), true);
    assert.equal(await hasher.verify(b, password), true);
  });

  it('when another password is checked against the hash, then it does not verify', async () => {
    const hash = await hasher.hash(password);
    for (const wrong of ['', 'Correct horse battery staple', `${password} `, 'correct horse battery stapl']) {
      assert.equal(await hasher.verify(hash, wrong), false, JSON.stringify(wrong));
    }
  });

  it('when the stored hash is garbage, then verification answers false instead of throwing', async () => {
    for (const garbage of ['', 'not-a-hash', '$argon2id$v=19$m=19456,t=2,p=1$broken', '$2b$12$abcdefghijklmnopqrstuuv']) {
      assert.equal(await hasher.verify(garbage, password), false, JSON.stringify(garbage));
    }
  });

  it('when the dummy verification runs for an unknown user, then it completes without an error', async () => {
    assert.equal(await hasher.verifyDummy(password), undefined);
    assert.equal(await hasher.verifyDummy(''), undefined);
  });
});
