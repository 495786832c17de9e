// The ports through which use cases reach the world. Adapters implement them; only
// src/container.ts knows which adapter stands behind which port.
import type { AuditEvent, AuditEventInput, AuditAction } from '../domain/audit.ts';
import type { Role } from '../domain/roles.ts';
import type { DirectoryConnection, Tenant } from '../domain/tenant.ts';
import type { IdentitySourceKind, Technician, TechnicianStatus } from '../domain/technician.ts';

export interface Clock {
  now(): Date;
}

// ---- Store --------------------------------------------------------------------------------

export interface TechnicianRecord extends Technician {
  passwordHash: string | null;
  /** Sealed (SecretBox) TOTP secret; null when not enrolled or after an MFA reset. */
  totpSecretSealed: string | null;
  totpConfirmedAt: Date | null;
  mfaFailures: number;
  mfaLockedUntil: Date | null;
  totpLastStep: number | null;
}

export interface NewTechnician {
  id: string;
  username: string;
  displayName: string;
  email: string;
  slackUserId: string | null;
  roles: Role[];
  approverTenants: string[];
  identitySource: IdentitySourceKind;
  passwordHash: string | null;
}

export interface TechnicianPatch {
  displayName?: string;
  email?: string;
  slackUserId?: string | null;
  roles?: Role[];
  approverTenants?: string[];
  status?: TechnicianStatus;
  passwordHash?: string | null;
}

export interface TechnicianRepository {
  insert(technician: NewTechnician, at: Date): Promise<void>;
  findById(id: string): Promise<TechnicianRecord | null>;
  findByUsername(username: string): Promise<TechnicianRecord | null>;
  list(): Promise<TechnicianRecord[]>;
  update(id: string, patch: TechnicianPatch, at: Date): Promise<void>;
  countActiveAdmins(): Promise<number>;
  /** Stores a new, unconfirmed TOTP secret (enrolment started). */
  setPendingTotpSecret(id: string, sealed: string, at: Date): Promise<void>;
  /** Marks a stored secret as enrolled without a first code (the demo's pre-enrolled technician). */
  confirmTotp(id: string, at: Date): Promise<void>;
  /** Clears the TOTP enrolment (admin reset). */
  clearTotp(id: string, at: Date): Promise<void>;
  /**
   * Accepts a TOTP step atomically: succeeds only if `step` is later than the last accepted one,
   * so two concurrent requests with the same code cannot both pass. Resets the failure count and
   * confirms a pending enrolment. Returns false on replay.
   */
  acceptTotpStep(id: string, step: number, at: Date): Promise<boolean>;
  /**
   * Counts an MFA attempt before the code is checked, atomically, so parallel guesses cannot share
   * one slot. Returns the consecutive-attempt count including this one, or null while locked.
   * A successful acceptTotpStep resets the count.
   */
  countMfaAttempt(id: string, at: Date): Promise<number | null>;
  lockMfa(id: string, until: Date, at: Date): Promise<void>;
  /** Every sealed TOTP secret, for master-key rotation. */
  listSealedTotpSecrets(): Promise<Array<{ id: string; sealed: string }>>;
  replaceSealedTotpSecret(id: string, sealed: string): Promise<void>;
}

export interface SessionRecord {
  id: string;
  technicianId: string;
  refreshHash: string;
  createdAt: Date;
  lastRefreshedAt: Date;
  revokedAt: Date | null;
  sourceIp: string | null;
  userAgent: string | null;
}

export interface SessionRepository {
  insert(session: SessionRecord): Promise<void>;
  findById(id: string): Promise<SessionRecord | null>;
  /** Rotates the refresh secret; succeeds only if the old hash still matches (no race). */
  rotateRefresh(id: string, oldHash: string, newHash: string, at: Date): Promise<boolean>;
  revoke(id: string, at: Date): Promise<void>;
  revokeAllForTechnician(technicianId: string, at: Date): Promise<number>;
}

export interface TenantRecord extends Tenant {
  bindPasswordSealed: string;
}

export interface TenantPatch {
  displayName?: string;
  timeZone?: string;
  directory?: DirectoryConnection;
  bindPasswordSealed?: string;
  keepAccountsDisabled?: boolean;
}

export interface TenantRepository {
  insert(tenant: Omit<TenantRecord, 'createdAt' | 'updatedAt'>, at: Date): Promise<void>;
  findById(id: string): Promise<TenantRecord | null>;
  list(): Promise<TenantRecord[]>;
  update(id: string, patch: TenantPatch, at: Date): Promise<void>;
  delete(id: string): Promise<void>;
  listSealedBindPasswords(): Promise<Array<{ id: string; sealed: string }>>;
  replaceSealedBindPassword(id: string, sealed: string): Promise<void>;
}

