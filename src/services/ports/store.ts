// The store as a whole: every repository, and transactions over them.
import type { AuditRepository, SigningKeyRepository } from './audit.ts';
import type { ElevationRepository } from './elevations.ts';
import type { DriftReportRepository, ReviewRepository } from './reviews.ts';
import type { SiemCursorRepository } from './siem.ts';
import type { SessionRepository, TechnicianRepository } from './technicians.ts';
import type { ProfileRepository, TenantAccountRepository, TenantProtectedGroupRepository, TenantRepository } from './tenants.ts';

export interface StoreRepositories {
  technicians: TechnicianRepository;
  sessions: SessionRepository;
  tenants: TenantRepository;
  audit: AuditRepository;
  signingKeys: SigningKeyRepository;
  /** The keys that sign audit checkpoints and export manifests: apart from the token keys, never dropped. */
  auditKeys: SigningKeyRepository;
  accounts: TenantAccountRepository;
  protectedGroups: TenantProtectedGroupRepository;
  profiles: ProfileRepository;
  elevations: ElevationRepository;
  siemCursors: SiemCursorRepository;
  driftReports: DriftReportRepository;
  reviews: ReviewRepository;
}

export interface Store extends StoreRepositories {
  /** Runs `work` in one transaction: all of its writes (audit included) land, or none do. */
  transaction<T>(work: (tx: StoreRepositories) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  /** Fails unless the store accepts writes now (not a read-only standby, not a read-only file); takes no lock. */
  probeWritable(): Promise<void>;
  close(): Promise<void>;
}
