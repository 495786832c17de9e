// The elevations context's only entrance: what the rest of Stint may use from it (docs/architecture.md,
// A request, end to end): request → activation in the directory → the end, with the store as the
// source of truth. State is written before the directory is touched, every directory write is read
// back, a failed activation is undone, and the reconciler finishes or undoes whatever a crash left
// half-done. Every move of an elevation is one of the state machine's (domain/elevation-state.ts,
// enforced by the store); a lock is `lock`, a change that keeps the state is `amend`.
//
// Ending a grant — one vocabulary:
// - revokeByUser  a person ends a grant early: its owner (`self`) or an admin (`admin`); authorised (ElevationUseCases).
// - end           ends one grant now, directory then store, for a given reason; idempotent (revocation.ts; ElevationUpkeep).
// - endMany       claims live grants (active or mid-activation) for a reason and ends them together (kill-switches.ts).
// - endClaimed    finishes grants already claimed (`revoking`), batched: memberships, accounts, final states (end-claimed.ts).
// - expire        claims every active grant past its end and ends them together (expiry.ts; ElevationUpkeep).
// - endIfDue      the revocation job: its grant expired with the others due by now, or rescheduled (due.ts; ElevationUpkeep).
// - endAndCancel  a kill switch's sweep: pending requests cancelled, live grants ended (kill-switches.ts).
// A request that never became a grant is not ended but cancelled (withdrawn, lapsed, or by a kill switch).
import type { Elevation } from '../../domain/elevation.ts';
import type { AccessProfile } from '../../domain/profile.ts';
import type { RevocationReason } from '../../domain/elevation-state.ts';
import type { RequestContext } from '../context.ts';
import type { ElevationFilter } from '../ports/elevations.ts';
import type { TechnicianRecord } from '../ports/technicians.ts';
import type { TenantRecord } from '../ports/tenants.ts';
import { cancel, decide } from './approvals.ts';
import { createCoordination, type Core, type ElevationDeps } from './core.ts';
import { endIfDue, type DueOutcome } from './due.ts';
import { expire, idle } from './expiry.ts';
import { extend } from './extension.ts';
import { archiveTenant, killTechnician, killTenant, unfreezeTenant, type KillSwitchResult } from './kill-switches.ts';
import { findVisible, list, pendingApprovals, requestable, type RequestableTenant } from './queries.ts';
import { reconcile, type ReconcileCounts } from './reconciler.ts';
import { request, type ElevationRequestInput } from './request.ts';
import { end, revokeByUser } from './revocation.ts';
import { undoLapsedActivations } from './undo.ts';

export { createElevationHistory } from './history.ts';
export type { ElevationDeps, ElevationSettings } from './core.ts';
export type { DueOutcome } from './due.ts';
export type { KillSwitchResult } from './kill-switches.ts';
export type { ReconcileCounts } from './reconciler.ts';
export type { ElevationRequestInput } from './request.ts';

/** What http, Slack and the CLI may do with elevations: every operation checks who asks (a technician) and what they may do. */
export interface ElevationUseCases {
  /** Asks for a grant of a profile (docs/architecture.md, Requesting), with a fresh TOTP code: waits for approval, or is activated at once. */
  request(technician: TechnicianRecord, input: ElevationRequestInput, ctx: RequestContext): Promise<Elevation>;
  /** An approver's yes (docs/architecture.md, Approvals), with a fresh TOTP code; the last one needed starts the grant (or the extension). */
  approve(approver: TechnicianRecord, id: string, code: string, ctx: RequestContext): Promise<Elevation>;
  /** An approver's no: one is enough to end the request (or the extension request). */
  deny(approver: TechnicianRecord, id: string, code: string, reason: string | null, ctx: RequestContext): Promise<Elevation>;
  /** The requester withdraws a request still waiting for approval, or an extension still waiting. */
  cancel(technician: TechnicianRecord, id: string, ctx: RequestContext): Promise<Elevation>;
  /**
   * The owner asks for more time (docs/architecture.md, Extending a grant): a fresh TOTP code, no further than the profile's
   * maximum total or the window's end; approval again where the profile asks for it.
   */
  extend(
    technician: TechnicianRecord,
    id: string,
    input: { durationSeconds: number; code: string },
    ctx: RequestContext,
  ): Promise<Elevation>;
  /** The owner ends their own grant early, or an admin ends anyone's. */
  revokeByUser(technician: TechnicianRecord, id: string, ctx: RequestContext): Promise<Elevation>;
  /** The elevations the technician may see (all for auditors and admins; their own and their approver tenants' otherwise), newest first. */
  list(technician: TechnicianRecord, filter: ElevationFilter): Promise<Elevation[]>;
  /** One elevation the technician may see (`not_found` otherwise). */
  get(technician: TechnicianRecord, id: string): Promise<Elevation>;
  /** What the technician may ask for now: active profiles they are eligible for, in open tenants where they hold a linked account. */
  requestable(technician: TechnicianRecord): Promise<Array<{ tenant: RequestableTenant; profile: AccessProfile }>>;
  /** What waits for this approver's decision: requests and extension requests of their tenants. */
  pendingApprovals(approver: TechnicianRecord): Promise<Elevation[]>;
  /**
   * Kill switch (docs/security-model.md, Kill switches and the tenant freeze), admin with a fresh code: suspends a
   * technician (their sessions end at once), cancels their pending requests and ends every grant they hold, in every tenant.
   */
  killTechnician(
    admin: TechnicianRecord,
    technicianId: string,
    input: { code: string; reason?: string },
    ctx: RequestContext,
  ): Promise<KillSwitchResult & { endedSessions: number; suspended: boolean }>;
  /** Kill switch for one tenant, admin with a fresh code: frozen, then every pending request cancelled and every grant in it ended. */
  killTenant(
    admin: TechnicianRecord,
    tenantId: string,
    input: { code: string; reason?: string },
    ctx: RequestContext,
  ): Promise<KillSwitchResult & { frozen: true }>;
  /** Lifts a tenant's freeze (admin, fresh code); an archived tenant stays as it is. */
  unfreezeTenant(admin: TechnicianRecord, tenantId: string, input: { code: string }, ctx: RequestContext): Promise<TenantRecord>;
  /** Archives a tenant (admin, fresh code): frozen, everything in it ended, then archived for good once nothing is live. */
  archiveTenant(
    admin: TechnicianRecord,
    tenantId: string,
    input: { code: string; reason?: string },
    ctx: RequestContext,
  ): Promise<{ tenant: TenantRecord; revoked: number; cancelled: number }>;
}

