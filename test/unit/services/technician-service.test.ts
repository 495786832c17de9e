// Managing technicians against the in-memory store: usernames and passwords checked, the last
// active admin kept, and a suspension ending sessions and withdrawing pending requests in one
// audited transaction.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Elevation } from '../../../src/domain/elevation.ts';
import { DomainError } from '../../../src/domain/errors.ts';
import { systemContext } from '../../../src/services/context.ts';
import { createTechnicianService } from '../../../src/services/access/index.ts';
import { fakeWorld, seedTenant } from '../../support/fakes/index.ts';

const refusedWith = (c: string) => (error: unknown) => error instanceof DomainError && error.code === c;

async function setup() {
  const w = fakeWorld();
  const technicians = createTechnicianService({ ...w });
  const admin = await technicians.create(
    {
      username: 'root',
      displayName: 'Root',
      email: 'root@msp.test',
      roles: ['admin'],
      identitySource: 'local',
      password: 'a-long-password-1',
    },
    'system',
    systemContext,
  );
  return { w, technicians, admin };
}

function pending(id: string, technicianId: string, at: Date): Elevation {
  return {
    id,
    tenantId: 'acme',
    profileId: 'p1',
    profileName: 'helpdesk',
    technicianId,
    accountId: 'a1',
    accountDn: 'CN=x,DC=acme,DC=test',
    accountGuid: '00000000-0000-4000-8000-000000000999',
    groups: [],
    state: 'pending_approval',
    durationSeconds: 3600,
    justification: null,
    ticket: null,
    requestedAt: at,
    activatedAt: null,
    endsAt: null,
    endedAt: null,
    revocationReason: null,
    failureReason: null,
    steps: null,
    overdueAlertedAt: null,
    updatedAt: at,
    approvalsRequired: 1,
    approverIds: [],
    approvalDeadline: new Date(at.getTime() + 3600_000),
    windowClosesAt: null,
    extension: null,
    extendedSeconds: 0,
    decisions: [],
    risk: null,
  };
}

describe('technician service', () => {
  it('when a local technician is created, then the username is normalised, the password stored only as a hash, and it is audited', async () => {
    const { w, technicians, admin } = await setup();
    assert.equal(admin.username, 'root');
    assert.notEqual(admin.passwordHash, null);
    assert.equal(await w.hasher.verify(admin.passwordHash!, 'a-long-password-1'), true);
    const [event] = await w.store.audit.list({ action: 'technician.created', limit: 1 });
    assert.deepEqual(event!.details, { username: 'root', roles: ['admin'], identitySource: 'local' });
    const t = await technicians.create(
      { username: '  Bob.Smith ', displayName: 'Bob', email: 'b@msp.test', roles: ['technician'], identitySource: 'ldap' },
      admin.id,
      systemContext,
    );
    assert.equal(t.username, 'bob.smith');
    assert.equal(t.passwordHash, null);
  });

  it('when a username is taken, a local password is short or an ldap technician is given one, then the technician is refused', async () => {
    const { technicians } = await setup();
    const base = { displayName: 'X', email: 'x@msp.test', roles: ['technician' as const] };
    await assert.rejects(
      technicians.create({ ...base, username: 'root', identitySource: 'ldap' }, 'system', systemContext),
      refusedWith('conflict'),
    );
    await assert.rejects(
      technicians.create({ ...base, username: 'carol', identitySource: 'local', password: 'short' }, 'system', systemContext),
      refusedWith('validation_failed'),
    );
    await assert.rejects(
      technicians.create({ ...base, username: 'dave', identitySource: 'ldap', password: 'a-long-password-1' }, 'system', systemContext),
      refusedWith('validation_failed'),
    );
  });

  it('when the last active admin would lose the role or be suspended, then the change is refused', async () => {
    const { technicians, admin } = await setup();
    await assert.rejects(technicians.update(admin.id, { roles: ['technician'] }, 'system', systemContext), refusedWith('last_admin'));
    await assert.rejects(technicians.update(admin.id, { status: 'suspended' }, 'system', systemContext), refusedWith('last_admin'));
  });

  it('when a technician is suspended, then their sessions end and pending requests are withdrawn, audited and announced', async () => {
    const { w, technicians, admin } = await setup();
    await seedTenant(w, 'acme');
    const t = await technicians.create(
      { username: 'erin', displayName: 'Erin', email: 'e@msp.test', roles: ['technician'], identitySource: 'ldap' },
      admin.id,
      systemContext,
    );
    const at = w.clock.now();
    await w.store.sessions.insert({
      id: 's1',
      technicianId: t.id,
      refreshHash: 'h',
      createdAt: at,
      lastRefreshedAt: at,
      revokedAt: null,
      sourceIp: null,
      userAgent: null,
    });
    await w.store.elevations.insert(pending('e1', t.id, at));

    const after = await technicians.update(t.id, { status: 'suspended' }, admin.id, systemContext);
    assert.equal(after.status, 'suspended');
    assert.notEqual((await w.store.sessions.findById('s1'))!.revokedAt, null);
    assert.equal((await w.store.elevations.findById('e1'))!.state, 'cancelled');
    const [suspended] = await w.store.audit.list({ action: 'technician.suspended', limit: 1 });
    assert.deepEqual(suspended!.details, { changed: ['status'], endedSessions: 1, cancelledRequests: 1 });
    assert.deepEqual(w.notifications.published, [{ kind: 'ended', elevationId: 'e1' }]);
  });

  it('when MFA is reset, then the enrolment is cleared and sessions end', async () => {
    const { w, technicians, admin } = await setup();
    await w.store.technicians.setPendingTotpSecret(admin.id, 'sealed', w.clock.now());
    await w.store.technicians.confirmTotp(admin.id, w.clock.now());
    await technicians.resetMfa(admin.id, 'system', systemContext);
    const after = await technicians.get(admin.id);
    assert.equal(after.mfaEnrolled, false);
    assert.equal(after.totpSecretSealed, null);
  });
});
