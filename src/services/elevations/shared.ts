// The pieces every elevation use case uses: a move with its audit event, many moves with theirs,
// notices, the tenant held open, and the technician's other live grants.
import type { AuditAction } from '../../domain/audit.ts';
import type { Elevation } from '../../domain/elevation.ts';
import { liveStates } from '../../domain/elevation-plans.ts';
import type { ElevationState } from '../../domain/elevation-state.ts';
import { DomainError } from '../../domain/errors.ts';
import { assertTenantOpen } from '../../domain/tenant.ts';
import { auditNotEligible, recordAccountMove, type EligibilityStep } from '../tenants/index.ts';
import { auditOrigin, type RequestContext } from '../context.ts';
import type { DirectoryAccount, TenantDirectory } from '../ports/directory.ts';
import type { ElevationRepository } from '../ports/elevations.ts';
import type { Notice } from '../ports/notifications.ts';
import type { StoreRepositories } from '../ports/store.ts';
import type { Core } from './core.ts';

/** Who moves an elevation, for its audit event. */
export interface Mover {
  actor: string;
  ctx: RequestContext;
}

/** Moves the elevation and writes its audit event in one transaction; false if someone moved it first. */
export async function move(
  c: Core,
  e: Elevation,
  to: ElevationState,
  changes: Parameters<ElevationRepository['transition']>[3],
  audit: { action: AuditAction; details: Record<string, unknown> } & Mover,
  leaseHolder?: string,
): Promise<boolean> {
  const at = c.clock.now();
  return c.store.transaction(async (tx) => {
    if (!(await tx.elevations.transition(e.id, e.state, to, changes, at, leaseHolder))) return false;
    await tx.audit.append(
      { actor: audit.actor, action: audit.action, tenantId: e.tenantId, target: e.id, details: audit.details, ...auditOrigin(audit.ctx) },
      at,
    );
    return true;
  });
}

type ManyChanges = Parameters<ElevationRepository['transitionMany']>[3];

/**
 * Moves each of `grants` still in one of `from` to `to`, each with its audit event, in one
 * transaction: all of them or none. With `endsBy`, a grant whose end has moved past it since it
 * was listed (extended meanwhile) is left alone. Answers the grants moved, as moved.
 */
export async function moveMany<S extends ElevationState>(
  c: Core,
  grants: readonly Elevation[],
  move: {
    from: readonly ElevationState[];
    to: S;
    /** The changes, or how to make them from the time of the move. */
    changes: ManyChanges | ((at: Date) => ManyChanges);
    action: AuditAction;
    details: Record<string, unknown>;
    endsBy?: Date;
  } & Mover,
): Promise<Array<Elevation & { state: S }>> {
  if (grants.length === 0) return [];
  const at = c.clock.now();
  const changes = typeof move.changes === 'function' ? move.changes(at) : move.changes;
  return c.store.transaction(async (tx) => {
    const moved = new Set<string>();
    for (const from of move.from) {
      const ids = grants.filter((e) => e.state === from).map((e) => e.id);
      for (const id of await tx.elevations.transitionMany(ids, from, move.to, changes, at, move.endsBy)) moved.add(id);
    }
    const mine = grants.filter((e) => moved.has(e.id)).map((e) => ({ ...e, ...changes, state: move.to, updatedAt: at }));
    await tx.audit.appendMany(
      mine.map((e) => ({
        actor: move.actor,
        action: move.action,
        tenantId: e.tenantId,
        target: e.id,
        details: move.details,
        ...auditOrigin(move.ctx),
      })),
      at,
    );
    return mine;
  });
}

/** Tells whoever should hear (Slack); a notice that cannot be queued is logged, never fatal. */
export async function notify(c: Core, ...notices: Notice[]): Promise<void> {
  try {
    await c.notifications.publish(notices);
  } catch (error) {
    c.log.warn({ err: (error as Error).message, notices: notices.map((n) => n.kind) }, 'a notification could not be queued');
  }
}

/** The notice that each of `ids` ended. */
export const endedNotices = (ids: readonly string[]): Notice[] => ids.map((id) => ({ kind: 'ended' as const, elevationId: id }));

/**
 * In the transaction that starts something (a request, an approval, an extension): the tenant
 * must be open, and its row is held until the commit, so a kill switch committing meanwhile
 * either is seen here or finds what this transaction wrote (docs/security-model.md, Kill
 * switches and the tenant freeze).
 */
export async function holdTenantOpen(tx: StoreRepositories, tenantId: string): Promise<void> {
  if (await tx.tenants.holdOpen(tenantId)) return;
  const tenant = await tx.tenants.findById(tenantId);
  if (!tenant) throw new DomainError('not_found', 'No such tenant');
  assertTenantOpen(tenant);
}

/** Refused before any code is spent: a frozen or archived tenant starts nothing. */
export async function assertOpen(c: Core, tenantId: string): Promise<void> {
  assertTenantOpen(await c.access.tenant(tenantId));
}

/** Other elevations of the same technician in the same tenant that keep (or are getting) access. */
export async function othersActive(c: Core, e: Elevation): Promise<Elevation[]> {
  return (await c.store.elevations.holding(e.tenantId, e.technicianId, e.id)).filter((o) => liveStates.includes(o.state));
}

/** The account was found under another DN (moved or renamed): the link and the grant follow it. */
export async function followAccountMove(c: Core, e: Elevation, account: Pick<DirectoryAccount, 'dn' | 'samAccountName'>): Promise<void> {
  await recordAccountMove(c.store, c.clock.now(), e.accountId, account.dn, account.samAccountName);
  await c.store.elevations.updateAccountDn(e.id, account.dn, c.clock.now());
}

/** Brings the stored DN of each grant's account up to date (removals try it first; they are confirmed by GUID). */
export async function syncAccountDns(c: Core, directory: TenantDirectory, grants: Elevation[]): Promise<void> {
  if (grants.length === 0) return;
  const dns = await directory.accountDnsByGuid(grants.map((g) => g.accountGuid));
  for (const e of grants) {
    const dn = dns.get(e.accountGuid.toLowerCase());
    if (dn && dn !== e.accountDn) {
      await recordAccountMove(c.store, c.clock.now(), e.accountId, dn);
      await c.store.elevations.updateAccountDn(e.id, dn, c.clock.now());
      e.accountDn = dn;
    }
  }
}

/** Audits that the account of `e` may not be written to (domain/account-eligibility.ts); the error to answer with. */
export async function refuseAccount(c: Core, e: Elevation, accountDn: string, reason: string, step: EligibilityStep): Promise<DomainError> {
  await c.store.transaction((tx) =>
    auditNotEligible(tx, c.clock.now(), {
      tenantId: e.tenantId,
      technicianId: e.technicianId,
      guid: e.accountGuid,
      dn: accountDn,
      reason,
      step,
      elevationId: e.id,
    }),
  );
  return new DomainError('account_not_eligible', `The linked account ${accountDn} may not be elevated: ${reason}`, {
    account: accountDn,
    reason,
  });
}
