// A client's Active Directory, as use cases see it.
import type { AccountEligibilityFacts } from '../../domain/account-eligibility.ts';
import type { ProtectedFinding } from '../../domain/protected-groups.ts';
import type { GroupNode } from '../../domain/review.ts';
import type { DirectoryConnection } from '../../domain/tenant.ts';
import type { TenantRecord } from './tenants.ts';

export interface DirectoryProbeResult {
  baseDn: string;
  latencyMs: number;
}

export interface DirectoryProbe {
  /** Connects, verifies TLS with the given CA, binds, reads the base DN; throws DomainError directory_*. */
  check(connection: DirectoryConnection, bindPassword: string): Promise<DirectoryProbeResult>;
}

export interface DirectoryAccount {
  guid: string;
  dn: string;
  samAccountName: string;
  userPrincipalName: string | null;
  userAccountControl: number;
  accountExpires: string;
  logonHours: Uint8Array | null;
  userWorkstations: string | null;
  lastLogonTimestamp: string | null;
  /** The RID of the account's primary group (primaryGroupID), which memberOf never shows. */
  primaryGroupId?: number | null;
  /** What decides whether it may be a tenant account (domain/account-eligibility.ts); tokenGroups on reads by GUID. */
  eligibility?: AccountEligibilityFacts;
}

export interface DirectoryGroup {
  guid: string;
  sid: string;
  dn: string;
  name: string;
  adminCount: number | null;
  /** The groups it is a direct member of, where the read included them. */
  memberOf?: string[];
}

/** A group read with the groups it is a direct member of. */
export type DirectoryGroupWithParents = DirectoryGroup & { memberOf: string[] };

export interface AccountChanges {
  userAccountControl?: number;
  accountExpires?: string;
  logonHours?: Uint8Array | null;
  userWorkstations?: string | null;
}

/** One tenant's domain. Every write is confirmed by reading back before it reports success. */
export interface TenantDirectory {
  /** Reads the base DN: proves the directory answers now (a review with nothing to read must still reach it). */
  ping(): Promise<void>;
  /** By sAMAccountName, userPrincipalName (contains @) or DN (contains =). */
  findAccount(identifier: string): Promise<DirectoryAccount | null>;
  accountByGuid(guid: string): Promise<DirectoryAccount | null>;
  /** Current DNs of many accounts at once, by objectGUID (absent ones are left out). */
  accountDnsByGuid(guids: readonly string[]): Promise<Map<string, string>>;
  groupByDn(dn: string): Promise<DirectoryGroup | null>;
  groupByGuid(guid: string): Promise<DirectoryGroup | null>;
  /** Groups whose name (cn or sAMAccountName) contains `text` (empty: any), at most `limit`, by name. */
  searchGroups(text: string, limit: number): Promise<{ groups: DirectoryGroup[]; truncated: boolean }>;
  /**
   * The group is protected itself, or nested at any depth inside a protected group (docs/security-model.md, Protected groups). The
   * groups that contain it are searched from the domain's root (rootDSE defaultNamingContext),
   * whatever the tenant's base DN, so Domain Admins is seen from a base DN below the root.
   */
  findProtection(
    group: DirectoryGroup,
    extra: readonly string[],
    ancestors?: Promise<DirectoryGroupWithParents[]>,
  ): Promise<ProtectedFinding | null>;
  /**
   * Every group that contains the group named `dn` at any depth (one in-chain search from the
   * domain's root). Given to findProtection as `ancestors`, it lets the search start before the
   * group itself has been read (only if that read finds the group at the same DN).
   */
  ancestorsOf(dn: string): Promise<DirectoryGroupWithParents[]>;
  updateAccount(dn: string, changes: AccountChanges): Promise<void>;
  /** Adds (already present counts), then reads back; throws if any is missing. */
  addMembers(groupDn: string, memberDns: readonly string[], ttlSeconds?: number): Promise<void>;
  /**
   * Removes in one batched modify; should a value not be a member (the modify is atomic), reads the
   * group and removes exactly the members left. Answers who is still a member after a read-back.
   * A value may be a DN, `<GUID=…>` (memberRefByGuid) or `<GUID=…>;DN` (memberRefWithDn: removed
   * by DN, by GUID should the DN no longer name a member); values with a GUID are read back by GUID.
   */
  removeMembers(groupDn: string, memberDns: readonly string[]): Promise<{ stillMembers: string[] }>;
  currentMembers(groupDn: string, memberDns: readonly string[]): Promise<Set<string>>;
  /**
   * The groups an account belongs to: `direct` are its own (memberOf); `groups` every group that
   * contains it at any depth (the in-chain matching rule), each with the groups it is in.
   */
  accountGroups(accountDn: string): Promise<{ direct: string[]; groups: GroupNode[] }>;
  /** Every direct member of the group (DNs as the directory gives them; ranged retrieval handled). */
  groupMembers(groupDn: string): Promise<string[]>;
  /** Windows Server 2016 Privileged Access Management (TTL links): detected, never assumed. */
  supportsTtlMembership(): Promise<boolean>;
}

export interface DirectoryGateway {
  /**
   * The tenant's directory over its pooled connections. `bindPassword` opens the sealed password;
   * it is called only when the pool must be (re)built: the pool is kept for as long as the tenant's
   * URL, CA, bind DN and sealed password stay the same.
   */
  forTenant(tenant: TenantRecord, bindPassword: () => Promise<string>): Promise<TenantDirectory>;
  close(): Promise<void>;
}

/** Member removals coalesced per group (adapters/directory/member-removal.ts). */
export interface MemberRemoval {
  /** Resolves once `memberDn` is confirmed absent from `groupDn`. */
  remove(tenantId: string, directory: TenantDirectory, groupDn: string, memberDn: string): Promise<void>;
}
