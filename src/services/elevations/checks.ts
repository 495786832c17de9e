// What an activation and an extension check before they write: the groups' protection (found again
// in the directory), and that the requester, their link and the profile still allow the grant.
import type { Elevation, ElevationGroup } from '../../domain/elevation.ts';
import { DomainError } from '../../domain/errors.ts';
import { isEligible, type AccessProfile } from '../../domain/profile.ts';
import type { ProtectedFinding } from '../../domain/protected-groups.ts';
import type { DirectoryGroup, TenantDirectory } from '../ports/directory.ts';
import type { Core } from './core.ts';

export type GroupProtection = Array<{ group: DirectoryGroup; finding: ProtectedFinding | null }>;

/**
 * Each of exactly the groups about to be added (the elevation's own copy, never the profile's
 * list of now), found again by GUID, with its protection finding: nesting may have changed since
 * the profile was saved or the request made. Stops at the first protected one. Reads only.
 */
export async function protectionOf(
  directory: TenantDirectory,
  groups: readonly ElevationGroup[],
  extraSids: readonly string[] | Promise<readonly string[]>,
): Promise<GroupProtection> {
  const out: GroupProtection = [];
  for (const stored of groups) {
    // The nesting search starts with the group's read, by the stored DN: should the read find the
    // group at another DN, the group is refused below and the search is not used.
    const ancestors = directory.ancestorsOf(stored.dn);
    ancestors.catch(() => undefined); // heard below, unless the group is refused first
    const group = await directory.groupByGuid(stored.guid);
    if (!group) throw new DomainError('group_not_found', `The group ${stored.dn} no longer exists`);
    // Members are added (and later removed) by the stored DN: it must still name the group checked.
    if (group.dn.toLowerCase() !== stored.dn.toLowerCase()) {
      throw new DomainError(
        'group_not_found',
        `The group ${stored.dn} was renamed or moved (it is now ${group.dn}); pick it again in the profile`,
        { group: stored.dn },
      );
    }
    const finding = await directory.findProtection(group, await extraSids, ancestors);
    out.push({ group, finding });
    if (finding) break;
  }
  return out;
}

/**
 * A group about to be added has become protected (docs/security-model.md, Protected groups): every active profile of the tenant
 * that holds it is suspended and audited, and the add is refused (fail closed).
 */
export async function refuseProtected(c: Core, tenantId: string, found: GroupProtection): Promise<void> {
  const hit = found.find((g) => g.finding);
  if (!hit) return;
  const { group, finding } = hit as { group: DirectoryGroup; finding: ProtectedFinding };
  const holders = (await c.store.profiles.listForTenant(tenantId)).filter(
    (p) => p.status === 'active' && p.groups.some((g) => g.guid.toLowerCase() === group.guid.toLowerCase()),
  );
  const at = c.clock.now();
  await c.store.transaction(async (tx) => {
    for (const profile of holders) {
      await tx.profiles.setStatus(profile.id, 'suspended', `${group.dn} is protected: ${finding.reason}`, at);
      await tx.audit.append(
        {
          actor: 'system',
          action: 'profile.suspended',
          tenantId,
          target: profile.id,
          details: { group: group.dn, protectedGroup: finding.protectedDn, reason: finding.reason, path: finding.path },
        },
        at,
      );
    }
  });
  const suspended = holders.length
    ? `; ${holders.length === 1 ? 'the profile holding it is' : 'the profiles holding it are'} suspended`
    : '';
  throw new DomainError('group_protected', `${group.dn} has become protected (${finding.reason})${suspended}`, {
    group: group.dn,
    protectedGroup: finding.protectedDn,
    path: finding.path,
  });
}

/** The profile grants exactly the groups the request copied, and (for an activation) no longer than asked. */
function assertProfileUnchanged(e: Elevation, profile: AccessProfile, kind: 'activation' | 'extension'): void {
  const asked = new Set(e.groups.map((g) => g.guid.toLowerCase()));
  const now = new Set(profile.groups.map((g) => g.guid.toLowerCase()));
  if (asked.size !== now.size || [...asked].some((g) => !now.has(g))) {
    throw new DomainError(
      'conflict',
      `The profile’s groups changed after the request was made; the ${kind === 'activation' ? 'request must be made again' : 'grant cannot be extended'}`,
      {
        requestedGroups: e.groups.map((g) => g.dn),
        profileGroups: profile.groups.map((g) => g.dn),
      },
    );
  }
  if (kind === 'activation' && e.durationSeconds > profile.maxDurationSeconds) {
    throw new DomainError(
      'conflict',
      `The profile’s maximum duration was lowered to ${profile.maxDurationSeconds} seconds after the request was made; the request must be made again`,
    );
  }
}

/**
 * What must still hold when a request is about to be granted (or a grant extended), however long
 * it waited: the requester is active, still eligible and still linked to the same account, and
 * the profile is active and grants exactly the groups the request copied (an admin who changed
 * them while it waited changed what was approved: it is refused, to be asked for again).
 */
export async function assertStillGrantable(c: Core, e: Elevation, profile: AccessProfile, kind: 'activation' | 'extension'): Promise<void> {
  const [requester, link] = await Promise.all([
    c.store.technicians.findById(e.technicianId),
    c.store.accounts.find(e.tenantId, e.technicianId),
  ]);
  if (!requester || requester.status !== 'active')
    throw new DomainError(
      'technician_suspended',
      `The requester is suspended; the ${kind === 'activation' ? 'grant cannot start' : 'grant cannot be extended'}`,
    );
  if (!isEligible(profile, requester)) throw new DomainError('not_eligible', 'The requester is no longer eligible for this profile');
  if (!link || link.id !== e.accountId)
    throw new DomainError(
      'no_tenant_account',
      'The requester’s account in this tenant is no longer the one linked when the request was made',
    );
  if (profile.status !== 'active') throw new DomainError('profile_suspended', `The profile is suspended: ${profile.suspendedReason ?? ''}`);
  assertProfileUnchanged(e, profile, kind);
}

/**
 * What an activation reads before it writes anything, two reads at once: the account (it may have
 * moved or been renamed since it was linked: found by GUID), and the protection of every group
 * the elevation is about to add. Reads only.
 */
export async function activationReads(c: Core, directory: TenantDirectory, e: Pick<Elevation, 'tenantId' | 'accountGuid' | 'groups'>) {
  // The tenant's own protected groups (docs/security-model.md, Protected groups), for the groups' check and the account's.
  const extra = c.access.protectedSids(e.tenantId);
  extra.catch(() => undefined); // reported through extraSids below
  const [account, groups, extraSids] = await Promise.allSettled([
    directory.accountByGuid(e.accountGuid),
    protectionOf(directory, e.groups, extra),
    extra,
  ]);
  return { account, groups, extraSids };
}

export type ActivationReads = ReturnType<typeof activationReads>;
