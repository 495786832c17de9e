// Approvals (docs/architecture.md, Approvals): an approver's decision on a request (round 0) or
// on an extension (its round), the requester withdrawing either, and the lapsing of requests and
// extension requests nobody decided on in time.
import { assertMayDecide, tally, type Decision, type DecisionKind } from '../../domain/approval.ts';
import type { ActivationLease, Elevation, PendingExtension } from '../../domain/elevation.ts';
import { DomainError } from '../../domain/errors.ts';
import { auditOrigin, type RequestContext } from '../context.ts';
import type { StoreRepositories } from '../ports/store.ts';
import type { TechnicianRecord } from '../ports/technicians.ts';
import { activate } from './activation.ts';
import type { Core } from './core.ts';
import { applyExtension } from './extension.ts';
import { newLease } from './lease.ts';
import { findVisible } from './queries.ts';
import { assertOpen, holdTenantOpen, move, notify } from './shared.ts';

/** What a decision's transaction settled. */
interface Settled {
  outcome: ReturnType<typeof tally>['outcome'];
  extension: PendingExtension | null;
  lease: ActivationLease | null;
}

/**
 * One approver's decision on a request (round 0) or on an extension (its round). The elevation
 * row is locked first, so concurrent decisions are counted one after the other.
 */
export async function decide(
  c: Core,
  approver: TechnicianRecord,
  id: string,
  decision: { kind: DecisionKind; code: string; reason: string | null },
  ctx: RequestContext,
): Promise<Elevation> {
  const e = await findVisible(c, approver, id);
  const round = e.state === 'pending_approval' ? 0 : e.state === 'active' && e.extension ? e.extension.round : null;
  if (round === null) throw new DomainError('approval_closed', `Nothing of this elevation waits for approval (it is ${e.state})`);
  assertMayDecide(approver, e);
  const deadline = round === 0 ? e.approvalDeadline : e.extension!.deadline;
  if (deadline && deadline.getTime() <= c.clock.now().getTime()) {
    await endOverdueApprovals(c, [e]);
    throw new DomainError('approval_closed', 'The request was not decided in time and has lapsed');
  }
  if (e.decisions.some((d) => d.round === round && d.approverId === approver.id)) {
    throw new DomainError('already_decided', 'You have already decided on this request; your decision counts once');
  }
  await assertOpen(c, e.tenantId);
  const settled = await c.mfa.verifyFreshCode(approver, decision.code, `elevation.${decision.kind}`, ctx, (tx, at) =>
    record(c, tx, at, { e, round, approver, decision, ctx }),
  );
  await notify(c, { kind: 'decided', elevationId: id, approverId: approver.id, decision: decision.kind });
  if (settled.outcome === 'denied' && round === 0) await notify(c, { kind: 'ended', elevationId: id });
  if (settled.outcome === 'approved' && round === 0) return activate(c, { ...e, state: 'activating', lease: settled.lease }, ctx);
  if (settled.outcome === 'approved')
    return applyExtension(c, e, settled.extension!.seconds, approver.id, settled.extension!.requestedAt, ctx);
  return (await c.store.elevations.findById(id))!;
}

interface Deciding {
  e: Elevation;
  round: number;
  approver: TechnicianRecord;
  decision: { kind: DecisionKind; reason: string | null };
  ctx: RequestContext;
}

