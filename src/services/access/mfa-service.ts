// Verifies a fresh TOTP code for a technician (docs/security-model.md, Login, TOTP and sessions): current step ±1, a step accepted once is
// never accepted again (replay, audited), and 5 consecutive failures lock for 15 minutes
// (audited). Login uses it, and so will every step-up (elevate, approve, extend, sign-off).
import { DomainError } from '../../domain/errors.ts';
import {
  failedAttemptLocks,
  isReplay,
  isWellFormedTotpCode,
  lockedUntilAfter,
  mayCheckAttempt,
  type MfaLockoutPolicy,
} from '../../domain/mfa.ts';
import { auditOrigin, type RequestContext } from '../context.ts';
import type { Clock, EventLog } from '../ports/runtime.ts';
import type { Notifications } from '../ports/notifications.ts';
import type { SecretBox, TotpEngine } from '../ports/crypto.ts';
import type { Store, StoreRepositories } from '../ports/store.ts';
import type { TechnicianRecord } from '../ports/technicians.ts';

export interface MfaServiceDeps {
  store: Pick<Store, 'technicians' | 'transaction'>;
  clock: Clock;
  secrets: SecretBox;
  totp: TotpEngine;
  lockout: MfaLockoutPolicy;
  /** Lockouts raise an alert (docs/operations.md, Alerts); a notice that cannot be queued is logged, never fatal. */
  notifications: Notifications;
  log: EventLog;
}

/** The fresh-code check every step-up uses. */
export interface MfaService {
  /**
   * Checks `code` and, when it is good, records the accepted step; `onSuccess` runs in the same
   * transaction, so the change the code authorises and its audit land together, or not at all.
   */
  verifyFreshCode<T>(
    technician: TechnicianRecord,
    code: string,
    purpose: string,
    ctx: RequestContext,
    onSuccess: (tx: StoreRepositories, at: Date) => Promise<T>,
  ): Promise<T>;
}

export const totpSecretContext = (technicianId: string) => `technician:${technicianId}:totp`;

export function createMfaService(deps: MfaServiceDeps): MfaService {
  return {
    verifyFreshCode: (technician, code, purpose, ctx, onSuccess) => verifyFreshCode(deps, technician, code, purpose, ctx, onSuccess),
  };
}

function lockedError(until: Date | null): DomainError {
  return new DomainError('mfa_locked', 'MFA is locked after too many wrong codes; try again later', {
    retryAfter: until?.toISOString(),
  });
}

function lockedEvent(technician: TechnicianRecord, until: Date, attempt: number, ctx: RequestContext) {
  return {
    actor: 'system',
    action: 'mfa.locked' as const,
    target: technician.id,
    details: { until: until.toISOString(), failures: attempt },
    ...auditOrigin(ctx),
  };
}

/** The lockout alert (docs/operations.md, Alerts); one that cannot be queued is logged. */
async function alertLockout(deps: MfaServiceDeps, technician: TechnicianRecord, purpose: string, until: Date, attempt: number) {
  await deps.notifications
    .publish([
      {
        kind: 'alert',
        alert: 'mfa_lockout',
        subject: `technician ${technician.username}`,
        details: { purpose, until: until.toISOString(), failures: attempt },
      },
    ])
    .catch((error: unknown) => deps.log.warn({ err: (error as Error).message }, 'the lockout alert could not be queued'));
}

async function recordFailure(
  deps: MfaServiceDeps,
  technician: TechnicianRecord,
  attempt: number,
  reason: 'wrong_code' | 'replay',
  purpose: string,
  ctx: RequestContext,
): Promise<never> {
  const now = deps.clock.now();
  const locks = failedAttemptLocks(attempt, deps.lockout);
  const until = lockedUntilAfter(now, deps.lockout);
  await deps.store.transaction(async (tx) => {
    if (locks) await tx.technicians.lockMfa(technician.id, until, now);
    await tx.audit.append(
      {
        actor: technician.id,
        action: reason === 'replay' ? 'mfa.replay_refused' : 'mfa.verify.failed',
        target: technician.id,
        details: { purpose, consecutiveFailures: attempt },
        ...auditOrigin(ctx),
      },
      now,
    );
    if (locks) await tx.audit.append(lockedEvent(technician, until, attempt, ctx), now);
  });
  if (locks) {
    await alertLockout(deps, technician, purpose, until, attempt);
    throw lockedError(until);
  }
  if (reason === 'replay') throw new DomainError('mfa_replay', 'This code has already been used; wait for the next one');
  throw new DomainError('mfa_invalid', 'The code is not valid');
}

