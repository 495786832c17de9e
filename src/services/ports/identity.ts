// Who a technician is: identity sources and the tokens of a session.
import type { IdentitySourceKind } from '../../domain/technician.ts';
import type { SigningKeyRepository } from './audit.ts';
import type { TechnicianRecord } from './technicians.ts';

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

/** Checks a technician's password against the MSP's own identity source. */
export interface IdentitySource {
  readonly kind: IdentitySourceKind;
  verifyPassword(technician: TechnicianRecord, password: string): Promise<boolean>;
}
