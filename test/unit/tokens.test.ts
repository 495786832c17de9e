// Session tokens (docs/security-model.md, Login, TOTP and sessions) with an in-memory signing-key store and a real secret box: claims round
// trip, algorithm pinned, iss/aud/exp/typ checked, rotation keeps old tokens valid for the grace
// period only, processes sharing the store agree on the current key.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createRandomSource } from '../../src/adapters/crypto/random.ts';
import { createSecretBox, parseMasterKey } from '../../src/adapters/crypto/secret-box.ts';
import { createTokenService, keyCacheMs, retiredKeyGraceMs, type TokenSettings } from '../../src/adapters/crypto/tokens.ts';
import { DomainError } from '../../src/domain/errors.ts';
import type { SecretBox } from '../../src/services/ports/crypto.ts';
import type { SigningKeyRecord, SigningKeyRepository } from '../../src/services/ports/audit.ts';
import type { TokenService } from '../../src/services/ports/identity.ts';

interface MemoryKeyRepository extends SigningKeyRepository {
  records: SigningKeyRecord[];
  /** How many times the keys were read. */
  reads: number;
}

/** The signing-key table, in memory; list() answers in insertion order, newest insert first. */
function memoryKeyRepository(): MemoryKeyRepository {
  const records: SigningKeyRecord[] = [];
  const repository: MemoryKeyRepository = {
    records,
    reads: 0,
    async insert(key) {
      records.unshift({ ...key });
    },
    async list() {
      repository.reads += 1;
      return records.map((k) => ({ ...k }));
    },
    async retireAllExcept(kid, at) {
      for (const k of records) if (k.kid !== kid && k.retiredAt === null) k.retiredAt = at;
    },
    async replaceSealedPrivateKey(kid, sealed) {
      for (const k of records) if (k.kid === kid) k.privateJwkSealed = sealed;
    },
  };
  return repository;
}

const hour = 3_600_000;
const t0 = new Date(Date.UTC(2026, 0, 1, 9));
const later = (ms: number) => new Date(t0.getTime() + ms);
const lifetimeMs = hour;
const graceMs = retiredKeyGraceMs(lifetimeMs);
const isTokenInvalid = (error: unknown) => error instanceof DomainError && error.code === 'token_invalid';
const newBox = () => createSecretBox(parseMasterKey(randomBytes(32).toString('base64')));

interface Deployment {
  tokens: TokenService;
  keys: ReturnType<typeof memoryKeyRepository>;
  box: SecretBox;
}

function deployment(settings: Partial<TokenSettings> = {}, keys = memoryKeyRepository(), box = newBox()): Deployment {
  const tokens = createTokenService(keys, box, createRandomSource(), {
    issuer: 'stint',
    audience: 'stint-api',
    longestTokenLifetimeMs: lifetimeMs,
    ...settings,
  });
  return { tokens, keys, box };
}

async function withKey(settings: Partial<TokenSettings> = {}): Promise<Deployment> {
  const d = deployment(settings);
  await d.tokens.rotate(t0, d.keys);
  return d;
}

const accessClaims = { technicianId: 'tech-1', sessionId: 'sess-1', expiresAt: later(15 * 60_000) };
const issue = (d: Deployment, now = t0) => d.tokens.issueAccessToken(accessClaims, now);

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const headerOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;

