// Secrets, password hashes and TOTP for unit tests. TOTP is the real engine (otplib; pure, no
// server), so codes made with totpCodeAt match as an authenticator app's would. SecretBox and
// PasswordHasher are fakes: readable, instant, and they keep the contracts a use case relies on
// (a value opens only under the context it was sealed for; a hash verifies only its password).
import { createHash } from 'node:crypto';
import { createTotpEngine, totpCodeAt } from '../../../src/adapters/crypto/totp.ts';
import { DomainError } from '../../../src/domain/errors.ts';
import type { PasswordHasher, SecretBox, TotpEngine } from '../../../src/services/ports/crypto.ts';
import type { RandomSource } from '../../../src/services/ports/runtime.ts';

export { totpCodeAt };

export interface FakeSecretBox extends SecretBox {
  /** Seals under a new key id from now on; values sealed before become stale. */
  rotate(keyId: string): void;
}

/** `sealed:<keyId>:<base64url of { context, plaintext }>`; opening under another context fails as the real box does. */
export function fakeSecretBox(keyId = 'key-1'): FakeSecretBox {
  let current = keyId;
  return {
    async seal(plaintext, context) {
      return `sealed:${current}:${Buffer.from(JSON.stringify({ context, plaintext })).toString('base64url')}`;
    },
    async open(sealed, context) {
      const match = /^sealed:([^:]+):(.+)$/.exec(sealed);
      const body = match ? (JSON.parse(Buffer.from(match[2]!, 'base64url').toString()) as { context: string; plaintext: string }) : null;
      if (!body || body.context !== context) throw new DomainError('key_unavailable', 'The sealed value cannot be opened');
      return body.plaintext;
    },
    isStale: (sealed) => !sealed.startsWith(`sealed:${current}:`),
    currentKeyId: () => current,
    rotate(next) {
      current = next;
    },
  };
}

export interface FakePasswordHasher extends PasswordHasher {
  /** How many dummy verifications ran (unknown users must cost one). */
  readonly dummyVerifications: number;
}

/** `fake-hash$<sha256>`: instant, where argon2id takes tens of milliseconds a hash. */
export function fakePasswordHasher(): FakePasswordHasher {
  const digest = (password: string) => `fake-hash$${createHash('sha256').update(password).digest('hex')}`;
  let dummies = 0;
  return {
    hash: async (password) => digest(password),
    verify: async (stored, password) => stored === digest(password),
    async verifyDummy() {
      dummies++;
    },
    get dummyVerifications() {
      return dummies;
    },
  };
}

/** The real TOTP engine (otplib) drawing its secrets from `random`. */
export const totpEngine = (random: RandomSource): TotpEngine => createTotpEngine(random);
