// Table shapes as Kysely sees them. Times are integer milliseconds since the epoch and JSON is
// text, so the same queries run unchanged on SQLite and PostgreSQL.
import type { Generated } from 'kysely';

export interface TechniciansTable {
  id: string;
  username: string;
  display_name: string;
  email: string;
  slack_user_id: string | null;
  roles: string;
  approver_tenants: string;
  status: string;
  identity_source: string;
  password_hash: string | null;
  totp_secret_sealed: string | null;
  totp_confirmed_at: number | null;
  totp_last_step: number | null;
  mfa_failures: number;
  mfa_locked_until: number | null;
  created_at: number;
  updated_at: number;
}

export interface SessionsTable {
  id: string;
  technician_id: string;
  refresh_hash: string;
  created_at: number;
  last_refreshed_at: number;
  revoked_at: number | null;
  source_ip: string | null;
  user_agent: string | null;
}

export interface TenantsTable {
  id: string;
  display_name: string;
  time_zone: string;
  directory_url: string;
  bind_dn: string;
  base_dn: string;
  ca_certificate: string;
  bind_password_sealed: string;
  keep_accounts_disabled: number;
  slack_channel: Generated<string | null>;
  drift_mode: Generated<string>;
  review_schedule: Generated<string>;
  inactive_days: Generated<number>;
  disable_inactive: Generated<number>;
  risk_threshold: Generated<number>;
  frozen_at: Generated<number | null>;
  frozen_by: Generated<string | null>;
  freeze_reason: Generated<string | null>;
  archived_at: Generated<number | null>;
  archived_by: Generated<string | null>;
  created_at: number;
  updated_at: number;
}

export interface SigningKeysTable {
  kid: string;
  algorithm: string;
  public_jwk: string;
  private_jwk_sealed: string;
  created_at: number;
  retired_at: number | null;
}

export interface AuditEventsTable {
  seq: number;
  at: number;
  actor: string;
  action: string;
  tenant_id: string | null;
  target: string | null;
  request_id: string | null;
  source_ip: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
  /** Events up to here were purged by retention; anchor_hash is the last one's hash. */
  purged_through_seq: Generated<number>;
  anchor_hash: Generated<string>;
}

export interface AuditCheckpointsTable {
  seq: number;
  hash: string;
  at: number;
  kid: string;
  jws: string;
}

export interface TenantAccountsTable {
  id: string;
  tenant_id: string;
  technician_id: string;
  object_guid: string;
  dn: string;
  sam_account_name: string;
  created_at: number;
  updated_at: number;
}

export interface TenantProtectedGroupsTable {
  tenant_id: string;
  object_guid: string;
  object_sid: string;
  dn: string;
  name: string;
  added_at: number;
}

export interface AccessProfilesTable {
  id: string;
  tenant_id: string;
  name: string;
  description: string;
  groups: string;
  eligible_technicians: string;
  eligible_roles: string;
  default_duration_seconds: number;
  max_duration_seconds: number;
  windows: string;
  workstations: string;
  require_justification: number;
  ticket_pattern: string | null;
  approval: string;
  max_total_duration_seconds: number | null;
  status: string;
  suspended_reason: string | null;
  created_at: number;
  updated_at: number;
}

export interface ElevationsTable {
  id: string;
  tenant_id: string;
  profile_id: string;
  profile_name: string;
  technician_id: string;
  account_id: string;
  account_dn: string;
  account_guid: string;
  groups: string;
  state: string;
  duration_seconds: number;
  justification: string | null;
  ticket: string | null;
  requested_at: number;
  activated_at: number | null;
  ends_at: number | null;
  ended_at: number | null;
  revocation_reason: string | null;
  failure_reason: string | null;
  steps: string | null;
  overdue_alerted_at: number | null;
  updated_at: number;
  approvals_required: Generated<number>;
  approver_ids: Generated<string>;
  approval_deadline: number | null;
  window_closes_at: number | null;
  extension: string | null;
  extended_seconds: Generated<number>;
  risk_score: number | null;
  /** JSON: [{ signal, points, detail }]. */
  risk_reasons: string | null;
  /** An activation in flight: the lease's holder and its end (ms); null otherwise. */
  lease_holder: string | null;
  lease_until: number | null;
}

export interface ElevationDecisionsTable {
  elevation_id: string;
  round: number;
  approver_id: string;
  decision: string;
  reason: string | null;
  decided_at: number;
}

export interface SiemCursorsTable {
  target: string;
  last_seq: number;
  stalled_since: number | null;
  failures: number;
  retry_at: number | null;
  backlog_alerted_at: number | null;
  lease_owner: string | null;
  lease_until: number | null;
  last_success_at: number | null;
  last_error: string | null;
  last_error_at: number | null;
  updated_at: number;
}

/** One unexpected member of a managed group already reported, so it is reported once until it goes away. */
export interface DriftReportsTable {
  tenant_id: string;
  group_guid: string;
  /** The member's DN, lower-cased: the key. */
  member_key: string;
  /** `technician` (a linked account, report mode) or `unexpected` (anyone else). */
  kind: string;
  member_dn: string;
  group_dn: string;
  reported_at: number;
}

export interface ReviewsTable {
  id: string;
  tenant_id: string;
  trigger: string;
  requested_by: string | null;
  schedule_key: string | null;
  status: string;
  requested_at: number;
  started_at: number | null;
  finished_at: number | null;
  critical: Generated<number>;
  high: Generated<number>;
  medium: Generated<number>;
  low: Generated<number>;
  info: Generated<number>;
  signed_off_by: string | null;
  signed_off_at: number | null;
  signoff_comment: string | null;
}

export interface ReviewFindingsTable {
  review_id: string;
  position: number;
  severity: string;
  kind: string;
  subject: string;
  technician_id: string | null;
  summary: string;
  action: string | null;
  details: string;
}

export interface Database {
  tenant_accounts: TenantAccountsTable;
  tenant_protected_groups: TenantProtectedGroupsTable;
  access_profiles: AccessProfilesTable;
  elevations: ElevationsTable;
  elevation_decisions: ElevationDecisionsTable;
  technicians: TechniciansTable;
  sessions: SessionsTable;
  tenants: TenantsTable;
  signing_keys: SigningKeysTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
  siem_cursors: SiemCursorsTable;
  drift_reports: DriftReportsTable;
  reviews: ReviewsTable;
  review_findings: ReviewFindingsTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_signing_keys: SigningKeysTable;
}