export interface AuditFilter {
  from?: Date;
  to?: Date;
  actor?: string;
  action?: AuditAction;
  tenantId?: string;
  /** Return events with seq lower than this (paging newest first). */
  beforeSeq?: number;
  limit: number;
}

export interface AuditRepository {
  /** Appends one event to the chain; must run inside the transaction of the change it records. */
  append(input: AuditEventInput, at: Date): Promise<AuditEvent>;
  list(filter: AuditFilter): Promise<AuditEvent[]>;
  /** Events in sequence order, for verification. */
  range(fromSeq: number, limit: number): Promise<AuditEvent[]>;
  head(): Promise<{ seq: number; hash: string }>;
}

export interface SigningKeyRecord {
  kid: string;
  algorithm: 'EdDSA';
  publicJwk: Record<string, unknown>;
  privateJwkSealed: string;
  createdAt: Date;
  retiredAt: Date | null;
}

export interface SigningKeyRepository {
  insert(key: SigningKeyRecord): Promise<void>;
  list(): Promise<SigningKeyRecord[]>;
  retireAllExcept(kid: string, at: Date): Promise<void>;
  replaceSealedPrivateKey(kid: string, sealed: string): Promise<void>;
}

export interface StoreRepositories {
  technicians: TechnicianRepository;
  sessions: SessionRepository;
  tenants: TenantRepository;
  audit: AuditRepository;
  signingKeys: SigningKeyRepository;
}

export interface Store extends StoreRepositories {
  /** Runs `work` in one transaction: all of its writes (audit included) land, or none do. */
  transaction<T>(work: (tx: StoreRepositories) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  /** Takes the audit chain's write lock and rolls back: proves an append could land now. */
  probeAuditWritable(): Promise<void>;
  close(): Promise<void>;
}

// ---- Crypto -------------------------------------------------------------------------------

/** Envelope encryption of secrets at rest, bound to a context string (e.g. `tenant:acme:bind`). */
export interface SecretBox {
  seal(plaintext: string, context: string): Promise<string>;
  open(sealed: string, context: string): Promise<string>;
  /** True when the value was sealed under a key other than the current master key. */
  isStale(sealed: string): boolean;
  currentKeyId(): string;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** Spends the same effort as a real verification, so unknown users answer in the same time. */
  verifyDummy(password: string): Promise<void>;
}

export interface TotpMatch {
  step: number;
}

export interface TotpEngine {
  generateSecret(): string;
  /** Finds the step (current ±1) the code belongs to, with a constant-time comparison, or null. */
  match(secret: string, code: string, at: Date): Promise<TotpMatch | null>;
  keyUri(secret: string, accountName: string, issuer: string): string;
  qrCodeSvg(uri: string): Promise<string>;
}

export interface AccessClaims {
  technicianId: string;
  sessionId: string;
  expiresAt: Date;
}

export interface MfaChallengeClaims {
  technicianId: string;
  expiresAt: Date;
}

export interface TokenService {
  issueAccessToken(claims: AccessClaims, now: Date): Promise<string>;
  verifyAccessToken(token: string, now: Date): Promise<AccessClaims>;
  issueMfaChallenge(claims: MfaChallengeClaims, now: Date): Promise<string>;
  verifyMfaChallenge(token: string, now: Date): Promise<MfaChallengeClaims>;
  jwks(now: Date): Promise<{ keys: Array<Record<string, unknown>> }>;
  /** Creates a new current signing key; older keys keep verifying until their tokens have expired. */
  rotate(now: Date): Promise<string>;
}

export interface RandomSource {
  bytes(count: number): Buffer;
  id(): string;
}

// ---- Directory ----------------------------------------------------------------------------

export interface DirectoryProbeResult {
  baseDn: string;
  latencyMs: number;
}

export interface DirectoryProbe {
  /** Connects, verifies TLS with the given CA, binds, reads the base DN; throws DomainError directory_*. */
  check(connection: DirectoryConnection, bindPassword: string): Promise<DirectoryProbeResult>;
}

/** Checks a technician's password against the MSP's own identity source. */
export interface IdentitySource {
  readonly kind: IdentitySourceKind;
  verifyPassword(technician: TechnicianRecord, password: string): Promise<boolean>;
}

// ---- Readiness ----------------------------------------------------------------------------

export interface QueueHealth {
  ping(): Promise<void>;
}
