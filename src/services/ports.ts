// The ports through which use cases reach the world. Adapters implement them; only
// src/container.ts knows which adapter stands behind which port.
import type { AccountEligibilityFacts } from '../domain/account-eligibility.ts';
import type { Decision } from '../domain/approval.ts';
import type { AuditEvent, AuditEventInput, AuditAction } from '../domain/audit.ts';
import type { DecodedLine, ExportRecord, LineChunkResult } from '../domain/audit-export.ts';
import type { ElevationState, RevocationReason } from '../domain/elevation.ts';
import type { AccessProfile, ProfileStatus } from '../domain/profile.ts';
import type { ProtectedFinding } from '../domain/protected-groups.ts';
import type { GroupNode, ReviewFinding, ReviewStatus, ReviewTrigger, SeverityCounts } from '../domain/review.ts';
import type { PastRequest, RiskAssessment } from '../domain/risk.ts';
import type { Role } from '../domain/roles.ts';
import type { DirectoryConnection, DriftMode, Tenant } from '../domain/tenant.ts';
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
  /** The technician whose stored Slack user id this is (ids are unique), or null. */
  findBySlackUserId(slackUserId: string): Promise<TechnicianRecord | null>;
  list(): Promise<TechnicianRecord[]>;
  update(id: string, patch: TechnicianPatch, at: Date): Promise<void>;
  countActiveAdmins(): Promise<number>;
  /**
   * Stores a new, unconfirmed TOTP secret (enrolment started), only while no enrolment is
   * confirmed: a racing enrolment never overwrites a confirmed secret. False when one is.
   */
  setPendingTotpSecret(id: string, sealed: string, at: Date): Promise<boolean>;
  /** Marks a stored secret as enrolled without a first code (the demo's pre-enrolled technician). */
  confirmTotp(id: string, at: Date): Promise<void>;
  /** Clears the TOTP enrolment (admin reset). */
  clearTotp(id: string, at: Date): Promise<void>;
  /**
   * Accepts a TOTP step atomically: succeeds only if `step` is later than the last accepted one,
   * so two concurrent requests with the same code cannot both pass. Resets the failure count and
   * confirms a pending enrolment. Only while the stored secret is still `sealed`, the one the
   * code was checked against (an enrolment may have replaced it meanwhile). Returns false on
   * replay or a replaced secret.
   */
  acceptTotpStep(id: string, step: number, at: Date, sealed: string): Promise<boolean>;
  /**
   * Counts an MFA attempt before the code is checked, atomically, so parallel guesses cannot share
   * one slot. Returns the consecutive-attempt count including this one, or null while locked.
   * A successful acceptTotpStep resets the count.
   */
  countMfaAttempt(id: string, at: Date): Promise<number | null>;
  lockMfa(id: string, until: Date, at: Date): Promise<void>;
  /** Locks until `until` only while the count is past `maxFailures` and no lock is running; false otherwise. */
  lockMfaPastLimit(id: string, maxFailures: number, until: Date, at: Date): Promise<boolean>;
  /** A correct code whose change failed: the count goes back to 0 (a running lock stays). */
  clearMfaFailures(id: string, at: Date): Promise<void>;
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
  slackChannel?: string | null;
  driftMode?: DriftMode;
  reviewSchedule?: string;
  inactiveDays?: number;
  disableInactive?: boolean;
  riskThreshold?: number;
}

export interface TenantRepository {
  insert(tenant: Omit<TenantRecord, 'createdAt' | 'updatedAt' | 'frozen' | 'archived'>, at: Date): Promise<void>;
  findById(id: string): Promise<TenantRecord | null>;
  list(): Promise<TenantRecord[]>;
  update(id: string, patch: TenantPatch, at: Date): Promise<void>;
  delete(id: string): Promise<void>;
  /**
   * In a transaction: true while the tenant is neither frozen nor archived, holding its row until
   * the transaction ends, so nothing is started in a tenant whose kill switch commits meanwhile.
   */
  holdOpen(id: string): Promise<boolean>;
  /** Freezes the tenant; false if it already was (the first freeze stays). */
  freeze(id: string, freeze: { at: Date; by: string; reason: string | null }): Promise<boolean>;
  /** Lifts the freeze set at `frozenAt` (not a later one); never on an archived tenant. */
  unfreeze(id: string, frozenAt: Date, at: Date): Promise<boolean>;
  /** Archives a frozen tenant, once; false otherwise. */
  archive(id: string, by: string, at: Date): Promise<boolean>;
  listSealedBindPasswords(): Promise<Array<{ id: string; sealed: string }>>;
  replaceSealedBindPassword(id: string, sealed: string): Promise<void>;
}

