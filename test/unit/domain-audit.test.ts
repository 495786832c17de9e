// The audit hash chain (docs/architecture.md, The audit chain): any change, deletion, insertion or reordering is reported at the
// first bad record, and an event's hash survives an export's JSON round trip.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chainAuditEvent,
  computeAuditHash,
  findChainBreak,
  genesisHash,
  type AuditEvent,
  type AuditEventInput,
} from '../../src/domain/audit.ts';

const start = Date.UTC(2026, 0, 1, 9, 0, 0, 123);
const inputs: AuditEventInput[] = [
  { actor: 'system', action: 'tenant.created', tenantId: 'acme', target: 'acme', details: { timeZone: 'Europe/Berlin' } },
  { actor: 'tech-1', action: 'auth.login.succeeded', requestId: 'req-1', sourceIp: '192.0.2.10' },
  {
    actor: 'tech-1',
    action: 'elevation.requested',
    tenantId: 'acme',
    target: 'elev-1',
    details: { profile: 'helpdesk', durationSeconds: 3600, groups: ['Helpdesk'] },
  },
  { actor: 'tech-2', action: 'elevation.activated', tenantId: 'acme', target: 'elev-1', details: { approvedBy: 'tech-2' } },
  { actor: 'system', action: 'elevation.expired', tenantId: 'acme', target: 'elev-1', details: { lagMs: 120 } },
];

/** Five events with seq 1…5, each chained from the one before, as the store appends them. */
function chain(): AuditEvent[] {
  const events: AuditEvent[] = [];
  let prevHash = genesisHash;
  inputs.forEach((input, i) => {
    const event = chainAuditEvent(input, i + 1, prevHash, new Date(start + i * 1000));
    events.push(event);
    prevHash = event.hash;
  });
  return events;
}

/** What a forger with write access to the table does after changing a row: recompute its own hash. */
function rehashed(event: AuditEvent): AuditEvent {
  const { hash: _stale, ...unhashed } = event;
  return { ...unhashed, hash: computeAuditHash(unhashed) };
}

const bySeq = (events: AuditEvent[], seq: number): AuditEvent => events.find((e) => e.seq === seq)!;

