// Groups that are never grantable, whatever a profile says (docs/security-model.md, Protected groups).
import { ridOf } from './ad.ts';

/** Builtin groups, by their well-known SID. */
export const protectedBuiltinSids: Record<string, string> = {
  'S-1-5-32-544': 'Administrators',
  'S-1-5-32-548': 'Account Operators',
  'S-1-5-32-549': 'Server Operators',
  'S-1-5-32-550': 'Print Operators',
  'S-1-5-32-551': 'Backup Operators',
  'S-1-5-32-552': 'Replicator',
};

/** Domain groups, by the relative id at the end of their SID. */
export const protectedDomainRids: Record<number, string> = {
  512: 'Domain Admins',
  516: 'Domain Controllers',
  517: 'Cert Publishers',
  518: 'Schema Admins',
  519: 'Enterprise Admins',
  520: 'Group Policy Creator Owners',
  521: 'Read-only Domain Controllers',
  526: 'Key Admins',
  527: 'Enterprise Key Admins',
};

export interface GroupFacts {
  dn: string;
  sid: string;
  name: string;
  adminCount: number | null;
}

/** Why the group itself is protected, or null. `extra` are tenant-added group SIDs or DNs. */
export function protectionReason(group: GroupFacts, extra: readonly string[] = []): string | null {
  const builtin = protectedBuiltinSids[group.sid];
  if (builtin) return `${builtin} (${group.sid})`;
  const rid = ridOf(group.sid);
  if (rid !== null && protectedDomainRids[rid]) return `${protectedDomainRids[rid]} (RID ${rid})`;
  if (group.name.toLowerCase() === 'dnsadmins') return 'DnsAdmins';
  if (group.adminCount === 1) return 'adminCount=1';
  const lowered = extra.map((e) => e.toLowerCase());
  if (lowered.includes(group.sid.toLowerCase()) || lowered.includes(group.dn.toLowerCase())) return 'protected by the tenant';
  return null;
}

export interface ProtectedFinding {
  /** The protected group reached. */
  protectedDn: string;
  reason: string;
  /** From the requested group up to the protected one (one element: the group itself). */
  path: string[];
}
