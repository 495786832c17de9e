// Managing technicians (admin): create, update roles and status, suspend (ends sessions at once),
// reset MFA. Every change is audited in the same transaction.
import { DomainError } from '../../domain/errors.ts';
import { hasRole, type Role } from '../../domain/roles.ts';
import { usernamePattern, type IdentitySourceKind, type Technician, type TechnicianStatus } from '../../domain/technician.ts';
import { auditOrigin, type Actor, type RequestContext } from '../context.ts';
import type { Clock, EventLog, RandomSource } from '../ports/runtime.ts';
import type { Notifications } from '../ports/notifications.ts';
import type { PasswordHasher } from '../ports/crypto.ts';
import type { Store, StoreRepositories } from '../ports/store.ts';
import type { TechnicianPatch, TechnicianRecord } from '../ports/technicians.ts';

export interface TechnicianServiceDeps {
  /** Technicians and, for the approver's pickers, linked accounts; a suspension's transaction reaches the elevations. */
  store: Pick<Store, 'technicians' | 'accounts' | 'transaction'>;
  clock: Clock;
  hasher: PasswordHasher;
  random: RandomSource;
  /** Requests withdrawn by a suspension are announced (Slack's approval messages are closed). */
  notifications: Notifications;
  log: EventLog;
}

export interface NewTechnicianInput {
  username: string;
  displayName: string;
  email: string;
  slackUserId?: string | null;
  roles: Role[];
  approverTenants?: string[];
  identitySource: IdentitySourceKind;
  /** Required for `local` technicians; never stored in clear. */
  password?: string;
}

export interface TechnicianUpdateInput {
  displayName?: string;
  email?: string;
  slackUserId?: string | null;
  roles?: Role[];
  approverTenants?: string[];
  status?: TechnicianStatus;
}

export const minPasswordLength = 12;

/** The public view: no hashes, no secrets. */
export function presentTechnician(t: TechnicianRecord): Technician & { mfaLockedUntil: Date | null } {
  return {
    id: t.id,
    username: t.username,
    displayName: t.displayName,
    email: t.email,
    slackUserId: t.slackUserId,
    roles: t.roles,
    approverTenants: t.approverTenants,
    status: t.status,
    identitySource: t.identitySource,
    mfaEnrolled: t.mfaEnrolled,
    mfaLockedUntil: t.mfaLockedUntil,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
  };
}

export interface TechnicianName {
  id: string;
  username: string;
  displayName: string;
}

/** `system` when run from the CLI by an operator on the host. */
type ActorId = Actor['technicianId'] | 'system';

/** Managing technicians (admin); every change audited in its own transaction. */
export interface TechnicianService {
  /** A `local` technician needs a password of at least `minPasswordLength`; an `ldap` one has none in Stint. */
  create(input: NewTechnicianInput, actor: ActorId, ctx: RequestContext): Promise<TechnicianRecord>;
  list(): Promise<TechnicianRecord[]>;
  /**
   * Who is who, for pickers such as the audit page's (id, username and display name, nothing
   * more). Admins and auditors read the trail everywhere, so they see everyone; an approver sees
   * the technicians linked to an account in a tenant they approve for, and themselves.
   */
  names(viewer: TechnicianRecord): Promise<TechnicianName[]>;
  /** Throws `not_found`. */
  get(id: string): Promise<TechnicianRecord>;
  /** Roles, details and status; suspending ends the sessions and withdraws what is pending. The last active admin stays one. */
  update(id: string, input: TechnicianUpdateInput, actor: ActorId, ctx: RequestContext): Promise<TechnicianRecord>;
  /** Clears the authenticator; the technician enrols again at the next login. Ends their sessions. */
  resetMfa(id: string, actor: ActorId, ctx: RequestContext): Promise<void>;
}

