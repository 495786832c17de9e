// Drift (docs/security-model.md, Drift), run by the reconciler: the members of every managed group (the groups of a
// tenant's access profiles) are read and compared with the live grants. A linked MSP account found
// in a managed group without a live grant for that group is removed (tenant `driftMode: remove`,
// the default) or reported (`report`); any other member is reported, never removed. Reports are
// made once per member per group while the member stays (remembered in the store), not every run.
//
// Order matters: activation writes its `activating` state before it touches the directory, so the
// members are read first and the grants after; a member added for a grant is then always seen
// with its grant. Before anything is removed, the membership and the grants are read once more.
import type { ProfileGroup } from '../../domain/profile.ts';
import type { ElevationState } from '../../domain/elevation-state.ts';
import type { MemberRemoval } from '../ports/directory.ts';
import type { Clock, EventLog } from '../ports/runtime.ts';
import type { DriftReport } from '../ports/reviews.ts';
import type { Notifications } from '../ports/notifications.ts';
import type { Store } from '../ports/store.ts';
import type { TenantAccount, TenantRecord } from '../ports/tenants.ts';
import type { TenantDirectory } from '../ports/directory.ts';
import type { TenantAccess } from '../tenants/index.ts';

/** A grant in these states keeps (or is getting, or is giving up) its memberships: not drift. */
const liveStates: ElevationState[] = ['activating', 'active', 'revoking'];
const tenantConcurrency = 8;

export interface DriftCounts {
  tenants: number;
  removed: number;
  reported: number;
  unexpected: number;
  errors: number;
}

interface Finding {
  group: ProfileGroup;
  memberDn: string;
  account: TenantAccount;
}

export interface DriftService {
  /** One pass over every tenant; a tenant whose directory cannot be read is logged and retried next time. */
  scan(): Promise<DriftCounts>;
}

interface DriftDeps {
  store: Pick<Store, 'tenants' | 'profiles' | 'accounts' | 'elevations' | 'technicians' | 'driftReports' | 'transaction'>;
  clock: Clock;
  access: Pick<TenantAccess, 'directory'>;
  removal: MemberRemoval;
  notifications: Notifications;
  log: EventLog;
}

export function createDriftService(deps: DriftDeps): DriftService {
  return { scan: () => scan(deps) };
}

async function scan(deps: DriftDeps): Promise<DriftCounts> {
  const counts: DriftCounts = { tenants: 0, removed: 0, reported: 0, unexpected: 0, errors: 0 };
  // An archived tenant's directory is no longer read (docs/security-model.md, Archiving a tenant).
  const tenants = (await deps.store.tenants.list()).filter((t) => !t.archived);
  // A few tenants side by side, so one slow directory does not hold up the others.
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(tenantConcurrency, tenants.length) }, async () => {
      while (next < tenants.length) {
        const tenant = tenants[next++]!;
        try {
          await scanTenant(deps, tenant, counts);
        } catch (error) {
          counts.errors++;
          deps.log.warn({ tenantId: tenant.id, err: (error as Error).message }, 'drift could not be checked in a tenant; will retry');
        }
      }
    }),
  );
  return counts;
}

const key = (kind: DriftReport['kind'], groupGuid: string, memberDn: string) =>
  `${kind}\u0000${groupGuid.toLowerCase()}\u0000${memberDn.toLowerCase()}`;

/** Which technician may be in which group now: `technicianId \0 groupGuid` of every live grant. */
async function liveCover(deps: DriftDeps, tenantId: string): Promise<Set<string>> {
  const live = await deps.store.elevations.list({ states: liveStates, tenantIds: [tenantId], limit: 1_000_000 });
  return new Set(live.flatMap((e) => e.groups.map((g) => `${e.technicianId}\u0000${g.guid.toLowerCase()}`)));
}

async function alert(deps: DriftDeps, tenant: TenantRecord, details: Record<string, string | number>) {
  try {
    await deps.notifications.publish([{ kind: 'alert', alert: 'drift', subject: `tenant ${tenant.id}`, details }]);
  } catch (error) {
    deps.log.warn({ err: (error as Error).message, tenantId: tenant.id }, 'the drift alert could not be queued');
  }
}

