// The elevations context over the in-memory fakes (test/support/fakes), wired as src/container.ts
// wires the real adapters: two tenants (acme, globex) with their fake domains, technicians with an
// enrolled authenticator, linked accounts and profiles made in a line each, and the time moved by
// hand (sleeping lets the fake time pass at once; timers run only when the test says so).
import type { ApprovalRule } from '../../../src/domain/approval.ts';
import type { AuditAction } from '../../../src/domain/audit.ts';
import type { Elevation } from '../../../src/domain/elevation.ts';
import { DomainError, type ErrorCode } from '../../../src/domain/errors.ts';
import type { AccessProfile } from '../../../src/domain/profile.ts';
import type { Role } from '../../../src/domain/roles.ts';
import { createMfaService, totpSecretContext } from '../../../src/services/access/index.ts';
import { systemContext } from '../../../src/services/context.ts';
import { createElevationService, type ElevationSettings } from '../../../src/services/elevations/index.ts';
import type { TechnicianRecord } from '../../../src/services/ports/technicians.ts';
import { createTenantAccess } from '../../../src/services/tenants/index.ts';
import {
  fakeMemberRemoval,
  fakeTimers,
  fakeWorld,
  instantSleep,
  seedTechnician,
  seedTenant,
  totpCodeAt,
  type FakeGroup,
  type FakeUser,
} from '../../support/fakes/index.ts';

/** The container's defaults (src/config/schema.ts, elevation). */
export const settings: ElevationSettings = {
  accountExpirySkewMs: 300_000,
  overdueAfterMs: 120_000,
  stuckAfterMs: 120_000,
  activationLeaseMs: 15_000,
};

export const ctx = systemContext;
export const hour = 3_600_000;
/** A disabled account (ACCOUNTDISABLE | NORMAL_ACCOUNT), as tenants that keep accounts disabled have them between grants. */
export const disabledUac = 0x202;
/** An accountExpires the activation must put back exactly (a FILETIME in 2030). */
export const previousExpires = '139000000000000000';

/** A DomainError with this code (for assert.rejects). */
export const refusedWith = (code: ErrorCode) => (error: unknown) => {
  if (!(error instanceof DomainError)) throw error;
  if (error.code !== code) throw new Error(`expected ${code}, got ${error.code}: ${error.message}`);
  return true;
};

interface ProfileInput {
  name?: string;
  groups?: string[];
  approval?: Partial<ApprovalRule>;
  maxDurationSeconds?: number;
  maxTotalDurationSeconds?: number;
  windows?: AccessProfile['windows'];
}

