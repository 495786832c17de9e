// Session tokens: JWTs signed with Ed25519 (EdDSA), algorithm pinned, `iss`/`aud`/`exp`/`typ`
// checked. Signing keys live in the store, private halves sealed; the newest unretired key signs,
// and retired keys keep verifying (and stay in the JWKS) for a grace period so rotation never cuts
// a live token short. Each process caches the keys briefly and reloads them when a token names a
// key it has not seen, so a key another process has just created verifies at once.
import { setTimeout as delay } from 'node:timers/promises';
import {
  SignJWT,
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  type JWK,
  type JWTPayload,
} from 'jose';
import { DomainError } from '../../domain/errors.ts';
import type { AccessClaims, MfaChallengeClaims, TokenService } from '../../services/ports/identity.ts';
import type { RandomSource } from '../../services/ports/runtime.ts';
import type { SecretBox } from '../../services/ports/crypto.ts';
import type { SigningKeyRecord, SigningKeyRepository } from '../../services/ports/audit.ts';

export interface TokenSettings {
  issuer: string;
  audience: string;
  /** The longest lifetime of any token signed here (access tokens, MFA challenges). */
  longestTokenLifetimeMs: number;
}

const accessType = 'at+jwt';
const mfaType = 'stint-mfa+jwt';
const keyContext = (kid: string) => `signing-key:${kid}`;

/** How long a process keeps using the keys it loaded before reading them again. */
export const keyCacheMs = 30_000;
/** Reloads for tokens naming an unknown key, at most one per this interval, shared by all waiting. */
export const unknownKeyReloadMs = 1_000;
/** Allowance for the clocks of the processes sharing the store disagreeing. */
const clockSkewMs = 60_000;

/**
 * How long a retired key keeps verifying and stays published: a token signed just before the
 * retirement lives its full lifetime; another process may go on signing with the key until its
 * cache expires; and that process's clock may differ from the one that retired the key.
 */
export function retiredKeyGraceMs(longestTokenLifetimeMs: number): number {
  return longestTokenLifetimeMs + keyCacheMs + clockSkewMs;
}

/**
 * Newest first: by creation time, then kid. Two processes adding a key at once can leave two
 * unretired (each transaction retires what it saw); every process then signs with the same one.
 */
function newestFirst(a: SigningKeyRecord, b: SigningKeyRecord): number {
  return b.createdAt.getTime() - a.createdAt.getTime() || (a.kid < b.kid ? 1 : a.kid > b.kid ? -1 : 0);
}