/**
 * What the worker's jobs (and the container's shutdown) run: no technician asks, nothing is
 * authorised — never handed to http, Slack or the CLI.
 */
export interface ElevationUpkeep {
  /** Ends one grant now for `reason` (directory, then store); idempotent. */
  end(id: string, reason: RevocationReason, actor: string, ctx: RequestContext): Promise<Elevation>;
  /** Claims every active grant whose end has passed by `now` and ends them together; answers how many ended. */
  expire(now: Date, limit?: number): Promise<number>;
  /** The revocation job of one grant (a retry finishes what its batch left behind). */
  endIfDue(id: string, retry?: boolean): Promise<DueOutcome>;
  /** The safety net that runs every 30 s (docs/architecture.md, The reconciler). */
  reconcile(): Promise<ReconcileCounts>;
  /** The cheap check run every few seconds: activations whose lease has lapsed are undone (docs/architecture.md, Activation leases). Answers how many. */
  undoLapsedActivations(): Promise<number>;
  /** Settles once every batch of expiries this process started is over (the worker waits for it on shutdown). */
  idle(): Promise<void>;
}

/** The elevations context: its use cases for people, and its upkeep for the worker — sharing one coordination state. */
export function createElevationService(deps: ElevationDeps): { useCases: ElevationUseCases; upkeep: ElevationUpkeep } {
  const c: Core = { ...deps, co: createCoordination() };
  return { useCases: useCasesOf(c), upkeep: upkeepOf(c) };
}

function useCasesOf(c: Core): ElevationUseCases {
  return {
    request: (technician, input, ctx) => request(c, technician, input, ctx),
    approve: (approver, id, code, ctx) => decide(c, approver, id, { kind: 'approve', code, reason: null }, ctx),
    deny: (approver, id, code, reason, ctx) => decide(c, approver, id, { kind: 'deny', code, reason }, ctx),
    cancel: (technician, id, ctx) => cancel(c, technician, id, ctx),
    extend: (technician, id, input, ctx) => extend(c, technician, id, input, ctx),
    revokeByUser: (technician, id, ctx) => revokeByUser(c, technician, id, ctx),
    list: (technician, filter) => list(c, technician, filter),
    get: (technician, id) => findVisible(c, technician, id),
    requestable: (technician) => requestable(c, technician),
    pendingApprovals: (approver) => pendingApprovals(c, approver),
    killTechnician: (admin, technicianId, input, ctx) => killTechnician(c, admin, technicianId, input, ctx),
    killTenant: (admin, tenantId, input, ctx) => killTenant(c, admin, tenantId, input, ctx),
    unfreezeTenant: (admin, tenantId, input, ctx) => unfreezeTenant(c, admin, tenantId, input, ctx),
    archiveTenant: (admin, tenantId, input, ctx) => archiveTenant(c, admin, tenantId, input, ctx),
  };
}

function upkeepOf(c: Core): ElevationUpkeep {
  return {
    end: (id, reason, actor, ctx) => end(c, id, reason, actor, ctx),
    expire: (now, limit) => expire(c, now, limit),
    endIfDue: (id, retry) => endIfDue(c, id, retry),
    reconcile: () => reconcile(c),
    undoLapsedActivations: () => undoLapsedActivations(c),
    idle: () => idle(c),
  };
}
