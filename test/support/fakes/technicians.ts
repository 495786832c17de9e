// In-memory technicians and sessions (the real ones: src/adapters/store/technicians.ts, sessions.ts).
import type { SessionRepository, TechnicianRecord, TechnicianRepository } from '../../../src/services/ports/technicians.ts';
import { assertUnique, byText, change, conflict, copy, foreignKeyViolation, put, type StoreContext } from './memory.ts';

const unique = [
  { fields: ['username'], of: (t: TechnicianRecord) => t.username },
  { fields: ['slackUserId'], of: (t: TechnicianRecord) => t.slackUserId },
];

/** mfaEnrolled is derived from the confirmation, as the real row mapping does. */
const read = (t: TechnicianRecord | undefined): TechnicianRecord | null =>
  t ? { ...copy(t), mfaEnrolled: t.totpConfirmedAt !== null } : null;
const unlocked = (t: TechnicianRecord, at: Date) => t.mfaLockedUntil === null || t.mfaLockedUntil.getTime() <= at.getTime();

export function memoryTechnicianRepository(ctx: StoreContext): TechnicianRepository {
  const rows = ctx.state.technicians;
  const set = (id: string, where: (t: TechnicianRecord) => boolean, apply: (t: TechnicianRecord) => void) =>
    change(ctx, rows, id, where, apply);
  return {
    async insert(t, at) {
      const row: TechnicianRecord = {
        ...copy(t),
        status: 'active',
        mfaEnrolled: false,
        createdAt: at,
        updatedAt: at,
        totpSecretSealed: null,
        totpConfirmedAt: null,
        mfaFailures: 0,
        mfaLockedUntil: null,
        totpLastStep: null,
      };
      if (rows.has(t.id)) throw conflict(['id']);
      assertUnique(rows, t.id, row, unique);
      put(ctx, rows, t.id, row);
    },
    findById: async (id) => read(rows.get(id)),
    findByUsername: async (username) => read([...rows.values()].find((t) => t.username === username)),
    findBySlackUserId: async (slackUserId) => read([...rows.values()].find((t) => t.slackUserId === slackUserId)),
    list: async () => [...rows.values()].sort((a, b) => byText(a.username, b.username)).map((t) => read(t)!),
    async update(id, patch, at) {
      const existing = rows.get(id);
      if (!existing) return;
      const next: TechnicianRecord = { ...copy(existing), updatedAt: at };
      for (const [key, value] of Object.entries(patch))
        if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = copy(value);
      assertUnique(rows, id, next, unique);
      put(ctx, rows, id, next);
    },
    countActiveAdmins: async () => [...rows.values()].filter((t) => t.status === 'active' && t.roles.includes('admin')).length,
    setPendingTotpSecret: async (id, sealed, at) =>
      set(
        id,
        (t) => t.totpConfirmedAt === null,
        (t) => Object.assign(t, { totpSecretSealed: sealed, totpConfirmedAt: null, totpLastStep: null, updatedAt: at }),
      ),
    async confirmTotp(id, at) {
      set(
        id,
        (t) => t.totpSecretSealed !== null,
        (t) => Object.assign(t, { totpConfirmedAt: at, updatedAt: at }),
      );
    },
    async clearTotp(id, at) {
      set(
        id,
        () => true,
        (t) =>
          Object.assign(t, {
            totpSecretSealed: null,
            totpConfirmedAt: null,
            totpLastStep: null,
            mfaFailures: 0,
            mfaLockedUntil: null,
            updatedAt: at,
          }),
      );
    },
    acceptTotpStep: async (id, step, at, sealed) =>
      set(
        id,
        (t) => t.totpSecretSealed === sealed && (t.totpLastStep === null || t.totpLastStep < step),
        (t) =>
          Object.assign(t, {
            totpLastStep: step,
            mfaFailures: 0,
            mfaLockedUntil: null,
            totpConfirmedAt: t.totpConfirmedAt ?? at,
            updatedAt: at,
          }),
      ),
    async countMfaAttempt(id, at) {
      const counted = set(
        id,
        (t) => unlocked(t, at),
        (t) => Object.assign(t, { mfaFailures: t.mfaFailures + 1, mfaLockedUntil: null }),
      );
      return counted ? rows.get(id)!.mfaFailures : null;
    },
    async lockMfa(id, until, at) {
      set(
        id,
        () => true,
        (t) => Object.assign(t, { mfaFailures: 0, mfaLockedUntil: until, updatedAt: at }),
      );
    },
    lockMfaPastLimit: async (id, maxFailures, until, at) =>
      set(
        id,
        (t) => t.mfaFailures > maxFailures && unlocked(t, at),
        (t) => Object.assign(t, { mfaFailures: 0, mfaLockedUntil: until, updatedAt: at }),
      ),
    async clearMfaFailures(id, at) {
      set(
        id,
        (t) => unlocked(t, at),
        (t) => Object.assign(t, { mfaFailures: 0 }),
      );
    },
    listSealedTotpSecrets: async () =>
      [...rows.values()].filter((t) => t.totpSecretSealed !== null).map((t) => ({ id: t.id, sealed: t.totpSecretSealed! })),
    async replaceSealedTotpSecret(id, sealed) {
      set(
        id,
        () => true,
        (t) => Object.assign(t, { totpSecretSealed: sealed }),
      );
    },
  };
}

export function memorySessionRepository(ctx: StoreContext): SessionRepository {
  const rows = ctx.state.sessions;
  return {
    async insert(s) {
      if (rows.has(s.id)) throw conflict(['id']);
      if (!ctx.state.technicians.has(s.technicianId)) throw foreignKeyViolation();
      put(ctx, rows, s.id, s);
    },
    findById: async (id) => (rows.has(id) ? copy(rows.get(id)!) : null),
    rotateRefresh: async (id, oldHash, newHash, at) =>
      change(
        ctx,
        rows,
        id,
        (s) => s.refreshHash === oldHash && s.revokedAt === null,
        (s) => Object.assign(s, { refreshHash: newHash, lastRefreshedAt: at }),
      ),
    async revoke(id, at) {
      change(
        ctx,
        rows,
        id,
        (s) => s.revokedAt === null,
        (s) => Object.assign(s, { revokedAt: at }),
      );
    },
    async revokeAllForTechnician(technicianId, at) {
      let n = 0;
      for (const [id, s] of [...rows]) {
        if (s.technicianId !== technicianId) continue;
        if (
          change(
            ctx,
            rows,
            id,
            (r) => r.revokedAt === null,
            (r) => Object.assign(r, { revokedAt: at }),
          )
        )
          n++;
      }
      return n;
    },
  };
}