export function createTokenService(
  keys: SigningKeyRepository,
  secrets: SecretBox,
  random: RandomSource,
  settings: TokenSettings,
): TokenService {
  const graceMs = retiredKeyGraceMs(settings.longestTokenLifetimeMs);
  let cached: { at: number; records: SigningKeyRecord[] } | undefined;
  let pendingReload: Promise<SigningKeyRecord[]> | undefined;
  let lastReloadAt = -Infinity;

  async function read(now: Date): Promise<SigningKeyRecord[]> {
    const records = (await keys.list()).sort(newestFirst);
    cached = { at: now.getTime(), records };
    return records;
  }

  async function loadKeys(now: Date): Promise<SigningKeyRecord[]> {
    if (cached && now.getTime() - cached.at < keyCacheMs) return cached.records;
    return read(now);
  }

  /**
   * Reads the keys again for a token naming a key not in the cache. Made-up kids must not turn
   * every request into a store read, so reads are spaced `unknownKeyReloadMs` apart; a caller
   * waits for the next read instead of being refused, and joins it if it is already scheduled
   * (a scheduled read has not started, so it sees every key committed before the caller came).
   */
  function reloadForUnknownKey(now: Date): Promise<SigningKeyRecord[]> {
    if (pendingReload) return pendingReload;
    const wait = Math.max(0, lastReloadAt + unknownKeyReloadMs - performance.now());
    const reload = (async () => {
      await delay(wait);
      pendingReload = undefined;
      lastReloadAt = performance.now();
      return read(now);
    })();
    pendingReload = reload;
    return reload;
  }

  /** Keys that may verify at `now`: the unretired ones, and retired ones within their grace. */
  const verifying = (records: SigningKeyRecord[], now: Date) =>
    records.filter((k) => k.retiredAt === null || now.getTime() - k.retiredAt.getTime() < graceMs);

  async function createKey(now: Date, repository: SigningKeyRepository): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJwk = await exportJWK(privateKey);
    await repository.insert({
      kid,
      algorithm: 'EdDSA',
      publicJwk: { ...publicJwk, kid, alg: 'EdDSA', use: 'sig' },
      privateJwkSealed: await secrets.seal(JSON.stringify(privateJwk), keyContext(kid)),
      createdAt: now,
      retiredAt: null,
    });
    await repository.retireAllExcept(kid, now);
    cached = undefined;
    return kid;
  }

  async function currentSigningKey(now: Date) {
    let current = (await loadKeys(now)).find((k) => k.retiredAt === null);
    current ??= (await read(now)).find((k) => k.retiredAt === null);
    if (!current) throw new DomainError('key_unavailable', 'No signing key; run `stint migrate` or start the API once');
    const privateJwk = JSON.parse(await secrets.open(current.privateJwkSealed, keyContext(current.kid))) as JWK;
    return { kid: current.kid, key: await importJWK(privateJwk, 'EdDSA') };
  }

  async function sign(payload: JWTPayload, type: string, audience: string, subject: string, expiresAt: Date, now: Date) {
    const { kid, key } = await currentSigningKey(now);
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: type })
      .setIssuer(settings.issuer)
      .setAudience(audience)
      .setSubject(subject)
      .setIssuedAt(Math.floor(now.getTime() / 1000))
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .setJti(random.id())
      .sign(key);
  }

  async function verify(token: string, type: string, audience: string, now: Date) {
    const attempt = async (records: SigningKeyRecord[]) => {
      const jwks = createLocalJWKSet({ keys: verifying(records, now).map((k) => k.publicJwk as JWK) });
      return jwtVerify(token, jwks, {
        algorithms: ['EdDSA'],
        issuer: settings.issuer,
        audience,
        typ: type,
        currentDate: now,
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
      });
    };
    try {
      try {
        return (await attempt(await loadKeys(now))).payload;
      } catch (error) {
        // Perhaps a key created by another process since the cache was filled.
        if ((error as { code?: string }).code === 'ERR_JWKS_NO_MATCHING_KEY')
          return (await attempt(await reloadForUnknownKey(now))).payload;
        throw error;
      }
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ERR_JWT_EXPIRED') throw new DomainError('token_invalid', 'The token has expired');
      throw new DomainError('token_invalid', 'The token is not valid');
    }
  }

  return {
    async issueAccessToken(claims, now) {
      return sign({ sid: claims.sessionId }, accessType, settings.audience, claims.technicianId, claims.expiresAt, now);
    },

    async verifyAccessToken(token, now): Promise<AccessClaims> {
      const payload = await verify(token, accessType, settings.audience, now);
      if (typeof payload.sid !== 'string' || typeof payload.sub !== 'string' || typeof payload.exp !== 'number') {
        throw new DomainError('token_invalid', 'The token is not valid');
      }
      return { technicianId: payload.sub, sessionId: payload.sid, expiresAt: new Date(payload.exp * 1000) };
    },

    async issueMfaChallenge(claims, now) {
      return sign({ stage: 'mfa' }, mfaType, `${settings.audience}:mfa`, claims.technicianId, claims.expiresAt, now);
    },

    async verifyMfaChallenge(token, now): Promise<MfaChallengeClaims> {
      const payload = await verify(token, mfaType, `${settings.audience}:mfa`, now);
      if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') {
        throw new DomainError('token_invalid', 'The token is not valid');
      }
      return { technicianId: payload.sub, expiresAt: new Date(payload.exp * 1000) };
    },

    async jwks(now) {
      return { keys: verifying(await loadKeys(now), now).map((k) => k.publicJwk) };
    },

    rotate: (now, repository) => createKey(now, repository),
  };
}
