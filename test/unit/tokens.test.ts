// Session tokens with an in-memory key store: types cannot be swapped, rotation keeps old tokens
// valid for the grace period only.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSecretBox, parseMasterKey } from '../../src/adapters/crypto/secret-box.ts';
import { createTokenService } from '../../src/adapters/crypto/tokens.ts';
import { DomainError } from '../../src/domain/errors.ts';
import type { SigningKeyRecord, SigningKeyRepository } from '../../src/services/ports.ts';

function memoryKeys(): SigningKeyRepository {
  const keys: SigningKeyRecord[] = [];
  return {
    insert: async (k) => void keys.unshift({ ...k }),
    list: async () => keys.map((k) => ({ ...k })),
    retireAllExcept: async (kid, at) => keys.forEach((k) => (k.kid !== kid && k.retiredAt === null ? (k.retiredAt = at) : undefined)),
    replaceSealedPrivateKey: async (kid, sealed) => keys.forEach((k) => (k.kid === kid ? (k.privateJwkSealed = sealed) : undefined)),
  };
}

const t0 = new Date(Date.UTC(2026, 0, 1, 9));
const later = (ms: number) => new Date(t0.getTime() + ms);
const isTokenInvalid = (e: unknown) => e instanceof DomainError && e.code === 'token_invalid';

function service(repo = memoryKeys(), audience = 'stint-api') {
  const box = createSecretBox(parseMasterKey(randomBytes(32).toString('base64')));
  return createTokenService(repo, box, { bytes: (n) => randomBytes(n), id: () => randomUUID() }, { issuer: 'stint', audience, retiredKeyGraceMs: 3_600_000 });
}

describe('session tokens', () => {
  it('when an access token is issued, then it verifies with its claims until it expires', async () => {
    const tokens = service();
    await tokens.rotate(t0);
    const token = await tokens.issueAccessToken({ technicianId: 'tech', sessionId: 'sess', expiresAt: later(900_000) }, t0);
    assert.deepEqual(await tokens.verifyAccessToken(token, later(1000)), { technicianId: 'tech', sessionId: 'sess', expiresAt: later(900_000) });
    await assert.rejects(tokens.verifyAccessToken(token, later(901_000)), isTokenInvalid);
  });

  it('when an MFA challenge token is used as an access token, or the reverse, then it is refused', async () => {
    const tokens = service();
    await tokens.rotate(t0);
    const challenge = await tokens.issueMfaChallenge({ technicianId: 'tech', expiresAt: later(300_000) }, t0);
    const access = await tokens.issueAccessToken({ technicianId: 'tech', sessionId: 's', expiresAt: later(300_000) }, t0);
    await assert.rejects(tokens.verifyAccessToken(challenge, t0), isTokenInvalid);
    await assert.rejects(tokens.verifyMfaChallenge(access, t0), isTokenInvalid);
  });

  it('when the audience differs, then the token is refused even with the same keys', async () => {
    const repo = memoryKeys();
    const ours = service(repo);
    await ours.rotate(t0);
    const theirs = createTokenService(repo, createSecretBox(parseMasterKey(randomBytes(32).toString('base64'))), { bytes: randomBytes, id: randomUUID }, { issuer: 'stint', audience: 'other', retiredKeyGraceMs: 1 });
    await assert.rejects(theirs.verifyAccessToken(await ours.issueAccessToken({ technicianId: 't', sessionId: 's', expiresAt: later(60_000) }, t0), t0), isTokenInvalid);
  });

  it('when the key rotates, then old tokens verify during the grace period and not after', async () => {
    const tokens = service();
    const firstKid = await tokens.rotate(t0);
    const old = await tokens.issueAccessToken({ technicianId: 't', sessionId: 's', expiresAt: later(10 * 3_600_000) }, t0);
    const secondKid = await tokens.rotate(later(1000));
    assert.notEqual(firstKid, secondKid);
    assert.deepEqual((await tokens.jwks(later(2000))).keys.map((k) => k.kid).sort(), [firstKid, secondKid].sort());
    assert.equal((await tokens.verifyAccessToken(old, later(60_000))).technicianId, 't');
    await assert.rejects(tokens.verifyAccessToken(old, later(2 * 3_600_000)), isTokenInvalid);
    assert.deepEqual((await tokens.jwks(later(2 * 3_600_000))).keys.map((k) => k.kid), [secondKid]);
  });
});
