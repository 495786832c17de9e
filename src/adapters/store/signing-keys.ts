import type { Kysely } from 'kysely';
import type { SigningKeyRepository } from '../../services/ports/audit.ts';
import type { Database } from './schema.ts';

/** Token keys (`signing_keys`) and audit keys (`audit_signing_keys`) share one shape. */
export function signingKeyRepository(
  db: Kysely<Database>,
  table: 'signing_keys' | 'audit_signing_keys' = 'signing_keys',
): SigningKeyRepository {
  return {
    async insert(k) {
      await db
        .insertInto(table)
        .values({
          kid: k.kid,
          algorithm: k.algorithm,
          public_jwk: JSON.stringify(k.publicJwk),
          private_jwk_sealed: k.privateJwkSealed,
          created_at: k.createdAt.getTime(),
          retired_at: k.retiredAt?.getTime() ?? null,
        })
        .execute();
    },

    async list() {
      const rows = await db.selectFrom(table).selectAll().orderBy('created_at', 'desc').execute();
      return rows.map((r) => ({
        kid: r.kid,
        algorithm: 'EdDSA' as const,
        publicJwk: JSON.parse(r.public_jwk) as Record<string, unknown>,
        privateJwkSealed: r.private_jwk_sealed,
        createdAt: new Date(r.created_at),
        retiredAt: r.retired_at === null ? null : new Date(r.retired_at),
      }));
    },

    async retireAllExcept(kid, at) {
      await db.updateTable(table).set({ retired_at: at.getTime() }).where('kid', '!=', kid).where('retired_at', 'is', null).execute();
    },

    async replaceSealedPrivateKey(kid, sealed) {
      await db.updateTable(table).set({ private_jwk_sealed: sealed }).where('kid', '=', kid).execute();
    },
  };
}
