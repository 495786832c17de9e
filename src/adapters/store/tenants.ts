import type { Kysely, Selectable } from 'kysely';
import type { TenantRecord, TenantRepository } from '../../services/ports.ts';
import type { Database, TenantsTable } from './schema.ts';

function toRecord(row: Selectable<TenantsTable>): TenantRecord {
  return {
    id: row.id,
    displayName: row.display_name,
    timeZone: row.time_zone,
    directory: { url: row.directory_url, bindDn: row.bind_dn, baseDn: row.base_dn, caCertificate: row.ca_certificate },
    keepAccountsDisabled: row.keep_accounts_disabled === 1,
    slackChannel: row.slack_channel,
    driftMode: row.drift_mode === 'report' ? 'report' : 'remove',
    reviewSchedule: row.review_schedule,
    inactiveDays: Number(row.inactive_days),
    disableInactive: Number(row.disable_inactive) === 1,
    riskThreshold: row.risk_threshold,
    bindPasswordSealed: row.bind_password_sealed,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

export function tenantRepository(db: Kysely<Database>): TenantRepository {
  return {
    async insert(t, at) {
      await db
        .insertInto('tenants')
        .values({
          id: t.id,
          display_name: t.displayName,
          time_zone: t.timeZone,
          directory_url: t.directory.url,
          bind_dn: t.directory.bindDn,
          base_dn: t.directory.baseDn,
          ca_certificate: t.directory.caCertificate,
          bind_password_sealed: t.bindPasswordSealed,
          keep_accounts_disabled: t.keepAccountsDisabled ? 1 : 0,
          slack_channel: t.slackChannel,
          drift_mode: t.driftMode,
          review_schedule: t.reviewSchedule,
          inactive_days: t.inactiveDays,
          disable_inactive: t.disableInactive ? 1 : 0,
          risk_threshold: t.riskThreshold,
          created_at: at.getTime(),
          updated_at: at.getTime(),
        })
        .execute();
    },

    async findById(id) {
      const row = await db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toRecord(row) : null;
    },

    async list() {
      return (await db.selectFrom('tenants').selectAll().orderBy('id').execute()).map(toRecord);
    },

    async update(id, patch, at) {
      await db
        .updateTable('tenants')
        .set({
          ...(patch.displayName !== undefined && { display_name: patch.displayName }),
          ...(patch.timeZone !== undefined && { time_zone: patch.timeZone }),
          ...(patch.directory !== undefined && {
            directory_url: patch.directory.url,
            bind_dn: patch.directory.bindDn,
            base_dn: patch.directory.baseDn,
            ca_certificate: patch.directory.caCertificate,
          }),
          ...(patch.bindPasswordSealed !== undefined && { bind_password_sealed: patch.bindPasswordSealed }),
          ...(patch.keepAccountsDisabled !== undefined && { keep_accounts_disabled: patch.keepAccountsDisabled ? 1 : 0 }),
          ...(patch.slackChannel !== undefined && { slack_channel: patch.slackChannel }),
          ...(patch.driftMode !== undefined && { drift_mode: patch.driftMode }),
          ...(patch.reviewSchedule !== undefined && { review_schedule: patch.reviewSchedule }),
          ...(patch.inactiveDays !== undefined && { inactive_days: patch.inactiveDays }),
          ...(patch.disableInactive !== undefined && { disable_inactive: patch.disableInactive ? 1 : 0 }),
          ...(patch.riskThreshold !== undefined && { risk_threshold: patch.riskThreshold }),
          updated_at: at.getTime(),
        })
        .where('id', '=', id)
        .execute();
    },

    async delete(id) {
      await db.deleteFrom('tenants').where('id', '=', id).execute();
    },

    async listSealedBindPasswords() {
      const rows = await db.selectFrom('tenants').select(['id', 'bind_password_sealed']).execute();
      return rows.map((r) => ({ id: r.id, sealed: r.bind_password_sealed }));
    },

    async replaceSealedBindPassword(id, sealed) {
      await db.updateTable('tenants').set({ bind_password_sealed: sealed }).where('id', '=', id).execute();
    },
  };
}
