// Envelope encryption of secrets at rest. Each value is a compact JWE: a fresh content key
// encrypts the value (A256GCM) and the master key wraps the content key (A256KW). The protected
// header names the master key (`kid`) and the value's context, so a sealed value copied to
// another row or column fails to open. Keys are 32 random bytes, given base64-encoded.
import { createHash } from 'node:crypto';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import { DomainError } from '../../domain/errors.ts';
import type { SecretBox } from '../../services/ports/crypto.ts';

export interface MasterKey {
  id: string;
  key: Uint8Array;
}

export function masterKeyId(key: Uint8Array): string {
  return 'mk-' + createHash('sha256').update(key).digest('base64url').slice(0, 12);
}

// Buffer.from(…, 'base64') skips characters that are not base64, so a mangled key would decode to
// some other key instead of being refused.
const base64Text = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Errors never repeat the key. */
export function parseMasterKey(encoded: string): MasterKey {
  const text = encoded.trim();
  if (!base64Text.test(text)) throw new Error('a master key must be 32 bytes, base64-encoded; this one is not base64 text');
  const key = Buffer.from(text, 'base64');
  if (key.length !== 32) throw new Error('a master key must be 32 bytes, base64-encoded');
  return { id: masterKeyId(key), key: new Uint8Array(key) };
}

export function createSecretBox(current: MasterKey, previous: readonly MasterKey[] = []): SecretBox {
  const keys = new Map<string, Uint8Array>([...previous, current].map((k) => [k.id, k.key]));
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  return {
    async seal(plaintext, context) {
      return new CompactEncrypt(encoder.encode(plaintext))
        .setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM', kid: current.id, ctx: context })
        .encrypt(current.key);
    },

    async open(sealed, context) {
      let header: ReturnType<typeof decodeProtectedHeader>;
      try {
        header = decodeProtectedHeader(sealed);
      } catch {
        throw new DomainError('key_unavailable', 'A stored secret is malformed');
      }
      const key = typeof header.kid === 'string' ? keys.get(header.kid) : undefined;
      if (!key) {
        const named = typeof header.kid === 'string' && /^mk-[A-Za-z0-9_-]{12}$/.test(header.kid) ? ` (${header.kid})` : '';
        throw new DomainError('key_unavailable', `A stored secret was sealed under an unknown master key${named}`);
      }
      if (header.ctx !== context) throw new DomainError('key_unavailable', 'A stored secret belongs to another record');
      let plaintext: Uint8Array;
      try {
        ({ plaintext } = await compactDecrypt(sealed, key, {
          keyManagementAlgorithms: ['A256KW'],
          contentEncryptionAlgorithms: ['A256GCM'],
        }));
      } catch {
        // Whatever jose found (a changed tag, a bad wrap, a malformed part), the answer is the same
        // and holds neither the key nor the value.
        throw new DomainError('key_unavailable', 'A stored secret cannot be opened: it was altered, or sealed under another key');
      }
      return decoder.decode(plaintext);
    },

    isStale(sealed) {
      try {
        return decodeProtectedHeader(sealed).kid !== current.id;
      } catch {
        return true;
      }
    },

    currentKeyId: () => current.id,
  };
}
