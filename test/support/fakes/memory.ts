// The in-memory store's tables and the rules every repository of it shares: rows kept as copies
// (a caller never holds a live row), writes journaled so a transaction can be undone, unique and
// foreign-key violations raised as the DomainErrors the real store translates them to
// (src/adapters/store/errors.ts).
import { DomainError } from '../../../src/domain/errors.ts';
import type { AccessProfile } from '../../../src/domain/profile.ts';
import type { AuditEvent } from '../../../src/domain/audit.ts';
import type { Decision } from '../../../src/domain/approval.ts';
import type { Elevation } from '../../../src/domain/elevation.ts';
import type { SigningKeyRecord, StoredCheckpoint } from '../../../src/services/ports/audit.ts';
import type { DriftReport, Review, StoredFinding } from '../../../src/services/ports/reviews.ts';
import type { SiemCursor } from '../../../src/services/ports/siem.ts';
import type { SessionRecord, TechnicianRecord } from '../../../src/services/ports/technicians.ts';
import type { TenantAccount, TenantProtectedGroup, TenantRecord } from '../../../src/services/ports/tenants.ts';

/** One table: rows by primary key. */
export type Rows<T> = Map<string, T>;

/** What a repository works on: the tables, and the undo journal of the transaction it runs in (null: none). */
export interface MemoryContext<S> {
  state: S;
  journal: Array<() => void> | null;
}

export const copy = <T>(value: T): T => structuredClone(value);

/** Sets a row (a copy of `row`), journaling what it replaced. */
export function put<T>(ctx: MemoryContext<unknown>, rows: Rows<T>, key: string, row: T): void {
  const had = rows.has(key);
  const old = rows.get(key);
  rows.set(key, copy(row));
  ctx.journal?.push(() => (had ? rows.set(key, old as T) : rows.delete(key)));
}

/** Deletes a row, journaling it; true if there was one. */
export function drop<T>(ctx: MemoryContext<unknown>, rows: Rows<T>, key: string): boolean {
  if (!rows.has(key)) return false;
  const old = rows.get(key) as T;
  rows.delete(key);
  ctx.journal?.push(() => rows.set(key, old));
  return true;
}

/** Changes a row in place (on a copy) when `where` holds; true if it did (an UPDATE … WHERE of one row). */
export function change<T>(
  ctx: MemoryContext<unknown>,
  rows: Rows<T>,
  key: string,
  where: (row: T) => boolean,
  set: (row: T) => void,
): boolean {
  const row = rows.get(key);
  if (row === undefined || !where(row)) return false;
  const next = copy(row);
  set(next);
  put(ctx, rows, key, next);
  return true;
}

/** A unique or primary-key violation, as errors.ts words it (column names in camelCase, never values). */
export function conflict(fields: string[]): DomainError {
  return new DomainError('conflict', `Another record already has this ${fields.join(', ')}`, { fields });
}

/** A foreign-key violation, as errors.ts words it. */
export function foreignKeyViolation(): DomainError {
  return new DomainError('conflict', 'This refers to a record that does not exist, or is still referred to');
}

/**
 * Refuses `row` under key `key` when another row has the same value of a unique key (null values
 * never collide, as in SQL). `fields` are the columns the message names.
 */
export function assertUnique<T>(
  rows: Rows<T>,
  key: string,
  row: T,
  constraints: ReadonlyArray<{ fields: string[]; of: (r: T) => string | null }>,
) {
  for (const constraint of constraints) {
    const value = constraint.of(row);
    if (value === null) continue;
    for (const [otherKey, other] of rows) if (otherKey !== key && constraint.of(other) === value) throw conflict(constraint.fields);
  }
}

/** SQL's ORDER BY on text under a binary collation (SQLite's default; PostgreSQL's "C"). */
export const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// The tables of the whole store (the columns the real schema has that a port type does not carry
// are added here: schedule keys, leases, member keys).

export interface AuditHeadRow {
  seq: number;
  hash: string;
  purgedThroughSeq: number;
  anchorHash: string;
}

export interface MemoryTables {
  technicians: Rows<TechnicianRecord>;
  sessions: Rows<SessionRecord>;
  tenants: Rows<TenantRecord>;
  accounts: Rows<TenantAccount>;
  protectedGroups: Rows<TenantProtectedGroup>;
  profiles: Rows<AccessProfile>;
  elevations: Rows<Omit<Elevation, 'decisions'>>;
  decisions: Rows<Decision & { elevationId: string }>;
  auditEvents: Rows<AuditEvent>;
  /** One row, key '1' (the real audit_head). */
  auditHead: Rows<AuditHeadRow>;
  checkpoints: Rows<StoredCheckpoint>;
  signingKeys: Rows<SigningKeyRecord>;
  auditKeys: Rows<SigningKeyRecord>;
  siemCursors: Rows<SiemCursor & { leaseOwner: string | null; leaseUntil: Date | null }>;
  driftReports: Rows<DriftReport>;
  reviews: Rows<Review & { scheduleKey: string | null }>;
  findings: Rows<StoredFinding & { reviewId: string }>;
}

export type StoreContext = MemoryContext<MemoryTables>;
