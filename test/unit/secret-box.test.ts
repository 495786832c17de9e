// Envelope encryption of secrets at rest (docs/security-model.md, Secrets at rest): values bound to their record, opened through
// previous master keys after a rotation, refused when tampered with.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSecretBox, parseMasterKey } from '../../src/adapters/crypto/secret-box.ts';
import { DomainError } from '../../src/domain/errors.ts';

const newKey = () => parseMasterKey(randomBytes(32).toString('base64'));
const keyUnavailable = (error: unknown) => error instanceof DomainError && error.code === 'key_unavailable';
const context = 'tenant:acme:bind-password';
const plaintext = 'Bind-Pässwörd 123 🔑';

/** Replaces one character of a compact JWE part with another base64url character. */
function withPartChanged(sealed: string, part: number, change: (text: string) => string): string {
  const parts = sealed.split('.');
  parts[part] = change(parts[part]!);
  return parts.join('.');
}
const flipMiddleCharacter = (text: string) => {
  const i = Math.floor(text.length / 2);
  return text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
};

describe('secret box', () => {
  it('when a value is sealed, then it opens again with the same context', async () => {
    const box = createSecretBox(newKey());
    assert.equal(await box.open(await box.seal(plaintext, context), context), plaintext);
  });

  it('when a value is sealed, then the sealed text shows neither the value nor its base64', async () => {
    const sealed = await createSecretBox(newKey()).seal(plaintext, context);
    assert.equal(sealed.split('.').length, 5, 'a compact JWE');
    assert.ok(!sealed.includes(plaintext));
    assert.ok(!sealed.includes(Buffer.from(plaintext).toString('base64url').slice(0, 12)));
  });

  it('when the same value is sealed twice, then the sealed texts differ', async () => {
    const box = createSecretBox(newKey());
    assert.notEqual(await box.seal(plaintext, context), await box.seal(plaintext, context));
  });

  it('when a sealed value is opened for another context, then it is refused with key_unavailable', async () => {
    const box = createSecretBox(newKey());
    const sealed = await box.seal(plaintext, context);
    await assert.rejects(box.open(sealed, 'tenant:other:bind-password'), keyUnavailable);
  });

  it('when the header is rewritten to claim another context, then opening under that context fails', async () => {
    const box = createSecretBox(newKey());
    const sealed = await box.seal(plaintext, context);
    const moved = withPartChanged(sealed, 0, (header) => {
      const fields = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>;
      return Buffer.from(JSON.stringify({ ...fields, ctx: 'tenant:other:bind-password' })).toString('base64url');
    });
    await assert.rejects(box.open(moved, 'tenant:other:bind-password'), keyUnavailable);
  });

  it('when the master key has been rotated, then a value sealed under the old key opens through it and is stale until re-sealed', async () => {
    const oldKey = newKey();
    const sealedOld = await createSecretBox(oldKey).seal(plaintext, context);
    const rotated = createSecretBox(newKey(), [oldKey]);
    assert.equal(await rotated.open(sealedOld, context), plaintext);
    assert.equal(rotated.isStale(sealedOld), true);

    const resealed = await rotated.seal(await rotated.open(sealedOld, context), context);
    assert.equal(rotated.isStale(resealed), false);
    assert.equal(await rotated.open(resealed, context), plaintext);
  });

  it('when the key a value was sealed under is not known, then opening is refused with key_unavailable', async () => {
    const sealed = await createSecretBox(newKey()).seal(plaintext, context);
    await assert.rejects(createSecretBox(newKey(), [newKey()]).open(sealed, context), keyUnavailable);
  });

  it('when a character of the ciphertext is changed, then opening is refused with key_unavailable', async () => {
    const box = createSecretBox(newKey());
    const sealed = await box.seal('a long enough secret value to have a middle', context);
    await assert.rejects(box.open(withPartChanged(sealed, 3, flipMiddleCharacter), context), keyUnavailable);
  });

  it('when the wrapped key, the nonce or the tag is altered, then opening is refused with key_unavailable and the message shows no secret', async () => {
    const encoded = randomBytes(32).toString('base64');
    const box = createSecretBox(parseMasterKey(encoded));
    const sealed = await box.seal(plaintext, context);
    const other = await box.seal('another value', context);
    const altered = [
      withPartChanged(sealed, 1, flipMiddleCharacter),
      withPartChanged(sealed, 1, () => other.split('.')[1]!),
      withPartChanged(sealed, 2, flipMiddleCharacter),
      withPartChanged(sealed, 4, flipMiddleCharacter),
      withPartChanged(sealed, 4, () => ''),
    ];
    for (const text of altered) {
      await assert.rejects(box.open(text, context), (error: unknown) => {
        assert.ok(keyUnavailable(error), `expected key_unavailable, got ${String(error)}`);
        const message = (error as Error).message;
        for (const secret of [plaintext, encoded, Buffer.from(encoded, 'base64').toString('base64url'), 'another value'])
          assert.ok(!message.includes(secret), message);
        return true;
      });
    }
  });

  it('when the header names a key id that is not one of ours, then the message repeats only a well-formed id', async () => {
    const sealed = await createSecretBox(newKey()).seal(plaintext, context);
    const claimed = withPartChanged(sealed, 0, (header) => {
      const fields = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>;
      return Buffer.from(JSON.stringify({ ...fields, kid: 'x'.repeat(500) })).toString('base64url');
    });
    await assert.rejects(
      createSecretBox(newKey()).open(claimed, context),
      (error: unknown) => keyUnavailable(error) && !(error as Error).message.includes('xxxx'),
    );
  });

  it('when the sealed text is not a JWE at all, then opening is refused with key_unavailable and it counts as stale', async () => {
    const box = createSecretBox(newKey());
    await assert.rejects(box.open('not-a-jwe', context), keyUnavailable);
    assert.equal(box.isStale('not-a-jwe'), true);
  });
});

describe('master keys', () => {
  it('when a key is 32 bytes of base64, then it is accepted, surrounding whitespace included, with an id that does not reveal it', () => {
    const encoded = randomBytes(32).toString('base64');
    const key = parseMasterKey(encoded);
    assert.equal(key.key.length, 32);
    assert.deepEqual(parseMasterKey(`  ${encoded}\n`), key);
    assert.match(key.id, /^mk-/);
    assert.ok(!key.id.includes(encoded.slice(0, 8)));
    assert.equal(createSecretBox(key).currentKeyId(), key.id);
  });

  it('when two keys differ, then their ids differ', () => {
    assert.notEqual(newKey().id, newKey().id);
  });

  it('when a key is not base64 text, then it is refused without being repeated, even where Node would decode it to 32 bytes', () => {
    const encoded = randomBytes(32).toString('base64');
    for (const mangled of [
      `${encoded.slice(0, 10)}!${encoded.slice(10)}`,
      `${encoded.slice(0, 20)} ${encoded.slice(20)}`,
      encoded.replace(/=$/, '=='),
    ]) {
      assert.throws(
        () => parseMasterKey(mangled),
        (error: unknown) => /32 bytes/.test((error as Error).message) && !(error as Error).message.includes(encoded.slice(0, 10)),
        mangled,
      );
    }
  });

  it('when a key is not 32 bytes, then it is refused', () => {
    for (const length of [0, 16, 31, 33, 64]) {
      assert.throws(() => parseMasterKey(randomBytes(length).toString('base64')), /32 bytes/, `${length} bytes`);
    }
  });
});
