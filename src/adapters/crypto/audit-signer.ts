// The audit signing key: signs checkpoints of the chain head and export manifests as compact JWS
// (EdDSA, Ed25519, `kid` = the key's RFC 7638 thumbprint, `typ` naming what is signed). Its keys
// are not the token keys: they rotate on their own and are never dropped from the published set,
// so an export or checkpoint signed years ago still verifies with today's JWKS.
import {
  CompactSign,
  calculateJwkThumbprint,
  compactVerify,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from 'jose';
import { DomainError } from '../../domain/errors.ts';
import type { AuditSignatureVerifier, AuditSigner, SigningKeyRecord, SigningKeyRepository } from '../../services/ports/audit.ts';
import type { SecretBox } from '../../services/ports/crypto.ts';

const keyContext = (kid: string) => `audit-signing-key:${kid}`;

const newestFirst = (a: SigningKeyRecord, b: SigningKeyRecord) =>
  b.createdAt.getTime() - a.createdAt.getTime() || (a.kid < b.kid ? 1 : a.kid > b.kid ? -1 : 0);

export function createAuditSigner(keys: SigningKeyRepository, secrets: SecretBox): AuditSigner {
  // Private keys are opened once per kid; the list of keys is read each time (signing is rare).
  const opened = new Map<string, Awaited<ReturnType<typeof importJWK>>>();

  async function createKey(now: Date, repository: SigningKeyRepository): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    await repository.insert({
      kid,
      algorithm: 'EdDSA',
      publicJwk: { ...publicJwk, kid, alg: 'EdDSA', use: 'sig', key_ops: ['verify'] },
      privateJwkSealed: await secrets.seal(JSON.stringify(await exportJWK(privateKey)), keyContext(kid)),
      createdAt: now,
      retiredAt: null,
    });
    await repository.retireAllExcept(kid, now);
    return kid;
  }

  return {
    async sign(payload, type, now) {
      const current = (await keys.list()).sort(newestFirst).find((k) => k.retiredAt === null);
      if (!current) throw new DomainError('key_unavailable', 'No audit signing key; start the API once or run `stint keys rotate-audit`');
      let key = opened.get(current.kid);
      if (!key) {
        key = await importJWK(JSON.parse(await secrets.open(current.privateJwkSealed, keyContext(current.kid))) as JWK, 'EdDSA');
        opened.set(current.kid, key);
      }
      const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
        .setProtectedHeader({ alg: 'EdDSA', kid: current.kid, typ: type, iat: Math.floor(now.getTime() / 1000) })
        .sign(key);
      return { jws, kid: current.kid };
    },

    async jwks() {
      return { keys: (await keys.list()).sort(newestFirst).map((k) => k.publicJwk) };
    },

    async ensureKey(now, repository) {
      if (!(await repository.list()).some((k) => k.retiredAt === null)) await createKey(now, repository);
    },

    rotate: (now, repository) => createKey(now, repository),
  };
}

/** Offline: needs nothing but the published public keys. */
export function createAuditSignatureVerifier(): AuditSignatureVerifier {
  return {
    async verify(jws, type, jwks) {
      let header;
      try {
        header = decodeProtectedHeader(jws);
      } catch {
        throw new DomainError('signature_invalid', 'not a JWS', { reason: 'malformed' });
      }
      if (header.typ !== type)
        throw new DomainError('signature_invalid', `a ${String(header.typ)} where a ${type} belongs`, { reason: 'wrong_type' });
      const kid = typeof header.kid === 'string' ? header.kid : '';
      try {
        const { payload } = await compactVerify(jws, createLocalJWKSet(jwks as { keys: JWK[] }), { algorithms: ['EdDSA'] });
        return { payload: JSON.parse(new TextDecoder().decode(payload)) as unknown, kid };
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'ERR_JWKS_NO_MATCHING_KEY')
          throw new DomainError('signature_invalid', `signed by an unknown key (kid ${kid || 'none'})`, { reason: 'unknown_key', kid });
        if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED')
          throw new DomainError('signature_invalid', `the signature does not match (kid ${kid}): forged or altered`, {
            reason: 'bad_signature',
            kid,
          });
        throw new DomainError('signature_invalid', `cannot check the signature: ${(error as Error).message}`, { reason: 'malformed', kid });
      }
    },
  };
}