export interface AuditFilter {
  from?: Date;
  to?: Date;
  actor?: string;
  action?: AuditAction;
  tenantId?: string;
  target?: string;
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
  /**
   * Where the stored chain starts: events up to `purgedThroughSeq` were purged, and `hash` is the
   * hash of the last of them (the genesis hash when nothing was), the oldest kept event's
   * previous hash.
   */
  anchor(): Promise<{ purgedThroughSeq: number; hash: string }>;
  /** The smallest seq of an event at or after `at`, or null. */
  firstSeqAtOrAfter(at: Date): Promise<number | null>;
  /** The largest seq of an event before `at`, or null. */
  lastSeqBefore(at: Date): Promise<number | null>;
  /** Deletes the events up to `throughSeq` and moves the anchor to the last of them (run in a transaction). */
  purgeThrough(throughSeq: number): Promise<{ purged: number; anchorHash: string }>;
  insertCheckpoint(checkpoint: StoredCheckpoint): Promise<void>;
  latestCheckpoint(): Promise<StoredCheckpoint | null>;
  /** The earliest checkpoint at or after `seq`: the one that covers an export ending there. */
  checkpointCovering(seq: number): Promise<StoredCheckpoint | null>;
  listCheckpoints(limit: number): Promise<StoredCheckpoint[]>;
}