export async function elevationWorld() {
  const w = fakeWorld();
  const clock = instantSleep(w.clock);
  const timers = fakeTimers(clock);
  const removal = fakeMemberRemoval();
  // Risk scoring never sends these requests to approval by itself (its own tests are in test/unit/domain-risk.test.ts).
  for (const id of ['acme', 'globex']) await seedTenant(w, id, { riskThreshold: 100 });
  const access = createTenantAccess({ store: w.store, secrets: w.secrets, directory: w.directory });
  const mfa = createMfaService({
    store: w.store,
    clock,
    secrets: w.secrets,
    totp: w.totp,
    lockout: { maxFailures: 5, lockoutMs: 15 * 60_000 },
    notifications: w.notifications,
    log: w.log,
  });
  const { useCases, upkeep } = createElevationService({
    store: w.store,
    clock,
    timers,
    random: w.random,
    access,
    mfa,
    jobs: w.revocations,
    removal,
    notifications: w.notifications,
    log: w.log,
    settings,
  });
  const secrets = new Map<string, string>();
  /** The TOTP step each technician last used: a code is accepted once per step. */
  const lastStep = new Map<string, number>();

  /** A technician with an enrolled authenticator. */
  async function technician(username: string, patch: { roles?: Role[]; approverTenants?: string[] } = {}): Promise<TechnicianRecord> {
    const t = await seedTechnician(w, { username, ...patch });
    const secret = w.totp.generateSecret();
    await w.store.technicians.setPendingTotpSecret(t.id, await w.secrets.seal(secret, totpSecretContext(t.id)), clock.now());
    await w.store.technicians.confirmTotp(t.id, clock.now());
    secrets.set(t.id, secret);
    return fresh(t);
  }

  /** The technician as stored now (use cases are handed the record afresh, as the routes read it). */
  const fresh = async (t: { id: string }) => (await w.store.technicians.findById(t.id))!;

  /** A fresh code for `t`: should `t` have used one in this step already, the clock moves on to the next step first. */
  async function code(t: { id: string }): Promise<string> {
    const step = Math.floor(clock.now().getTime() / 30_000);
    if (lastStep.get(t.id) === step) clock.advance(30_000);
    lastStep.set(t.id, Math.floor(clock.now().getTime() / 30_000));
    return totpCodeAt(secrets.get(t.id)!, clock.now());
  }

  /** A user in the tenant's fake domain (disabled, with a known accountExpires) linked to `t`. */
  async function link(t: TechnicianRecord, tenantId = 'acme', patch: Partial<FakeUser> = {}): Promise<FakeUser> {
    const user = w.domains[tenantId]!.addUser(`msp-${t.username}`, {
      userAccountControl: disabledUac,
      accountExpires: previousExpires,
      ...patch,
    });
    await w.store.accounts.insert({
      id: w.random.id(),
      tenantId,
      technicianId: t.id,
      guid: user.guid,
      dn: user.dn,
      samAccountName: user.samAccountName,
      createdAt: clock.now(),
      updatedAt: clock.now(),
    });
    return user;
  }

  /** A profile of `tenantId` granting new groups of its fake domain (named `groups`), eligible to technicians. */
  async function profile(tenantId = 'acme', input: ProfileInput = {}): Promise<{ profile: AccessProfile; groups: FakeGroup[] }> {
    const domain = w.domains[tenantId]!;
    const groups = (input.groups ?? ['Helpdesk']).map((name) => domain.addGroup(`${name}-${tenantId}-${w.random.ids.length}`));
    const id = w.random.id();
    const max = input.maxDurationSeconds ?? 4 * 3600;
    await w.store.profiles.insert(
      {
        id,
        tenantId,
        name: input.name ?? 'helpdesk',
        description: '',
        groups: groups.map((g) => ({ dn: g.dn, guid: g.guid, sid: g.sid, name: g.name })),
        eligibleTechnicians: [],
        eligibleRoles: ['technician'],
        defaultDurationSeconds: 3600,
        maxDurationSeconds: max,
        maxTotalDurationSeconds: input.maxTotalDurationSeconds ?? max,
        approval: { required: 0, approvers: [], timeoutSeconds: 3600, reapproveExtensions: false, ...input.approval },
        windows: input.windows ?? [],
        workstations: [],
        requireJustification: false,
        ticketPattern: null,
      },
      clock.now(),
    );
    return { profile: (await w.store.profiles.findById(id))!, groups };
  }

  /** `t` asks for `profileName` in `tenantId` with a fresh code. */
  async function request(t: TechnicianRecord, tenantId = 'acme', profileName = 'helpdesk', durationSeconds = 3600): Promise<Elevation> {
    return useCases.request(await fresh(t), { tenantId, profile: profileName, durationSeconds, code: await code(t) }, ctx);
  }

  const elevation = async (id: string) => (await w.store.elevations.findById(id))!;

  /** The audit actions about `target` (every one without), oldest first. */
  async function actions(target?: string): Promise<AuditAction[]> {
    return (await w.store.audit.list({ ...(target && { target }), limit: 1000 })).map((e) => e.action).reverse();
  }

  return { w, clock, timers, removal, useCases, upkeep, technician, fresh, code, link, profile, request, elevation, actions };
}

export type ElevationWorld = Awaited<ReturnType<typeof elevationWorld>>;

/** A technician with a linked account in acme, one helpdesk profile there granting at once, and an admin. */
export async function grantingAtOnce(input: ProfileInput = {}) {
  const h = await elevationWorld();
  const alice = await h.technician('alice');
  const user = await h.link(alice);
  const { profile, groups } = await h.profile('acme', input);
  const admin = await h.technician('root', { roles: ['admin'] });
  return { ...h, alice, user, profile, groups, admin, acme: h.w.domains.acme! };
}

/** Lets the use cases under way run (turns of the event loop, no time) until `done` holds. */
export async function until(done: () => boolean, what: string): Promise<void> {
  for (let turn = 0; turn < 1000; turn++) {
    if (done()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}
