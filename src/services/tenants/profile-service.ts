// Access profiles: groups are resolved from the directory and refused when protected, directly or
// through nesting at any depth (docs/security-model.md, Protected groups); the refusal names the protected group and the path.
import { z } from 'zod';
import { defaultApprovalTimeoutSeconds, type ApprovalRule } from '../../domain/approval.ts';
import { DomainError } from '../../domain/errors.ts';
import { assertProfileRules, profileNamePattern, type AccessProfile, type ProfileGroup } from '../../domain/profile.ts';
import { roles } from '../../domain/roles.ts';
import { auditOrigin, type RequestContext } from '../context.ts';
import type { Clock, RandomSource } from '../ports/runtime.ts';
import type { Store } from '../ports/store.ts';
import type { TenantDirectory } from '../ports/directory.ts';
import type { TenantAccess } from './tenant-access.ts';

const hhmm = z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/, 'HH:MM');
const week = 7 * 24 * 3600;

/** A profile as an admin writes it, through the API or in `stint apply -f` files. */
export const profileInputSchema = z.strictObject({
  name: z.string().min(1).max(64),
  description: z.string().max(500).optional(),
  /** Group DNs as the admin gives them; stored by objectGUID and SID. */
  groups: z.array(z.string().min(3).max(1024)).min(1).max(50),
  eligibleTechnicians: z.array(z.string().min(1).max(64)).max(1000).optional(),
  eligibleRoles: z.array(z.enum(roles)).max(4).optional(),
  defaultDurationSeconds: z.number().int().positive().max(week),
  maxDurationSeconds: z.number().int().positive().max(week),
  maxTotalDurationSeconds: z
    .number()
    .int()
    .positive()
    .max(4 * week)
    .optional(),
  approval: z
    .strictObject({
      required: z.number().int().min(0).max(10),
      approvers: z.array(z.string().min(1).max(64)).max(100).optional(),
      timeoutSeconds: z.number().int().min(60).max(week).optional(),
      reapproveExtensions: z.boolean().optional(),
    })
    .optional(),
  windows: z
    .array(z.strictObject({ days: z.array(z.number().int().min(0).max(6)).min(1).max(7), start: hhmm, end: hhmm }))
    .max(20)
    .optional(),
  workstations: z.array(z.string().min(1).max(15)).max(64).optional(),
  requireJustification: z.boolean().optional(),
  ticketPattern: z
    .string()
    .min(1)
    .max(200)
    .nullable()
    .optional()
    .describe(
      'A regular expression the whole ticket must match; refused unless it provably runs in linear time (no nested or overlapping repetition)',
    ),
});
export type ProfileInput = z.infer<typeof profileInputSchema>;

export function approvalRuleOf(input: ProfileInput['approval']): ApprovalRule {
  return {
    required: input?.required ?? 0,
    approvers: [...new Set(input?.approvers ?? [])],
    timeoutSeconds: input?.timeoutSeconds ?? defaultApprovalTimeoutSeconds,
    reapproveExtensions: input?.reapproveExtensions ?? false,
  };
}

/** The stored form of everything in a profile input but its groups; refuses broken rules. */
export function normaliseProfileInput(input: ProfileInput) {
  const profile = {
    name: input.name,
    description: input.description ?? '',
    eligibleTechnicians: [...new Set(input.eligibleTechnicians ?? [])],
    eligibleRoles: [...new Set(input.eligibleRoles ?? [])],
    defaultDurationSeconds: input.defaultDurationSeconds,
    maxDurationSeconds: input.maxDurationSeconds,
    maxTotalDurationSeconds: input.maxTotalDurationSeconds ?? input.maxDurationSeconds,
    approval: approvalRuleOf(input.approval),
    windows: input.windows ?? [],
    workstations: input.workstations ?? [],
    requireJustification: input.requireJustification ?? false,
    ticketPattern: input.ticketPattern ?? null,
  };
  if (!profileNamePattern.test(profile.name)) {
    throw new DomainError('validation_failed', 'A profile name is a lower-case slug', { field: 'name' });
  }
  if (input.groups.length === 0) throw new DomainError('validation_failed', 'A profile grants at least one group', { field: 'groups' });
  assertProfileRules(profile);
  return profile;
}