/**
 * A count past the limit with no lock time (the failure that reached the limit could not write
 * its lock, or a crash came between) is a lockout from now: every lockout has an end.
 */
async function lockPastLimit(deps: MfaServiceDeps, technician: TechnicianRecord, attempt: number, ctx: RequestContext): Promise<never> {
  const now = deps.clock.now();
  const until = lockedUntilAfter(now, deps.lockout);
  const locked = await deps.store.transaction(async (tx) => {
    if (!(await tx.technicians.lockMfaPastLimit(technician.id, deps.lockout.maxFailures, until, now))) return false;
    await tx.audit.append(lockedEvent(technician, until, attempt, ctx), now);
    return true;
  });
  if (locked) await alertLockout(deps, technician, 'lockout', until, attempt);
  // Not locked here: a parallel failure locked it first, or a correct code cleared the count.
  throw lockedError(locked ? until : null);
}

async function verifyFreshCode<T>(
  deps: MfaServiceDeps,
  technician: TechnicianRecord,
  code: string,
  purpose: string,
  ctx: RequestContext,
  onSuccess: (tx: StoreRepositories, at: Date) => Promise<T>,
): Promise<T> {
  const sealed = technician.totpSecretSealed;
  if (sealed === null) {
    throw new DomainError('mfa_not_enrolled', 'No authenticator is enrolled for this technician');
  }
  const now = deps.clock.now();
  // Opened before the attempt is counted: a secret that cannot be opened is not a wrong code.
  const secret = await deps.secrets.open(sealed, totpSecretContext(technician.id));
  // The attempt is counted before the code is looked at, so parallel guesses each use a slot.
  const attempt = await deps.store.technicians.countMfaAttempt(technician.id, now);
  if (attempt === null) throw lockedError(technician.mfaLockedUntil);
  if (!mayCheckAttempt(attempt, deps.lockout)) return lockPastLimit(deps, technician, attempt, ctx);
  if (!isWellFormedTotpCode(code)) return recordFailure(deps, technician, attempt, 'wrong_code', purpose, ctx);

  const match = await deps.totp.match(secret, code, now);
  if (match === null) return recordFailure(deps, technician, attempt, 'wrong_code', purpose, ctx);
  if (isReplay(technician.totpLastStep, match.step)) return recordFailure(deps, technician, attempt, 'replay', purpose, ctx);

  const result = await acceptStep(deps, { technician, sealed, step: match.step, purpose, ctx, now }, onSuccess);
  if (result === null) return recordFailure(deps, technician, attempt, 'replay', purpose, ctx);
  return result.value;
}

/** Records the accepted step and runs `onSuccess` with it; null when a racing request took the step first. */
async function acceptStep<T>(
  deps: MfaServiceDeps,
  accepted: { technician: TechnicianRecord; sealed: string; step: number; purpose: string; ctx: RequestContext; now: Date },
  onSuccess: (tx: StoreRepositories, at: Date) => Promise<T>,
): Promise<{ value: T } | null> {
  const { technician, sealed, step, purpose, ctx, now } = accepted;
  const replayedConcurrently = Symbol('replay');
  return deps.store
    .transaction(async (tx) => {
      // Conditional update: of two requests racing with the same code, only one gets here, and
      // only while the secret is still the one checked (a racing enrolment may have replaced it).
      if (!(await tx.technicians.acceptTotpStep(technician.id, step, now, sealed))) throw replayedConcurrently;
      await tx.audit.append(
        { actor: technician.id, action: 'mfa.verify.succeeded', target: technician.id, details: { purpose }, ...auditOrigin(ctx) },
        now,
      );
      if (technician.totpConfirmedAt === null) {
        await tx.audit.append(
          { actor: technician.id, action: 'mfa.enrolment.completed', target: technician.id, details: {}, ...auditOrigin(ctx) },
          now,
        );
      }
      return { value: await onSuccess(tx, now) };
    })
    .catch(async (error: unknown) => {
      if (error === replayedConcurrently) return null;
      // The code was right: it never counts as a failure, even when the change it authorised failed.
      await deps.store.technicians
        .clearMfaFailures(technician.id, now)
        .catch((clearError: unknown) =>
          deps.log.warn({ err: (clearError as Error).message }, 'the MFA failure count could not be cleared'),
        );
      throw error;
    });
}
