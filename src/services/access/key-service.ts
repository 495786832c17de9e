// Key management: master-key rotation (re-seal every secret at rest under the current master key)
// and signing-key rotation.
import { auditOrigin, systemContext, type RequestContext } from '../context.ts';
import { totpSecretContext } from './mfa-service.ts';
import type { Clock } from '../ports/runtime.ts';
import type { SecretBox } from '../ports/crypto.ts';
import type { SigningKeyRepository } from '../ports/audit.ts';
import type { Store } from '../ports/store.ts';
import type { TokenService } from '../ports/identity.ts';
import { bindPasswordContext } from '../tenants/index.ts';

export type KeyService = ReturnType<typeof createKeyService>;

export function createKeyService(deps: { store: Store; clock: Clock; secrets: SecretBox; tokens: TokenService }) {
  const { store, clock, secrets } = deps;
  const signingKeyContext = (kid: string) => `signing-key:${kid}`;
  // The sealing context the audit signer uses (src/adapters/crypto/audit-signer.ts).
  const auditKeyContext = (kid: string) => `audit-signing-key:${kid}`;

  return {
    /**
     * Creates the first signing key when there is none (first start). Processes starting together
     * may each add one; each does so in one transaction, so none retires the other's last key.
     */
    async ensureSigningKey(): Promise<void> {
      const hasCurrent = async (keys: SigningKeyRepository) => (await keys.list()).some((k) => k.retiredAt === null);
      if (await hasCurrent(store.signingKeys)) return;
      await store.transaction(async (tx) => {
        if (!(await hasCurrent(tx.signingKeys))) await deps.tokens.rotate(clock.now(), tx.signingKeys);
      });
    },

    /** The new key and its audit event land together or not at all: no rotation goes unaudited. */
    async rotateSigningKey(actor: string, ctx: RequestContext = systemContext): Promise<string> {
      const now = clock.now();
      return store.transaction(async (tx) => {
        const kid = await deps.tokens.rotate(now, tx.signingKeys);
        await tx.audit.append({ actor, action: 'keys.signing_rotated', target: kid, details: { kid }, ...auditOrigin(ctx) }, now);
        return kid;
      });
    },

    /**
     * Re-seals every secret that is not yet under the current master key (the old key must still
     * be configured as a previous key). All or nothing, in one transaction.
     */
    async rotateMasterKey(actor: string, ctx: RequestContext = systemContext) {
      const now = clock.now();
      return store.transaction(async (tx) => {
        const counts = { tenantBindPasswords: 0, totpSecrets: 0, signingKeys: 0, auditSigningKeys: 0 };
        for (const { id, sealed } of await tx.tenants.listSealedBindPasswords()) {
          if (!secrets.isStale(sealed)) continue;
          const plain = await secrets.open(sealed, bindPasswordContext(id));
          await tx.tenants.replaceSealedBindPassword(id, await secrets.seal(plain, bindPasswordContext(id)));
          counts.tenantBindPasswords++;
        }
        for (const { id, sealed } of await tx.technicians.listSealedTotpSecrets()) {
          if (!secrets.isStale(sealed)) continue;
          const plain = await secrets.open(sealed, totpSecretContext(id));
          await tx.technicians.replaceSealedTotpSecret(id, await secrets.seal(plain, totpSecretContext(id)));
          counts.totpSecrets++;
        }
        for (const key of await tx.signingKeys.list()) {
          if (!secrets.isStale(key.privateJwkSealed)) continue;
          const plain = await secrets.open(key.privateJwkSealed, signingKeyContext(key.kid));
          await tx.signingKeys.replaceSealedPrivateKey(key.kid, await secrets.seal(plain, signingKeyContext(key.kid)));
          counts.signingKeys++;
        }
        for (const key of await tx.auditKeys.list()) {
          if (!secrets.isStale(key.privateJwkSealed)) continue;
          const plain = await secrets.open(key.privateJwkSealed, auditKeyContext(key.kid));
          await tx.auditKeys.replaceSealedPrivateKey(key.kid, await secrets.seal(plain, auditKeyContext(key.kid)));
          counts.auditSigningKeys++;
        }
        await tx.audit.append(
          { actor, action: 'keys.master_rotated', details: { masterKeyId: secrets.currentKeyId(), ...counts }, ...auditOrigin(ctx) },
          now,
        );
        return { masterKeyId: secrets.currentKeyId(), ...counts };
      });
    },
  };
}