describe('audit hash chain', () => {
  it('when events are chained from the genesis hash, then each links to the one before and the chain verifies', () => {
    const events = chain();
    assert.equal(events[0]!.prevHash, genesisHash);
    for (let i = 1; i < events.length; i++) assert.equal(events[i]!.prevHash, events[i - 1]!.hash);
    for (const event of events) assert.match(event.hash, /^[0-9a-f]{64}$/);
    assert.equal(new Set(events.map((e) => e.hash)).size, events.length);
    assert.equal(findChainBreak(events, genesisHash), null);
  });

  it('when a detail of an event is altered, then that event is reported as a hash mismatch', () => {
    const events = chain();
    events[2] = { ...events[2]!, details: { ...events[2]!.details, durationSeconds: 86_400 } };
    assert.deepEqual(findChainBreak(events, genesisHash), { seq: 3, reason: 'hash_mismatch' });
  });

  it('when any other hashed field of an event is altered, then that event is reported as a hash mismatch', () => {
    const changes: Array<Partial<AuditEvent>> = [
      { actor: 'tech-9' },
      { action: 'auth.login.failed' },
      { tenantId: 'other' },
      { target: 'tech-9' },
      { requestId: 'req-2' },
      { sourceIp: '198.51.100.7' },
      { at: new Date(start + 1001) },
      { details: { forged: true } },
    ];
    for (const change of changes) {
      const events = chain();
      events[1] = { ...events[1]!, ...change };
      assert.deepEqual(findChainBreak(events, genesisHash), { seq: 2, reason: 'hash_mismatch' }, JSON.stringify(change));
    }
  });

  it('when an altered event is given a recomputed hash, then the next event no longer links to it', () => {
    const events = chain();
    events[2] = rehashed({ ...events[2]!, actor: 'intruder' });
    assert.deepEqual(findChainBreak(events, genesisHash), { seq: 4, reason: 'prev_hash_mismatch' });
  });

  it('when an event is deleted, then the gap is reported at the event after it', () => {
    const events = chain();
    events.splice(2, 1);
    assert.deepEqual(findChainBreak(events, genesisHash), { seq: 4, reason: 'sequence_gap' });
  });

  it('when an event is deleted and the later ones renumbered and re-hashed, then the first renumbered one does not link', () => {
    const events = chain();
    events.splice(2, 1);
    const renumbered = events.map((e, i) => (i < 2 ? e : rehashed({ ...e, seq: i + 1 })));
    assert.deepEqual(findChainBreak(renumbered, genesisHash), { seq: 3, reason: 'prev_hash_mismatch' });
  });

  it('when two events are swapped, then the first one out of place is reported as a gap', () => {
    const events = chain();
    [events[1], events[2]] = [events[2]!, events[1]!];
    assert.deepEqual(findChainBreak(events, genesisHash), { seq: 3, reason: 'sequence_gap' });
  });

  it('when two events are swapped and renumbered with recomputed hashes, then the first of them does not link', () => {
    const events = chain();
    const [second, third] = [events[1]!, events[2]!];
    events[1] = rehashed({ ...third, seq: 2 });
    events[2] = rehashed({ ...second, seq: 3 });
    assert.deepEqual(findChainBreak(events, genesisHash), { seq: 2, reason: 'prev_hash_mismatch' });
  });

  it('when a forged event that links correctly and has its own valid hash is inserted, then the event after it is reported', () => {
    const events = chain();
    const forged = chainAuditEvent(
      { actor: 'intruder', action: 'technician.updated', target: 'intruder', details: { roles: ['admin'] } },
      3,
      bySeq(events, 2).hash,
      new Date(start + 1500),
    );
    assert.equal(findChainBreak([...events.slice(0, 2), forged], genesisHash), null, 'the forged event on its own looks valid');

    const inserted = [...events.slice(0, 2), forged, ...events.slice(2)];
    assert.deepEqual(findChainBreak(inserted, genesisHash), { seq: 3, reason: 'sequence_gap' });

    const renumbered = [...events.slice(0, 2), forged, ...events.slice(2).map((e) => rehashed({ ...e, seq: e.seq + 1 }))];
    assert.deepEqual(findChainBreak(renumbered, genesisHash), { seq: 4, reason: 'prev_hash_mismatch' });
  });

  it('when a forged event with a made-up previous hash is appended, then it is reported', () => {
    const events = chain();
    const forged = chainAuditEvent({ actor: 'intruder', action: 'auth.logout' }, 6, 'f'.repeat(64), new Date(start + 9000));
    assert.deepEqual(findChainBreak([...events, forged], genesisHash), { seq: 6, reason: 'prev_hash_mismatch' });
  });

  it('when several events are broken, then only the first is reported', () => {
    const events = chain();
    events[1] = { ...events[1]!, actor: 'a' };
    events[3] = { ...events[3]!, actor: 'b' };
    assert.deepEqual(findChainBreak(events, genesisHash), { seq: 2, reason: 'hash_mismatch' });
  });

  it('when verification starts from another head than the first event links to, then the first event is reported', () => {
    assert.deepEqual(findChainBreak(chain(), 'a'.repeat(64)), { seq: 1, reason: 'prev_hash_mismatch' });
  });

  it('when a run from the middle of the chain is checked, then it verifies with or without its known head', () => {
    const events = chain();
    assert.equal(findChainBreak(events.slice(2)), null);
    assert.equal(findChainBreak(events.slice(2), bySeq(events, 2).hash), null);
    assert.equal(findChainBreak([], genesisHash), null);
  });

  it('when optional fields are left out, then they are null, details are empty, and the hash is the same as with them explicit', () => {
    const at = new Date(start);
    const bare = chainAuditEvent({ actor: 'system', action: 'auth.logout' }, 1, genesisHash, at);
    const explicit = chainAuditEvent(
      { actor: 'system', action: 'auth.logout', tenantId: null, target: null, requestId: null, sourceIp: null, details: {} },
      1,
      genesisHash,
      at,
    );
    assert.deepEqual([bare.tenantId, bare.target, bare.requestId, bare.sourceIp, bare.details], [null, null, null, null, {}]);
    assert.equal(bare.hash, explicit.hash);
  });
});

describe('audit hash encoding', () => {
  const hashOf = (details: Record<string, unknown>) =>
    chainAuditEvent({ actor: 'system', action: 'profile.updated', details }, 1, genesisHash, new Date(start)).hash;

  it('when details are given with keys in another order, at any depth, then the hash is the same (canonical JSON)', () => {
    assert.equal(
      hashOf({ name: 'helpdesk', change: { groups: ['A', 'B'], max: 7200 }, by: { id: 't', roles: ['admin'] } }),
      hashOf({ by: { roles: ['admin'], id: 't' }, change: { max: 7200, groups: ['A', 'B'] }, name: 'helpdesk' }),
    );
  });

  it('when a detail value differs only in type or array order, then the hash differs', () => {
    assert.notEqual(hashOf({ n: 1 }), hashOf({ n: '1' }));
    assert.notEqual(hashOf({ groups: ['A', 'B'] }), hashOf({ groups: ['B', 'A'] }));
  });

  it('when events go through JSON and back with ISO times, then every hash is unchanged and the chain verifies', () => {
    const events = chain();
    const revived = (JSON.parse(JSON.stringify(events)) as Array<AuditEvent & { at: string }>).map((e) => ({ ...e, at: new Date(e.at) }));
    assert.equal(JSON.parse(JSON.stringify(events))[0].at, new Date(start).toISOString());
    for (const event of revived) {
      const { hash, ...unhashed } = event;
      assert.equal(computeAuditHash(unhashed), hash);
    }
    assert.equal(findChainBreak(revived, genesisHash), null);
  });
});