/** In the decision's transaction (with the accepted code): the row locked, the decision counted and audited, its outcome applied. */
async function record(c: Core, tx: StoreRepositories, at: Date, d: Deciding): Promise<Settled> {
  const { e, round, approver, decision, ctx } = d;
  const id = e.id;
  await holdTenantOpen(tx, e.tenantId);
  if (!(await tx.elevations.lock(id, round === 0 ? 'pending_approval' : 'active', at)))
    throw new DomainError('approval_closed', 'The request was decided meanwhile');
  const counted: Decision = { round, approverId: approver.id, decision: decision.kind, reason: decision.reason, at };
  if (!(await tx.elevations.addDecision(id, counted)))
    throw new DomainError('already_decided', 'You have already decided on this request; your decision counts once');
  const current = (await tx.elevations.findById(id))!;
  if (round > 0 && current.extension?.round !== round)
    throw new DomainError('approval_closed', 'The extension request was decided meanwhile');
  const result = tally(current.decisions, round, e.approvalsRequired);
  const details = {
    round,
    approvals: result.approvals,
    required: e.approvalsRequired,
    reason: decision.reason,
    ...(round > 0 && { extensionSeconds: current.extension!.seconds }),
  };
  const origin = { actor: approver.id, tenantId: e.tenantId, target: id, ...auditOrigin(ctx) };
  await tx.audit.append({ ...origin, action: decision.kind === 'approve' ? 'elevation.approved' : 'elevation.denied', details }, at);
  const settled: Settled = { outcome: result.outcome, extension: current.extension, lease: null };
  if (result.outcome === 'denied' && round === 0) {
    await tx.elevations.transition(id, 'pending_approval', 'denied', { endedAt: at }, at);
  } else if (result.outcome === 'denied') {
    await tx.elevations.amend(id, 'active', { extension: null }, at);
    await tx.audit.append({ ...origin, action: 'elevation.extension_denied', details: { round } }, at);
  } else if (result.outcome === 'approved' && round === 0) {
    settled.lease = newLease(c, at);
    await tx.elevations.transition(id, 'pending_approval', 'activating', { lease: settled.lease }, at);
  } else if (result.outcome === 'approved') {
    await tx.elevations.amend(id, 'active', { extension: null }, at);
  }
  return settled;
}

/** The requester withdraws a request still waiting for approval, or an extension still waiting. */
export async function cancel(c: Core, technician: TechnicianRecord, id: string, ctx: RequestContext): Promise<Elevation> {
  const e = await findVisible(c, technician, id);
  if (e.technicianId !== technician.id) throw new DomainError('forbidden', 'Only the requester may cancel a request');
  if (e.state === 'pending_approval') {
    const audit = { action: 'elevation.cancelled' as const, actor: technician.id, details: { reason: 'withdrawn' }, ctx };
    if (!(await move(c, e, 'cancelled', { endedAt: c.clock.now() }, audit))) {
      throw new DomainError('approval_closed', 'The request was decided meanwhile');
    }
    await notify(c, { kind: 'ended', elevationId: id });
  } else if (e.state === 'active' && e.extension) {
    const at = c.clock.now();
    await c.store.transaction(async (tx) => {
      if (!(await tx.elevations.amend(id, 'active', { extension: null }, at)))
        throw new DomainError('conflict', 'The elevation changed meanwhile');
      await tx.audit.append(
        {
          actor: technician.id,
          action: 'elevation.extension_denied',
          tenantId: e.tenantId,
          target: id,
          details: { reason: 'withdrawn' },
          ...auditOrigin(ctx),
        },
        at,
      );
    });
  } else {
    throw new DomainError('approval_closed', `Nothing of this elevation waits for approval (it is ${e.state})`);
  }
  return (await c.store.elevations.findById(id))!;
}

/** One request (or extension request) nobody decided on in time, in `tx`: the request ends `cancelled`, the extension lapses. */
async function lapse(tx: StoreRepositories, e: Elevation, at: Date): Promise<boolean> {
  if (e.state === 'pending_approval') {
    if (!(await tx.elevations.transition(e.id, 'pending_approval', 'cancelled', { endedAt: at }, at))) return false;
    await tx.audit.append(
      {
        actor: 'system',
        action: 'elevation.cancelled',
        tenantId: e.tenantId,
        target: e.id,
        details: { reason: 'approval_timeout', deadline: e.approvalDeadline?.toISOString() ?? null },
      },
      at,
    );
    return true;
  }
  if (!e.extension || !(await tx.elevations.amend(e.id, 'active', { extension: null }, at))) return false;
  await tx.audit.append(
    {
      actor: 'system',
      action: 'elevation.extension_expired',
      tenantId: e.tenantId,
      target: e.id,
      details: { round: e.extension.round, deadline: e.extension.deadline.toISOString() },
    },
    at,
  );
  return true;
}

/** Requests (and extension requests) nobody decided on in time: the request ends `cancelled`, the extension lapses. Answers how many. */
export async function endOverdueApprovals(c: Core, lapsed: Elevation[]): Promise<number> {
  let ended = 0;
  for (const e of lapsed) {
    const at = c.clock.now();
    if (!(await c.store.transaction((tx) => lapse(tx, e, at)))) continue;
    ended++;
    if (e.state === 'pending_approval') await notify(c, { kind: 'ended', elevationId: e.id });
  }
  return ended;
}
