// Managing tenants (admin). Creating or changing a tenant's directory connection first proves it
// works (LDAPS with the given CA, bind, base DN); bind passwords are stored only sealed and never
// returned.
import { DomainError } from '../../domain/errors.ts';
import { defaultInactiveDays, defaultReviewSchedule, inactiveDaysRange, reviewScheduleProblem } from '../../domain/review.ts';
import { defaultRiskThreshold, isValidRiskThreshold, riskThresholdRange } from '../../domain/risk.ts';
import {
  assertDirectoryUrlAllowed,
  changesPasswordEndpoint,
  isValidTimeZone,
  tenantIdPattern,
  type DirectoryConnection,
  type DriftMode,
  type Tenant,
} from '../../domain/tenant.ts';
import { auditOrigin, type RequestContext } from '../context.ts';
import type { Clock, EventLog } from '../ports/runtime.ts';
import type { DirectoryProbe, DirectoryProbeResult } from '../ports/directory.ts';
import type { ReviewSchedules } from '../ports/reviews.ts';
import type { SecretBox } from '../ports/crypto.ts';
import type { Store } from '../ports/store.ts';
import type { TenantPatch, TenantRecord } from '../ports/tenants.ts';

export interface TenantServiceDeps {
  /** Tenants, and the counts of what refers to one before it may be removed. */
  store: Pick<Store, 'tenants' | 'accounts' | 'profiles' | 'elevations' | 'transaction'>;
  clock: Clock;
  secrets: SecretBox;
  directory: DirectoryProbe;
  production: boolean;
  /** Each tenant's review job; the worker also writes every schedule again at start and periodically. */
  reviewSchedules: ReviewSchedules;
  log: EventLog;
}

export interface ReviewSettingsInput {
  reviewSchedule?: string;
  inactiveDays?: number;
  disableInactive?: boolean;
}

export interface NewTenantInput extends ReviewSettingsInput {
  id: string;
  displayName: string;
  timeZone: string;
  directory: DirectoryConnection & { bindPassword: string };
  keepAccountsDisabled?: boolean;
  slackChannel?: string | null;
  driftMode?: DriftMode;
  riskThreshold?: number;
}

export interface TenantUpdateInput extends ReviewSettingsInput {
  displayName?: string;
  timeZone?: string;
  directory?: Partial<DirectoryConnection> & { bindPassword?: string };
  keepAccountsDisabled?: boolean;
  slackChannel?: string | null;
  driftMode?: DriftMode;
  riskThreshold?: number;
}

export const bindPasswordContext = (tenantId: string) => `tenant:${tenantId}:bind-password`;

export function presentTenant(t: TenantRecord): Tenant {
  return {
    id: t.id,
    displayName: t.displayName,
    timeZone: t.timeZone,
    directory: { ...t.directory },
    keepAccountsDisabled: t.keepAccountsDisabled,
    slackChannel: t.slackChannel,
    driftMode: t.driftMode,
    reviewSchedule: t.reviewSchedule,
    inactiveDays: t.inactiveDays,
    disableInactive: t.disableInactive,
    riskThreshold: t.riskThreshold,
    frozen: t.frozen && { ...t.frozen },
    archived: t.archived && { ...t.archived },
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
  };
}

/** A tenant and, when its directory connection was checked, what the check found. */
export interface TenantChange {
  tenant: TenantRecord;
  connection: DirectoryProbeResult | null;
}

/** Managing tenants (admin); every change audited. */
export interface TenantService {
  /** Proves the directory connection first; the bind password is stored only sealed. */
  create(input: NewTenantInput, actor: string, ctx: RequestContext): Promise<{ tenant: TenantRecord; connection: DirectoryProbeResult }>;
  list(): Promise<TenantRecord[]>;
  /** Throws `not_found`. */
  get(id: string): Promise<TenantRecord>;
  /** A changed directory connection is proven first; a new URL, CA or bind DN needs the bind password again. */
  update(id: string, input: TenantUpdateInput, actor: string, ctx: RequestContext): Promise<TenantChange>;
  /** Checks the stored connection again, e.g. for an admin page. */
  checkConnection(id: string): Promise<DirectoryProbeResult>;
  /** Only while nothing refers to the tenant: no linked accounts, profiles or elevations. */
  remove(id: string, actor: string, ctx: RequestContext): Promise<void>;
}

export function createTenantService(deps: TenantServiceDeps): TenantService {
  return {
    create: (input, actor, ctx) => create(deps, input, actor, ctx),
    list: () => deps.store.tenants.list(),
    get: (id) => mustFind(deps, id),
    update: (id, input, actor, ctx) => update(deps, id, input, actor, ctx),
    checkConnection: (id) => checkConnection(deps, id),
    remove: (id, actor, ctx) => remove(deps, id, actor, ctx),
  };
}

