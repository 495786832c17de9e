// What a technician may read of the elevations (the visibility policy), and the reads themselves:
// list, get, what they may request, what waits for their decision.
import { assertMayDecide } from '../../domain/approval.ts';
import type { Elevation } from '../../domain/elevation.ts';
import { DomainError } from '../../domain/errors.ts';
import { isEligible, type AccessProfile } from '../../domain/profile.ts';
import { hasAnyRole } from '../../domain/roles.ts';
import type { ElevationFilter } from '../ports/elevations.ts';
import type { TechnicianRecord } from '../ports/technicians.ts';
import type { Core } from './core.ts';

/** A tenant as the request form shows it. */
export interface RequestableTenant {
  id: string;
  displayName: string;
  timeZone: string;
}

/** Auditors and admins see every elevation. */
export function canSeeAll(t: TechnicianRecord): boolean {
  return hasAnyRole(t.roles, ['auditor', 'admin']);
}

/** The visibility policy: everything (auditors, admins), one's own, and those of the tenants one approves in. */
export function visible(t: TechnicianRecord, e: Elevation): boolean {
  return canSeeAll(t) || e.technicianId === t.id || (t.roles.includes('approver') && t.approverTenants.includes(e.tenantId));
}

/** The elevation, if `t` may see it; `not_found` alike when it does not exist and when it is not theirs to see. */
export async function findVisible(c: Core, t: TechnicianRecord, id: string): Promise<Elevation> {
  const e = await c.store.elevations.findById(id);
  if (!e || !visible(t, e)) throw new DomainError('not_found', 'No such elevation');
  return e;
}

export async function list(c: Core, technician: TechnicianRecord, filter: ElevationFilter): Promise<Elevation[]> {
  const { elevations } = c.store;
  if (canSeeAll(technician)) return elevations.list(filter);
  const own =
    filter.technicianId && filter.technicianId !== technician.id ? [] : await elevations.list({ ...filter, technicianId: technician.id });
  const approverTenants = technician.roles.includes('approver')
    ? technician.approverTenants.filter((t) => !filter.tenantIds || filter.tenantIds.includes(t))
    : [];
  const approvable = approverTenants.length ? await elevations.list({ ...filter, tenantIds: approverTenants }) : [];
  const merged = new Map([...own, ...approvable].map((e) => [e.id, e]));
  return [...merged.values()].sort((a, b) => b.requestedAt.getTime() - a.requestedAt.getTime()).slice(0, filter.limit ?? 1000);
}

/**
 * What the technician may ask for now: active profiles they are eligible for, in tenants where
 * they hold a linked account (docs/architecture.md, Requesting). Windows and approval rules are answered, not checked.
 */
export async function requestable(
  c: Core,
  technician: TechnicianRecord,
): Promise<Array<{ tenant: RequestableTenant; profile: AccessProfile }>> {
  if (technician.status !== 'active') return [];
  const eligible = (await c.store.profiles.listAll()).filter((p) => p.status === 'active' && isEligible(p, technician));
  const out: Array<{ tenant: RequestableTenant; profile: AccessProfile }> = [];
  const tenants = new Map<string, RequestableTenant | null>();
  for (const profile of eligible) {
    if (!tenants.has(profile.tenantId)) {
      const tenant = await c.store.tenants.findById(profile.tenantId);
      const linked = tenant ? await c.store.accounts.find(tenant.id, technician.id) : null;
      // A frozen or archived tenant offers nothing to ask for (requests there are refused).
      tenants.set(
        profile.tenantId,
        tenant && linked && !tenant.frozen && !tenant.archived
          ? { id: tenant.id, displayName: tenant.displayName, timeZone: tenant.timeZone }
          : null,
      );
    }
    const tenant = tenants.get(profile.tenantId);
    if (tenant) out.push({ tenant, profile });
  }
  return out.sort((a, b) => a.tenant.id.localeCompare(b.tenant.id) || a.profile.name.localeCompare(b.profile.name));
}

/** What waits for this approver's decision: requests and extension requests of their tenants. */
export async function pendingApprovals(c: Core, approver: TechnicianRecord): Promise<Elevation[]> {
  if (!approver.roles.includes('approver') || approver.approverTenants.length === 0) return [];
  const waiting = await c.store.elevations.list({
    states: ['pending_approval', 'active'],
    tenantIds: approver.approverTenants,
    limit: 10_000,
  });
  return waiting.filter((e) => {
    if (e.state === 'active' && !e.extension) return false;
    const round = e.state === 'active' ? e.extension!.round : 0;
    if (e.decisions.some((d) => d.round === round && d.approverId === approver.id)) return false;
    try {
      assertMayDecide(approver, e);
      return true;
    } catch {
      return false;
    }
  });
}
