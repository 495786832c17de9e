// Requesting (docs/architecture.md, Requesting): intake — who may ask for what, when — the risk
// score (docs/security-model.md, Risk signals), the intent recorded with a fresh TOTP code, then
// approval or an activation at once.
import { checkRequest, type Elevation } from '../../domain/elevation.ts';
import { assertWindowOpen } from '../../domain/elevation-plans.ts';
import { DomainError } from '../../domain/errors.ts';
import { isEligible, type AccessProfile } from '../../domain/profile.ts';
import { assessRisk, isRiskFlagged, riskDefaults, type RiskAssessment } from '../../domain/risk.ts';
import { assertTenantOpen } from '../../domain/tenant.ts';
import { auditOrigin, type RequestContext } from '../context.ts';
import type { StoreRepositories } from '../ports/store.ts';
import type { TechnicianRecord } from '../ports/technicians.ts';
import type { TenantRecord } from '../ports/tenants.ts';
import { activate, type ActivationReady } from './activation.ts';
import { activationReads } from './checks.ts';
import type { Core } from './core.ts';
import { newLease } from './lease.ts';
import { holdTenantOpen, notify } from './shared.ts';

/** The most past requests risk scoring reads (the most recent ones). */
const riskHistoryLimit = 5000;

export interface ElevationRequestInput {
  tenantId: string;
  profile: string;
  durationSeconds?: number;
  justification?: string;
  ticket?: string;
  code: string;
}

/** A request that passed intake: what it is for, and for how long. */
interface Intake {
  tenant: TenantRecord;
  profile: AccessProfile;
  account: { id: string; dn: string; guid: string };
  durationSeconds: number;
  now: Date;
}

/** Whatever session or open Slack modal it comes from (callers read the record afresh; activation checks the requester again). */
async function intake(c: Core, technician: TechnicianRecord, input: ElevationRequestInput): Promise<Intake> {
  if (technician.status !== 'active') throw new DomainError('technician_suspended', 'A suspended technician cannot request access');
  const tenant = await c.store.tenants.findById(input.tenantId);
  const profile = tenant ? await c.store.profiles.findByName(tenant.id, input.profile) : null;
  // Same answer for "no such tenant/profile" and "not yours": nothing about other tenants leaks.
  if (!tenant || !profile || !isEligible(profile, technician))
    throw new DomainError('not_eligible', 'You are not eligible for that profile');
  assertTenantOpen(tenant);
  if (profile.status !== 'active') throw new DomainError('profile_suspended', `The profile is suspended: ${profile.suspendedReason ?? ''}`);
  const account = await c.store.accounts.find(tenant.id, technician.id);
  if (!account) throw new DomainError('no_tenant_account', 'You have no linked account in this tenant; ask an admin to link it');
  const durationSeconds = checkRequest(profile, input);
  const holding = await c.store.elevations.holding(tenant.id, technician.id, '');
  const pending = await c.store.elevations.list({
    states: ['pending_approval'],
    technicianId: technician.id,
    tenantIds: [tenant.id],
    limit: 1000,
  });
  const open = [...holding, ...pending];
  if (open.some((o) => o.profileId === profile.id))
    throw new DomainError('already_active', 'You already hold or await this profile; extend it instead');
  const now = c.clock.now();
  assertWindowOpen(profile, tenant.timeZone, now, 'request');
  return { tenant, profile, account, durationSeconds, now };
}

/** The risk score of the request, from the technician's own history and recent MFA failures. */
async function assessRequestRisk(c: Core, technicianId: string, tenant: TenantRecord, at: Date): Promise<RiskAssessment> {
  const risk = c.settings.risk ?? riskDefaults;
  const since = new Date(at.getTime() - Math.max(risk.baseline.lookbackDays * 86_400_000, risk.fanOut.windowMinutes * 60_000));
  const mfaSince = new Date(at.getTime() - risk.mfa.windowHours * 3_600_000);
  const until = new Date(at.getTime() + 1);
  const [history, elevated, failed, replayed, locked] = await Promise.all([
    c.store.elevations.requestHistory(technicianId, since, riskHistoryLimit),
    c.store.elevations.elevatedTenants(technicianId),
    c.store.audit.list({ actor: technicianId, action: 'mfa.verify.failed', from: mfaSince, to: until, limit: 100 }),
    c.store.audit.list({ actor: technicianId, action: 'mfa.replay_refused', from: mfaSince, to: until, limit: 100 }),
    c.store.audit.list({ action: 'mfa.locked', target: technicianId, from: mfaSince, to: until, limit: 1 }),
  ]);
  return assessRisk(
    {
      at,
      tenantId: tenant.id,
      timeZone: tenant.timeZone,
      history: history.filter((r) => r.requestedAt.getTime() <= at.getTime()),
      elevatedTenants: new Set(elevated),
      mfa: { failures: failed.length + replayed.length, lockedOut: locked.length > 0 },
    },
    risk,
  );
}