describe('access tokens', () => {
  it('when an access token is issued, then it verifies back to the same claims', async () => {
    const d = await withKey();
    assert.deepEqual(await d.tokens.verifyAccessToken(await issue(d), later(60_000)), accessClaims);
  });

  it('when a token is issued, then its header pins EdDSA, names the key and says it is an access token', async () => {
    const d = await withKey();
    const header = headerOf(await issue(d));
    assert.deepEqual(header, { alg: 'EdDSA', kid: d.keys.records[0]!.kid, typ: 'at+jwt' });
  });

  it('when the expiry has passed, then the token is refused as token_invalid, and a second before it is accepted', async () => {
    const d = await withKey();
    const token = await issue(d);
    assert.equal((await d.tokens.verifyAccessToken(token, later(15 * 60_000 - 1000))).technicianId, 'tech-1');
    await assert.rejects(d.tokens.verifyAccessToken(token, later(15 * 60_000 + 1000)), isTokenInvalid);
  });

  it('when a token was signed for another audience with the same keys, then it is refused', async () => {
    const ours = await withKey();
    const theirs = deployment({ audience: 'other-api' }, ours.keys, ours.box);
    const token = await theirs.tokens.issueAccessToken(accessClaims, t0);
    assert.equal((await theirs.tokens.verifyAccessToken(token, t0)).technicianId, 'tech-1', 'valid for its own audience');
    await assert.rejects(ours.tokens.verifyAccessToken(token, t0), isTokenInvalid);
  });

  it('when a token was signed by another issuer with the same keys, then it is refused', async () => {
    const ours = await withKey();
    const theirs = deployment({ issuer: 'someone-else' }, ours.keys, ours.box);
    await assert.rejects(ours.tokens.verifyAccessToken(await theirs.tokens.issueAccessToken(accessClaims, t0), t0), isTokenInvalid);
  });

  it("when a token was signed by another deployment's key, then it is refused", async () => {
    const ours = await withKey();
    const stranger = await withKey();
    await assert.rejects(ours.tokens.verifyAccessToken(await issue(stranger), t0), isTokenInvalid);
  });

  it('when a token says alg none and has no signature, then it is refused', async () => {
    const d = await withKey();
    const [header, payload] = (await issue(d)).split('.');
    const unsigned = `${b64({ ...JSON.parse(Buffer.from(header!, 'base64url').toString('utf8')), alg: 'none' })}.${payload}.`;
    await assert.rejects(d.tokens.verifyAccessToken(unsigned, t0), isTokenInvalid);
  });

  it('when a token is HS256-signed with the public key bytes as the secret, then it is refused', async () => {
    const d = await withKey();
    const publicJwk = (await d.tokens.jwks(t0)).keys[0]!;
    const payload = (await issue(d)).split('.')[1]!;
    const header = b64({ alg: 'HS256', kid: publicJwk.kid, typ: 'at+jwt' });
    const signature = createHmac('sha256', Buffer.from(publicJwk.x as string, 'base64url'))
      .update(`${header}.${payload}`)
      .digest('base64url');
    await assert.rejects(d.tokens.verifyAccessToken(`${header}.${payload}.${signature}`, t0), isTokenInvalid);
  });

  it('when a character of the payload is changed, then the token is refused', async () => {
    const d = await withKey();
    const [header, payload, signature] = (await issue(d)).split('.');
    const i = Math.floor(payload!.length / 2);
    const changed = payload!.slice(0, i) + (payload![i] === 'A' ? 'B' : 'A') + payload!.slice(i + 1);
    await assert.rejects(d.tokens.verifyAccessToken(`${header}.${changed}.${signature}`, t0), isTokenInvalid);
  });

  it('when the payload claims another technician under the original signature, then the token is refused', async () => {
    const d = await withKey();
    const [header, payload, signature] = (await issue(d)).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
    await assert.rejects(d.tokens.verifyAccessToken(`${header}.${b64({ ...claims, sub: 'admin-1' })}.${signature}`, t0), isTokenInvalid);
  });

  it('when the text is not a token at all, then it is refused as token_invalid', async () => {
    const d = await withKey();
    for (const text of ['', 'abc', 'a.b.c'])
      await assert.rejects(d.tokens.verifyAccessToken(text, t0), isTokenInvalid, JSON.stringify(text));
  });
});

describe('MFA challenge tokens', () => {
  it('when a challenge token is issued, then it verifies back to its claims', async () => {
    const d = await withKey();
    const claims = { technicianId: 'tech-1', expiresAt: later(300_000) };
    assert.deepEqual(await d.tokens.verifyMfaChallenge(await d.tokens.issueMfaChallenge(claims, t0), t0), claims);
  });

  it('when a challenge token is presented as an access token, or the reverse, then it is refused', async () => {
    const d = await withKey();
    const challenge = await d.tokens.issueMfaChallenge({ technicianId: 'tech-1', expiresAt: later(300_000) }, t0);
    await assert.rejects(d.tokens.verifyAccessToken(challenge, t0), isTokenInvalid);
    await assert.rejects(d.tokens.verifyMfaChallenge(await issue(d), t0), isTokenInvalid);
  });
});