/** A directory group offered for a profile; `protection` is set when it can never be granted. */
export interface GroupChoice extends ProfileGroup {
  protection: { protectedGroup: string; reason: string; path: string[] } | null;
}

export interface ProfileServiceDeps {
  store: Pick<Store, 'profiles' | 'elevations' | 'transaction'>;
  clock: Clock;
  random: RandomSource;
  access: TenantAccess;
}

/** A tenant's access profiles; every change audited, protected groups refused (and the refusal audited). */
export interface ProfileService {
  create(tenantId: string, input: ProfileInput, actor: string, ctx: RequestContext): Promise<AccessProfile>;
  /** Replaces the profile's rules and groups; a suspended profile checked clean again becomes active. */
  update(tenantId: string, id: string, input: ProfileInput, actor: string, ctx: RequestContext): Promise<AccessProfile>;
  /**
   * Groups to pick for a profile: found by name in the tenant's directory, each with its protection
   * finding (docs/security-model.md, Protected groups) (the same check a profile gets), so a protected one is shown refused before it is tried.
   */
  searchGroups(tenantId: string, text: string, limit: number): Promise<{ groups: GroupChoice[]; truncated: boolean }>;
  list(tenantId: string): Promise<AccessProfile[]>;
  /** Throws `not_found`, also for a profile of another tenant. */
  get(tenantId: string, id: string): Promise<AccessProfile>;
  findByName(tenantId: string, name: string): Promise<AccessProfile | null>;
  /** Only while no open elevation uses the profile. */
  remove(tenantId: string, id: string, actor: string, ctx: RequestContext): Promise<void>;
}

export function createProfileService(deps: ProfileServiceDeps): ProfileService {
  return {
    create: (tenantId, input, actor, ctx) => create(deps, tenantId, input, actor, ctx),
    update: (tenantId, id, input, actor, ctx) => update(deps, tenantId, id, input, actor, ctx),
    searchGroups: (tenantId, text, limit) => searchGroups(deps, tenantId, text, limit),
    list: (tenantId) => deps.store.profiles.listForTenant(tenantId),
    get: (tenantId, id) => mustFind(deps, tenantId, id),
    findByName: (tenantId, name) => deps.store.profiles.findByName(tenantId, name),
    remove: (tenantId, id, actor, ctx) => remove(deps, tenantId, id, actor, ctx),
  };
}

/** Refuses a protected group (directly or through nesting), auditing the refusal. */
async function refuseProtected(
  deps: ProfileServiceDeps,
  tenantId: string,
  group: ProfileGroup,
  finding: { protectedDn: string; reason: string; path: string[] },
  actor: string,
  ctx: RequestContext,
): Promise<never> {
  const details = { group: group.dn, protectedGroup: finding.protectedDn, reason: finding.reason, path: finding.path };
  await deps.store.transaction((tx) =>
    tx.audit.append(
      { actor, action: 'profile.refused_protected_group', tenantId, target: group.dn, details, ...auditOrigin(ctx) },
      deps.clock.now(),
    ),
  );
  throw new DomainError(
    'group_protected',
    finding.path.length > 1
      ? `${group.dn} is nested inside the protected group ${finding.protectedDn} (${finding.reason}); it can never be granted`
      : `${group.dn} is a protected group (${finding.reason}); it can never be granted`,
    details,
  );
}

async function resolveGroups(
  deps: ProfileServiceDeps,
  tenantId: string,
  directory: TenantDirectory,
  dns: string[],
  actor: string,
  ctx: RequestContext,
): Promise<ProfileGroup[]> {
  const groups: ProfileGroup[] = [];
  const extra = await deps.access.protectedSids(tenantId);
  for (const dn of [...new Set(dns)]) {
    const group = await directory.groupByDn(dn);
    if (!group) throw new DomainError('group_not_found', `No group ${dn} in the tenant's domain`, { group: dn });
    const finding = await directory.findProtection(group, extra);
    if (finding) await refuseProtected(deps, tenantId, group, finding, actor, ctx);
    groups.push({ dn: group.dn, guid: group.guid, sid: group.sid, name: group.name });
  }
  return groups;
}

