// Session tokens: JWTs signed with Ed25519 (EdDSA), algorithm pinned, `iss`/`aud`/`exp`/`typ`
// checked. Signing keys live in the store, private halves sealed; the newest unretired key signs,
// and retired keys keep verifying (and stay in the JWKS) for a grace period so rotation never cuts
// a live token short.
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
import type {
  AccessClaims,
  MfaChallengeClaims,
  RandomSource,
  SecretBox,
  SigningKeyRecord,
  SigningKeyRepository,
  TokenService,
} from '../../services/ports.ts';

export interface TokenSettings {
  issuer: string;
  audience: string;
  /** How long a retired key still verifies and is published. */
  retiredKeyGraceMs: number;
}

const accessType = 'at+jwt';
const mfaType = 'stint-mfa+jwt';
const keyContext = (kid: string) => `signing-key:${kid}`;

export function createTokenService(
  keys: SigningKeyRepository,
  secrets: SecretBox,
  random: RandomSource,
  settings: TokenSettings,
): TokenService {
  let cached: { at: number; records: SigningKeyRecord[] } | undefined;

  async function loadKeys(now: Date, fresh = false): Promise<SigningKeyRecord[]> {
    if (!fresh && cached && now.getTime() - cached.at < 30_000) return cached.records;
    const records = (await keys.list()).filter(
      (k) => k.retiredAt === null || now.getTime() - k.retiredAt.getTime() < settings.retiredKeyGraceMs,
    );
    cached = { at: now.getTime(), records };
    return records;
  }

  async function createKey(now: Date): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJwk = await exportJWK(privateKey);
    await keys.insert({
      kid,
      algorithm: 'EdDSA',
      publicJwk: { ...publicJwk, kid, alg: 'EdDSA', use: 'sig' },
      privateJwkSealed: await secrets.seal(JSON.stringify(privateJwk), keyContext(kid)),
      createdAt: now,
      retiredAt: null,
    });
    await keys.retireAllExcept(kid, now);
    cached = undefined;
    return kid;
  }

  async function currentSigningKey(now: Date) {
    let records = await loadKeys(now);
    let current = records.find((k) => k.retiredAt === null);
    if (!current) {
      records = await loadKeys(now, true);
      current = records.find((k) => k.retiredAt === null);
    }
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
    const attempt = async (fresh: boolean) => {
      const jwks = createLocalJWKSet({ keys: (await loadKeys(now, fresh)).map((k) => k.publicJwk as JWK) });
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
        return (await attempt(false)).payload;
      } catch (error) {
        // A key created by another replica since the cache was filled.
        if ((error as { code?: string }).code === 'ERR_JWKS_NO_MATCHING_KEY') return (await attempt(true)).payload;
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
      return { keys: (await loadKeys(now)).map((k) => k.publicJwk) };
    },

    rotate: (now) => createKey(now),
  };
}
