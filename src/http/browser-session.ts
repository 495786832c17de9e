// The web UI's session (docs/security-model.md, The web UI: cookies, CSRF, CSP): the same access and refresh tokens Bearer clients get, carried in
// HttpOnly, SameSite=Strict cookies (Secure over TLS) instead of the page's JavaScript. A request
// that rides on the cookie and changes state must also send the session's CSRF token in a header,
// which only a page of this origin can read (from a non-HttpOnly cookie) and set; a cross-site
// form post can do neither, and is refused before anything happens.
import type { Request } from 'express';
import type { CsrfTokens } from './csrf-tokens.ts';
import { DomainError } from '../domain/errors.ts';

export const cookieNames = { access: 'stint_session', refresh: 'stint_refresh', csrf: 'stint_csrf' } as const;
export const csrfHeader = 'x-csrf-token';
/** The refresh cookie is sent only to the auth routes that use it. */
const refreshPath = '/api/v1/auth';

/** A cookie to set (value) or clear (value null); always SameSite=Strict, Secure when the request came over TLS. */
export interface CookieInstruction {
  name: string;
  value: string | null;
  httpOnly: boolean;
  path: string;
}

export function readCookie(req: Request, name: string): string | null {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** Session cookies (no Max-Age: they end with the browser; the tokens inside expire on their own). */
export function sessionCookies(
  tokens: { accessToken: string; refreshToken: string; sessionId: string },
  csrf: CsrfTokens,
): CookieInstruction[] {
  return [
    { name: cookieNames.access, value: tokens.accessToken, httpOnly: true, path: '/' },
    { name: cookieNames.refresh, value: tokens.refreshToken, httpOnly: true, path: refreshPath },
    { name: cookieNames.csrf, value: csrf.tokenFor(tokens.sessionId), httpOnly: false, path: '/' },
  ];
}

export const clearedCookies: CookieInstruction[] = [
  { name: cookieNames.access, value: null, httpOnly: true, path: '/' },
  { name: cookieNames.refresh, value: null, httpOnly: true, path: refreshPath },
  { name: cookieNames.csrf, value: null, httpOnly: false, path: '/' },
];

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses a state-changing, cookie-borne request unless it comes from this origin and carries the
 * session's CSRF token. Fetch metadata and Origin are checked too, where the browser sends them.
 */
export function assertSameOriginRequest(req: Request, sessionId: string, csrf: CsrfTokens, publicUrl: string | undefined): void {
  if (safeMethods.has(req.method)) return;
  const refuse = (why: string) => new DomainError('csrf_failed', `Refused: ${why}. Use the Stint web pages, or an API token.`);
  const site = req.get('sec-fetch-site');
  if (site && site !== 'same-origin') throw refuse(`a ${site} request`);
  const origin = req.get('origin');
  // Behind a proxy that rewrites Host, server.publicUrl names the origin the browser sees.
  const own = publicUrl ? new URL(publicUrl).origin : `${req.protocol}://${req.get('host')}`;
  if (origin && origin !== own) throw refuse('a request from another origin');
  const presented = req.get(csrfHeader);
  if (!presented || !csrf.matches(sessionId, presented)) throw refuse('the CSRF token is missing or wrong');
}
