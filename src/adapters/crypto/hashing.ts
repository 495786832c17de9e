// SHA-256 and constant-time comparison for the use cases (the Hashing port).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Hashing } from '../../services/ports/crypto.ts';

export function createHashing(): Hashing {
  return {
    sha256() {
      const hash = createHash('sha256');
      return {
        update: (data) => void hash.update(data),
        hex: () => hash.digest('hex'),
      };
    },
    sha256Hex: (text) => createHash('sha256').update(text, 'utf8').digest('hex'),
    sameHex(a, b) {
      const left = Buffer.from(a, 'hex');
      const right = Buffer.from(b, 'hex');
      return left.length === right.length && timingSafeEqual(left, right);
    },
  };
}
