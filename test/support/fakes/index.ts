// In-memory fakes of Stint's ports, for the fast tier of unit tests (test/unit/**): no server, no
// network, no real time. Each file mirrors a concern of src/services/ports/*.ts and its fakes are
// typed as the real port interfaces, so a port change breaks them at compile time.
//
// Where the fakes are simpler than the real adapters (a test that depends on one of these belongs
// in test/integration, against the real servers):
// - Store: one process, no isolation. A transaction's writes are seen by other callers before it
//   commits; rollback undoes its own writes from a journal, newest first (a write by another
//   caller to the same row meanwhile would be undone with it). No row locks: `holdOpen` checks the
//   tenant's state but blocks no freeze. Text orders by code unit (SQLite's, PostgreSQL's "C"
//   collation), not by a locale. Constraint checks cover the primary, unique and foreign keys of
//   src/adapters/store/migrations.ts and raise the DomainErrors errors.ts makes of them; no
//   engine limits (NUL in text, integer ranges) and no store_unavailable except through
//   `unavailable(error)` (ping and transactions).
// - Elevation transitions check the domain's transition table and the expected state (and lease
//   holder) as the real conditional update does; `lock` is a guarded touch of the row, no lock.
// - Directory: no LDAP, TLS or pool. The bind password is opened on every forTenant (the real
//   gateway asks only when it rebuilds its pool). No forest root (child-domain protection), no
//   ranged retrieval, no atomic-batch splitting; members must be objects the fake domain knows.
// - Revocation jobs fire at the grant's end (no lead time) and only when a test asks `due(now)`.
import { bindPasswordContext } from '../../../src/services/tenants/index.ts';
import type { TechnicianRecord, NewTechnician } from '../../../src/services/ports/technicians.ts';
import type { TenantRecord } from '../../../src/services/ports/tenants.ts';
import { fakePasswordHasher, fakeSecretBox, totpEngine } from './crypto.ts';
import { fakeDirectoryGateway, fakeDomain, type FakeDomain } from './directory.ts';
import { fakeRevocationJobs } from './elevations.ts';
import { fakeExpiryWarnings, fakeNotifications } from './notifications.ts';
import { fakeClock, recordingLog, sequentialRandom } from './runtime.ts';
import { createMemoryStore } from './store.ts';

export * from './crypto.ts';
export * from './directory.ts';
export * from './elevations.ts';
export * from './notifications.ts';
export * from './reviews.ts';
export * from './runtime.ts';
export * from './store.ts';

/** Every fake, wired the way src/container.ts wires the real adapters, with two tenants' domains. */
export function fakeWorld() {
  const clock = fakeClock();
  const random = sequentialRandom();
  const domains: Record<string, FakeDomain> = {
    acme: fakeDomain({ baseDn: 'DC=acme,DC=test', domainSid: 'S-1-5-21-1-2-3' }),
    globex: fakeDomain({ baseDn: 'DC=globex,DC=test', domainSid: 'S-1-5-21-4-5-6' }),
  };
  return {
    clock,
    random,
    store: createMemoryStore(),
    secrets: fakeSecretBox(),
    hasher: fakePasswordHasher(),
    totp: totpEngine(random),
    notifications: fakeNotifications(),
    expiryWarnings: fakeExpiryWarnings(),
    revocations: fakeRevocationJobs(),
    log: recordingLog(),
    domains,
    directory: fakeDirectoryGateway(domains),
  };
}

export type FakeWorld = ReturnType<typeof fakeWorld>;

/** A tenant row whose bind password is sealed as tenant-service seals it. */
export async function seedTenant(world: FakeWorld, id: string, patch: Partial<TenantRecord> = {}): Promise<TenantRecord> {
  const domain = world.domains[id];
  await world.store.tenants.insert(
    {
      id,
      displayName: id.toUpperCase(),
      timeZone: 'UTC',
      directory: {
        url: `ldaps://dc.${id}.test`,
        bindDn: `CN=stint,CN=Users,${domain?.baseDn ?? 'DC=x'}`,
        baseDn: domain?.baseDn ?? 'DC=x',
        caCertificate: 'CA',
      },
      bindPasswordSealed: await world.secrets.seal(`bind-${id}`, bindPasswordContext(id)),
      keepAccountsDisabled: true,
      slackChannel: null,
      driftMode: 'remove',
      reviewSchedule: '0 6 * * 1',
      inactiveDays: 45,
      disableInactive: false,
      riskThreshold: 50,
      ...patch,
    },
    world.clock.now(),
  );
  return (await world.store.tenants.findById(id))!;
}

export async function seedTechnician(
  world: Pick<FakeWorld, 'store' | 'clock' | 'random'>,
  patch: Partial<NewTechnician> & { username: string },
): Promise<TechnicianRecord> {
  const id = patch.id ?? world.random.id();
  await world.store.technicians.insert(
    {
      id,
      displayName: patch.username,
      email: `${patch.username}@msp.test`,
      slackUserId: null,
      roles: ['technician'],
      approverTenants: [],
      identitySource: 'local',
      passwordHash: null,
      ...patch,
    },
    world.clock.now(),
  );
  return (await world.store.technicians.findById(id))!;
}