function assertTimeZone(timeZone: string) {
  if (!isValidTimeZone(timeZone)) {
    throw new DomainError('validation_failed', `${timeZone} is not an IANA time zone`, { field: 'timeZone' });
  }
}

function assertReviewSettings(input: ReviewSettingsInput, timeZone: string) {
  if (input.reviewSchedule !== undefined) {
    const problem = reviewScheduleProblem(input.reviewSchedule, timeZone);
    if (problem) throw new DomainError('validation_failed', `reviewSchedule: ${problem}`, { field: 'reviewSchedule' });
  }
  const days = input.inactiveDays;
  if (days !== undefined && (!Number.isInteger(days) || days < inactiveDaysRange.min || days > inactiveDaysRange.max)) {
    throw new DomainError('validation_failed', `inactiveDays is a whole number from ${inactiveDaysRange.min} to ${inactiveDaysRange.max}`, {
      field: 'inactiveDays',
    });
  }
}

function assertRiskThreshold(value: number | undefined) {
  if (value !== undefined && !isValidRiskThreshold(value)) {
    throw new DomainError(
      'validation_failed',
      `The risk threshold is a whole number from ${riskThresholdRange.min} to ${riskThresholdRange.max}`,
      { field: 'riskThreshold' },
    );
  }
}

/** The review job follows the tenant's schedule and zone; should Redis be down, the worker writes it again later. */
async function schedule(deps: TenantServiceDeps, tenant: TenantRecord) {
  await deps.reviewSchedules
    .upsert(tenant)
    .catch((error: unknown) =>
      deps.log.warn(
        { tenantId: tenant.id, err: (error as Error).message },
        'the review schedule could not be written now; the worker writes it again',
      ),
    );
}

async function mustFind(deps: TenantServiceDeps, id: string): Promise<TenantRecord> {
  const tenant = await deps.store.tenants.findById(id);
  if (!tenant) throw new DomainError('not_found', 'No such tenant');
  return tenant;
}

function assertNewTenant(deps: TenantServiceDeps, input: NewTenantInput) {
  if (!tenantIdPattern.test(input.id)) {
    throw new DomainError('validation_failed', 'A tenant id is a lower-case slug (letters, digits, dashes)', { field: 'id' });
  }
  assertTimeZone(input.timeZone);
  assertReviewSettings(input, input.timeZone);
  assertRiskThreshold(input.riskThreshold);
  assertDirectoryUrlAllowed(input.directory.url, deps.production);
}

async function create(deps: TenantServiceDeps, input: NewTenantInput, actor: string, ctx: RequestContext) {
  const { store } = deps;
  assertNewTenant(deps, input);
  const { bindPassword, ...connection } = input.directory;
  if (await store.tenants.findById(input.id)) throw new DomainError('conflict', `Tenant ${input.id} already exists`);
  const probe = await deps.directory.check(connection, bindPassword);
  const sealed = await deps.secrets.seal(bindPassword, bindPasswordContext(input.id));
  const now = deps.clock.now();
  const driftMode = input.driftMode ?? 'remove';
  const riskThreshold = input.riskThreshold ?? defaultRiskThreshold;
  await store.transaction(async (tx) => {
    await tx.tenants.insert(
      {
        id: input.id,
        displayName: input.displayName,
        timeZone: input.timeZone,
        directory: connection,
        keepAccountsDisabled: input.keepAccountsDisabled ?? true,
        slackChannel: input.slackChannel ?? null,
        driftMode,
        reviewSchedule: input.reviewSchedule?.trim() ?? defaultReviewSchedule,
        inactiveDays: input.inactiveDays ?? defaultInactiveDays,
        disableInactive: input.disableInactive ?? false,
        riskThreshold,
        bindPasswordSealed: sealed,
      },
      now,
    );
    const details = { url: connection.url, bindDn: connection.bindDn, baseDn: connection.baseDn, driftMode, riskThreshold };
    await tx.audit.append({ actor, action: 'tenant.created', tenantId: input.id, target: input.id, details, ...auditOrigin(ctx) }, now);
  });
  const tenant = await mustFind(deps, input.id);
  await schedule(deps, tenant);
  return { tenant, connection: probe };
}

