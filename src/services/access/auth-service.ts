// Login (docs/security-model.md, Login, TOTP and sessions): password against the technician's identity source, then TOTP (enrolling on first
// login), then a session of short access tokens and rotating refresh tokens.
import { createHash, timingSafeEqual } from 'node:crypto';
import { DomainError } from '../../domain/errors.ts';
import { accessTokenExpiry, refreshVerdict, type SessionPolicy } from '../../domain/session.ts';
import type { IdentitySourceKind } from '../../domain/technician.ts';
import { auditOrigin, type RequestContext } from '../context.ts';
import { totpSecretContext, type MfaService } from './mfa-service.ts';
import type { Clock, RandomSource } from '../ports/runtime.ts';
import type { IdentitySource, TokenService } from '../ports/identity.ts';
import type { PasswordHasher, SecretBox, TotpEngine } from '../ports/crypto.ts';
import type { SessionRecord, TechnicianRecord } from '../ports/technicians.ts';
import type { Store } from '../ports/store.ts';

export interface AuthServiceDeps {
  store: Store;
  clock: Clock;
  hasher: PasswordHasher;
  identitySources: Partial<Record<IdentitySourceKind, IdentitySource>>;
  mfa: MfaService;
  totp: TotpEngine;
  secrets: SecretBox;
  tokens: TokenService;
  random: RandomSource;
  sessionPolicy: SessionPolicy;
  mfaChallengeTtlMs: number;
  totpIssuer: string;
}

export interface LoginResult {
  mfaToken: string;
  next: 'enrol' | 'verify';
  expiresAt: Date;
}

export interface Enrolment {
  otpauthUri: string;
  secret: string;
  qrCodeSvg: string;
}

export interface SessionTokens {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  technicianId: string;
  sessionId: string;
}

export interface Principal {
  technician: TechnicianRecord;
  sessionId: string;
}

const invalidCredentials = () => new DomainError('invalid_credentials', 'The username or password is not correct');

const hashRefreshSecret = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

export type AuthService = ReturnType<typeof createAuthService>;

