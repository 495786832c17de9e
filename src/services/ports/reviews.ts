// Access reviews and drift reports: repositories and their jobs.
import type { ReviewFinding, ReviewStatus, ReviewTrigger, SeverityCounts } from '../../domain/review.ts';
import type { TenantRecord } from './tenants.ts';

/** A member of a managed group already reported as drift (report mode) or as unexpected. */
export interface DriftReport {
  tenantId: string;
  groupGuid: string;
  groupDn: string;
  /** The member's DN as the directory gave it. */
  memberDn: string;
  kind: 'technician' | 'unexpected';
  reportedAt: Date;
}

/** What drift detection has reported, so a member is reported once while it stays (docs/security-model.md, Drift). */
export interface DriftReportRepository {
  listForTenant(tenantId: string): Promise<DriftReport[]>;
  /** Records a report; false when it was already recorded (another worker, or an earlier run). */
  add(report: DriftReport): Promise<boolean>;
  /** Forgets reports (the member went away, or the group is no longer managed), so a return is reported again. */
  remove(tenantId: string, reports: ReadonlyArray<Pick<DriftReport, 'groupGuid' | 'memberDn'>>): Promise<void>;
}

/** One access review of one tenant (docs/security-model.md, Access reviews). */
export interface Review {
  id: string;
  tenantId: string;
  trigger: ReviewTrigger;
  /** The technician who asked for it (on demand); null for a scheduled review. */
  requestedBy: string | null;
  status: ReviewStatus;
  requestedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  counts: SeverityCounts;
  signedOffBy: string | null;
  signedOffAt: Date | null;
  signOffComment: string | null;
}

export interface StoredFinding extends ReviewFinding {
  position: number;
}

export interface ReviewRepository {
  insert(review: Review, scheduleKey: string | null): Promise<void>;
  findById(id: string): Promise<Review | null>;
  findByScheduleKey(key: string): Promise<Review | null>;
  /** Newest first; `statuses`/`requestedBefore` narrow it (reviews waiting for their job). */
  list(filter: { tenantIds?: string[]; statuses?: readonly ReviewStatus[]; requestedBefore?: Date; limit: number }): Promise<Review[]>;
  /** Moves to `running` from `queued` or `running` (a retried job starts over); false otherwise. */
  start(id: string, at: Date): Promise<boolean>;
  /** Replaces the review's findings and records its outcome. */
  finish(id: string, status: ReviewStatus, findings: readonly ReviewFinding[], at: Date): Promise<void>;
  findings(id: string): Promise<StoredFinding[]>;
  /** Records the sign-off only if there is none yet; false when someone signed first. */
  signOff(id: string, by: string, comment: string | null, at: Date): Promise<boolean>;
}

/** Access review jobs: ids only in their payloads. */
export interface ReviewJobs {
  /** Runs an on-demand review soon (its job id is derived from the review's, so twice is harmless). */
  enqueue(reviewId: string): Promise<void>;
  /** Queues the review's job again if Redis has none (lost) or has it failed for good; true if it did. */
  ensureQueued(reviewId: string): Promise<boolean>;
}

/** Each tenant's repeatable review job, its cron pattern evaluated in the tenant's time zone. */
export interface ReviewSchedules {
  /** Creates or changes the tenant's schedule. */
  upsert(tenant: Pick<TenantRecord, 'id' | 'reviewSchedule' | 'timeZone'>): Promise<void>;
  remove(tenantId: string): Promise<void>;
  /** Every tenant's schedule as the store says, and none for tenants that are gone. */
  syncAll(tenants: ReadonlyArray<Pick<TenantRecord, 'id' | 'reviewSchedule' | 'timeZone'>>): Promise<void>;
}
