// The store translates the engines' own errors at its boundary (src/adapters/store/errors.ts): a
// unique or foreign-key constraint is `conflict`, a value the engine cannot hold `validation_failed`,
// from node:sqlite and pg alike, inside a transaction or not; nothing else is disguised.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DomainError } from '../../src/domain/errors.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { createTechnician, type TestTechnician } from '../support/factories.ts';

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (error: unknown) =>
      error instanceof DomainError ? `${error.code} ${JSON.stringify(error.details ?? {})}` : `raw ${(error as Error).message}`,
  );

for (const engine of engines) {
  describe(`store errors (${engine})`, () => {
    let h: Harness;
    let who: TestTechnician;
    before(async () => {
      h = await startHarness({ engine });
      who = await createTechnician(h);
    });
    after(async () => {
      await h.close();
    });

    it('when a unique column is taken, then conflict names the field, in a transaction or not, and the transaction is undone', async () => {
      const record = (await h.container.store.technicians.findById(who.id))!;
      const copy = { ...record, id: `${record.id}-copy`, passwordHash: null };
      assert.equal(await codeOf(h.container.store.technicians.insert(copy, h.clock.now())), 'conflict {"fields":["username"]}');
      const head = await h.container.store.audit.head();
      const inTransaction = h.container.store.transaction(async (tx) => {
        await tx.audit.append(
          { actor: 'system', action: 'technician.updated', target: who.id, details: { changed: ['displayName'] } },
          h.clock.now(),
        );
        await tx.technicians.insert(copy, h.clock.now());
      });
      assert.equal(await codeOf(inTransaction), 'conflict {"fields":["username"]}');
      assert.deepEqual(await h.container.store.audit.head(), head, 'the transaction was not undone');
    });

    it('when a row refers to one that does not exist, then conflict', async () => {
      const at = h.clock.now();
      const orphan = {
        id: 'acct-orphan',
        tenantId: 'no-such-tenant',
        technicianId: who.id,
        guid: '00000000-0000-4000-8000-0000000000aa',
        dn: 'CN=x,DC=x',
        samAccountName: 'x',
        createdAt: at,
        updatedAt: at,
      };
      assert.match(await codeOf(h.container.store.accounts.insert(orphan)), /^conflict /);
    });

    it('when a NUL character reaches a query, then PostgreSQL’s refusal is validation_failed (SQLite stores it)', async () => {
      assert.equal(await codeOf(h.container.store.technicians.findById('a\u0000b')), engine === 'postgres' ? 'validation_failed {}' : 'ok');
    });
  });
}
