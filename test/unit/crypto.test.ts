// The crypto adapters: TOTP against RFC 6238's vectors, envelope encryption, password hashes.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { createPasswordHasher } from '../../src/adapters/crypto/passwords.ts';
import { createSecretBox, parseMasterKey } from '../../src/adapters/crypto/secret-box.ts';
import { createTotpEngine, totpCodeAt } from '../../src/adapters/crypto/totp.ts';
import { DomainError } from '../../src/domain/errors.ts';

const random = { bytes: (n: number) => randomBytes(n), id: () => randomUUID() };
const rfcSecret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'; // ASCII "12345678901234567890"

describe('TOTP', () => {
  it('when codes are computed for RFC 6238 appendix B times, then they match the SHA-1 vectors', async () => {
    const vectors: Array<[number, string]> = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [seconds, code] of vectors) assert.equal(await totpCodeAt(rfcSecret, new Date(seconds * 1000), 8), code, `T=${seconds}`);
  });

  it('when a secret is generated, then it is 160 random bits in base32', () => {
    const engine = createTotpEngine(random);
    const a = engine.generateSecret();
    assert.match(a, /^[A-Z2-7]{32}$/);
    assert.notEqual(a, engine.generateSecret());
  });

  it('when a code is matched, then the current step and one either side match and say which step', async () => {
    const engine = createTotpEngine(random);
    const secret = engine.generateSecret();
    const now = new Date(Date.UTC(2026, 0, 1, 12, 0, 15));
    const step = Math.floor(now.getTime() / 30_000);
    for (const offset of [-1, 0, 1]) {
      const code = await totpCodeAt(secret, new Date(now.getTime() + offset * 30_000));
      assert.deepEqual(await engine.match(secret, code, now), { step: step + offset }, `offset ${offset}`);
    }
    for (const offset of [-2, 2]) {
      const code = await totpCodeAt(secret, new Date(now.getTime() + offset * 30_000));
      assert.equal(await engine.match(secret, code, now), null, `offset ${offset}`);
    }
    assert.equal(await engine.match(secret, 'abcdef', now), null);
  });

  it('when an enrolment URI is made, then it carries what authenticator apps need', () => {
    const uri = new URL(createTotpEngine(random).keyUri(rfcSecret, 'jdoe', 'Stint'));
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    assert.equal(uri.searchParams.get('secret'), rfcSecret);
    assert.equal(uri.searchParams.get('issuer'), 'Stint');
  });
});

describe('secret box', () => {
  const keyA = parseMasterKey(randomBytes(32).toString('base64'));
  const keyB = parseMasterKey(randomBytes(32).toString('base64'));

  it('when a value is sealed, then it opens again and the sealed text hides it', async () => {
    const box = createSecretBox(keyA);
    const sealed = await box.seal('bind-password-123', 'tenant:a:bind-password');
    assert.ok(!sealed.includes('bind-password-123'));
    assert.equal(await box.open(sealed, 'tenant:a:bind-password'), 'bind-password-123');
    assert.notEqual(await box.seal('bind-password-123', 'tenant:a:bind-password'), sealed, 'each seal uses a fresh content key');
  });

  it('when a sealed value is opened for another record, then it is refused', async () => {
    const box = createSecretBox(keyA);
    const sealed = await box.seal('x', 'tenant:a:bind-password');
    await assert.rejects(box.open(sealed, 'tenant:b:bind-password'), (e: unknown) => e instanceof DomainError && e.code === 'key_unavailable');
  });

  it('when the master key changes, then old values open through the previous key and are reported stale', async () => {
    const sealed = await createSecretBox(keyA).seal('x', 'c');
    const rotated = createSecretBox(keyB, [keyA]);
    assert.equal(await rotated.open(sealed, 'c'), 'x');
    assert.equal(rotated.isStale(sealed), true);
    assert.equal(rotated.isStale(await rotated.seal('x', 'c')), false);
    await assert.rejects(createSecretBox(keyB).open(sealed, 'c'), (e: unknown) => e instanceof DomainError && e.code === 'key_unavailable');
  });

  it('when the ciphertext is tampered with, then opening fails', async () => {
    const box = createSecretBox(keyA);
    const parts = (await box.seal('secret value', 'c')).split('.');
    const ciphertext = Buffer.from(parts[3]!, 'base64url');
    ciphertext[0] = ciphertext[0]! ^ 1;
    parts[3] = ciphertext.toString('base64url');
    await assert.rejects(box.open(parts.join('.'), 'c'));
  });

  it('when a master key is not 32 bytes, then it is refused', () => {
    assert.throws(() => parseMasterKey(randomBytes(16).toString('base64')), /32 bytes/);
  });
});

describe('password hashes', () => {
  it('when a password is hashed, then it is argon2id and only the right password verifies', async () => {
    const hasher = createPasswordHasher();
    const hash = await hasher.hash('correct horse battery staple');
    assert.match(hash, /^\$argon2id\$/);
    assert.equal(await hasher.verify(hash, 'correct horse battery staple'), true);
    assert.equal(await hasher.verify(hash, 'wrong'), false);
    assert.equal(await hasher.verify('not-a-hash', 'x'), false);
  });
});
