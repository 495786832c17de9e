// CSRF tokens for the web UI's cookie session: an HMAC of the session id under a key derived from
// the master key, so a token is bound to one session (a cookie planted by a sibling site cannot
// carry a matching token) and every API replica computes the same one without storing it.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { MasterKey } from './secret-box.ts';

// The shape matches src/http/csrf-tokens.ts (the web UI's port); adapters do not import the HTTP layer.
export function createCsrfTokens(masterKey: MasterKey) {
  const key = Buffer.from(hkdfSync('sha256', masterKey.key, new Uint8Array(0), 'stint web-ui csrf v1', 32));
  const tokenFor = (sessionId: string) => createHmac('sha256', key).update(sessionId).digest('base64url');
  return {
    tokenFor,
    matches(sessionId: string, presented: string): boolean {
      const want = Buffer.from(tokenFor(sessionId));
      const got = Buffer.from(presented);
      return got.length === want.length && timingSafeEqual(got, want);
    },
  };
}
