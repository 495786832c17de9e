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
import type { DirectoryProbe } from '../ports/directory.ts';
import type { ReviewSchedules } from '../ports/reviews.ts';
import type { SecretBox } from '../ports/crypto.ts';
import type { Store } from '../ports/store.ts';
import type { TenantPatch, TenantRecord } from '../ports/tenants.ts';

export interface TenantServiceDeps {
  store: Store;
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

export type TenantService = ReturnType<typeof createTenantService>;

export function createTenantService(deps: TenantServiceDeps) {
  const { store, clock, secrets } = deps;

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
      throw new DomainError(
        'validation_failed',
        `inactiveDays is a whole number from ${inactiveDaysRange.min} to ${inactiveDaysRange.max}`,
        { field: 'inactiveDays' },
      );
    }
  }

  /** The review job follows the tenant's schedule and zone; should Redis be down, the worker writes it again later. */
  async function schedule(tenant: TenantRecord) {
    await deps.reviewSchedules
      .upsert(tenant)
      .catch((error: unknown) =>
        deps.log.warn(
          { tenantId: tenant.id, err: (error as Error).message },
          'the review schedule could not be written now; the worker writes it again',
        ),
      );
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

  async function mustFind(id: string): Promise<TenantRecord> {
    const tenant = await store.tenants.findById(id);
    if (!tenant) throw new DomainError('not_found', 'No such tenant');
    return tenant;
  }

  return {
    async create(input: NewTenantInput, actor: string, ctx: RequestContext) {
      if (!tenantIdPattern.test(input.id)) {
        throw new DomainError('validation_failed', 'A tenant id is a lower-case slug (letters, digits, dashes)', { field: 'id' });
      }
      assertTimeZone(input.timeZone);
      assertReviewSettings(input, input.timeZone);
      assertRiskThreshold(input.riskThreshold);
      const { bindPassword, ...connection } = input.directory;
      assertDirectoryUrlAllowed(connection.url, deps.production);
      if (await store.tenants.findById(input.id)) throw new DomainError('conflict', `Tenant ${input.id} already exists`);
      const probe = await deps.directory.check(connection, bindPassword);
      const sealed = await secrets.seal(bindPassword, bindPasswordContext(input.id));
      const now = clock.now();
      await store.transaction(async (tx) => {
        await tx.tenants.insert(
          {
            id: input.id,
            displayName: input.displayName,
            timeZone: input.timeZone,
            directory: connection,
            keepAccountsDisabled: input.keepAccountsDisabled ?? true,
            slackChannel: input.slackChannel ?? null,
            driftMode: input.driftMode ?? 'remove',
            reviewSchedule: input.reviewSchedule?.trim() ?? defaultReviewSchedule,
            inactiveDays: input.inactiveDays ?? defaultInactiveDays,
            disableInactive: input.disableInactive ?? false,
            riskThreshold: input.riskThreshold ?? defaultRiskThreshold,
            bindPasswordSealed: sealed,
          },
          now,
        );
        await tx.audit.append(
          {
            actor,
            action: 'tenant.created',
            tenantId: input.id,
            target: input.id,
            details: {
              url: connection.url,
              bindDn: connection.bindDn,
              baseDn: connection.baseDn,
              driftMode: input.driftMode ?? 'remove',
              riskThreshold: input.riskThreshold ?? defaultRiskThreshold,
            },
            ...auditOrigin(ctx),
          },
          now,
        );
      });
      const tenant = await mustFind(input.id);
      await schedule(tenant);
      return { tenant, connection: probe };
    },

    list: () => store.tenants.list(),

    get: mustFind,

    async update(id: string, input: TenantUpdateInput, actor: string, ctx: RequestContext) {
      const before = await mustFind(id);
      if (before.archived)
        throw new DomainError('tenant_archived', `Tenant ${id} is archived; it can no longer be changed`, { tenantId: id });
      if (input.timeZone !== undefined) assertTimeZone(input.timeZone);
      assertReviewSettings(input, input.timeZone ?? before.timeZone);
      assertRiskThreshold(input.riskThreshold);
      const patch: TenantPatch = {
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
      let probe = null;
      if (input.directory) {
        const { bindPassword, ...changes } = input.directory;
        const connection: DirectoryConnection = { ...before.directory, ...changes };
        assertDirectoryUrlAllowed(connection.url, deps.production);
        if (bindPassword === undefined && changesPasswordEndpoint(before.directory, connection)) {
          throw new DomainError('password_required', 'A new directory URL, CA certificate or bind DN needs the bind password again', {
            field: 'directory.bindPassword',
          });
        }
        const password = bindPassword ?? (await secrets.open(before.bindPasswordSealed, bindPasswordContext(id)));
        probe = await deps.directory.check(connection, password);
        patch.directory = connection;
        if (bindPassword !== undefined) patch.bindPasswordSealed = await secrets.seal(bindPassword, bindPasswordContext(id));
      }
      const now = clock.now();
      const changed = [
        ...Object.keys(input).filter((k) => k !== 'directory' && input[k as keyof TenantUpdateInput] !== undefined),
        ...Object.keys(input.directory ?? {}).map((k) => `directory.${k}`),
      ];
      await store.transaction(async (tx) => {
        await tx.tenants.update(id, patch, now);
        await tx.audit.append(
          { actor, action: 'tenant.updated', tenantId: id, target: id, details: { changed }, ...auditOrigin(ctx) },
          now,
        );
      });
      const tenant = await mustFind(id);
      if (tenant.reviewSchedule !== before.reviewSchedule || tenant.timeZone !== before.timeZone) await schedule(tenant);
      return { tenant, connection: probe };
    },

    /** Checks the stored connection again, e.g. for an admin page. */
    async checkConnection(id: string) {
      const tenant = await mustFind(id);
      if (tenant.archived)
        throw new DomainError('tenant_archived', `Tenant ${id} is archived; its directory is no longer used`, { tenantId: id });
      return deps.directory.check(tenant.directory, await secrets.open(tenant.bindPasswordSealed, bindPasswordContext(id)));
    },

    /** Only while nothing refers to the tenant: no linked accounts, profiles or elevations. */
    async remove(id: string, actor: string, ctx: RequestContext): Promise<void> {
      await mustFind(id);
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
      const now = clock.now();
      await store.transaction(async (tx) => {
        await tx.tenants.delete(id);
        await tx.audit.append({ actor, action: 'tenant.deleted', tenantId: id, target: id, details: {}, ...auditOrigin(ctx) }, now);
      });
      await deps.reviewSchedules
        .remove(id)
        .catch((error: unknown) =>
          deps.log.warn(
            { tenantId: id, err: (error as Error).message },
            'the review schedule could not be removed now; the worker removes it',
          ),
        );
    },
  };
}
