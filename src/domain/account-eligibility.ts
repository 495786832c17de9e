// Which directory accounts may be a technician's tenant account (docs/security-model.md, Account
// eligibility): a person's own user object that nothing protected depends on. Checked when an account
// is linked and again, from the one account read each step already does, before Stint writes to it
// (activation, extension, the end of a grant, a review disabling an inactive account). Pure.
import { ridOf } from './ad.ts';
import { protectedBuiltinSids, protectedDomainRids } from './protected-groups.ts';

/** What one base read of the account tells (tokenGroups is answered on base reads only). */
export interface AccountEligibilityFacts {
  objectClasses: readonly string[];
  sid: string | null;
  userAccountControl: number;
  adminCount: number | null;
  primaryGroupId: number | null;
  /** Every group SID of the account, at any depth, its primary group included (tokenGroups); null: not read. */
  tokenGroupSids: readonly string[] | null;
  /** How many servicePrincipalName values the account has. */
  servicePrincipalNames: number;
}

/** Object classes that are never a person's account (computer, the managed service accounts). */
const refusedClasses: Record<string, string> = {
  computer: 'a computer account',
  'msds-groupmanagedserviceaccount': 'a group managed service account (gMSA)',
  'msds-managedserviceaccount': 'a managed service account',
  'msds-delegatedmanagedserviceaccount': 'a delegated managed service account',
};

/** userAccountControl bits of trust and machine accounts. */
const trustFlags: Array<[number, string]> = [
  [0x0800, 'an interdomain trust account'],
  [0x1000, 'a workstation trust (computer) account'],
  [0x2000, 'a server trust (domain controller) account'],
];

/** RIDs below this are the domain's built-in and well-known accounts (Administrator 500, Guest 501, krbtgt 502…). */
export const firstOrdinaryRid = 1000;

/**
 * Why the account can never be a tenant account, or null. `extraSids` are the tenant's own
 * protected groups (docs/security-model.md, Protected groups). An inetOrgPerson is a user and is accepted like one; any account with
 * a servicePrincipalName is a service's account, whatever its class, and is refused.
 */
export function accountIneligibility(account: AccountEligibilityFacts, extraSids: readonly string[] = []): string | null {
  const classes = account.objectClasses.map((c) => c.toLowerCase());
  if (!classes.includes('user')) return 'not a user object';
  for (const c of classes) if (refusedClasses[c]) return refusedClasses[c];
  for (const [flag, what] of trustFlags) if ((account.userAccountControl & flag) !== 0) return what;
  if (!account.sid) return 'the account has no objectSid';
  const rid = ridOf(account.sid);
  if (rid === null) return `not an account of the domain (${account.sid})`;
  if (rid < firstOrdinaryRid) return `a built-in or well-known account (RID ${rid})`;
  if (account.servicePrincipalNames > 0) return 'a service account (it has a servicePrincipalName)';
  if (account.adminCount === 1) return 'adminCount=1 (it is or was in a protected group)';
  const primary = account.primaryGroupId;
  if (primary !== null && protectedDomainRids[primary]) return `its primary group is ${protectedDomainRids[primary]} (RID ${primary})`;
  if (account.tokenGroupSids === null) return 'its group memberships could not be read (tokenGroups)';
  const extra = new Set(extraSids.map((s) => s.toUpperCase()));
  for (const sid of account.tokenGroupSids) {
    const builtin = protectedBuiltinSids[sid];
    if (builtin) return `a member of ${builtin} (${sid})`;
    const groupRid = ridOf(sid);
    if (groupRid !== null && protectedDomainRids[groupRid]) return `a member of ${protectedDomainRids[groupRid]} (${sid})`;
    if (extra.has(sid.toUpperCase())) return `a member of a group the tenant protects (${sid})`;
  }
  return null;
}
