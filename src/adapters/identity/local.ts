// The `local` identity source: argon2id hashes kept in the store (the embedded default).
import type { IdentitySource } from '../../services/ports/identity.ts';
import type { PasswordHasher } from '../../services/ports/crypto.ts';

export function createLocalIdentitySource(hasher: PasswordHasher): IdentitySource {
  return {
    kind: 'local',
    async verifyPassword(technician, password) {
      if (technician.passwordHash === null) {
        await hasher.verifyDummy(password);
        return false;
      }
      return hasher.verify(technician.passwordHash, password);
    },
  };
}