describe('signing keys', () => {
  it('when no key has been created yet, then issuing fails with key_unavailable', async () => {
    const d = deployment();
    await assert.rejects(issue(d), (error: unknown) => error instanceof DomainError && error.code === 'key_unavailable');
  });

  it('when a key is created, then its private half is stored sealed and only the public half is published', async () => {
    const d = await withKey();
    const record = d.keys.records[0]!;
    const privateJwk = JSON.parse(await d.box.open(record.privateJwkSealed, `signing-key:${record.kid}`)) as { d: string };
    assert.ok(!record.privateJwkSealed.includes(privateJwk.d));
    const published = (await d.tokens.jwks(t0)).keys;
    assert.deepEqual(
      published.map((k) => [k.kid, k.kty, k.crv, k.alg, k.use, 'd' in k]),
      [[record.kid, 'OKP', 'Ed25519', 'EdDSA', 'sig', false]],
    );
  });

  it('when the key rotates, then new tokens use the new key, old tokens still verify and the JWKS lists both', async () => {
    const d = await withKey();
    const [firstKid] = d.keys.records.map((k) => k.kid);
    const old = await d.tokens.issueAccessToken({ ...accessClaims, expiresAt: later(10 * hour) }, t0);
    const secondKid = await d.tokens.rotate(later(1000), d.keys);
    assert.notEqual(secondKid, firstKid);

    assert.equal(headerOf(await issue(d, later(2000))).kid, secondKid);
    assert.equal((await d.tokens.verifyAccessToken(old, later(30 * 60_000))).technicianId, 'tech-1');
    assert.deepEqual((await d.tokens.jwks(later(2000))).keys.map((k) => k.kid).sort(), [firstKid, secondKid].sort());
  });

  it('when the grace period after a rotation has passed, then tokens of the old key are refused and it leaves the JWKS', async () => {
    const d = await withKey();
    const longLived = { ...accessClaims, expiresAt: later(10 * hour) };
    const old = await d.tokens.issueAccessToken(longLived, t0);
    const secondKid = await d.tokens.rotate(later(1000), d.keys);
    const fresh = await d.tokens.issueAccessToken(longLived, later(1000));
    const afterGrace = later(1000 + graceMs + 1000);

    await assert.rejects(d.tokens.verifyAccessToken(old, afterGrace), isTokenInvalid);
    assert.equal((await d.tokens.verifyAccessToken(fresh, afterGrace)).technicianId, 'tech-1', 'the current key still verifies');
    assert.deepEqual(
      (await d.tokens.jwks(afterGrace)).keys.map((k) => k.kid),
      [secondKid],
    );
  });

  it('when another replica rotated the key, then a token signed with the new key verifies at once here', async () => {
    const here = await withKey();
    const there = deployment({}, here.keys, here.box);
    await here.tokens.verifyAccessToken(await issue(here), t0); // fills this replica's key cache
    await there.tokens.rotate(later(1000), there.keys);
    assert.equal((await here.tokens.verifyAccessToken(await issue(there, later(2000)), later(3000))).technicianId, 'tech-1');
  });
});

