// The in-memory store keeps the guarantees use cases rely on from the real one: a conditional
// change happens once, a failed transaction leaves nothing behind, constraints refuse as the real
// store's DomainErrors do.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError } from '../../../src/domain/errors.ts';
import type { Elevation } from '../../../src/domain/elevation.ts';
import { fakeWorld, seedTechnician, seedTenant } from '../../support/fakes/index.ts';

const code = (c: string) => (error: unknown) => error instanceof DomainError && error.code === c;

function elevation(id: string, technicianId: string, at: Date, patch: Partial<Elevation> = {}): Elevation {
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
    approvalDeadline: null,
    windowClosesAt: null,
    extension: null,
    extendedSeconds: 0,
    decisions: [],
    risk: null,
    ...patch,
  };
}

async function world() {
  const w = fakeWorld();
  await seedTenant(w, 'acme');
  const tech = await seedTechnician(w, { username: 'alice' });
  return { w, tech };
}

describe('the in-memory store', () => {
  it('when two callers move the same elevation from pending_approval, then exactly one succeeds', async () => {
    const { w, tech } = await world();
    await w.store.elevations.insert(elevation('e1', tech.id, w.clock.now()));
    const results = await Promise.all([
      w.store.elevations.transition('e1', 'pending_approval', 'activating', {}, w.clock.now()),
      w.store.elevations.transition('e1', 'pending_approval', 'cancelled', {}, w.clock.now()),
    ]);
    assert.deepEqual(results, [true, false]);
    assert.equal((await w.store.elevations.findById('e1'))!.state, 'activating');
    assert.deepEqual(await w.store.elevations.transitionMany(['e1', 'e1'], 'activating', 'failed', {}, w.clock.now()), ['e1']);
  });

  it('when an approver decides twice in one round, then the second decision is refused, and a later round counts again', async () => {
    const { w, tech } = await world();
    await w.store.elevations.insert(elevation('e1', tech.id, w.clock.now()));
    const d = { round: 0, approverId: tech.id, decision: 'approve' as const, reason: null, at: w.clock.now() };
    assert.equal(await w.store.elevations.addDecision('e1', d), true);
    assert.equal(await w.store.elevations.addDecision('e1', { ...d, decision: 'deny' }), false);
    assert.equal(await w.store.elevations.addDecision('e1', { ...d, round: 1 }), true);
    assert.deepEqual(
      (await w.store.elevations.findById('e1'))!.decisions.map((x) => [x.round, x.decision]),
      [
        [0, 'approve'],
        [1, 'approve'],
      ],
    );
  });

  it('when a TOTP step is accepted, then the same step is refused afterwards, and so is one checked against a replaced secret', async () => {
    const { w, tech } = await world();
    assert.equal(await w.store.technicians.setPendingTotpSecret(tech.id, 'sealed-1', w.clock.now()), true);
    assert.equal(await w.store.technicians.acceptTotpStep(tech.id, 100, w.clock.now(), 'sealed-1'), true);
    assert.equal(await w.store.technicians.acceptTotpStep(tech.id, 100, w.clock.now(), 'sealed-1'), false);
    assert.equal(await w.store.technicians.acceptTotpStep(tech.id, 101, w.clock.now(), 'sealed-other'), false);
    // Confirmed now: a racing enrolment cannot overwrite it.
    assert.equal(await w.store.technicians.setPendingTotpSecret(tech.id, 'sealed-2', w.clock.now()), false);
    assert.equal((await w.store.technicians.findById(tech.id))!.mfaEnrolled, true);
  });

  it('when the work of a transaction throws, then none of its writes remain, the audit chain included', async () => {
    const { w, tech } = await world();
    const before = await w.store.audit.head();
    await assert.rejects(
      w.store.transaction(async (tx) => {
        await tx.technicians.update(tech.id, { displayName: 'Changed' }, w.clock.now());
        await tx.audit.append({ actor: 'system', action: 'mfa.reset', target: tech.id, details: { endedSessions: 0 } }, w.clock.now());
        await tx.elevations.insert(elevation('e1', tech.id, w.clock.now()));
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal((await w.store.technicians.findById(tech.id))!.displayName, 'alice');
    assert.deepEqual(await w.store.audit.head(), before);
    assert.equal(await w.store.elevations.findById('e1'), null);
    assert.deepEqual(w.store.transactions, { committed: 0, rolledBack: 1 });
  });

  it('when a transaction commits, then its audit events are chained in order from the head', async () => {
    const { w, tech } = await world();
    await w.store.transaction(async (tx) => {
      await tx.audit.append({ actor: 'system', action: 'mfa.reset', target: tech.id, details: { endedSessions: 0 } }, w.clock.now());
      await tx.audit.append({ actor: 'system', action: 'mfa.reset', target: tech.id, details: { endedSessions: 1 } }, w.clock.now());
    });
    const events = await w.store.audit.range(1, 10);
    assert.deepEqual(
      events.map((e) => e.seq),
      [1, 2],
    );
    assert.equal(events[1]!.prevHash, events[0]!.hash);
    assert.equal((await w.store.audit.head()).hash, events[1]!.hash);
  });

  it('when an audit event leaves the catalogue, then it is not written', async () => {
    const { w } = await world();
    await assert.rejects(
      w.store.audit.append({ actor: 'system', action: 'mfa.reset', target: 'x', details: { surprise: true } }, w.clock.now()),
      /catalogue/,
    );
  });

  it('when a unique or foreign key is broken, then the DomainError is the one the real store translates to', async () => {
    const { w } = await world();
    await assert.rejects(
      seedTechnician(w, { username: 'alice' }),
      (e: unknown) => code('conflict')(e) && /username/.test((e as Error).message),
    );
    await assert.rejects(w.store.elevations.insert(elevation('e2', 'nobody', w.clock.now())), code('conflict'));
    await assert.rejects(
      w.store.accounts.insert({
        id: 'a1',
        tenantId: 'nowhere',
        technicianId: 'x',
        guid: 'g',
        dn: 'CN=x',
        samAccountName: 'x',
        createdAt: w.clock.now(),
        updatedAt: w.clock.now(),
      }),
      code('conflict'),
    );
  });

  it('when a row is read, then changing the copy does not change the store', async () => {
    const { w, tech } = await world();
    const read = (await w.store.technicians.findById(tech.id))!;
    read.roles.push('admin');
    assert.deepEqual((await w.store.technicians.findById(tech.id))!.roles, ['technician']);
  });

  it('when lists are read, then they come in the real store order', async () => {
    const { w, tech } = await world();
    const at = w.clock.now();
    await w.store.elevations.insert(elevation('b', tech.id, at));
    await w.store.elevations.insert(elevation('a', tech.id, at));
    await w.store.elevations.insert(elevation('c', tech.id, new Date(at.getTime() + 1000)));
    assert.deepEqual(
      (await w.store.elevations.list({})).map((e) => e.id),
      ['c', 'a', 'b'],
    );
    assert.deepEqual(await w.store.elevations.list({ tenantIds: [] }), []);
  });
});

describe('the fake directory', () => {
  it('when a call is made to hang, then it waits for its release; a failure hook throws once, then the call answers again', async () => {
    const { w } = await world();
    const acme = w.domains.acme!;
    const user = acme.addUser('msp-alice');
    const group = acme.addGroup('Helpdesk');
    const held = acme.hang('addMembers');
    let done = false;
    const adding = acme.directory.addMembers(group.dn, [user.dn]).then(() => (done = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(done, false);
    held.release();
    await adding;
    assert.deepEqual(acme.members(group.dn), [user.dn]);

    acme.fail('removeMembers');
    await assert.rejects(acme.directory.removeMembers(group.dn, [user.dn]), code('directory_unreachable'));
    // By GUID with a stale DN: removed all the same, and the read-back says so.
    acme.rename(user.dn, `CN=msp-alice,OU=Moved,${acme.baseDn}`);
    assert.deepEqual(await acme.directory.removeMembers(group.dn, [`<GUID=${user.guid}>;${'CN=old,DC=acme,DC=test'}`]), {
      stillMembers: [],
    });
    assert.deepEqual(acme.members(group.dn), []);
  });
});