export function createTechnicianService(deps: TechnicianServiceDeps): TechnicianService {
  return {
    create: (input, actor, ctx) => create(deps, input, actor, ctx),
    list: () => deps.store.technicians.list(),
    names: (viewer) => names(deps, viewer),
    get: (id) => mustFind(deps, id),
    update: (id, input, actor, ctx) => update(deps, id, input, actor, ctx),
    resetMfa: (id, actor, ctx) => resetMfa(deps, id, actor, ctx),
  };
}

async function mustFind(deps: TechnicianServiceDeps, id: string): Promise<TechnicianRecord> {
  const technician = await deps.store.technicians.findById(id);
  if (!technician) throw new DomainError('not_found', 'No such technician');
  return technician;
}

/** The stored password hash the input asks for: one for `local` technicians, none for `ldap` ones. */
async function passwordHashFor(deps: TechnicianServiceDeps, input: NewTechnicianInput): Promise<string | null> {
  if (input.identitySource === 'local') {
    if (!input.password || input.password.length < minPasswordLength) {
      throw new DomainError('validation_failed', `A local technician needs a password of at least ${minPasswordLength} characters`, {
        field: 'password',
      });
    }
    return deps.hasher.hash(input.password);
  }
  if (input.password !== undefined) {
    throw new DomainError('validation_failed', 'An ldap technician has no password in Stint', { field: 'password' });
  }
  return null;
}

async function create(
  deps: TechnicianServiceDeps,
  input: NewTechnicianInput,
  actor: ActorId,
  ctx: RequestContext,
): Promise<TechnicianRecord> {
  const { store } = deps;
  const username = input.username.trim().toLowerCase();
  if (!usernamePattern.test(username)) {
    throw new DomainError('validation_failed', 'The username may hold lower-case letters, digits, ".", "-" and "_"', {
      field: 'username',
    });
  }
  const passwordHash = await passwordHashFor(deps, input);
  if (await store.technicians.findByUsername(username)) {
    throw new DomainError('conflict', `A technician named ${username} already exists`);
  }
  const id = deps.random.id();
  const now = deps.clock.now();
  await store.transaction(async (tx) => {
    await tx.technicians.insert(
      {
        id,
        username,
        displayName: input.displayName,
        email: input.email,
        slackUserId: input.slackUserId ?? null,
        roles: [...new Set(input.roles)],
        approverTenants: [...new Set(input.approverTenants ?? [])],
        identitySource: input.identitySource,
        passwordHash,
      },
      now,
    );
    await tx.audit.append(
      {
        actor,
        action: 'technician.created',
        target: id,
        details: { username, roles: input.roles, identitySource: input.identitySource },
        ...auditOrigin(ctx),
      },
      now,
    );
  });
  return mustFind(deps, id);
}

async function names(deps: TechnicianServiceDeps, viewer: TechnicianRecord): Promise<TechnicianName[]> {
  const everyone = await deps.store.technicians.list();
  let visible = everyone;
  if (!hasRole(viewer.roles, 'admin') && !hasRole(viewer.roles, 'auditor')) {
    const linked = new Set([viewer.id]);
    for (const tenantId of viewer.approverTenants)
      for (const a of await deps.store.accounts.listForTenant(tenantId)) linked.add(a.technicianId);
    visible = everyone.filter((t) => linked.has(t.id));
  }
  return visible
    .map((t) => ({ id: t.id, username: t.username, displayName: t.displayName }))
    .sort((a, b) => a.displayName.localeCompare(b.displayName) || a.username.localeCompare(b.username));
}

/** Refuses a change that would leave no active admin. */
async function assertKeepsAnAdmin(deps: TechnicianServiceDeps, before: TechnicianRecord, input: TechnicianUpdateInput): Promise<void> {
  const losesAdmin =
    hasRole(before.roles, 'admin') &&
    before.status === 'active' &&
    ((input.roles !== undefined && !input.roles.includes('admin')) || input.status === 'suspended');
  if (losesAdmin && (await deps.store.technicians.countActiveAdmins()) <= 1) {
    throw new DomainError('last_admin', 'This is the last active admin; make another admin first');
  }
}