/** A changed directory connection, proven with the new or the stored bind password; its part of the patch. */
async function directoryPatch(
  deps: TenantServiceDeps,
  before: TenantRecord,
  input: NonNullable<TenantUpdateInput['directory']>,
): Promise<{ probe: DirectoryProbeResult; patch: Pick<TenantPatch, 'directory' | 'bindPasswordSealed'> }> {
  const { bindPassword, ...changes } = input;
  const connection: DirectoryConnection = { ...before.directory, ...changes };
  assertDirectoryUrlAllowed(connection.url, deps.production);
  if (bindPassword === undefined && changesPasswordEndpoint(before.directory, connection)) {
    throw new DomainError('password_required', 'A new directory URL, CA certificate or bind DN needs the bind password again', {
      field: 'directory.bindPassword',
    });
  }
  const password = bindPassword ?? (await deps.secrets.open(before.bindPasswordSealed, bindPasswordContext(before.id)));
  const probe = await deps.directory.check(connection, password);
  const patch: Pick<TenantPatch, 'directory' | 'bindPasswordSealed'> = { directory: connection };
  if (bindPassword !== undefined) patch.bindPasswordSealed = await deps.secrets.seal(bindPassword, bindPasswordContext(before.id));
  return { probe, patch };
}

async function update(
  deps: TenantServiceDeps,
  id: string,
  input: TenantUpdateInput,
  actor: string,
  ctx: RequestContext,
): Promise<TenantChange> {
  const before = await mustFind(deps, id);
  if (before.archived) throw new DomainError('tenant_archived', `Tenant ${id} is archived; it can no longer be changed`, { tenantId: id });
  if (input.timeZone !== undefined) assertTimeZone(input.timeZone);
  assertReviewSettings(input, input.timeZone ?? before.timeZone);
  assertRiskThreshold(input.riskThreshold);
  let patch: TenantPatch = {
    displayName: input.displayName,
    timeZone: input.timeZone,
    keepAccountsDisabled: input.keepAccountsDisabled,
    slackChannel: input.slackChannel,
    driftMode: input.driftMode,
    reviewSchedule: input.reviewSchedule?.trim(),
    inactiveDays: input.inactiveDays,
    disableInactive: input.disableInactive,
    riskThreshold: input.riskThreshold,
  };
  let probe: DirectoryProbeResult | null = null;
  if (input.directory) {
    const changed = await directoryPatch(deps, before, input.directory);
    probe = changed.probe;
    patch = { ...patch, ...changed.patch };
  }
  const now = deps.clock.now();
  const changed = [
    ...Object.keys(input).filter((k) => k !== 'directory' && input[k as keyof TenantUpdateInput] !== undefined),
    ...Object.keys(input.directory ?? {}).map((k) => `directory.${k}`),
  ];
  await deps.store.transaction(async (tx) => {
    await tx.tenants.update(id, patch, now);
    await tx.audit.append({ actor, action: 'tenant.updated', tenantId: id, target: id, details: { changed }, ...auditOrigin(ctx) }, now);
  });
  const tenant = await mustFind(deps, id);
  if (tenant.reviewSchedule !== before.reviewSchedule || tenant.timeZone !== before.timeZone) await schedule(deps, tenant);
  return { tenant, connection: probe };
}

async function checkConnection(deps: TenantServiceDeps, id: string): Promise<DirectoryProbeResult> {
  const tenant = await mustFind(deps, id);
  if (tenant.archived)
    throw new DomainError('tenant_archived', `Tenant ${id} is archived; its directory is no longer used`, { tenantId: id });
  return deps.directory.check(tenant.directory, await deps.secrets.open(tenant.bindPasswordSealed, bindPasswordContext(id)));
}

async function remove(deps: TenantServiceDeps, id: string, actor: string, ctx: RequestContext): Promise<void> {
  const { store } = deps;
  await mustFind(deps, id);
  const [accounts, profiles, elevations] = await Promise.all([
    store.accounts.countForTenant(id),
    store.profiles.countForTenant(id),
    store.elevations.countForTenant(id),
  ]);
  if (accounts + profiles + elevations > 0) {
    throw new DomainError('tenant_in_use', 'The tenant still has linked accounts, profiles or elevations', {
      accounts,
      profiles,
      elevations,
    });
  }
  const now = deps.clock.now();
  await store.transaction(async (tx) => {
    await tx.tenants.delete(id);
    await tx.audit.append({ actor, action: 'tenant.deleted', tenantId: id, target: id, details: {}, ...auditOrigin(ctx) }, now);
  });
  await deps.reviewSchedules
    .remove(id)
    .catch((error: unknown) =>
      deps.log.warn({ tenantId: id, err: (error as Error).message }, 'the review schedule could not be removed now; the worker removes it'),
    );
}