/** What one tenant's managed groups hold now: members by group (read first), then the linked accounts by DN. */
interface Membership {
  membersOf: Map<string, { group: ProfileGroup; members: string[] }>;
  byDn: Map<string, TenantAccount>;
}

async function scanTenant(deps: DriftDeps, tenant: TenantRecord, counts: DriftCounts): Promise<void> {
  const profiles = await deps.store.profiles.listForTenant(tenant.id);
  const groups = [...new Map(profiles.flatMap((p) => p.groups).map((g) => [g.guid.toLowerCase(), g])).values()];
  const reports = await deps.store.driftReports.listForTenant(tenant.id);
  if (groups.length === 0) {
    if (reports.length) await deps.store.driftReports.remove(tenant.id, reports);
    return;
  }
  counts.tenants++;
  const directory = await deps.access.directory(tenant);
  const { membersOf, byDn } = await readMembership(deps, tenant, directory, groups);
  const cover = await liveCover(deps, tenant.id);

  const drift: Finding[] = [];
  const unexpected: Array<{ group: ProfileGroup; memberDn: string }> = [];
  for (const [guid, { group, members }] of membersOf) {
    for (const memberDn of members) {
      const account = byDn.get(memberDn.toLowerCase());
      if (!account) unexpected.push({ group, memberDn });
      else if (!cover.has(`${account.technicianId}\u0000${guid}`)) drift.push({ group, memberDn, account });
    }
  }

  // 3. Drift of linked accounts, confirmed by a second read of the group and then of the grants.
  const confirmed = await confirm(deps, tenant, directory, drift);
  const removed = tenant.driftMode === 'remove' ? await removeAll(deps, tenant, directory, confirmed, counts) : [];
  const reportedTechnicians = tenant.driftMode === 'report' ? await report(deps, tenant, confirmed, 'technician') : [];
  const reportedMembers = await report(deps, tenant, unexpected, 'unexpected');
  counts.removed += removed.length;
  counts.reported += reportedTechnicians.length;
  counts.unexpected += reportedMembers.length;

  // 4. Forget reports of members gone from groups read this time, and of groups no longer managed,
  // so a member that comes back is reported again (a member that changed kind, too).
  const stillThere = new Set([
    ...unexpected.map((u) => key('unexpected', u.group.guid, u.memberDn)),
    ...(tenant.driftMode === 'report' ? confirmed.map((d) => key('technician', d.group.guid, d.memberDn)) : []),
  ]);
  const stale = reports.filter((r) => {
    const managed = groups.some((g) => g.guid.toLowerCase() === r.groupGuid.toLowerCase());
    const read = membersOf.has(r.groupGuid.toLowerCase());
    return !managed || (read && !stillThere.has(key(r.kind, r.groupGuid, r.memberDn)));
  });
  if (stale.length) await deps.store.driftReports.remove(tenant.id, stale);

  const all = [...removed, ...reportedTechnicians, ...reportedMembers];
  if (all.length > 0) {
    const first = all[0]!;
    await alert(deps, tenant, {
      removed: removed.length,
      reported: reportedTechnicians.length,
      unexpectedMembers: reportedMembers.length,
      mode: tenant.driftMode,
      example: `${first.memberDn} in ${first.group.name}`,
    });
  }
}

async function readMembership(
  deps: DriftDeps,
  tenant: TenantRecord,
  directory: TenantDirectory,
  groups: ProfileGroup[],
): Promise<Membership> {
  // 1. Members first (see the top of the file), each group under its DN of now. A directory that
  // does not answer ends this tenant's check at once (retried next run) rather than timing out per group.
  const membersOf = new Map<string, { group: ProfileGroup; members: string[] }>();
  for (const stored of groups) {
    const found = await directory.groupByGuid(stored.guid);
    if (!found) {
      deps.log.warn({ tenantId: tenant.id, group: stored.dn }, 'a managed group no longer exists; drift not checked there');
      continue;
    }
    const group = { ...stored, dn: found.dn };
    membersOf.set(stored.guid.toLowerCase(), { group, members: await directory.groupMembers(found.dn) });
  }

  // 2. Then who is linked (under their DN of now); the caller reads which grants are live after this.
  const accounts = await deps.store.accounts.listForTenant(tenant.id);
  const dns = accounts.length ? await directory.accountDnsByGuid(accounts.map((a) => a.guid)) : new Map<string, string>();
  const byDn = new Map<string, TenantAccount>();
  for (const account of accounts) {
    const dn = dns.get(account.guid.toLowerCase());
    if (dn) byDn.set(dn.toLowerCase(), { ...account, dn });
  }
  return { membersOf, byDn };
}

