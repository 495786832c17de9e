// What drift detection has already reported (migration 0006_drift): one row per member per managed
// group, kept while the member stays, so the audit is not flooded every reconcile.
import type { Kysely } from 'kysely';
import type { DriftReport, DriftReportRepository } from '../../services/ports/reviews.ts';
import type { Database } from './schema.ts';

export function driftReportRepository(db: Kysely<Database>): DriftReportRepository {
  return {
    async listForTenant(tenantId) {
      const rows = await db.selectFrom('drift_reports').selectAll().where('tenant_id', '=', tenantId).execute();
      return rows.map((row) => ({
        tenantId: row.tenant_id,
        groupGuid: row.group_guid,
        groupDn: row.group_dn,
        memberDn: row.member_dn,
        kind: row.kind === 'technician' ? 'technician' : 'unexpected',
        reportedAt: new Date(Number(row.reported_at)),
      }));
    },

    async add(report: DriftReport) {
      const inserted = await db
        .insertInto('drift_reports')
        .values({
          tenant_id: report.tenantId,
          group_guid: report.groupGuid.toLowerCase(),
          member_key: report.memberDn.toLowerCase(),
          kind: report.kind,
          member_dn: report.memberDn,
          group_dn: report.groupDn,
          reported_at: report.reportedAt.getTime(),
        })
        .onConflict((oc) => oc.columns(['tenant_id', 'group_guid', 'member_key']).doNothing())
        .executeTakeFirst();
      return Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
    },

    async remove(tenantId, reports) {
      for (const r of reports) {
        await db
          .deleteFrom('drift_reports')
          .where('tenant_id', '=', tenantId)
          .where('group_guid', '=', r.groupGuid.toLowerCase())
          .where('member_key', '=', r.memberDn.toLowerCase())
          .execute();
      }
    },
  };
}
