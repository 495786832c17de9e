// The ports through which use cases reach the world. Adapters implement them; only
// src/container.ts knows which adapter stands behind which port.
import type { AuditEvent, AuditEventInput, AuditAction } from '../domain/audit.ts';
import type { ElevationState, RevocationReason } from '../domain/elevation.ts';
import type { AccessProfile, ProfileStatus } from '../domain/profile.ts';
import type { ProtectedFinding } from '../domain/protected-groups.ts';
import type { Role } from '../domain/roles.ts';
import type { DirectoryConnection, Tenant } from '../domain/tenant.ts';
import type { IdentitySourceKind, Technician, TechnicianStatus } from '../domain/technician.ts';

export interface Clock {
  now(): Date;
}

/** Operational log lines (pino's shape); never given a secret. */
export interface EventLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
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
  /** Appends many events in order, in far fewer statements (mass expiry). */
  appendMany(inputs: readonly AuditEventInput[], at: Date): Promise<void>;
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

export interface TenantAccount {
  id: string;
  tenantId: string;
  technicianId: string;
  guid: string;
  dn: string;
  samAccountName: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface TenantAccountRepository {
  insert(account: TenantAccount): Promise<void>;
  find(tenantId: string, technicianId: string): Promise<TenantAccount | null>;
  findById(id: string): Promise<TenantAccount | null>;
  findByGuid(tenantId: string, guid: string): Promise<TenantAccount | null>;
  listForTenant(tenantId: string): Promise<TenantAccount[]>;
  updateDn(id: string, dn: string, samAccountName: string, at: Date): Promise<void>;
  delete(id: string): Promise<void>;
  countForTenant(tenantId: string): Promise<number>;
}

export type NewAccessProfile = Omit<AccessProfile, 'createdAt' | 'updatedAt' | 'status' | 'suspendedReason'>;

export interface ProfileRepository {
  insert(profile: NewAccessProfile, at: Date): Promise<void>;
  findById(id: string): Promise<AccessProfile | null>;
  findByName(tenantId: string, name: string): Promise<AccessProfile | null>;
  listForTenant(tenantId: string): Promise<AccessProfile[]>;
  listAll(): Promise<AccessProfile[]>;
  update(id: string, profile: Omit<NewAccessProfile, 'id' | 'tenantId'>, at: Date): Promise<void>;
  setStatus(id: string, status: ProfileStatus, reason: string | null, at: Date): Promise<void>;
  delete(id: string): Promise<void>;
  countForTenant(tenantId: string): Promise<number>;
}

export interface ElevationGroup {
  dn: string;
  guid: string;
  name: string;
}

/** What activation changed in the directory, so a failure or a crash can be undone exactly. */
export interface ActivationSteps {
  previousUserAccountControl: number | null;
  previousAccountExpires: string | null;
  enabled: boolean;
  groupsAdded: string[];
  ttlMembership: boolean;
}

export interface Elevation {
  id: string;
  tenantId: string;
  profileId: string;
  profileName: string;
  technicianId: string;
  accountId: string;
  accountDn: string;
  accountGuid: string;
  groups: ElevationGroup[];
  state: ElevationState;
  durationSeconds: number;
  justification: string | null;
  ticket: string | null;
  requestedAt: Date;
  activatedAt: Date | null;
  endsAt: Date | null;
  endedAt: Date | null;
  revocationReason: RevocationReason | null;
  failureReason: string | null;
  steps: ActivationSteps | null;
  overdueAlertedAt: Date | null;
  updatedAt: Date;
}

export interface ElevationFilter {
  states?: ElevationState[];
  tenantIds?: string[];
  technicianId?: string;
  /** Any of these technicians (for the few whose grants are ending, rather than a whole tenant). */
  technicianIds?: string[];
  endsBefore?: Date;
  limit?: number;
}

export interface ElevationRepository {
  insert(elevation: Elevation): Promise<void>;
  findById(id: string): Promise<Elevation | null>;
  list(filter: ElevationFilter): Promise<Elevation[]>;
  /** Moves to `to` only from `from` (optimistic); false when another process moved it first. */
  transition(id: string, from: ElevationState, to: ElevationState, changes: Partial<Pick<Elevation, 'activatedAt' | 'endsAt' | 'endedAt' | 'revocationReason' | 'failureReason' | 'steps'>>, at: Date): Promise<boolean>;
  /** Moves every listed elevation that is still in `from`; answers the ids it moved. */
  /** Moves each of `ids` still in `from` (and, with `endsBy`, ending by then); answers the ids moved. */
  transitionMany(ids: readonly string[], from: ElevationState, to: ElevationState, changes: Partial<Pick<Elevation, 'endedAt' | 'revocationReason'>>, at: Date, endsBy?: Date): Promise<string[]>;
  recordSteps(id: string, steps: ActivationSteps, at: Date): Promise<void>;
  /** The account was found under a new DN (moved or renamed). */
  updateAccountDn(id: string, dn: string, at: Date): Promise<void>;
  markOverdueAlerted(id: string, at: Date): Promise<void>;
  /** Other elevations of this technician in this tenant that hold (or may hold) membership. */
  holding(tenantId: string, technicianId: string, exceptId: string): Promise<Elevation[]>;
  countByState(): Promise<Record<string, number>>;
  countForTenant(tenantId: string): Promise<number>;
  /** Seconds from end to revocation for grants that expired since `since`. */
  revocationLags(since: Date): Promise<number[]>;
}

export interface StoreRepositories {
  technicians: TechnicianRepository;
  sessions: SessionRepository;
  tenants: TenantRepository;
  audit: AuditRepository;
  signingKeys: SigningKeyRepository;
  accounts: TenantAccountRepository;
  profiles: ProfileRepository;
  elevations: ElevationRepository;
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

export interface DirectoryAccount {
  guid: string;
  dn: string;
  samAccountName: string;
  userPrincipalName: string | null;
  userAccountControl: number;
  accountExpires: string;
  logonHours: Uint8Array | null;
  userWorkstations: string | null;
  lastLogonTimestamp: string | null;
}

export interface DirectoryGroup {
  guid: string;
  sid: string;
  dn: string;
  name: string;
  adminCount: number | null;
}

export interface AccountChanges {
  userAccountControl?: number;
  accountExpires?: string;
  logonHours?: Uint8Array | null;
  userWorkstations?: string | null;
}

/** One tenant's domain. Every write is confirmed by reading back before it reports success. */
export interface TenantDirectory {
  /** By sAMAccountName, userPrincipalName (contains @) or DN (contains =). */
  findAccount(identifier: string): Promise<DirectoryAccount | null>;
  accountByGuid(guid: string): Promise<DirectoryAccount | null>;
  /** Current DNs of many accounts at once, by objectGUID (absent ones are left out). */
  accountDnsByGuid(guids: readonly string[]): Promise<Map<string, string>>;
  groupByDn(dn: string): Promise<DirectoryGroup | null>;
  groupByGuid(guid: string): Promise<DirectoryGroup | null>;
  /** The group is protected itself, or nested at any depth inside a protected group (SPEC §6). */
  findProtection(group: DirectoryGroup, extra: readonly string[]): Promise<ProtectedFinding | null>;
  updateAccount(dn: string, changes: AccountChanges): Promise<void>;
  /** Adds (already present counts), then reads back; throws if any is missing. */
  addMembers(groupDn: string, memberDns: readonly string[], ttlSeconds?: number): Promise<void>;
  /**
   * Removes in one batched modify, split on conflicts; answers who is still a member after a read-back.
   * A value may be a DN or `<GUID=…>` (memberRefByGuid), which is read back by GUID.
   */
  removeMembers(groupDn: string, memberDns: readonly string[]): Promise<{ stillMembers: string[] }>;
  currentMembers(groupDn: string, memberDns: readonly string[]): Promise<Set<string>>;
  /** Windows Server 2016 Privileged Access Management (TTL links): detected, never assumed. */
  supportsTtlMembership(): Promise<boolean>;
}

export interface DirectoryGateway {
  forTenant(tenant: TenantRecord, bindPassword: string): TenantDirectory;
  close(): Promise<void>;
}

// ---- Jobs -----------------------------------------------------------------------------------

export interface RevocationJobs {
  /** One job per elevation (its id is derived from the elevation's), due at `at`; scheduling twice is harmless. */
  schedule(elevationId: string, at: Date): Promise<void>;
  isScheduled(elevationId: string): Promise<boolean>;
  cancel(elevationId: string): Promise<void>;
}

// ---- Readiness ----------------------------------------------------------------------------

export interface QueueHealth {
  ping(): Promise<void>;
}
