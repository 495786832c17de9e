// Login (docs/security-model.md, Login, TOTP and sessions): password against the technician's identity source, then TOTP (enrolling on first
// login), then a session of short access tokens and rotating refresh tokens.
import { DomainError } from '../../domain/errors.ts';
import { accessTokenExpiry, refreshVerdict, type SessionPolicy } from '../../domain/session.ts';
import type { IdentitySourceKind } from '../../domain/technician.ts';
import { auditOrigin, type RequestContext } from '../context.ts';
import { totpSecretContext, type MfaService } from './mfa-service.ts';
import type { Clock, RandomSource } from '../ports/runtime.ts';
import type { IdentitySource, TokenService } from '../ports/identity.ts';
import type { Hashing, PasswordHasher, SecretBox, TotpEngine } from '../ports/crypto.ts';
import type { SessionRecord, TechnicianRecord } from '../ports/technicians.ts';
import type { Store } from '../ports/store.ts';

export interface AuthServiceDeps {
  store: Pick<Store, 'technicians' | 'sessions' | 'transaction'>;
  clock: Clock;
  hasher: PasswordHasher;
  /** Hashes refresh secrets (only their SHA-256 is stored) and compares them in constant time. */
  hashing: Hashing;
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

/** Login, the second factor, sessions and the check every API call makes. */
export interface AuthService {
  /** The first factor: the password against the technician's identity source; answers an MFA challenge token. */
  login(rawUsername: string, password: string, ctx: RequestContext): Promise<LoginResult>;
  /** First login, or after an admin reset: a new secret, shown once as an otpauth URI and QR code. */
  startEnrolment(mfaToken: string, ctx: RequestContext): Promise<Enrolment>;
  /** The second factor; the first accepted code also confirms a pending enrolment. Opens a session. */
  verifyMfa(mfaToken: string, code: string, ctx: RequestContext): Promise<SessionTokens>;
  /** Rotates the refresh token; an old one coming back ends the session for everyone. */
  refresh(refreshToken: string, ctx: RequestContext): Promise<SessionTokens>;
  logout(principal: Principal, ctx: RequestContext): Promise<void>;
  /** Every API call: a valid access token of a live session of an active technician. */
  authenticate(accessToken: string): Promise<Principal>;
}

export function createAuthService(deps: AuthServiceDeps): AuthService {
  return {
    login: (rawUsername, password, ctx) => login(deps, rawUsername, password, ctx),
    startEnrolment: (mfaToken, ctx) => startEnrolment(deps, mfaToken, ctx),
    verifyMfa: (mfaToken, code, ctx) => verifyMfa(deps, mfaToken, code, ctx),
    refresh: (refreshToken, ctx) => refresh(deps, refreshToken, ctx),
    logout: (principal, ctx) => logout(deps, principal, ctx),
    authenticate: (accessToken) => authenticate(deps, accessToken),
  };
}

const invalidCredentials = () => new DomainError('invalid_credentials', 'The username or password is not correct');
const sessionEnded = (details?: Record<string, unknown>) =>
  new DomainError('session_ended', 'The session has ended; log in again', details);
const alreadyEnrolled = () => new DomainError('mfa_already_enrolled', 'An authenticator is already enrolled; an admin must reset it first');

async function loginFailed(
  deps: AuthServiceDeps,
  username: string,
  technicianId: string | null,
  reason: string,
  ctx: RequestContext,
): Promise<never> {
  const now = deps.clock.now();
  await deps.store.transaction((tx) =>
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

/** The identity source's answer; a directory that cannot be reached is not a wrong password. */
async function passwordMatches(source: IdentitySource, technician: TechnicianRecord, password: string): Promise<boolean> {
  try {
    return await source.verifyPassword(technician, password);
  } catch (error) {
    if (error instanceof DomainError && error.code.startsWith('directory_')) {
      throw new DomainError('identity_source_unavailable', 'The identity directory cannot be reached; try again shortly');
    }
    throw error;
  }
}

async function login(deps: AuthServiceDeps, rawUsername: string, password: string, ctx: RequestContext): Promise<LoginResult> {
  const { store, clock } = deps;
  const username = rawUsername.trim().toLowerCase();
  const technician = await store.technicians.findByUsername(username);
  if (!technician) {
    await deps.hasher.verifyDummy(password);
    return loginFailed(deps, username, null, 'unknown_user', ctx);
  }
  const source = deps.identitySources[technician.identitySource];
  if (!source) return loginFailed(deps, username, technician.id, 'identity_source_not_configured', ctx);
  if (!(await passwordMatches(source, technician, password))) return loginFailed(deps, username, technician.id, 'bad_password', ctx);
  // Same answer as a wrong password: a suspended technician learns nothing new.
  if (technician.status !== 'active') return loginFailed(deps, username, technician.id, 'suspended', ctx);

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
  const mfaToken = await deps.tokens.issueMfaChallenge({ technicianId: technician.id, expiresAt }, now);
  return { mfaToken, next: technician.totpConfirmedAt === null ? 'enrol' : 'verify', expiresAt };
}

/** The technician behind an MFA challenge token, who must still be active. */
async function challengedTechnician(deps: AuthServiceDeps, mfaToken: string): Promise<TechnicianRecord> {
  const claims = await deps.tokens.verifyMfaChallenge(mfaToken, deps.clock.now());
  const technician = await deps.store.technicians.findById(claims.technicianId);
  if (!technician || technician.status !== 'active') throw new DomainError('token_invalid', 'The token is not valid');
  return technician;
}

async function startEnrolment(deps: AuthServiceDeps, mfaToken: string, ctx: RequestContext): Promise<Enrolment> {
  const technician = await challengedTechnician(deps, mfaToken);
  if (technician.totpConfirmedAt !== null) throw alreadyEnrolled();
  const secret = deps.totp.generateSecret();
  const sealed = await deps.secrets.seal(secret, totpSecretContext(technician.id));
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    // Conditional: an enrolment confirmed since the check above is never overwritten.
    if (!(await tx.technicians.setPendingTotpSecret(technician.id, sealed, now))) throw alreadyEnrolled();
    await tx.audit.append(
      { actor: technician.id, action: 'mfa.enrolment.started', target: technician.id, details: {}, ...auditOrigin(ctx) },
      now,
    );
  });
  const otpauthUri = deps.totp.keyUri(secret, technician.username, deps.totpIssuer);
  return { otpauthUri, secret, qrCodeSvg: await deps.totp.qrCodeSvg(otpauthUri) };
}

function newSession(deps: AuthServiceDeps, technicianId: string, ctx: RequestContext, now: Date) {
  const secret = deps.random.bytes(32).toString('base64url');
  const session: SessionRecord = {
    id: deps.random.id(),
    technicianId,
    refreshHash: deps.hashing.sha256Hex(secret),
    createdAt: now,
    lastRefreshedAt: now,
    revokedAt: null,
    sourceIp: ctx.sourceIp,
    userAgent: ctx.userAgent?.slice(0, 256) ?? null,
  };
  return { session, refreshToken: `${session.id}.${secret}` };
}

async function tokensFor(deps: AuthServiceDeps, session: SessionRecord, refreshToken: string, now: Date): Promise<SessionTokens> {
  const expiresAt = accessTokenExpiry(session, now, deps.sessionPolicy);
  const accessToken = await deps.tokens.issueAccessToken({ technicianId: session.technicianId, sessionId: session.id, expiresAt }, now);
  return { accessToken, accessTokenExpiresAt: expiresAt, refreshToken, technicianId: session.technicianId, sessionId: session.id };
}

async function verifyMfa(deps: AuthServiceDeps, mfaToken: string, code: string, ctx: RequestContext): Promise<SessionTokens> {
  const technician = await challengedTechnician(deps, mfaToken);
  const { session, refreshToken } = newSession(deps, technician.id, ctx, deps.clock.now());
  await deps.mfa.verifyFreshCode(technician, code, 'login', ctx, async (tx, at) => {
    session.createdAt = at;
    session.lastRefreshedAt = at;
    await tx.sessions.insert(session);
  });
  return tokensFor(deps, session, refreshToken, deps.clock.now());
}

/** An old refresh token came back: someone holds a copy. End the session for everyone. */
async function endReusedSession(deps: AuthServiceDeps, session: SessionRecord, now: Date, ctx: RequestContext): Promise<never> {
  if (session.revokedAt === null) {
    await deps.store.transaction(async (tx) => {
      await tx.sessions.revoke(session.id, now);
      await tx.audit.append(
        { actor: session.technicianId, action: 'auth.refresh_reuse_detected', target: session.id, details: {}, ...auditOrigin(ctx) },
        now,
      );
    });
  }
  throw sessionEnded();
}

async function refresh(deps: AuthServiceDeps, refreshToken: string, ctx: RequestContext): Promise<SessionTokens> {
  const { store, hashing } = deps;
  const [sessionId, secret, extra] = refreshToken.split('.');
  if (!sessionId || !secret || extra !== undefined) throw new DomainError('token_invalid', 'The refresh token is not valid');
  const session = await store.sessions.findById(sessionId);
  if (!session) throw new DomainError('token_invalid', 'The refresh token is not valid');
  const now = deps.clock.now();
  const presented = hashing.sha256Hex(secret);
  if (!hashing.sameHex(presented, session.refreshHash)) return endReusedSession(deps, session, now, ctx);
  const verdict = refreshVerdict(session, now, deps.sessionPolicy);
  if (verdict !== 'live') throw sessionEnded({ reason: verdict });
  const technician = await store.technicians.findById(session.technicianId);
  if (!technician || technician.status !== 'active') throw sessionEnded();

  const nextSecret = deps.random.bytes(32).toString('base64url');
  if (!(await store.sessions.rotateRefresh(session.id, presented, hashing.sha256Hex(nextSecret), now))) throw sessionEnded();
  return tokensFor(deps, { ...session, lastRefreshedAt: now }, `${session.id}.${nextSecret}`, now);
}

async function logout(deps: AuthServiceDeps, principal: Principal, ctx: RequestContext): Promise<void> {
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    await tx.sessions.revoke(principal.sessionId, now);
    await tx.audit.append(
      { actor: principal.technician.id, action: 'auth.logout', target: principal.sessionId, details: {}, ...auditOrigin(ctx) },
      now,
    );
  });
}

async function authenticate(deps: AuthServiceDeps, accessToken: string): Promise<Principal> {
  const { store } = deps;
  const now = deps.clock.now();
  const claims = await deps.tokens.verifyAccessToken(accessToken, now);
  const session = await store.sessions.findById(claims.sessionId);
  if (!session || session.technicianId !== claims.technicianId || refreshVerdict(session, now, deps.sessionPolicy) === 'revoked') {
    throw sessionEnded();
  }
  const technician = await store.technicians.findById(claims.technicianId);
  if (!technician || technician.status !== 'active') throw sessionEnded();
  return { technician, sessionId: session.id };
}
