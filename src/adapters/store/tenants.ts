import type { Kysely, Selectable } from 'kysely';
import type { TenantRecord, TenantRepository } from '../../services/ports/tenants.ts';
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
    frozen: row.frozen_at === null ? null : { at: new Date(Number(row.frozen_at)), by: row.frozen_by ?? '', reason: row.freeze_reason },
    archived: row.archived_at === null ? null : { at: new Date(Number(row.archived_at)), by: row.archived_by ?? '' },
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

    async holdOpen(id) {
      // A no-op write: it takes the row's lock until the transaction ends, so a freeze committed
      // meanwhile is either seen here or waits for this transaction (and then sees what it wrote).
      const result = await db
        .updateTable('tenants')
        .set((eb) => ({ updated_at: eb.ref('updated_at') }))
        .where('id', '=', id)
        .where('frozen_at', 'is', null)
        .where('archived_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async freeze(id, freeze) {
      const result = await db
        .updateTable('tenants')
        .set({ frozen_at: freeze.at.getTime(), frozen_by: freeze.by, freeze_reason: freeze.reason, updated_at: freeze.at.getTime() })
        .where('id', '=', id)
        .where('frozen_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async unfreeze(id, frozenAt, at) {
      const result = await db
        .updateTable('tenants')
        .set({ frozen_at: null, frozen_by: null, freeze_reason: null, updated_at: at.getTime() })
        .where('id', '=', id)
        .where('frozen_at', '=', frozenAt.getTime())
        .where('archived_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async archive(id, by, at) {
      const result = await db
        .updateTable('tenants')
        .set({ archived_at: at.getTime(), archived_by: by, updated_at: at.getTime() })
        .where('id', '=', id)
        .where('frozen_at', 'is not', null)
        .where('archived_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
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
