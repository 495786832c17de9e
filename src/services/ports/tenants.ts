// The store's tenants, their linked accounts, protected groups and access profiles.
import type { AccessProfile, ProfileStatus } from '../../domain/profile.ts';
import type { DirectoryConnection, DriftMode, Tenant } from '../../domain/tenant.ts';

export interface TenantRecord extends Tenant {
  bindPasswordSealed: string;
}

export interface TenantPatch {
  displayName?: string;
  timeZone?: string;
  directory?: DirectoryConnection;
  bindPasswordSealed?: string;
  keepAccountsDisabled?: boolean;
  slackChannel?: string | null;
  driftMode?: DriftMode;
  reviewSchedule?: string;
  inactiveDays?: number;
  disableInactive?: boolean;
  riskThreshold?: number;
}

export interface TenantRepository {
  insert(tenant: Omit<TenantRecord, 'createdAt' | 'updatedAt' | 'frozen' | 'archived'>, at: Date): Promise<void>;
  findById(id: string): Promise<TenantRecord | null>;
  list(): Promise<TenantRecord[]>;
  update(id: string, patch: TenantPatch, at: Date): Promise<void>;
  delete(id: string): Promise<void>;
  /**
   * In a transaction: true while the tenant is neither frozen nor archived, holding its row until
   * the transaction ends, so nothing is started in a tenant whose kill switch commits meanwhile.
   */
  holdOpen(id: string): Promise<boolean>;
  /** Freezes the tenant; false if it already was (the first freeze stays). */
  freeze(id: string, freeze: { at: Date; by: string; reason: string | null }): Promise<boolean>;
  /** Lifts the freeze set at `frozenAt` (not a later one); never on an archived tenant. */
  unfreeze(id: string, frozenAt: Date, at: Date): Promise<boolean>;
  /** Archives a frozen tenant, once; false otherwise. */
  archive(id: string, by: string, at: Date): Promise<boolean>;
  listSealedBindPasswords(): Promise<Array<{ id: string; sealed: string }>>;
  replaceSealedBindPassword(id: string, sealed: string): Promise<void>;
}

export interface TenantAccount {
  id: string;
  tenantId: string;
  technicianId: string;
  guid: string;
  dn: string;
  samAccountName: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface TenantAccountRepository {
  insert(account: TenantAccount): Promise<void>;
  find(tenantId: string, technicianId: string): Promise<TenantAccount | null>;
  findById(id: string): Promise<TenantAccount | null>;
  findByGuid(tenantId: string, guid: string): Promise<TenantAccount | null>;
  listForTenant(tenantId: string): Promise<TenantAccount[]>;
  updateDn(id: string, dn: string, samAccountName: string, at: Date): Promise<void>;
  delete(id: string): Promise<void>;
  countForTenant(tenantId: string): Promise<number>;
}

/** A group a tenant added to the protected list (docs/security-model.md, Protected groups), as it was when picked from the directory. */
export interface TenantProtectedGroup {
  tenantId: string;
  guid: string;
  sid: string;
  dn: string;
  name: string;
  addedAt: Date;
}

export interface TenantProtectedGroupRepository {
  listForTenant(tenantId: string): Promise<TenantProtectedGroup[]>;
  /** False if the tenant already protects that group. */
  add(group: TenantProtectedGroup): Promise<boolean>;
  /** False if it was not on the list. */
  remove(tenantId: string, guid: string): Promise<boolean>;
}

export type NewAccessProfile = Omit<AccessProfile, 'createdAt' | 'updatedAt' | 'status' | 'suspendedReason'>;

export interface ProfileRepository {
  insert(profile: NewAccessProfile, at: Date): Promise<void>;
  findById(id: string): Promise<AccessProfile | null>;
  findByName(tenantId: string, name: string): Promise<AccessProfile | null>;
  listForTenant(tenantId: string): Promise<AccessProfile[]>;
  listAll(): Promise<AccessProfile[]>;
  update(id: string, profile: Omit<NewAccessProfile, 'id' | 'tenantId'>, at: Date): Promise<void>;
  setStatus(id: string, status: ProfileStatus, reason: string | null, at: Date): Promise<void>;
  delete(id: string): Promise<void>;
  countForTenant(tenantId: string): Promise<number>;
}