describe('signing keys shared by several processes', () => {
  it('when two keys were left current by processes adding one at once, then every process signs with the same one, whatever order the store lists them in', async () => {
    const box = newBox();
    const keys = memoryKeyRepository();
    const writer = deployment({}, keys, box);
    const untouched = { ...keys, retireAllExcept: async () => {} }; // each transaction saw only its own key
    const sameMoment = await Promise.all([writer.tokens.rotate(t0, untouched), writer.tokens.rotate(t0, untouched)]);
    const earlier = await writer.tokens.rotate(later(-1000), untouched);
    assert.equal(keys.records.filter((k) => k.retiredAt === null).length, 3);

    const asListed = deployment({}, keys, box);
    const reversed = deployment({}, { ...keys, list: async () => (await keys.list()).reverse() }, box);
    const newest = [...sameMoment].sort().at(-1);
    assert.equal(headerOf(await issue(asListed)).kid, newest, 'the newest key, then the greatest kid');
    assert.equal(headerOf(await issue(reversed)).kid, newest);
    assert.notEqual(newest, earlier);
    assert.equal((await reversed.tokens.verifyAccessToken(await issue(asListed), t0)).technicianId, 'tech-1');
  });

  it('when a process whose clock is behind rotates the key, then its new key is still the current one', async () => {
    const keys = memoryKeyRepository();
    const box = newBox();
    const [ahead, behind] = [deployment({}, keys, box), deployment({}, keys, box)];
    await ahead.tokens.rotate(later(5000), ahead.keys);
    const rotated = await behind.tokens.rotate(t0, behind.keys);
    assert.deepEqual(
      keys.records.filter((k) => k.retiredAt === null).map((k) => k.kid),
      [rotated],
    );
    assert.equal(headerOf(await issue(ahead, later(6000))).kid, rotated);
  });

  it('when a token names a made-up key, then concurrent refusals share one read of the store', async () => {
    const d = await withKey();
    const stranger = await withKey();
    await d.tokens.verifyAccessToken(await issue(d), t0); // fills the cache
    const readsBefore = d.keys.reads;
    const forged = await issue(stranger);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => d.tokens.verifyAccessToken(forged, t0)));
    assert.ok(results.every((r) => r.status === 'rejected' && isTokenInvalid(r.reason)));
    assert.ok(d.keys.reads - readsBefore <= 1, `${d.keys.reads - readsBefore} reads for 20 refusals`);
  });

  it('when another process rotates just after a made-up key caused a read, then its new key still verifies here rather than being refused', async () => {
    const here = await withKey();
    const there = deployment({}, here.keys, here.box);
    await assert.rejects(here.tokens.verifyAccessToken(await issue(await withKey()), t0), isTokenInvalid);
    await there.tokens.rotate(later(1000), there.keys);
    assert.equal((await here.tokens.verifyAccessToken(await issue(there, later(2000)), later(2000))).technicianId, 'tech-1');
  });

  it('when the key is rotated, then the old key verifies for the longest token lifetime plus the cache and clock allowances, and no longer', async () => {
    const lifetime = 15 * 60_000;
    const grace = retiredKeyGraceMs(lifetime);
    assert.ok(grace >= lifetime + keyCacheMs, 'covers a token signed from a stale cache just before it expired');
    assert.ok(grace < 30 * 60_000, 'tied to the token lifetime, not a fixed day');

    const keys = memoryKeyRepository();
    const box = newBox();
    const rotating = deployment({ longestTokenLifetimeMs: lifetime }, keys, box);
    const stale = deployment({ longestTokenLifetimeMs: lifetime }, keys, box);
    const oldKid = await rotating.tokens.rotate(t0, rotating.keys);
    await stale.tokens.jwks(t0); // this process caches the old key as current
    const rotatedAt = later(1000);
    await rotating.tokens.rotate(rotatedAt, rotating.keys);

    // The other process signs with the old key until its cache expires; those tokens live to their end.
    const signedLate = later(keyCacheMs - 1); // the cache was filled at t0
    const late = await stale.tokens.issueAccessToken({ ...accessClaims, expiresAt: new Date(signedLate.getTime() + lifetime) }, signedLate);
    assert.equal(headerOf(late).kid, oldKid);
    const justBeforeExpiry = new Date(signedLate.getTime() + lifetime - 1000);
    assert.equal((await rotating.tokens.verifyAccessToken(late, justBeforeExpiry)).technicianId, 'tech-1');

    const kidsAt = async (at: Date) => (await rotating.tokens.jwks(at)).keys.map((k) => k.kid);
    assert.ok((await kidsAt(new Date(rotatedAt.getTime() + grace - 1000))).includes(oldKid), 'published until the grace ends');
    assert.ok(!(await kidsAt(new Date(rotatedAt.getTime() + grace + 1000))).includes(oldKid), 'gone after the grace');
  });
});