/** The new elevation: waiting for approval, or `activating` under a fresh lease. */
function newElevation(
  c: Core,
  technician: TechnicianRecord,
  input: ElevationRequestInput,
  req: Intake,
  risk: RiskAssessment,
  approvalsRequired: number,
): Elevation {
  const { tenant, profile, account, now } = req;
  const needsApproval = approvalsRequired > 0;
  return {
    id: c.random.id(),
    tenantId: tenant.id,
    profileId: profile.id,
    profileName: profile.name,
    technicianId: technician.id,
    accountId: account.id,
    accountDn: account.dn,
    accountGuid: account.guid,
    groups: profile.groups.map((g) => ({ dn: g.dn, guid: g.guid, name: g.name })),
    state: needsApproval ? 'pending_approval' : 'activating',
    lease: needsApproval ? null : newLease(c, now),
    durationSeconds: req.durationSeconds,
    justification: input.justification?.trim() || null,
    ticket: input.ticket ?? null,
    requestedAt: now,
    activatedAt: null,
    endsAt: null,
    endedAt: null,
    revocationReason: null,
    failureReason: null,
    steps: null,
    overdueAlertedAt: null,
    updatedAt: now,
    approvalsRequired,
    approverIds: profile.approval.approvers,
    approvalDeadline: needsApproval ? new Date(now.getTime() + profile.approval.timeoutSeconds * 1000) : null,
    windowClosesAt: null,
    extension: null,
    extendedSeconds: 0,
    decisions: [],
    risk,
  };
}

/** The intent and its audit (and the risk flag's), in the transaction of the accepted code. */
async function recordRequest(
  tx: StoreRepositories,
  at: Date,
  e: Elevation,
  req: Intake,
  flagged: boolean,
  ctx: RequestContext,
): Promise<void> {
  const { tenant, profile } = req;
  const risk = e.risk!;
  await holdTenantOpen(tx, tenant.id);
  await tx.elevations.insert(e);
  const origin = { tenantId: tenant.id, target: e.id, ...auditOrigin(ctx) };
  const details = {
    profile: profile.name,
    durationSeconds: e.durationSeconds,
    justification: e.justification,
    ticket: e.ticket,
    approvalsRequired: e.approvalsRequired,
    ...(e.approvalDeadline && { approvalDeadline: e.approvalDeadline.toISOString() }),
    risk: { score: risk.score, reasons: risk.reasons, threshold: tenant.riskThreshold, flagged },
  };
  await tx.audit.append({ actor: e.technicianId, action: 'elevation.requested', ...origin, details }, at);
  if (!flagged) return;
  const flag = {
    profile: profile.name,
    score: risk.score,
    threshold: tenant.riskThreshold,
    reasons: risk.reasons,
    approvalsRequired: e.approvalsRequired,
    profileApprovalsRequired: profile.approval.required,
  };
  await tx.audit.append({ actor: 'system', action: 'elevation.risk_flagged', ...origin, details: flag }, at);
}

/** A request asks for a grant (fresh TOTP code); answers it waiting for approval, or activated. */
export async function request(
  c: Core,
  technician: TechnicianRecord,
  input: ElevationRequestInput,
  ctx: RequestContext,
): Promise<Elevation> {
  const req = await intake(c, technician, input);
  const { tenant, profile, account } = req;
  const groups = profile.groups.map((g) => ({ dn: g.dn, guid: g.guid, name: g.name }));
  // Where the profile grants at once, the directory reads an activation begins with go out now,
  // while the risk is scored and the code and the intent are recorded; nothing is written to the
  // directory before all three are done (and a request the risk sends to approval drops them).
  const early =
    profile.approval.required === 0
      ? c.access.directory(tenant).then((directory) => ({
          directory,
          reads: activationReads(c, directory, { tenantId: tenant.id, accountGuid: account.guid, groups }),
        }))
      : null;
  early?.catch(() => undefined); // heard below where it is used
  // Scored on every request; at or above the tenant's threshold it waits for approval even where
  // the profile grants at once: the profile's own rule if it has one, else one approval by any
  // approver of the tenant (or of the profile's named approvers).
  const risk = await assessRequestRisk(c, technician.id, tenant, req.now);
  const flagged = isRiskFlagged(risk, tenant.riskThreshold);
  const approvalsRequired = profile.approval.required > 0 ? profile.approval.required : flagged ? 1 : 0;
  const e = newElevation(c, technician, input, req, risk, approvalsRequired);
  let ready: ActivationReady | undefined;
  if (approvalsRequired === 0 && early) ready = { tenant, profile, ...(await early) };
  // A fresh TOTP code; the intent and its audit land in the same transaction as the accepted code.
  await c.mfa.verifyFreshCode(technician, input.code, 'elevation.request', ctx, (tx, at) => recordRequest(tx, at, e, req, flagged, ctx));
  if (flagged) await alertRisk(c, technician, e, req);
  if (approvalsRequired > 0) {
    await notify(c, { kind: 'approval_requested', elevationId: e.id });
    return e;
  }
  return activate(c, e, ctx, ready);
}

/** A request at or above the tenant's risk threshold is told to whoever watches alerts. */
async function alertRisk(c: Core, technician: TechnicianRecord, e: Elevation, { tenant, profile }: Intake): Promise<void> {
  const risk = e.risk!;
  await notify(c, {
    kind: 'alert',
    alert: 'risk',
    subject: `technician ${technician.username} asks for ${profile.name} in ${tenant.id}`,
    details: {
      score: risk.score,
      threshold: tenant.riskThreshold,
      reasons: risk.reasons.map((r) => `${r.signal} +${r.points}: ${r.detail}`).join('; '),
      outcome:
        profile.approval.required > 0 ? 'needs approval (as its profile asks)' : 'needs approval although its profile grants at once',
      elevation: e.id,
    },
  });
}
