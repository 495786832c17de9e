import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainAuditEvent, computeAuditHash, findChainBreak, genesisHash, type AuditEvent } from '../../src/domain/audit.ts';

function chain(length: number): AuditEvent[] {
  const events: AuditEvent[] = [];
  let prev = genesisHash;
  for (let seq = 1; seq <= length; seq++) {
    const event = chainAuditEvent(
      { actor: `tech-${seq}`, action: 'technician.updated', target: 't', details: { n: seq, nested: { a: 1, b: [1, 2] } } },
      seq,
      prev,
      new Date(Date.UTC(2026, 0, 1, 0, 0, seq)),
    );
    events.push(event);
    prev = event.hash;
  }
  return events;
}

describe('audit hash chain', () => {
  it('when a chain is intact, then it verifies from the genesis hash', () => {
    assert.equal(findChainBreak(chain(5), genesisHash), null);
  });

  it('when a detail is altered, then that record is reported as a hash mismatch', () => {
    const events = chain(5);
    events[2] = { ...events[2]!, details: { n: 99 } };
    assert.deepEqual(findChainBreak(events, genesisHash), { seq: 3, reason: 'hash_mismatch' });
  });

  it('when a record is altered and its own hash recomputed, then the next record no longer links to it', () => {
    const events = chain(5);
    const { hash: _old, ...rest } = { ...events[1]!, actor: 'intruder' };
    events[1] = { ...rest, hash: computeAuditHash(rest) };
    assert.deepEqual(findChainBreak(events, genesisHash), { seq: 3, reason: 'prev_hash_mismatch' });
  });

  it('when a record is deleted, then the gap is reported', () => {
    const events = chain(5);
    events.splice(2, 1);
    assert.deepEqual(findChainBreak(events, genesisHash), { seq: 4, reason: 'sequence_gap' });
  });

  it('when two records are swapped, then the first out of place is reported', () => {
    const events = chain(5);
    [events[1], events[2]] = [events[2]!, events[1]!];
    assert.equal(findChainBreak(events, genesisHash)?.seq, 3);
  });

  it('when a forged record is inserted with a valid hash of its own, then the chain breaks at it', () => {
    const events = chain(3);
    const forged = chainAuditEvent({ actor: 'x', action: 'auth.logout' }, 4, 'f'.repeat(64), new Date());
    assert.deepEqual(findChainBreak([...events, forged], genesisHash), { seq: 4, reason: 'prev_hash_mismatch' });
  });

  it('when the first record does not start from the expected head, then it is reported', () => {
    assert.deepEqual(findChainBreak(chain(2), 'a'.repeat(64)), { seq: 1, reason: 'prev_hash_mismatch' });
  });

  it('when details are given in another key order, then the hash is the same (canonical JSON)', () => {
    const at = new Date(0);
    const a = chainAuditEvent({ actor: 's', action: 'auth.logout', details: { x: 1, y: { b: 2, a: 1 } } }, 1, genesisHash, at);
    const b = chainAuditEvent({ actor: 's', action: 'auth.logout', details: { y: { a: 1, b: 2 }, x: 1 } }, 1, genesisHash, at);
    assert.equal(a.hash, b.hash);
    assert.match(a.hash, /^[0-9a-f]{64}$/);
  });

  it('when events go through JSON and back, then they still verify', () => {
    const revived = JSON.parse(JSON.stringify(chain(4))).map((e: AuditEvent & { at: string }) => ({ ...e, at: new Date(e.at) }));
    assert.equal(findChainBreak(revived, genesisHash), null);
  });
});