export function createAuthService(deps: AuthServiceDeps) {
  const { store, clock, tokens, random, sessionPolicy } = deps;

  async function loginFailed(username: string, technicianId: string | null, reason: string, ctx: RequestContext): Promise<never> {
    const now = clock.now();
    await store.transaction((tx) =>
      tx.audit.append(
        {
          actor: technicianId ?? 'anonymous',
          action: 'auth.login.failed',
          target: technicianId,
          details: { username, reason },
          ...auditOrigin(ctx),
        },
        now,
      ),
    );
    throw invalidCredentials();
  }

  /** The technician behind an MFA challenge token, who must still be active. */
  async function challengedTechnician(mfaToken: string): Promise<TechnicianRecord> {
    const claims = await tokens.verifyMfaChallenge(mfaToken, clock.now());
    const technician = await store.technicians.findById(claims.technicianId);
    if (!technician || technician.status !== 'active') throw new DomainError('token_invalid', 'The token is not valid');
    return technician;
  }

  async function newSession(technicianId: string, ctx: RequestContext, now: Date) {
    const secret = random.bytes(32).toString('base64url');
    const session: SessionRecord = {
      id: random.id(),
      technicianId,
      refreshHash: hashRefreshSecret(secret),
      createdAt: now,
      lastRefreshedAt: now,
      revokedAt: null,
      sourceIp: ctx.sourceIp,
      userAgent: ctx.userAgent?.slice(0, 256) ?? null,
    };
    return { session, refreshToken: `${session.id}.${secret}` };
  }

  async function tokensFor(session: SessionRecord, refreshToken: string, now: Date): Promise<SessionTokens> {
    const expiresAt = accessTokenExpiry(session, now, sessionPolicy);
    const accessToken = await tokens.issueAccessToken({ technicianId: session.technicianId, sessionId: session.id, expiresAt }, now);
    return { accessToken, accessTokenExpiresAt: expiresAt, refreshToken, technicianId: session.technicianId, sessionId: session.id };
  }

  return {
    async login(rawUsername: string, password: string, ctx: RequestContext): Promise<LoginResult> {
      const username = rawUsername.trim().toLowerCase();
      const technician = await store.technicians.findByUsername(username);
      if (!technician) {
        await deps.hasher.verifyDummy(password);
        return loginFailed(username, null, 'unknown_user', ctx);
      }
      const source = deps.identitySources[technician.identitySource];
      if (!source) return loginFailed(username, technician.id, 'identity_source_not_configured', ctx);
      let passwordOk: boolean;
      try {
        passwordOk = await source.verifyPassword(technician, password);
      } catch (error) {
        if (error instanceof DomainError && error.code.startsWith('directory_')) {
          throw new DomainError('identity_source_unavailable', 'The identity directory cannot be reached; try again shortly');
        }
        throw error;
      }
      if (!passwordOk) return loginFailed(username, technician.id, 'bad_password', ctx);
      // Same answer as a wrong password: a suspended technician learns nothing new.
      if (technician.status !== 'active') return loginFailed(username, technician.id, 'suspended', ctx);

      const now = clock.now();
      const expiresAt = new Date(now.getTime() + deps.mfaChallengeTtlMs);
      await store.transaction((tx) =>
        tx.audit.append(
          {
            actor: technician.id,
            action: 'auth.login.succeeded',
            target: technician.id,
            details: { stage: 'password', identitySource: technician.identitySource },
            ...auditOrigin(ctx),
          },
          now,
        ),
      );
      const mfaToken = await tokens.issueMfaChallenge({ technicianId: technician.id, expiresAt }, now);
      return { mfaToken, next: technician.totpConfirmedAt === null ? 'enrol' : 'verify', expiresAt };
    },

    /** First login, or after an admin reset: a new secret, shown once as an otpauth URI and QR code. */
    async startEnrolment(mfaToken: string, ctx: RequestContext): Promise<Enrolment> {
      const technician = await challengedTechnician(mfaToken);
      if (technician.totpConfirmedAt !== null) {
        throw new DomainError('mfa_already_enrolled', 'An authenticator is already enrolled; an admin must reset it first');
      }
      const secret = deps.totp.generateSecret();
      const sealed = await deps.secrets.seal(secret, totpSecretContext(technician.id));
      const now = clock.now();
      await store.transaction(async (tx) => {
        // Conditional: an enrolment confirmed since the check above is never overwritten.
        if (!(await tx.technicians.setPendingTotpSecret(technician.id, sealed, now))) {
          throw new DomainError('mfa_already_enrolled', 'An authenticator is already enrolled; an admin must reset it first');
        }
        await tx.audit.append(
          { actor: technician.id, action: 'mfa.enrolment.started', target: technician.id, details: {}, ...auditOrigin(ctx) },
          now,
        );
      });
      const otpauthUri = deps.totp.keyUri(secret, technician.username, deps.totpIssuer);
      return { otpauthUri, secret, qrCodeSvg: await deps.totp.qrCodeSvg(otpauthUri) };
    },

    /** The second factor; the first accepted code also confirms a pending enrolment. */
    async verifyMfa(mfaToken: string, code: string, ctx: RequestContext): Promise<SessionTokens> {
      const technician = await challengedTechnician(mfaToken);
      const { session, refreshToken } = await newSession(technician.id, ctx, clock.now());
      await deps.mfa.verifyFreshCode(technician, code, 'login', ctx, async (tx, at) => {
        session.createdAt = at;
        session.lastRefreshedAt = at;
        await tx.sessions.insert(session);
      });
      return tokensFor(session, refreshToken, clock.now());
    },

    async refresh(refreshToken: string, ctx: RequestContext): Promise<SessionTokens> {
      const [sessionId, secret, extra] = refreshToken.split('.');
      if (!sessionId || !secret || extra !== undefined) throw new DomainError('token_invalid', 'The refresh token is not valid');
      const session = await store.sessions.findById(sessionId);
      if (!session) throw new DomainError('token_invalid', 'The refresh token is not valid');
      const now = clock.now();
      const presented = hashRefreshSecret(secret);
      if (!sameHash(presented, session.refreshHash)) {
        // An old refresh token came back: someone holds a copy. End the session for everyone.
        if (session.revokedAt === null) {
          await store.transaction(async (tx) => {
            await tx.sessions.revoke(session.id, now);
            await tx.audit.append(
              { actor: session.technicianId, action: 'auth.refresh_reuse_detected', target: session.id, details: {}, ...auditOrigin(ctx) },
              now,
            );
          });
        }
        throw new DomainError('session_ended', 'The session has ended; log in again');
      }
      const verdict = refreshVerdict(session, now, sessionPolicy);
      if (verdict !== 'live') throw new DomainError('session_ended', 'The session has ended; log in again', { reason: verdict });
      const technician = await store.technicians.findById(session.technicianId);
      if (!technician || technician.status !== 'active') throw new DomainError('session_ended', 'The session has ended; log in again');

      const nextSecret = random.bytes(32).toString('base64url');
      if (!(await store.sessions.rotateRefresh(session.id, presented, hashRefreshSecret(nextSecret), now))) {
        throw new DomainError('session_ended', 'The session has ended; log in again');
      }
      return tokensFor({ ...session, lastRefreshedAt: now }, `${session.id}.${nextSecret}`, now);
    },

    async logout(principal: Principal, ctx: RequestContext): Promise<void> {
      const now = clock.now();
      await store.transaction(async (tx) => {
        await tx.sessions.revoke(principal.sessionId, now);
        await tx.audit.append(
          { actor: principal.technician.id, action: 'auth.logout', target: principal.sessionId, details: {}, ...auditOrigin(ctx) },
          now,
        );
      });
    },

    /** Every API call: a valid access token of a live session of an active technician. */
    async authenticate(accessToken: string): Promise<Principal> {
      const now = clock.now();
      const claims = await tokens.verifyAccessToken(accessToken, now);
      const session = await store.sessions.findById(claims.sessionId);
      if (!session || session.technicianId !== claims.technicianId || refreshVerdict(session, now, sessionPolicy) === 'revoked') {
        throw new DomainError('session_ended', 'The session has ended; log in again');
      }
      const technician = await store.technicians.findById(claims.technicianId);
      if (!technician || technician.status !== 'active') throw new DomainError('session_ended', 'The session has ended; log in again');
      return { technician, sessionId: session.id };
    },
  };
}