/** A signed checkpoint of the chain head: `jws` signs { seq, hash, at } with an audit key. */
export interface StoredCheckpoint {
  seq: number;
  hash: string;
  at: Date;
  kid: string;
  jws: string;
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

/** A group a tenant added to the protected list (docs/security-model.md, Protected groups), as it was when picked from the directory. */
export interface TenantProtectedGroup {
  tenantId: string;
  guid: string;
  sid: string;
  dn: string;
  name: string;
  addedAt: Date;
}

export interface TenantProtectedGroupRepository {
  listForTenant(tenantId: string): Promise<TenantProtectedGroup[]>;
  /** False if the tenant already protects that group. */
  add(group: TenantProtectedGroup): Promise<boolean>;
  /** False if it was not on the list. */
  remove(tenantId: string, guid: string): Promise<boolean>;
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
  /** Base64 of the account's logonHours before its first live grant (null: none set); absent in records from before windows. */
  previousLogonHours?: string | null;
  previousUserWorkstations?: string | null;
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
  /** Approvals the request needs (0: none); a snapshot of the profile's rule at request time. */
  approvalsRequired: number;
  /** Who may approve (empty: any approver of the tenant). */
  approverIds: string[];
  /** A request still pending at this time ends `cancelled`. */
  approvalDeadline: Date | null;
  /** Set when the grant was cut short to end with its window: that window's end. */
  windowClosesAt: Date | null;
  /** An extension waiting for approval. */
  extension: PendingExtension | null;
  /** Seconds added by extensions so far. */
  extendedSeconds: number;
  /** Approvers' decisions, every round. */
  decisions: Decision[];
  /** The risk score and its reasons at request time (docs/security-model.md, Risk signals); null for requests from before risk scoring. */
  risk: RiskAssessment | null;
  /** While `activating`: the lease of the process doing it (renewed while it works); null otherwise. */
  lease?: ActivationLease | null;
}

/** Who is activating an elevation, and until when unless renewed (docs/architecture.md, Activation leases). */
export interface ActivationLease {
  holder: string;
  until: Date;
}

export interface PendingExtension {
  seconds: number;
  /** The decision round it is approved in (1 for the first extension, …). */
  round: number;
  requestedAt: Date;
  deadline: Date;
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

/** One page of the elevation history, oldest request first, after a keyset cursor. */
export interface ElevationHistoryQuery {
  from?: Date;
  to?: Date;
  tenantId?: string;
  technicianId?: string;
  after: { requestedAt: Date; id: string } | null;
  limit: number;
}

export interface ElevationRepository {
  /** The history export's pages (keyset paging: constant memory however long the history). */
  history(query: ElevationHistoryQuery): Promise<Elevation[]>;
  insert(elevation: Elevation): Promise<void>;
  findById(id: string): Promise<Elevation | null>;
  list(filter: ElevationFilter): Promise<Elevation[]>;
  /** Moves to `to` only from `from` (optimistic); false when another process moved it first. */
  transition(
    id: string,
    from: ElevationState,
    to: ElevationState,
    changes: Partial<
      Pick<
        Elevation,
        | 'activatedAt'
        | 'endsAt'
        | 'endedAt'
        | 'revocationReason'
        | 'failureReason'
        | 'steps'
        | 'windowClosesAt'
        | 'extension'
        | 'extendedSeconds'
        | 'lease'
      >
    >,
    at: Date,
    /** Only while this holder holds the activation's lease. Leaving `activating` clears the lease. */
    leaseHolder?: string,
  ): Promise<boolean>;
  /** Extends the lease to `until` while `holder` holds it and the elevation is still `activating`; false otherwise. */
  renewLease(id: string, holder: string, until: Date): Promise<boolean>;
  /**
   * Takes the lease of an `activating` elevation whose lease ended by `lapsedBy` (or, with no lease
   * recorded, that was last touched before `staleBefore`); false when it was renewed or moved meanwhile.
   */
  takeLease(id: string, holder: string, until: Date, lapsedBy: Date, staleBefore: Date): Promise<boolean>;
  /** Records an approver's decision; false when that approver already decided in that round. */
  addDecision(elevationId: string, decision: Decision): Promise<boolean>;
  /** Requests still waiting for approval at `at` whose deadline has passed, and active grants whose extension request has. */
  approvalsPastDeadline(at: Date): Promise<Elevation[]>;
  /** Moves every listed elevation that is still in `from`; answers the ids it moved. */
  /** Moves each of `ids` still in `from` (and, with `endsBy`, ending by then); answers the ids moved. */
  transitionMany(
    ids: readonly string[],
    from: ElevationState,
    to: ElevationState,
    changes: Partial<Pick<Elevation, 'endedAt' | 'revocationReason'>>,
    at: Date,
    endsBy?: Date,
  ): Promise<string[]>;
  recordSteps(id: string, steps: ActivationSteps, at: Date): Promise<void>;
  /** The account was found under a new DN (moved or renamed). */
  updateAccountDn(id: string, dn: string, at: Date): Promise<void>;
  markOverdueAlerted(id: string, at: Date): Promise<void>;
  /** Other elevations of this technician in this tenant that hold (or may hold) membership. */
  holding(tenantId: string, technicianId: string, exceptId: string): Promise<Elevation[]>;
  countByState(): Promise<Record<string, number>>;
  countForTenant(tenantId: string): Promise<number>;
  /** The technician's requests made at or after `since` (oldest first, at most `limit`): what risk scoring learns from. */
  requestHistory(technicianId: string, since: Date, limit: number): Promise<PastRequest[]>;
  /** Tenants the technician was ever granted an elevation in. */
  elevatedTenants(technicianId: string): Promise<string[]>;
  /** Seconds from end to revocation for grants that expired since `since`. */
  revocationLags(since: Date): Promise<number[]>;
}

/** Where forwarding to one SIEM target stands (docs/architecture.md, SIEM forwarding): the last sequence number it has been sent. */
export interface SiemCursor {
  target: string;
  /** Every event up to and including this one has been written to the target and flushed (0: none yet). */
  lastSeq: number;
  /** Set while the target cannot be reached; cleared when it takes events again. */
  stalledSince: Date | null;
  /** Failed attempts in a row (the backoff grows with them). */
  failures: number;
  /** No attempt before this time (backoff); null: any time. */
  retryAt: Date | null;
  /** When the backlog alert was raised for the current outage; null when not raised. */
  backlogAlertedAt: Date | null;
  /** When a run last reached the target and sent everything it had (null: never). */
  lastSuccessAt: Date | null;
  /** The last failure's message (a connection or TLS error; never a secret) and time; kept after recovery. */
  lastError: string | null;
  lastErrorAt: Date | null;
}

export type SiemCursorPatch = Partial<
  Pick<SiemCursor, 'stalledSince' | 'failures' | 'retryAt' | 'backlogAlertedAt' | 'lastSuccessAt' | 'lastError' | 'lastErrorAt'>
>;

export interface SiemCursorRepository {
  /** The target's cursor; created at 0 when absent (answers `created: true` then). */
  ensure(target: string, at: Date): Promise<{ cursor: SiemCursor; created: boolean }>;
  list(): Promise<SiemCursor[]>;
  /** Moves the cursor forward only (a lower `seq` leaves it where it is). */
  advance(target: string, seq: number, at: Date): Promise<void>;
  update(target: string, patch: SiemCursorPatch, at: Date): Promise<void>;
  /**
   * Takes the target's lease until `until` unless another owner holds an unexpired one, so two
   * workers never send the same target's events at once (which could reorder them).
   */
  lease(target: string, owner: string, until: Date, at: Date): Promise<boolean>;
  release(target: string, owner: string): Promise<void>;
}

/** A member of a managed group already reported as drift (report mode) or as unexpected. */
export interface DriftReport {
  tenantId: string;
  groupGuid: string;
  groupDn: string;
  /** The member's DN as the directory gave it. */
  memberDn: string;
  kind: 'technician' | 'unexpected';
  reportedAt: Date;
}

/** What drift detection has reported, so a member is reported once while it stays (docs/security-model.md, Drift). */
export interface DriftReportRepository {
  listForTenant(tenantId: string): Promise<DriftReport[]>;
  /** Records a report; false when it was already recorded (another worker, or an earlier run). */
  add(report: DriftReport): Promise<boolean>;
  /** Forgets reports (the member went away, or the group is no longer managed), so a return is reported again. */
  remove(tenantId: string, reports: ReadonlyArray<Pick<DriftReport, 'groupGuid' | 'memberDn'>>): Promise<void>;
}

/** One access review of one tenant (docs/security-model.md, Access reviews). */
export interface Review {
  id: string;
  tenantId: string;
  trigger: ReviewTrigger;
  /** The technician who asked for it (on demand); null for a scheduled review. */
  requestedBy: string | null;
  status: ReviewStatus;
  requestedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  counts: SeverityCounts;
  signedOffBy: string | null;
  signedOffAt: Date | null;
  signOffComment: string | null;
}

export interface StoredFinding extends ReviewFinding {
  position: number;
}

export interface ReviewRepository {
  insert(review: Review, scheduleKey: string | null): Promise<void>;
  findById(id: string): Promise<Review | null>;
  findByScheduleKey(key: string): Promise<Review | null>;
  /** Newest first; `statuses`/`requestedBefore` narrow it (reviews waiting for their job). */
  list(filter: { tenantIds?: string[]; statuses?: readonly ReviewStatus[]; requestedBefore?: Date; limit: number }): Promise<Review[]>;
  /** Moves to `running` from `queued` or `running` (a retried job starts over); false otherwise. */
  start(id: string, at: Date): Promise<boolean>;
  /** Replaces the review's findings and records its outcome. */
  finish(id: string, status: ReviewStatus, findings: readonly ReviewFinding[], at: Date): Promise<void>;
  findings(id: string): Promise<StoredFinding[]>;
  /** Records the sign-off only if there is none yet; false when someone signed first. */
  signOff(id: string, by: string, comment: string | null, at: Date): Promise<boolean>;
}

export interface StoreRepositories {
  technicians: TechnicianRepository;
  sessions: SessionRepository;
  tenants: TenantRepository;
  audit: AuditRepository;
  signingKeys: SigningKeyRepository;
  /** The keys that sign audit checkpoints and export manifests: apart from the token keys, never dropped. */
  auditKeys: SigningKeyRepository;
  accounts: TenantAccountRepository;
  protectedGroups: TenantProtectedGroupRepository;
  profiles: ProfileRepository;
  elevations: ElevationRepository;
  siemCursors: SiemCursorRepository;
  driftReports: DriftReportRepository;
  reviews: ReviewRepository;
}

export interface Store extends StoreRepositories {
  /** Runs `work` in one transaction: all of its writes (audit included) land, or none do. */
  transaction<T>(work: (tx: StoreRepositories) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  /** Fails unless the store accepts writes now (not a read-only standby, not a read-only file); takes no lock. */
  probeWritable(): Promise<void>;
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
  /**
   * Creates a new current signing key and retires the others, which keep verifying until their
   * tokens have expired. `keys` is a transaction's repository: the insert and the retirement must
   * be one transaction, or two processes adding a key at once could retire each other's.
   */
  rotate(now: Date, keys: SigningKeyRepository): Promise<string>;
}

/** Signs audit checkpoints and export manifests (JWS, EdDSA) with the current audit key. */
export interface AuditSigner {
  sign(payload: Record<string, unknown>, type: string, now: Date): Promise<{ jws: string; kid: string }>;
  /** Every audit public key ever used, retired ones included: old exports must keep verifying. */
  jwks(): Promise<{ keys: Array<Record<string, unknown>> }>;
  /** Creates the first key when there is none. */
  ensureKey(now: Date, keys: SigningKeyRepository): Promise<void>;
  /** A new signing key; the old ones stay published for verification. */
  rotate(now: Date, keys: SigningKeyRepository): Promise<string>;
}

/** Checks a JWS against a set of public keys, offline; throws DomainError `signature_invalid`. */
export interface AuditSignatureVerifier {
  verify(jws: string, type: string, jwks: { keys: Array<Record<string, unknown>> }): Promise<{ payload: unknown; kid: string }>;
}

/** Writes export records as lines of one format (the bytes the manifest's digest covers). */
export interface ExportEncoder {
  contentType: string;
  extension: string;
  /** Lines before the first record (CSV: the header row). */
  preamble(): string;
  record(record: ExportRecord): string;
}

/**
 * Reads an export back from its lines (without their newlines): each record with the 1-based line
 * it starts on; a line that is no record ends the reading with `malformed` saying why.
 */
export type DecodedRecord = DecodedLine;

/**
 * Checks chunks of whole NDJSON lines of an export (checkLineChunk), possibly on other threads;
 * answers in any order, the verifier joins them in file order.
 */
export interface LineChunkChecker {
  check(bytes: Buffer): Promise<LineChunkResult>;
  /** How many chunks it works on at once. */
  parallel: number;
  close(): Promise<void>;
}

export interface ExportDecoder {
  records(lines: AsyncIterable<string>): AsyncIterable<DecodedRecord>;
  /**
   * For formats with one record a line (NDJSON): decodes a line on its own, synchronously; null for
   * an empty line. `records` gives the same answers; this spares a verifier a promise per line.
   */
  line?(raw: string, line: number): DecodedRecord | null;
}

/** Row formats for the elevation history export (CSV or NDJSON). */
export interface TableEncoder {
  contentType: string;
  preamble(columns: readonly string[]): string;
  row(columns: readonly string[], values: Record<string, unknown>): string;
}

/**
 * How far every configured SIEM target has received the audit trail, so retention never purges an
 * event some target has not had. null: no target is configured; otherwise the lowest cursor across
 * the configured targets (0: nothing forwarded).
 */
export interface ForwardingProgress {
  lowestForwardedSeq(): Promise<number | null>;
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
  /** The RID of the account's primary group (primaryGroupID), which memberOf never shows. */
  primaryGroupId?: number | null;
  /** What decides whether it may be a tenant account (domain/account-eligibility.ts); tokenGroups on reads by GUID. */
  eligibility?: AccountEligibilityFacts;
}

export interface DirectoryGroup {
  guid: string;
  sid: string;
  dn: string;
  name: string;
  adminCount: number | null;
  /** The groups it is a direct member of, where the read included them. */
  memberOf?: string[];
}

/** A group read with the groups it is a direct member of. */
export type DirectoryGroupWithParents = DirectoryGroup & { memberOf: string[] };

export interface AccountChanges {
  userAccountControl?: number;
  accountExpires?: string;
  logonHours?: Uint8Array | null;
  userWorkstations?: string | null;
}

/** One tenant's domain. Every write is confirmed by reading back before it reports success. */
export interface TenantDirectory {
  /** Reads the base DN: proves the directory answers now (a review with nothing to read must still reach it). */
  ping(): Promise<void>;
  /** By sAMAccountName, userPrincipalName (contains @) or DN (contains =). */
  findAccount(identifier: string): Promise<DirectoryAccount | null>;
  accountByGuid(guid: string): Promise<DirectoryAccount | null>;
  /** Current DNs of many accounts at once, by objectGUID (absent ones are left out). */
  accountDnsByGuid(guids: readonly string[]): Promise<Map<string, string>>;
  groupByDn(dn: string): Promise<DirectoryGroup | null>;
  groupByGuid(guid: string): Promise<DirectoryGroup | null>;
  /** Groups whose name (cn or sAMAccountName) contains `text` (empty: any), at most `limit`, by name. */
  searchGroups(text: string, limit: number): Promise<{ groups: DirectoryGroup[]; truncated: boolean }>;
  /**
   * The group is protected itself, or nested at any depth inside a protected group (docs/security-model.md, Protected groups). The
   * groups that contain it are searched from the domain's root (rootDSE defaultNamingContext),
   * whatever the tenant's base DN, so Domain Admins is seen from a base DN below the root.
   */
  findProtection(
    group: DirectoryGroup,
    extra: readonly string[],
    ancestors?: Promise<DirectoryGroupWithParents[]>,
  ): Promise<ProtectedFinding | null>;
  /**
   * Every group that contains the group named `dn` at any depth (one in-chain search from the
   * domain's root). Given to findProtection as `ancestors`, it lets the search start before the
   * group itself has been read (only if that read finds the group at the same DN).
   */
  ancestorsOf(dn: string): Promise<DirectoryGroupWithParents[]>;
  updateAccount(dn: string, changes: AccountChanges): Promise<void>;
  /** Adds (already present counts), then reads back; throws if any is missing. */
  addMembers(groupDn: string, memberDns: readonly string[], ttlSeconds?: number): Promise<void>;
  /**
   * Removes in one batched modify; should a value not be a member (the modify is atomic), reads the
   * group and removes exactly the members left. Answers who is still a member after a read-back.
   * A value may be a DN, `<GUID=…>` (memberRefByGuid) or `<GUID=…>;DN` (memberRefWithDn: removed
   * by DN, by GUID should the DN no longer name a member); values with a GUID are read back by GUID.
   */
  removeMembers(groupDn: string, memberDns: readonly string[]): Promise<{ stillMembers: string[] }>;
  currentMembers(groupDn: string, memberDns: readonly string[]): Promise<Set<string>>;
  /**
   * The groups an account belongs to: `direct` are its own (memberOf); `groups` every group that
   * contains it at any depth (the in-chain matching rule), each with the groups it is in.
   */
  accountGroups(accountDn: string): Promise<{ direct: string[]; groups: GroupNode[] }>;
  /** Every direct member of the group (DNs as the directory gives them; ranged retrieval handled). */
  groupMembers(groupDn: string): Promise<string[]>;
  /** Windows Server 2016 Privileged Access Management (TTL links): detected, never assumed. */
  supportsTtlMembership(): Promise<boolean>;
}

export interface DirectoryGateway {
  /**
   * The tenant's directory over its pooled connections. `bindPassword` opens the sealed password;
   * it is called only when the pool must be (re)built: the pool is kept for as long as the tenant's
   * URL, CA, bind DN and sealed password stay the same.
   */
  forTenant(tenant: TenantRecord, bindPassword: () => Promise<string>): Promise<TenantDirectory>;
  close(): Promise<void>;
}

// ---- Jobs -----------------------------------------------------------------------------------

/**
 * A revocation job becomes ready this long before its grant's end, and the service waits for the
 * end itself: thousands of delayed jobs due together are promoted before the end, not after it.
 */
export const revocationLeadMs = 1000;

export interface RevocationJobs {
  /**
   * One job per elevation (its id is derived from the elevation's), ready `revocationLeadMs` before
   * `at`; scheduling twice is harmless.
   */
  schedule(elevationId: string, at: Date): Promise<void>;
  isScheduled(elevationId: string): Promise<boolean>;
  cancel(elevationId: string): Promise<void>;
}

/** Access review jobs: ids only in their payloads. */
export interface ReviewJobs {
  /** Runs an on-demand review soon (its job id is derived from the review's, so twice is harmless). */
  enqueue(reviewId: string): Promise<void>;
  /** Queues the review's job again if Redis has none (lost) or has it failed for good; true if it did. */
  ensureQueued(reviewId: string): Promise<boolean>;
}

/** Each tenant's repeatable review job, its cron pattern evaluated in the tenant's time zone. */
export interface ReviewSchedules {
  /** Creates or changes the tenant's schedule. */
  upsert(tenant: Pick<TenantRecord, 'id' | 'reviewSchedule' | 'timeZone'>): Promise<void>;
  remove(tenantId: string): Promise<void>;
  /** Every tenant's schedule as the store says, and none for tenants that are gone. */
  syncAll(tenants: ReadonlyArray<Pick<TenantRecord, 'id' | 'reviewSchedule' | 'timeZone'>>): Promise<void>;
}

// ---- Readiness ----------------------------------------------------------------------------

export interface QueueHealth {
  ping(): Promise<void>;
}

// ---- Notifications ------------------------------------------------------------------------

/**
 * What happened to an elevation, for the people who should hear about it (Slack DMs, approval
 * messages, the alert channel). Ids only: the notifier reads the rest from the store. Publishing
 * queues the notice; it never blocks or fails the change it reports.
 */
export type Notice =
  | { kind: 'approval_requested'; elevationId: string }
  | { kind: 'decided'; elevationId: string; approverId: string; decision: 'approve' | 'deny' }
  | { kind: 'activated'; elevationId: string }
  | { kind: 'extended'; elevationId: string }
  | { kind: 'ended'; elevationId: string }
  | { kind: 'review_completed'; reviewId: string }
  | {
      kind: 'alert';
      alert: 'mfa_lockout' | 'revocation_overdue' | 'kill_switch' | 'risk' | 'siem_backlog' | 'drift';
      subject: string;
      details: Record<string, string | number>;
    };

export interface Notifications {
  publish(notices: readonly Notice[]): Promise<void>;
}

// ---- Slack ----------------------------------------------------------------------------------

/** Block Kit JSON, as Slack's API takes it (blocks, modal views). */
export type SlackBlock = Record<string, unknown>;
export type SlackView = Record<string, unknown>;

export interface SlackMessage {
  /** The notification and accessibility text; the blocks are what people see. */
  text: string;
  blocks?: SlackBlock[];
}

/** The few Slack Web API methods Stint uses. Errors carry Slack's own error string. */
export interface SlackApi {
  /** A channel id, or a user id for a DM from the app. */
  postMessage(channel: string, message: SlackMessage): Promise<{ channel: string; ts: string }>;
  updateMessage(channel: string, ts: string, message: SlackMessage): Promise<void>;
  postEphemeral(channel: string, user: string, message: SlackMessage): Promise<void>;
  openView(triggerId: string, view: SlackView): Promise<{ viewId: string }>;
  updateView(viewId: string, view: SlackView): Promise<void>;
}

export interface SlackSignedRequest {
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: Buffer;
}

export interface SlackRequestVerifier {
  /**
   * Throws DomainError `unauthenticated` unless Slack signed this request within 5 minutes of
   * now (either way). Answers `replayed` for a request that passed before: it must change nothing.
   */
  verify(request: SlackSignedRequest): Promise<'fresh' | 'replayed'>;
}

export interface SlackMessageRef {
  channel: string;
  ts: string;
}

export interface SlackApprovalMessage extends SlackMessageRef {
  /** The decision round it asks about (0: the request; n: the n-th extension). */
  round: number;
  /** Where it was sent: the tenant's channel id, or the approver's Slack user id for a DM. */
  target: string;
}

/** Where an elevation's approval messages were posted, so a decision can update them. */
export interface SlackApprovalMessages {
  remember(elevationId: string, message: SlackApprovalMessage): Promise<void>;
  list(elevationId: string): Promise<SlackApprovalMessage[]>;
}

/** The "your access ends soon" reminder: one per elevation, moved when the grant is extended. */
export interface ExpiryWarnings {
  schedule(elevationId: string, at: Date): Promise<void>;
  cancel(elevationId: string): Promise<void>;
}

// ---- SIEM forwarding ------------------------------------------------------------------------

/**
 * One configured SIEM target (syslog over TCP or TLS). `send` resolves once every event has been
 * written to the connection and flushed to the operating system, in the order given; it throws
 * when the target cannot take them. TCP syslog has no acknowledgement, so a connection that the
 * target closes may have lost what was written shortly before: `open` reports when that happened.
 */
export interface SiemSink {
  readonly name: string;
  /** Makes sure a connection is up; `lostAt` is when the previous connection was closed by the far end or failed (null: closed by us, or none). */
  open(): Promise<{ lostAt: Date | null }>;
  send(events: readonly AuditEvent[]): Promise<void>;
  close(): Promise<void>;
}

/** The web UI's CSRF tokens, bound to one session and computable by every API replica. */
export interface CsrfTokens {
  tokenFor(sessionId: string): string;
  matches(sessionId: string, presented: string): boolean;
}