async function update(
  deps: TechnicianServiceDeps,
  id: string,
  input: TechnicianUpdateInput,
  actor: ActorId,
  ctx: RequestContext,
): Promise<TechnicianRecord> {
  const before = await mustFind(deps, id);
  const now = deps.clock.now();
  const patch: TechnicianPatch = { ...input };
  if (input.roles) patch.roles = [...new Set(input.roles)];
  await assertKeepsAnAdmin(deps, before, input);
  const suspending = input.status === 'suspended' && before.status !== 'suspended';
  const reactivating = input.status === 'active' && before.status === 'suspended';
  const withdrawn = await deps.store.transaction(async (tx) => {
    await tx.technicians.update(id, patch, now);
    let endedSessions = 0;
    if (suspending) endedSessions = await tx.sessions.revokeAllForTechnician(id, now);
    const cancelled = suspending ? await withdrawPending(tx, id, actor, ctx, now) : [];
    const changed = Object.keys(input).filter((k) => input[k as keyof TechnicianUpdateInput] !== undefined);
    await tx.audit.append(
      {
        actor,
        action: suspending ? 'technician.suspended' : reactivating ? 'technician.reactivated' : 'technician.updated',
        target: id,
        details: {
          changed,
          ...(input.roles && { roles: patch.roles }),
          ...(suspending && { endedSessions, cancelledRequests: cancelled.length }),
        },
        ...auditOrigin(ctx),
      },
      now,
    );
    return cancelled;
  });
  if (withdrawn.length) {
    await deps.notifications
      .publish(withdrawn.map((elevationId) => ({ kind: 'ended' as const, elevationId })))
      .catch((error: unknown) => deps.log.warn({ err: (error as Error).message }, 'the withdrawn requests could not be announced'));
  }
  return mustFind(deps, id);
}

/**
 * A suspended technician keeps nothing pending (docs/architecture.md, Activation): their requests waiting for approval
 * are withdrawn and their extension requests dropped, each audited, in the suspension's own
 * transaction (activation checks the requester again, should a decision race with it).
 */
async function withdrawPending(
  tx: StoreRepositories,
  technicianId: string,
  actor: ActorId,
  ctx: RequestContext,
  at: Date,
): Promise<string[]> {
  const open = await tx.elevations.list({ technicianId, states: ['pending_approval', 'active'], limit: 100_000 });
  const waiting = open.filter((e) => e.state === 'pending_approval');
  const cancelled = await tx.elevations.transitionMany(
    waiting.map((e) => e.id),
    'pending_approval',
    'cancelled',
    { endedAt: at },
    at,
  );
  const tenantOf = new Map(open.map((e) => [e.id, e.tenantId]));
  await tx.audit.appendMany(
    cancelled.map((target) => ({
      actor,
      action: 'elevation.cancelled' as const,
      tenantId: tenantOf.get(target)!,
      target,
      details: { reason: 'technician_suspended' },
      ...auditOrigin(ctx),
    })),
    at,
  );
  for (const e of open.filter((o) => o.state === 'active' && o.extension)) {
    if (!(await tx.elevations.amend(e.id, 'active', { extension: null }, at))) continue;
    await tx.audit.append(
      {
        actor,
        action: 'elevation.extension_denied',
        tenantId: e.tenantId,
        target: e.id,
        details: { round: e.extension!.round, reason: 'technician_suspended' },
        ...auditOrigin(ctx),
      },
      at,
    );
  }
  return cancelled;
}

async function resetMfa(deps: TechnicianServiceDeps, id: string, actor: ActorId, ctx: RequestContext): Promise<void> {
  await mustFind(deps, id);
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    await tx.technicians.clearTotp(id, now);
    const endedSessions = await tx.sessions.revokeAllForTechnician(id, now);
    await tx.audit.append({ actor, action: 'mfa.reset', target: id, details: { endedSessions }, ...auditOrigin(ctx) }, now);
  });
}
