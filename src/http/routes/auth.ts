// Login → TOTP (enrolment on first login) → session; refresh; logout; who am I.
import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { CsrfTokens } from '../csrf-tokens.ts';
import type { Services } from '../../container.ts';
import { DomainError } from '../../domain/errors.ts';
import { assertSameOriginRequest, clearedCookies, cookieNames, readCookie, sessionCookies } from '../browser-session.ts';
import { presentTechnician } from '../../services/access/index.ts';
import { defineRoute, type Route } from '../route.ts';
import { technicianView } from './technicians.ts';

const loginBody = z.strictObject({
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(1024),
});
const mfaTokenBody = z.strictObject({ mfaToken: z.string().min(1).max(4096) });
/** `cookie`: the web UI's session; the tokens go into HttpOnly cookies, not the answer. */
const sessionKind = z.enum(['bearer', 'cookie']).default('bearer');
const verifyBody = z.strictObject({ mfaToken: z.string().min(1).max(4096), code: z.string().min(1).max(16), session: sessionKind });
const refreshBody = z.strictObject({
  refreshToken: z.string().min(1).max(512).optional().describe('Bearer clients; the web UI sends none and its refresh cookie is used'),
});

const loginAnswer = z.object({
  mfaToken: z.string().describe('Short-lived; send it with the TOTP code (or to enrol)'),
  next: z.enum(['enrol', 'verify']),
  expiresAt: z.iso.datetime(),
});
const enrolmentAnswer = z.object({
  otpauthUri: z.string(),
  secret: z.string().describe('Base32; shown once, for typing into an authenticator app'),
  qrCodeSvg: z.string(),
});
const tokensAnswer = z.object({
  tokenType: z.literal('Bearer'),
  accessToken: z.string(),
  expiresAt: z.iso.datetime(),
  refreshToken: z.string(),
});
const cookieSessionAnswer = z.object({ tokenType: z.literal('Cookie'), expiresAt: z.iso.datetime() });

function presentTokens(tokens: { accessToken: string; accessTokenExpiresAt: Date; refreshToken: string }) {
  return {
    tokenType: 'Bearer' as const,
    accessToken: tokens.accessToken,
    expiresAt: tokens.accessTokenExpiresAt.toISOString(),
    refreshToken: tokens.refreshToken,
  };
}

type Tokens = Parameters<typeof presentTokens>[0] & { sessionId: string };

export function authRoutes(
  services: Services,
  limits: { login: RequestHandler; mfa: RequestHandler },
  web: { csrf: CsrfTokens; publicUrl: string | undefined },
): Route[] {
  const answer = (tokens: Tokens, kind: 'bearer' | 'cookie') =>
    kind === 'cookie'
      ? {
          status: 200,
          body: { tokenType: 'Cookie', expiresAt: tokens.accessTokenExpiresAt.toISOString() },
          cookies: sessionCookies(tokens, web.csrf),
        }
      : { status: 200, body: presentTokens(tokens) };
  return [
    defineRoute({
      method: 'post',
      path: '/api/v1/auth/login',
      summary: 'Check a username and password; answers with an MFA challenge token',
      tag: 'auth',
      auth: 'none',
      before: [limits.login],
      body: loginBody,
      responses: {
        200: { description: 'Password accepted; TOTP next', schema: loginAnswer },
        401: { description: 'Wrong username or password' },
      },
      async handler({ body, context }) {
        const result = await services.auth.login(body.username, body.password, context);
        return { status: 200, body: { ...result, expiresAt: result.expiresAt.toISOString() } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/auth/mfa/enrol',
      summary: 'Start TOTP enrolment (first login or after an admin reset): secret, otpauth URI and QR code',
      tag: 'auth',
      auth: 'none',
      before: [limits.mfa],
      body: mfaTokenBody,
      responses: {
        200: { description: 'Scan the QR code, then verify a first code', schema: enrolmentAnswer },
        409: { description: 'Already enrolled' },
      },
      async handler({ body, context }) {
        return { status: 200, body: await services.auth.startEnrolment(body.mfaToken, context) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/auth/mfa/verify',
      summary: 'Verify a TOTP code; starts a session',
      tag: 'auth',
      auth: 'none',
      before: [limits.mfa],
      body: verifyBody,
      responses: {
        200: {
          description: 'Session tokens (session: cookie — in HttpOnly cookies, with a CSRF token cookie)',
          schema: z.union([tokensAnswer, cookieSessionAnswer]),
        },
        401: { description: 'Wrong or replayed code' },
        423: { description: 'Locked after too many wrong codes' },
      },
      async handler({ body, context }) {
        return answer(await services.auth.verifyMfa(body.mfaToken, body.code, context), body.session);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/auth/refresh',
      summary: 'Exchange a refresh token for a new access token and a new refresh token',
      tag: 'auth',
      auth: 'none',
      before: [limits.mfa],
      body: refreshBody,
      responses: {
        200: { description: 'New tokens (for the web UI: new cookies)', schema: z.union([tokensAnswer, cookieSessionAnswer]) },
        401: { description: 'Session ended' },
        403: { description: 'Cookie refresh without the session’s CSRF token' },
      },
      async handler({ body, context, req }) {
        if (body.refreshToken) return answer(await services.auth.refresh(body.refreshToken, context), 'bearer');
        const fromCookie = readCookie(req, cookieNames.refresh);
        if (!fromCookie) throw new DomainError('unauthenticated', 'Send a refresh token');
        // The refresh token starts with its session's id, which the CSRF token is bound to.
        assertSameOriginRequest(req, fromCookie.split('.')[0] ?? '', web.csrf, web.publicUrl);
        return answer(await services.auth.refresh(fromCookie, context), 'cookie');
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/auth/logout',
      summary: 'End the current session',
      tag: 'auth',
      auth: 'session',
      responses: { 204: { description: 'Logged out (the web UI’s cookies cleared)' } },
      async handler({ principal, context }) {
        await services.auth.logout(principal!, context);
        return { status: 204, cookies: clearedCookies };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/me',
      summary: 'The technician behind the access token',
      tag: 'auth',
      auth: 'session',
      responses: { 200: { description: 'The caller', schema: technicianView } },
      async handler({ principal }) {
        return { status: 200, body: presentTechnician(principal!.technician) };
      },
    }),
  ];
}