async function mustFind(deps: ProfileServiceDeps, tenantId: string, id: string): Promise<AccessProfile> {
  const profile = await deps.store.profiles.findById(id);
  if (!profile || profile.tenantId !== tenantId) throw new DomainError('not_found', 'No such profile');
  return profile;
}

async function create(
  deps: ProfileServiceDeps,
  tenantId: string,
  input: ProfileInput,
  actor: string,
  ctx: RequestContext,
): Promise<AccessProfile> {
  const { store } = deps;
  const tenant = await deps.access.tenant(tenantId);
  const base = normaliseProfileInput(input);
  if (await store.profiles.findByName(tenantId, base.name)) throw new DomainError('conflict', `Profile ${base.name} already exists`);
  const groups = await resolveGroups(deps, tenantId, await deps.access.directory(tenant), input.groups, actor, ctx);
  const id = deps.random.id();
  const now = deps.clock.now();
  await store.transaction(async (tx) => {
    await tx.profiles.insert({ id, tenantId, ...base, groups }, now);
    await tx.audit.append(
      {
        actor,
        action: 'profile.created',
        tenantId,
        target: id,
        details: { name: base.name, groups: groups.map((g) => g.dn) },
        ...auditOrigin(ctx),
      },
      now,
    );
  });
  return mustFind(deps, tenantId, id);
}

async function update(
  deps: ProfileServiceDeps,
  tenantId: string,
  id: string,
  input: ProfileInput,
  actor: string,
  ctx: RequestContext,
): Promise<AccessProfile> {
  const { store } = deps;
  const tenant = await deps.access.tenant(tenantId);
  const before = await mustFind(deps, tenantId, id);
  const base = normaliseProfileInput(input);
  if (base.name !== before.name && (await store.profiles.findByName(tenantId, base.name))) {
    throw new DomainError('conflict', `Profile ${base.name} already exists`);
  }
  const groups = await resolveGroups(deps, tenantId, await deps.access.directory(tenant), input.groups, actor, ctx);
  const now = deps.clock.now();
  await store.transaction(async (tx) => {
    await tx.profiles.update(id, { ...base, groups }, now);
    // A profile checked clean again may be used again.
    if (before.status === 'suspended') await tx.profiles.setStatus(id, 'active', null, now);
    await tx.audit.append(
      {
        actor,
        action: 'profile.updated',
        tenantId,
        target: id,
        details: { name: base.name, groups: groups.map((g) => g.dn) },
        ...auditOrigin(ctx),
      },
      now,
    );
  });
  return mustFind(deps, tenantId, id);
}

async function searchGroups(
  deps: ProfileServiceDeps,
  tenantId: string,
  text: string,
  limit: number,
): Promise<{ groups: GroupChoice[]; truncated: boolean }> {
  const directory = await deps.access.directory(await deps.access.tenant(tenantId));
  const extra = await deps.access.protectedSids(tenantId);
  const found = await directory.searchGroups(text, limit);
  const groups = await Promise.all(
    found.groups.map(async (group): Promise<GroupChoice> => {
      const finding = await directory.findProtection(group, extra);
      return {
        dn: group.dn,
        guid: group.guid,
        sid: group.sid,
        name: group.name,
        protection: finding ? { protectedGroup: finding.protectedDn, reason: finding.reason, path: finding.path } : null,
      };
    }),
  );
  return { groups, truncated: found.truncated };
}

async function remove(deps: ProfileServiceDeps, tenantId: string, id: string, actor: string, ctx: RequestContext): Promise<void> {
  const { store } = deps;
  await mustFind(deps, tenantId, id);
  const holding = await store.elevations.list({
    tenantIds: [tenantId],
    states: ['pending_approval', 'activating', 'active', 'revoking'],
  });
  if (holding.some((e) => e.profileId === id)) throw new DomainError('conflict', 'Elevations of this profile are still open');
  const now = deps.clock.now();
  await store.transaction(async (tx) => {
    await tx.profiles.delete(id);
    await tx.audit.append({ actor, action: 'profile.deleted', tenantId, target: id, details: {}, ...auditOrigin(ctx) }, now);
  });
}
