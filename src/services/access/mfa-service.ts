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
  store: Store;
  clock: Clock;
  secrets: SecretBox;
  totp: TotpEngine;
  lockout: MfaLockoutPolicy;
  /** Lockouts raise an alert (docs/operations.md, Alerts); a notice that cannot be queued is logged, never fatal. */
  notifications: Notifications;
  log: EventLog;
}

export const totpSecretContext = (technicianId: string) => `technician:${technicianId}:totp`;

export type MfaService = ReturnType<typeof createMfaService>;

export function createMfaService(deps: MfaServiceDeps) {
  const { store, clock, secrets, totp, lockout } = deps;

  function lockedError(until: Date | null): DomainError {
    return new DomainError('mfa_locked', 'MFA is locked after too many wrong codes; try again later', {
      retryAfter: until?.toISOString(),
    });
  }

  async function recordFailure(
    technician: TechnicianRecord,
    attempt: number,
    reason: 'wrong_code' | 'replay',
    purpose: string,
    ctx: RequestContext,
  ): Promise<never> {
    const now = clock.now();
    const locks = failedAttemptLocks(attempt, lockout);
    const until = lockedUntilAfter(now, lockout);
    await store.transaction(async (tx) => {
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
      if (locks) {
        await tx.audit.append(
          {
            actor: 'system',
            action: 'mfa.locked',
            target: technician.id,
            details: { until: until.toISOString(), failures: attempt },
            ...auditOrigin(ctx),
          },
          now,
        );
      }
    });
    if (locks) {
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
      throw lockedError(until);
    }
    if (reason === 'replay') throw new DomainError('mfa_replay', 'This code has already been used; wait for the next one');
    throw new DomainError('mfa_invalid', 'The code is not valid');
  }

  /**
   * A count past the limit with no lock time (the failure that reached the limit could not write
   * its lock, or a crash came between) is a lockout from now: every lockout has an end.
   */
  async function lockPastLimit(technician: TechnicianRecord, attempt: number, ctx: RequestContext): Promise<never> {
    const now = clock.now();
    const until = lockedUntilAfter(now, lockout);
    const locked = await store.transaction(async (tx) => {
      if (!(await tx.technicians.lockMfaPastLimit(technician.id, lockout.maxFailures, until, now))) return false;
      await tx.audit.append(
        {
          actor: 'system',
          action: 'mfa.locked',
          target: technician.id,
          details: { until: until.toISOString(), failures: attempt },
          ...auditOrigin(ctx),
        },
        now,
      );
      return true;
    });
    if (locked) {
      await deps.notifications
        .publish([
          {
            kind: 'alert',
            alert: 'mfa_lockout',
            subject: `technician ${technician.username}`,
            details: { purpose: 'lockout', until: until.toISOString(), failures: attempt },
          },
        ])
        .catch((error: unknown) => deps.log.warn({ err: (error as Error).message }, 'the lockout alert could not be queued'));
    }
    // Not locked here: a parallel failure locked it first, or a correct code cleared the count.
    throw lockedError(locked ? until : null);
  }

  /**
   * Checks `code` and, when it is good, records the accepted step; `onSuccess` runs in the same
   * transaction, so the change the code authorises and its audit land together, or not at all.
   */
  async function verifyFreshCode<T>(
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
    const now = clock.now();
    // Opened before the attempt is counted: a secret that cannot be opened is not a wrong code.
    const secret = await secrets.open(sealed, totpSecretContext(technician.id));
    // The attempt is counted before the code is looked at, so parallel guesses each use a slot.
    const attempt = await store.technicians.countMfaAttempt(technician.id, now);
    if (attempt === null) throw lockedError(technician.mfaLockedUntil);
    if (!mayCheckAttempt(attempt, lockout)) return lockPastLimit(technician, attempt, ctx);
    if (!isWellFormedTotpCode(code)) return recordFailure(technician, attempt, 'wrong_code', purpose, ctx);

    const match = await totp.match(secret, code, now);
    if (match === null) return recordFailure(technician, attempt, 'wrong_code', purpose, ctx);
    if (isReplay(technician.totpLastStep, match.step)) return recordFailure(technician, attempt, 'replay', purpose, ctx);

    const replayedConcurrently = Symbol('replay');
    const result = await store
      .transaction(async (tx) => {
        // Conditional update: of two requests racing with the same code, only one gets here, and
        // only while the secret is still the one checked (a racing enrolment may have replaced it).
        if (!(await tx.technicians.acceptTotpStep(technician.id, match.step, now, sealed))) throw replayedConcurrently;
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
        await store.technicians
          .clearMfaFailures(technician.id, now)
          .catch((clearError: unknown) =>
            deps.log.warn({ err: (clearError as Error).message }, 'the MFA failure count could not be cleared'),
          );
        throw error;
      });
    if (result === null) return recordFailure(technician, attempt, 'replay', purpose, ctx);
    return result.value;
  }

  return { verifyFreshCode };
}
