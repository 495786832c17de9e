// TOTP rules that are Stint's own (docs/security-model.md, Login, TOTP and sessions): which time steps are accepted, replay, and lockout.
// The HOTP/TOTP arithmetic itself is otplib's (src/adapters/crypto/totp.ts).

export const totpPeriodSeconds = 30;
export const totpDigits = 6;
/** Steps either side of the current one that are accepted. */
export const totpAcceptedDrift = 1;
/** 160 bits, the RFC 4226 recommendation and what authenticator apps expect. */
export const totpSecretBytes = 20;

export interface MfaLockoutPolicy {
  maxFailures: number;
  lockoutMs: number;
}

export const defaultLockoutPolicy: MfaLockoutPolicy = { maxFailures: 5, lockoutMs: 15 * 60_000 };

export function timeStepAt(at: Date): number {
  return Math.floor(at.getTime() / 1000 / totpPeriodSeconds);
}

export function isLocked(lockedUntil: Date | null, now: Date): boolean {
  return lockedUntil !== null && lockedUntil.getTime() > now.getTime();
}

/** A code for a step already accepted once (or an earlier one) is a replay. */
export function isReplay(lastAcceptedStep: number | null, matchedStep: number): boolean {
  return lastAcceptedStep !== null && matchedStep <= lastAcceptedStep;
}

/**
 * Attempts are counted before the code is checked. Attempt number `attempt` may be checked only
 * while it is within the limit; a failed attempt that reaches the limit locks.
 */
export function mayCheckAttempt(attempt: number, policy: MfaLockoutPolicy): boolean {
  return attempt <= policy.maxFailures;
}

export function failedAttemptLocks(attempt: number, policy: MfaLockoutPolicy): boolean {
  return attempt >= policy.maxFailures;
}

export function lockedUntilAfter(now: Date, policy: MfaLockoutPolicy): Date {
  return new Date(now.getTime() + policy.lockoutMs);
}

export function isWellFormedTotpCode(code: string): boolean {
  return /^[0-9]{6}$/.test(code);
}