/** Keeps the findings still true on a second look: still a member, and still no live grant. */
async function confirm(deps: DriftDeps, tenant: TenantRecord, directory: TenantDirectory, drift: Finding[]): Promise<Finding[]> {
  if (drift.length === 0) return [];
  const byGroup = new Map<string, Finding[]>();
  for (const d of drift) byGroup.set(d.group.dn, [...(byGroup.get(d.group.dn) ?? []), d]);
  const stillMembers: Finding[] = [];
  for (const [groupDn, findings] of byGroup) {
    const present = await directory.currentMembers(
      groupDn,
      findings.map((f) => f.memberDn),
    );
    stillMembers.push(...findings.filter((f) => present.has(f.memberDn.toLowerCase())));
  }
  const cover = await liveCover(deps, tenant.id);
  return stillMembers.filter((f) => !cover.has(`${f.account.technicianId}\u0000${f.group.guid.toLowerCase()}`));
}

async function technicianDetails(deps: DriftDeps, f: Finding) {
  const technician = await deps.store.technicians.findById(f.account.technicianId);
  return {
    technicianId: f.account.technicianId,
    username: technician?.username ?? '',
    accountDn: f.memberDn,
    accountGuid: f.account.guid,
    group: f.group.dn,
    groupName: f.group.name,
  };
}

/** Through the batched removal path (one modify per group, read back); each removal audited once confirmed. */
async function removeAll(
  deps: DriftDeps,
  tenant: TenantRecord,
  directory: TenantDirectory,
  drift: Finding[],
  counts: DriftCounts,
): Promise<Finding[]> {
  const outcomes = await Promise.allSettled(
    drift.map(async (f) => {
      await deps.removal.remove(tenant.id, directory, f.group.dn, f.memberDn);
      const at = deps.clock.now();
      const details = await technicianDetails(deps, f);
      await deps.store.transaction((tx) =>
        tx.audit.append({ actor: 'system', action: 'drift.removed', tenantId: tenant.id, target: f.account.technicianId, details }, at),
      );
      return f;
    }),
  );
  const done: Finding[] = [];
  outcomes.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') done.push(outcome.value);
    else {
      counts.errors++;
      const f = drift[i]!;
      deps.log.warn(
        { tenantId: tenant.id, group: f.group.dn, member: f.memberDn, err: (outcome.reason as Error).message },
        'could not remove a drifted membership; will retry',
      );
    }
  });
  return done;
}

/** Audits what was not reported yet, once: the report row and its audit event land together. */
async function report<T extends { group: ProfileGroup; memberDn: string; account?: TenantAccount }>(
  deps: DriftDeps,
  tenant: TenantRecord,
  found: T[],
  kind: DriftReport['kind'],
): Promise<T[]> {
  const reported: T[] = [];
  for (const f of found) {
    const details =
      kind === 'technician'
        ? await technicianDetails(deps, f as T & Finding)
        : { member: f.memberDn, group: f.group.dn, groupName: f.group.name };
    const at = deps.clock.now();
    const fresh = await deps.store.transaction(async (tx) => {
      if (
        !(await tx.driftReports.add({
          tenantId: tenant.id,
          groupGuid: f.group.guid,
          groupDn: f.group.dn,
          memberDn: f.memberDn,
          kind,
          reportedAt: at,
        }))
      )
        return false;
      await tx.audit.append(
        kind === 'technician'
          ? { actor: 'system', action: 'drift.reported', tenantId: tenant.id, target: f.account!.technicianId, details }
          : { actor: 'system', action: 'drift.unexpected_member', tenantId: tenant.id, target: f.memberDn, details },
        at,
      );
      return true;
    });
    if (fresh) reported.push(f);
  }
  return reported;
}
