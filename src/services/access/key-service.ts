// Key management: master-key rotation (re-seal every secret at rest under the current master key)
// and signing-key rotation.
import { auditOrigin, systemContext, type RequestContext } from '../context.ts';
import { totpSecretContext } from './mfa-service.ts';
import type { Clock } from '../ports/runtime.ts';
import type { SecretBox } from '../ports/crypto.ts';
import type { SigningKeyRepository } from '../ports/audit.ts';
import type { Store, StoreRepositories } from '../ports/store.ts';
import type { TokenService } from '../ports/identity.ts';
import { bindPasswordContext } from '../tenants/index.ts';

export interface KeyServiceDeps {
  store: Pick<Store, 'signingKeys' | 'transaction'>;
  clock: Clock;
  secrets: SecretBox;
  tokens: TokenService;
}

/** How many secrets of each kind a master-key rotation sealed again. */
export interface MasterKeyRotation {
  masterKeyId: string;
  tenantBindPasswords: number;
  totpSecrets: number;
  signingKeys: number;
  auditSigningKeys: number;
}

/** Rotating the master key and the token signing keys. */
export interface KeyService {
  /**
   * Creates the first signing key when there is none (first start). Processes starting together
   * may each add one; each does so in one transaction, so none retires the other's last key.
   */
  ensureSigningKey(): Promise<void>;
  /** The new key and its audit event land together or not at all: no rotation goes unaudited. Answers the new kid. */
  rotateSigningKey(actor: string, ctx?: RequestContext): Promise<string>;
  /**
   * Re-seals every secret that is not yet under the current master key (the old key must still
   * be configured as a previous key). All or nothing, in one transaction.
   */
  rotateMasterKey(actor: string, ctx?: RequestContext): Promise<MasterKeyRotation>;
}

export function createKeyService(deps: KeyServiceDeps): KeyService {
  return {
    ensureSigningKey: () => ensureSigningKey(deps),
    rotateSigningKey: (actor, ctx = systemContext) => rotateSigningKey(deps, actor, ctx),
    rotateMasterKey: (actor, ctx = systemContext) => rotateMasterKey(deps, actor, ctx),
  };
}

const signingKeyContext = (kid: string) => `signing-key:${kid}`;
// The sealing context the audit signer uses (src/adapters/crypto/audit-signer.ts).
const auditKeyContext = (kid: string) => `audit-signing-key:${kid}`;

async function ensureSigningKey(deps: KeyServiceDeps): Promise<void> {
  const hasCurrent = async (keys: SigningKeyRepository) => (await keys.list()).some((k) => k.retiredAt === null);
  if (await hasCurrent(deps.store.signingKeys)) return;
  await deps.store.transaction(async (tx) => {
    if (!(await hasCurrent(tx.signingKeys))) await deps.tokens.rotate(deps.clock.now(), tx.signingKeys);
  });
}

async function rotateSigningKey(deps: KeyServiceDeps, actor: string, ctx: RequestContext): Promise<string> {
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const kid = await deps.tokens.rotate(now, tx.signingKeys);
    await tx.audit.append({ actor, action: 'keys.signing_rotated', target: kid, details: { kid }, ...auditOrigin(ctx) }, now);
    return kid;
  });
}

/** Seals again, under the current master key, each of `items` that is under an older one; answers how many. */
async function resealStale(
  secrets: SecretBox,
  items: ReadonlyArray<{ id: string; sealed: string }>,
  context: (id: string) => string,
  replace: (id: string, sealed: string) => Promise<void>,
): Promise<number> {
  let count = 0;
  for (const { id, sealed } of items) {
    if (!secrets.isStale(sealed)) continue;
    const plain = await secrets.open(sealed, context(id));
    await replace(id, await secrets.seal(plain, context(id)));
    count++;
  }
  return count;
}

async function resealAll(secrets: SecretBox, tx: StoreRepositories): Promise<Omit<MasterKeyRotation, 'masterKeyId'>> {
  const keysOf = async (keys: SigningKeyRepository) => (await keys.list()).map((k) => ({ id: k.kid, sealed: k.privateJwkSealed }));
  const tenantBindPasswords = await resealStale(secrets, await tx.tenants.listSealedBindPasswords(), bindPasswordContext, (id, sealed) =>
    tx.tenants.replaceSealedBindPassword(id, sealed),
  );
  const totpSecrets = await resealStale(secrets, await tx.technicians.listSealedTotpSecrets(), totpSecretContext, (id, sealed) =>
    tx.technicians.replaceSealedTotpSecret(id, sealed),
  );
  const signingKeys = await resealStale(secrets, await keysOf(tx.signingKeys), signingKeyContext, (kid, sealed) =>
    tx.signingKeys.replaceSealedPrivateKey(kid, sealed),
  );
  const auditSigningKeys = await resealStale(secrets, await keysOf(tx.auditKeys), auditKeyContext, (kid, sealed) =>
    tx.auditKeys.replaceSealedPrivateKey(kid, sealed),
  );
  return { tenantBindPasswords, totpSecrets, signingKeys, auditSigningKeys };
}

async function rotateMasterKey(deps: KeyServiceDeps, actor: string, ctx: RequestContext): Promise<MasterKeyRotation> {
  const { secrets } = deps;
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const counts = await resealAll(secrets, tx);
    await tx.audit.append(
      { actor, action: 'keys.master_rotated', details: { masterKeyId: secrets.currentKeyId(), ...counts }, ...auditOrigin(ctx) },
      now,
    );
    return { masterKeyId: secrets.currentKeyId(), ...counts };
  });
}
