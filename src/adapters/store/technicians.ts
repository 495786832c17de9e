import type { Kysely, Selectable } from 'kysely';
import type { Role } from '../../domain/roles.ts';
import type { IdentitySourceKind, TechnicianStatus } from '../../domain/technician.ts';
import type { NewTechnician, TechnicianPatch, TechnicianRecord, TechnicianRepository } from '../../services/ports/technicians.ts';
import type { Database, TechniciansTable } from './schema.ts';

const toDate = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

function toRecord(row: Selectable<TechniciansTable>): TechnicianRecord {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    email: row.email,
    slackUserId: row.slack_user_id,
    roles: JSON.parse(row.roles) as Role[],
    approverTenants: JSON.parse(row.approver_tenants) as string[],
    status: row.status as TechnicianStatus,
    identitySource: row.identity_source as IdentitySourceKind,
    mfaEnrolled: row.totp_confirmed_at !== null,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    passwordHash: row.password_hash,
    totpSecretSealed: row.totp_secret_sealed,
    totpConfirmedAt: toDate(row.totp_confirmed_at),
    mfaFailures: row.mfa_failures,
    mfaLockedUntil: toDate(row.mfa_locked_until),
    totpLastStep: row.totp_last_step,
  };
}

export function technicianRepository(db: Kysely<Database>): TechnicianRepository {
  return {
    async insert(t: NewTechnician, at: Date) {
      await db
        .insertInto('technicians')
        .values({
          id: t.id,
          username: t.username,
          display_name: t.displayName,
          email: t.email,
          slack_user_id: t.slackUserId,
          roles: JSON.stringify(t.roles),
          approver_tenants: JSON.stringify(t.approverTenants),
          status: 'active',
          identity_source: t.identitySource,
          password_hash: t.passwordHash,
          totp_secret_sealed: null,
          totp_confirmed_at: null,
          totp_last_step: null,
          mfa_failures: 0,
          mfa_locked_until: null,
          created_at: at.getTime(),
          updated_at: at.getTime(),
        })
        .execute();
    },

    async findById(id) {
      const row = await db.selectFrom('technicians').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toRecord(row) : null;
    },

    async findByUsername(username) {
      const row = await db.selectFrom('technicians').selectAll().where('username', '=', username).executeTakeFirst();
      return row ? toRecord(row) : null;
    },

    async findBySlackUserId(slackUserId) {
      const row = await db.selectFrom('technicians').selectAll().where('slack_user_id', '=', slackUserId).executeTakeFirst();
      return row ? toRecord(row) : null;
    },

    async list() {
      const rows = await db.selectFrom('technicians').selectAll().orderBy('username').execute();
      return rows.map(toRecord);
    },

    async update(id, patch: TechnicianPatch, at) {
      await db
        .updateTable('technicians')
        .set({
          ...(patch.displayName !== undefined && { display_name: patch.displayName }),
          ...(patch.email !== undefined && { email: patch.email }),
          ...(patch.slackUserId !== undefined && { slack_user_id: patch.slackUserId }),
          ...(patch.roles !== undefined && { roles: JSON.stringify(patch.roles) }),
          ...(patch.approverTenants !== undefined && { approver_tenants: JSON.stringify(patch.approverTenants) }),
          ...(patch.status !== undefined && { status: patch.status }),
          ...(patch.passwordHash !== undefined && { password_hash: patch.passwordHash }),
          updated_at: at.getTime(),
        })
        .where('id', '=', id)
        .execute();
    },

    async countActiveAdmins() {
      // Roles are a JSON array in text; the quoted form cannot match a longer role name.
      const row = await db
        .selectFrom('technicians')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', '=', 'active')
        .where('roles', 'like', '%"admin"%')
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async setPendingTotpSecret(id, sealed, at) {
      const result = await db
        .updateTable('technicians')
        .set({ totp_secret_sealed: sealed, totp_confirmed_at: null, totp_last_step: null, updated_at: at.getTime() })
        .where('id', '=', id)
        .where('totp_confirmed_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async confirmTotp(id, at) {
      await db
        .updateTable('technicians')
        .set({ totp_confirmed_at: at.getTime(), updated_at: at.getTime() })
        .where('id', '=', id)
        .where('totp_secret_sealed', 'is not', null)
        .execute();
    },

    async clearTotp(id, at) {
      await db
        .updateTable('technicians')
        .set({
          totp_secret_sealed: null,
          totp_confirmed_at: null,
          totp_last_step: null,
          mfa_failures: 0,
          mfa_locked_until: null,
          updated_at: at.getTime(),
        })
        .where('id', '=', id)
        .execute();
    },

    async acceptTotpStep(id, step, at, sealed) {
      const result = await db
        .updateTable('technicians')
        .set((eb) => ({
          totp_last_step: step,
          mfa_failures: 0,
          mfa_locked_until: null,
          totp_confirmed_at: eb.fn.coalesce('totp_confirmed_at', eb.val(at.getTime())),
          updated_at: at.getTime(),
        }))
        .where('id', '=', id)
        .where('totp_secret_sealed', '=', sealed)
        .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async countMfaAttempt(id, at) {
      const row = await db
        .updateTable('technicians')
        .set((eb) => ({ mfa_failures: eb('mfa_failures', '+', 1), mfa_locked_until: null }))
        .where('id', '=', id)
        .where((eb) => eb.or([eb('mfa_locked_until', 'is', null), eb('mfa_locked_until', '<=', at.getTime())]))
        .returning(['mfa_failures'])
        .executeTakeFirst();
      return row ? Number(row.mfa_failures) : null;
    },

    async lockMfa(id, until, at) {
      await db
        .updateTable('technicians')
        .set({ mfa_failures: 0, mfa_locked_until: until.getTime(), updated_at: at.getTime() })
        .where('id', '=', id)
        .execute();
    },

    async lockMfaPastLimit(id, maxFailures, until, at) {
      const result = await db
        .updateTable('technicians')
        .set({ mfa_failures: 0, mfa_locked_until: until.getTime(), updated_at: at.getTime() })
        .where('id', '=', id)
        .where('mfa_failures', '>', maxFailures)
        .where((eb) => eb.or([eb('mfa_locked_until', 'is', null), eb('mfa_locked_until', '<=', at.getTime())]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async clearMfaFailures(id, at) {
      await db
        .updateTable('technicians')
        .set({ mfa_failures: 0 })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('mfa_locked_until', 'is', null), eb('mfa_locked_until', '<=', at.getTime())]))
        .execute();
    },

    async listSealedTotpSecrets() {
      const rows = await db
        .selectFrom('technicians')
        .select(['id', 'totp_secret_sealed'])
        .where('totp_secret_sealed', 'is not', null)
        .execute();
      return rows.map((r) => ({ id: r.id, sealed: r.totp_secret_sealed as string }));
    },

    async replaceSealedTotpSecret(id, sealed) {
      await db.updateTable('technicians').set({ totp_secret_sealed: sealed }).where('id', '=', id).execute();
    },
  };
}
