// The store's technicians and their sessions.
import type { Role } from '../../domain/roles.ts';
import type { IdentitySourceKind, Technician, TechnicianStatus } from '../../domain/technician.ts';

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
