// Schema migrations, in order. Names sort lexically; never edit a migration that has shipped.
import { sql, type Kysely } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely/migration';
import { genesisHash } from '../../domain/audit.ts';

const initial: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('technicians')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('username', 'text', (c) => c.notNull().unique())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('slack_user_id', 'text', (c) => c.unique())
      .addColumn('roles', 'text', (c) => c.notNull())
      .addColumn('approver_tenants', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('identity_source', 'text', (c) => c.notNull())
      .addColumn('password_hash', 'text')
      .addColumn('totp_secret_sealed', 'text')
      .addColumn('totp_confirmed_at', 'bigint')
      .addColumn('totp_last_step', 'bigint')
      .addColumn('mfa_failures', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('mfa_locked_until', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('technician_id', 'text', (c) => c.notNull().references('technicians.id').onDelete('cascade'))
      .addColumn('refresh_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_refreshed_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .addColumn('source_ip', 'text')
      .addColumn('user_agent', 'text')
      .execute();
    await db.schema.createIndex('sessions_technician').on('sessions').column('technician_id').execute();

    await db.schema
      .createTable('tenants')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('time_zone', 'text', (c) => c.notNull())
      .addColumn('directory_url', 'text', (c) => c.notNull())
      .addColumn('bind_dn', 'text', (c) => c.notNull())
      .addColumn('base_dn', 'text', (c) => c.notNull())
      .addColumn('ca_certificate', 'text', (c) => c.notNull())
      .addColumn('bind_password_sealed', 'text', (c) => c.notNull())
      .addColumn('keep_accounts_disabled', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('signing_keys')
      .addColumn('kid', 'text', (c) => c.primaryKey())
      .addColumn('algorithm', 'text', (c) => c.notNull())
      .addColumn('public_jwk', 'text', (c) => c.notNull())
      .addColumn('private_jwk_sealed', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('retired_at', 'bigint')
      .execute();

    await db.schema
      .createTable('audit_events')
      .addColumn('seq', 'bigint', (c) => c.primaryKey())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('tenant_id', 'text')
      .addColumn('target', 'text')
      .addColumn('request_id', 'text')
      .addColumn('source_ip', 'text')
      .addColumn('details', 'text', (c) => c.notNull())
      .addColumn('prev_hash', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute();
    await db.schema.createIndex('audit_events_actor').on('audit_events').columns(['actor', 'seq']).execute();
    await db.schema.createIndex('audit_events_tenant').on('audit_events').columns(['tenant_id', 'seq']).execute();
    await db.schema.createIndex('audit_events_action').on('audit_events').columns(['action', 'seq']).execute();

    // One row holding the chain head; every append updates it first, which serialises appenders
    // (a row lock on PostgreSQL, the write lock on SQLite).
    await db.schema
      .createTable('audit_head')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .execute();
    await db.insertInto('audit_head').values({ id: 1, seq: 0, hash: genesisHash }).execute();
  },
  async down(db: Kysely<any>) {
    for (const table of ['audit_head', 'audit_events', 'signing_keys', 'tenants', 'sessions', 'technicians']) {
      await db.schema.dropTable(table).execute();
    }
  },
};

const elevationCore: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('tenant_accounts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
      .addColumn('technician_id', 'text', (c) => c.notNull().references('technicians.id'))
      .addColumn('object_guid', 'text', (c) => c.notNull())
      .addColumn('dn', 'text', (c) => c.notNull())
      .addColumn('sam_account_name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('tenant_accounts_one_per_technician', ['tenant_id', 'technician_id'])
      .addUniqueConstraint('tenant_accounts_one_per_guid', ['tenant_id', 'object_guid'])
      .execute();

    await db.schema
      .createTable('access_profiles')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('groups', 'text', (c) => c.notNull())
      .addColumn('eligible_technicians', 'text', (c) => c.notNull())
      .addColumn('eligible_roles', 'text', (c) => c.notNull())
      .addColumn('default_duration_seconds', 'integer', (c) => c.notNull())
      .addColumn('max_duration_seconds', 'integer', (c) => c.notNull())
      .addColumn('windows', 'text', (c) => c.notNull())
      .addColumn('workstations', 'text', (c) => c.notNull())
      .addColumn('require_justification', 'integer', (c) => c.notNull())
      .addColumn('ticket_pattern', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('suspended_reason', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('access_profiles_name', ['tenant_id', 'name'])
      .execute();

    await db.schema
      .createTable('elevations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
      .addColumn('profile_id', 'text', (c) => c.notNull())
      .addColumn('profile_name', 'text', (c) => c.notNull())
      .addColumn('technician_id', 'text', (c) => c.notNull().references('technicians.id'))
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('account_dn', 'text', (c) => c.notNull())
      .addColumn('account_guid', 'text', (c) => c.notNull())
      .addColumn('groups', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('duration_seconds', 'integer', (c) => c.notNull())
      .addColumn('justification', 'text')
      .addColumn('ticket', 'text')
      .addColumn('requested_at', 'bigint', (c) => c.notNull())
      .addColumn('activated_at', 'bigint')
      .addColumn('ends_at', 'bigint')
      .addColumn('ended_at', 'bigint')
      .addColumn('revocation_reason', 'text')
      .addColumn('failure_reason', 'text')
      .addColumn('steps', 'text')
      .addColumn('overdue_alerted_at', 'bigint')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('elevations_state_ends').on('elevations').columns(['state', 'ends_at']).execute();
    await db.schema.createIndex('elevations_holder').on('elevations').columns(['tenant_id', 'technician_id', 'state']).execute();
  },
  async down(db: Kysely<any>) {
    for (const table of ['elevations', 'access_profiles', 'tenant_accounts']) await db.schema.dropTable(table).execute();
  },
};

const approvals: Migration = {
  async up(db: Kysely<any>) {
    const noApproval = JSON.stringify({ required: 0, approvers: [], timeoutSeconds: 3600, reapproveExtensions: false });
    await db.schema
      .alterTable('access_profiles')
      .addColumn('approval', 'text', (c) => c.notNull().defaultTo(noApproval))
      .execute();
    await db.schema.alterTable('access_profiles').addColumn('max_total_duration_seconds', 'integer').execute();
    await db
      .updateTable('access_profiles')
      .set({ max_total_duration_seconds: sql`max_duration_seconds` })
      .execute();
    await db.schema.alterTable('tenants').addColumn('slack_channel', 'text').execute();
    for (const [name, type] of [
      ['approvals_required', 'integer'],
      ['approver_ids', 'text'],
      ['approval_deadline', 'bigint'],
      ['window_closes_at', 'bigint'],
      ['extension', 'text'],
      ['extended_seconds', 'integer'],
    ] as const) {
      await db.schema
        .alterTable('elevations')
        .addColumn(name, type, (c) =>
          name === 'approvals_required' || name === 'extended_seconds'
            ? c.notNull().defaultTo(0)
            : name === 'approver_ids'
              ? c.notNull().defaultTo('[]')
              : c,
        )
        .execute();
    }
    // One row per approver per round: the primary key is what makes "one approver counts once" hold under races.
    await db.schema
      .createTable('elevation_decisions')
      .addColumn('elevation_id', 'text', (c) => c.notNull().references('elevations.id'))
      .addColumn('round', 'integer', (c) => c.notNull())
      .addColumn('approver_id', 'text', (c) => c.notNull().references('technicians.id'))
      .addColumn('decision', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('decided_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('elevation_decisions_pk', ['elevation_id', 'round', 'approver_id'])
      .execute();
    await db.schema.createIndex('elevations_approval_deadline').on('elevations').columns(['state', 'approval_deadline']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('elevation_decisions').execute();
    await db.schema.dropIndex('elevations_approval_deadline').execute();
    for (const column of ['approvals_required', 'approver_ids', 'approval_deadline', 'window_closes_at', 'extension', 'extended_seconds']) {
      await db.schema.alterTable('elevations').dropColumn(column).execute();
    }
    await db.schema.alterTable('tenants').dropColumn('slack_channel').execute();
    await db.schema.alterTable('access_profiles').dropColumn('approval').execute();
    await db.schema.alterTable('access_profiles').dropColumn('max_total_duration_seconds').execute();
  },
};

const siemCursors: Migration = {
  async up(db: Kysely<any>) {
    // One row per SIEM target: how far it has been sent, its outage state and a lease that keeps
    // two workers from sending the same target's events at once.
    await db.schema
      .createTable('siem_cursors')
      .addColumn('target', 'text', (c) => c.primaryKey())
      .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('stalled_since', 'bigint')
      .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('retry_at', 'bigint')
      .addColumn('backlog_alerted_at', 'bigint')
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', 'bigint')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('siem_cursors').execute();
  },
};

// Signed checkpoints, the audit signing keys (apart from the token keys: never dropped, so old
// exports verify), the retention anchor, and the index the elevation history export pages on.
const auditProof: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('audit_checkpoints')
      .addColumn('seq', 'bigint', (c) => c.primaryKey())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('kid', 'text', (c) => c.notNull())
      .addColumn('jws', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('audit_signing_keys')
      .addColumn('kid', 'text', (c) => c.primaryKey())
      .addColumn('algorithm', 'text', (c) => c.notNull())
      .addColumn('public_jwk', 'text', (c) => c.notNull())
      .addColumn('private_jwk_sealed', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('retired_at', 'bigint')
      .execute();
    await db.schema
      .alterTable('audit_head')
      .addColumn('purged_through_seq', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .alterTable('audit_head')
      .addColumn('anchor_hash', 'text', (c) => c.notNull().defaultTo(genesisHash))
      .execute();
    await db.schema.createIndex('elevations_requested').on('elevations').columns(['requested_at', 'id']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('elevations_requested').execute();
    await db.schema.alterTable('audit_head').dropColumn('anchor_hash').execute();
    await db.schema.alterTable('audit_head').dropColumn('purged_through_seq').execute();
    await db.schema.dropTable('audit_signing_keys').execute();
    await db.schema.dropTable('audit_checkpoints').execute();
  },
};

// Drift (docs/security-model.md, Drift): the tenant's drift mode, and what was already reported so that each unexpected
// member is reported once while it stays.
const drift: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .alterTable('tenants')
      .addColumn('drift_mode', 'text', (c) => c.notNull().defaultTo('remove'))
      .execute();
    await db.schema
      .createTable('drift_reports')
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('group_guid', 'text', (c) => c.notNull())
      .addColumn('member_key', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('member_dn', 'text', (c) => c.notNull())
      .addColumn('group_dn', 'text', (c) => c.notNull())
      .addColumn('reported_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('drift_reports_pk', ['tenant_id', 'group_guid', 'member_key'])
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('drift_reports').execute();
    await db.schema.alterTable('tenants').dropColumn('drift_mode').execute();
  },
};

// Risk signals (docs/security-model.md, Risk signals): each elevation's score and reasons (null for requests from before), the
// tenant's threshold, and the index the technician's own history is read through.
const risk: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('elevations').addColumn('risk_score', 'integer').execute();
    await db.schema.alterTable('elevations').addColumn('risk_reasons', 'text').execute();
    await db.schema
      .alterTable('tenants')
      .addColumn('risk_threshold', 'integer', (c) => c.notNull().defaultTo(50))
      .execute();
    await db.schema.createIndex('elevations_technician_requested').on('elevations').columns(['technician_id', 'requested_at']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('elevations_technician_requested').execute();
    await db.schema.alterTable('tenants').dropColumn('risk_threshold').execute();
    await db.schema.alterTable('elevations').dropColumn('risk_reasons').execute();
    await db.schema.alterTable('elevations').dropColumn('risk_score').execute();
  },
};

// Access reviews (docs/security-model.md, Access reviews): each tenant's review schedule and inactivity settings, the reviews, and
// their findings.
const reviews: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .alterTable('tenants')
      .addColumn('review_schedule', 'text', (c) => c.notNull().defaultTo('0 6 * * 1'))
      .execute();
    await db.schema
      .alterTable('tenants')
      .addColumn('inactive_days', 'integer', (c) => c.notNull().defaultTo(45))
      .execute();
    await db.schema
      .alterTable('tenants')
      .addColumn('disable_inactive', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createTable('reviews')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('trigger', 'text', (c) => c.notNull())
      .addColumn('requested_by', 'text')
      // The scheduler's run that started it, so a retried job resumes its review instead of starting another.
      .addColumn('schedule_key', 'text', (c) => c.unique())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('requested_at', 'bigint', (c) => c.notNull())
      .addColumn('started_at', 'bigint')
      .addColumn('finished_at', 'bigint')
      .addColumn('critical', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('high', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('medium', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('low', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('info', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('signed_off_by', 'text')
      .addColumn('signed_off_at', 'bigint')
      .addColumn('signoff_comment', 'text')
      .execute();
    await db.schema.createIndex('reviews_tenant').on('reviews').columns(['tenant_id', 'requested_at']).execute();
    await db.schema
      .createTable('review_findings')
      .addColumn('review_id', 'text', (c) => c.notNull().references('reviews.id').onDelete('cascade'))
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('severity', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('technician_id', 'text')
      .addColumn('summary', 'text', (c) => c.notNull())
      .addColumn('action', 'text')
      .addColumn('details', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('review_findings_pk', ['review_id', 'position'])
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('review_findings').execute();
    await db.schema.dropIndex('reviews_tenant').execute();
    await db.schema.dropTable('reviews').execute();
    await db.schema.alterTable('tenants').dropColumn('disable_inactive').execute();
    await db.schema.alterTable('tenants').dropColumn('inactive_days').execute();
    await db.schema.alterTable('tenants').dropColumn('review_schedule').execute();
  },
};

// What the SIEM status shows of each target (GET /api/v1/audit/siem, /metrics): when it last took
// events and the last error (a connection or TLS message, nothing secret), kept after it recovers.
const siemStatus: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('siem_cursors').addColumn('last_success_at', 'bigint').execute();
    await db.schema.alterTable('siem_cursors').addColumn('last_error', 'text').execute();
    await db.schema.alterTable('siem_cursors').addColumn('last_error_at', 'bigint').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('siem_cursors').dropColumn('last_error_at').execute();
    await db.schema.alterTable('siem_cursors').dropColumn('last_error').execute();
    await db.schema.alterTable('siem_cursors').dropColumn('last_success_at').execute();
  },
};

// The lease of an activation in flight (docs/architecture.md, Activation leases): who holds it and until when. The
// process activating renews it; once it has lapsed the reconciler takes it over and undoes the
// activation, so an activation whose process died holds access for seconds, not minutes.
const activationLease: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('elevations').addColumn('lease_holder', 'text').execute();
    await db.schema.alterTable('elevations').addColumn('lease_until', 'bigint').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('elevations').dropColumn('lease_until').execute();
    await db.schema.alterTable('elevations').dropColumn('lease_holder').execute();
  },
};

// The tenant kill switch freezes its tenant until an admin lifts it; an archived tenant grants
// nothing ever again while its records stay for the audit (docs/security-model.md,
// Archiving a tenant).
const tenantFreeze: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('tenants').addColumn('frozen_at', 'bigint').execute();
    await db.schema.alterTable('tenants').addColumn('frozen_by', 'text').execute();
    await db.schema.alterTable('tenants').addColumn('freeze_reason', 'text').execute();
    await db.schema.alterTable('tenants').addColumn('archived_at', 'bigint').execute();
    await db.schema.alterTable('tenants').addColumn('archived_by', 'text').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('tenants').dropColumn('archived_by').execute();
    await db.schema.alterTable('tenants').dropColumn('archived_at').execute();
    await db.schema.alterTable('tenants').dropColumn('freeze_reason').execute();
    await db.schema.alterTable('tenants').dropColumn('frozen_by').execute();
    await db.schema.alterTable('tenants').dropColumn('frozen_at').execute();
  },
};

// Groups a tenant adds to the protected list (docs/security-model.md, Protected groups), picked from its directory: kept by
// objectGUID and objectSid (what the checks match on), with the DN and name for people.
const tenantProtectedGroups: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('tenant_protected_groups')
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('object_guid', 'text', (c) => c.notNull())
      .addColumn('object_sid', 'text', (c) => c.notNull())
      .addColumn('dn', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('added_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('tenant_protected_groups_pk', ['tenant_id', 'object_guid'])
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('tenant_protected_groups').execute();
  },
};

export const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_elevation_core': elevationCore,
  '0003_approvals': approvals,
  '0004_audit_proof': auditProof,
  '0005_siem_cursors': siemCursors,
  '0006_drift': drift,
  '0007_risk': risk,
  '0008_reviews': reviews,
  '0009_siem_status': siemStatus,
  '0010_activation_lease': activationLease,
  '0011_tenant_freeze': tenantFreeze,
  '0012_tenant_protected_groups': tenantProtectedGroups,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
