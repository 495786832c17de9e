// argon2id password hashes (PHC strings) through @node-rs/argon2, OWASP's minimum parameters.
import { hash, verify } from '@node-rs/argon2';
import type { PasswordHasher } from '../../services/ports/crypto.ts';

const options = { algorithm: 2 /* Argon2id */, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function createPasswordHasher(): PasswordHasher {
  let dummyHash: Promise<string> | undefined;
  return {
    hash: (password) => hash(password, options),
    async verify(stored, password) {
      try {
        return await verify(stored, password);
      } catch {
        return false;
      }
    },
    async verifyDummy(password) {
      dummyHash ??= hash('stint-dummy-password-for-timing', options);
      await verify(await dummyHash, password).catch(() => false);
    },
  };
}
