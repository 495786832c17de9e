// Tenants and profiles as code (`stint apply -f`): creates what is missing, updates what differs,
// leaves the rest untouched, so applying the same file twice changes nothing the second time.
// Nothing is deleted: a tenant or profile missing from the file is reported, not removed.
import type { DriftMode } from '../../domain/tenant.ts';
import { systemContext } from '../context.ts';
import { normaliseProfileInput, type ProfileInput, type ProfileService } from './profile-service.ts';
import type { SecretBox } from '../ports/crypto.ts';
import type { Store } from '../ports/store.ts';
import type { TenantRecord } from '../ports/tenants.ts';
import type { ProtectedGroupService } from './protected-group-service.ts';
import { bindPasswordContext, type TenantService } from './tenant-service.ts';

export interface TenantPlan {
  id: string;
  displayName: string;
  timeZone: string;
  keepAccountsDisabled: boolean;
  slackChannel: string | null;
  driftMode: DriftMode;
  reviewSchedule: string;
  inactiveDays: number;
  disableInactive: boolean;
  riskThreshold: number;
  directory: { url: string; bindDn: string; baseDn: string; caCertificate: string; bindPassword: string };
  profiles: ProfileInput[];
  /** The tenant's own protected groups (DNs or objectGUIDs): the list becomes exactly these; absent: left alone. */
  protectedGroups?: string[];
}

export interface ApplyReport {
  created: string[];
  updated: string[];
  unchanged: string[];
  notInFile: string[];
}

const sortedLower = (values: readonly string[]) => values.map((v) => v.toLowerCase()).sort();
/** Lists whose order carries no meaning are sorted, so a reordered file is not a change. */
const canonicalProfile = (p: Record<string, unknown>) =>
  JSON.stringify(p, (key, value: unknown) =>
    ['eligibleTechnicians', 'eligibleRoles', 'approvers'].includes(key) && Array.isArray(value) ? [...(value as string[])].sort() : value,
  );

export interface ApplyServiceDeps {
  store: Pick<Store, 'tenants' | 'profiles'>;
  secrets: SecretBox;
  tenants: Pick<TenantService, 'create' | 'update'>;
  profiles: Pick<ProfileService, 'create' | 'update'>;
  protectedGroups: Pick<ProtectedGroupService, 'replace'>;
}

/** `stint apply -f`: tenants and profiles as code. */
export interface ApplyService {
  /** Creates what is missing, updates what differs, reports what the file does not name (nothing is deleted). */
  apply(plans: TenantPlan[], actor?: string): Promise<ApplyReport>;
}

export function createApplyService(deps: ApplyServiceDeps): ApplyService {
  return { apply: (plans, actor = 'system') => apply(deps, plans, actor) };
}

async function apply(deps: ApplyServiceDeps, plans: TenantPlan[], actor: string): Promise<ApplyReport> {
  const { store } = deps;
  const report: ApplyReport = { created: [], updated: [], unchanged: [], notInFile: [] };
  for (const plan of plans) {
    await applyTenant(deps, plan, actor, report);
    // Before the profiles, so a profile naming a group the file protects is refused.
    if (plan.protectedGroups) {
      const { added, removed } = await deps.protectedGroups.replace(plan.id, plan.protectedGroups, actor, systemContext);
      (added.length + removed.length ? report.updated : report.unchanged).push(`protected groups ${plan.id}`);
    }
    for (const profile of plan.profiles) await applyProfile(deps, plan.id, profile, actor, report);
    const named = new Set(plan.profiles.map((p) => p.name));
    for (const profile of await store.profiles.listForTenant(plan.id)) {
      if (!named.has(profile.name)) report.notInFile.push(`profile ${plan.id}/${profile.name}`);
    }
  }
  const planned = new Set(plans.map((p) => p.id));
  for (const tenant of await store.tenants.list()) if (!planned.has(tenant.id)) report.notInFile.push(`tenant ${tenant.id}`);
  return report;
}

/** What the plan changes in the stored tenant: only the settings that differ. */
function tenantChanges(existing: TenantRecord, plan: TenantPlan, directoryChanged: boolean) {
  return {
    ...(existing.displayName !== plan.displayName && { displayName: plan.displayName }),
    ...(existing.timeZone !== plan.timeZone && { timeZone: plan.timeZone }),
    ...(existing.keepAccountsDisabled !== plan.keepAccountsDisabled && { keepAccountsDisabled: plan.keepAccountsDisabled }),
    ...(existing.slackChannel !== plan.slackChannel && { slackChannel: plan.slackChannel }),
    ...(existing.driftMode !== plan.driftMode && { driftMode: plan.driftMode }),
    ...(existing.reviewSchedule !== plan.reviewSchedule && { reviewSchedule: plan.reviewSchedule }),
    ...(existing.inactiveDays !== plan.inactiveDays && { inactiveDays: plan.inactiveDays }),
    ...(existing.disableInactive !== plan.disableInactive && { disableInactive: plan.disableInactive }),
    ...(existing.riskThreshold !== plan.riskThreshold && { riskThreshold: plan.riskThreshold }),
    ...(directoryChanged && { directory: plan.directory }),
  };
}

async function applyTenant(deps: ApplyServiceDeps, plan: TenantPlan, actor: string, report: ApplyReport) {
  const label = `tenant ${plan.id}`;
  const existing = await deps.store.tenants.findById(plan.id);
  const { bindPassword, ...connection } = plan.directory;
  if (!existing) {
    await deps.tenants.create({ ...plan, directory: plan.directory }, actor, systemContext);
    report.created.push(label);
    return;
  }
  const storedPassword = await deps.secrets.open(existing.bindPasswordSealed, bindPasswordContext(plan.id));
  const directoryChanged =
    storedPassword !== bindPassword ||
    (Object.keys(connection) as Array<keyof typeof connection>).some((k) => existing.directory[k] !== connection[k]);
  const changes = tenantChanges(existing, plan, directoryChanged);
  if (Object.keys(changes).length === 0) {
    report.unchanged.push(label);
    return;
  }
  await deps.tenants.update(plan.id, changes, actor, systemContext);
  report.updated.push(label);
}

async function applyProfile(deps: ApplyServiceDeps, tenantId: string, input: ProfileInput, actor: string, report: ApplyReport) {
  const label = `profile ${tenantId}/${input.name}`;
  const existing = await deps.store.profiles.findByName(tenantId, input.name);
  if (!existing) {
    await deps.profiles.create(tenantId, input, actor, systemContext);
    report.created.push(label);
    return;
  }
  // Compare the stored form with what the file's input would store (defaults filled in).
  const wanted = normaliseProfileInput(input);
  const stored = Object.fromEntries(Object.keys(wanted).map((k) => [k, existing[k as keyof typeof wanted]]));
  const same =
    existing.status === 'active' &&
    JSON.stringify(sortedLower(existing.groups.map((g) => g.dn))) === JSON.stringify(sortedLower(input.groups)) &&
    canonicalProfile(stored) === canonicalProfile(wanted);
  if (same) {
    report.unchanged.push(label);
    return;
  }
  await deps.profiles.update(tenantId, existing.id, input, actor, systemContext);
  report.updated.push(label);
}
