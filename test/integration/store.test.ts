// The store against real SQLite and real PostgreSQL: the same repository code on both.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findChainBreak, genesisHash } from '../../src/domain/audit.ts';
import { DomainError } from '../../src/domain/errors.ts';
import { bindPasswordContext } from '../../src/services/tenants/index.ts';
import { totpSecretContext } from '../../src/services/access/index.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { createTechnician } from '../support/factories.ts';

function postgresBinary(name: string): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  return `/usr/lib/postgresql/${versions[0]}/bin/${name}`;
}

/** Everything the engine holds on disk or in a dump, as text. */
function storedBytes(h: Harness): string {
  if (h.engine === 'sqlite') {
    const file = join(h.dataDir, 'stint.db');
    // The WAL holds recent writes until a checkpoint: read both.
    const wal = (() => {
      try {
        return readFileSync(`${file}-wal`).toString('latin1');
      } catch {
        return '';
      }
    })();
    return readFileSync(file).toString('latin1') + wal;
  }
  return execFileSync(postgresBinary('pg_dump'), ['--dbname', h.databaseUrl], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

for (const engine of engines) {
  describe(`store on ${engine}`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({ engine });
    });
    after(async () => {
      await h.close();
    });

    it('when many events are appended at once, then sequence numbers have no gaps and the chain verifies', async () => {
      const { store } = h.container;
      const startHead = await store.audit.head();
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          store.transaction((tx) =>
            tx.audit.append({ actor: 'system', action: 'technician.updated', details: { changed: [`field${i}`] } }, h.clock.now()),
          ),
        ),
      );
      const events = await store.audit.range(startHead.seq + 1, 1000);
      assert.equal(events.length, 40);
      events.forEach((event, index) => assert.equal(event.seq, startHead.seq + 1 + index));
      assert.equal(findChainBreak(events, startHead.seq === 0 ? genesisHash : startHead.hash), null);
      const head = await store.audit.head();
      assert.equal(head.seq, startHead.seq + 40);
      assert.equal(head.hash, events.at(-1)!.hash);
    });

    it('when events are appended in bulk among single appends, then the chain stays whole and gapless', async () => {
      const { store } = h.container;
      const start = await store.audit.head();
      await Promise.all([
        store.transaction((tx) =>
          tx.audit.appendMany(
            Array.from({ length: 250 }, (_, i) => ({
              actor: 'bulk',
              action: 'elevation.expired' as const,
              details: { reason: 'expired', groups: [], accountDisabled: false, lagMs: i },
            })),
            h.clock.now(),
          ),
        ),
        ...Array.from({ length: 5 }, (_, i) =>
          store.transaction((tx) => tx.audit.append({ actor: 'single', action: 'auth.logout', target: `session-${i}` }, h.clock.now())),
        ),
        store.transaction((tx) =>
          tx.audit.appendMany([{ actor: 'bulk2', action: 'elevation.revoking', details: { reason: 'admin' } }], h.clock.now()),
        ),
      ]);
      const events = await store.audit.range(start.seq + 1, 1000);
      assert.equal(events.length, 256);
      events.forEach((event, index) => assert.equal(event.seq, start.seq + 1 + index));
      assert.equal(findChainBreak(events, start.seq === 0 ? genesisHash : start.hash), null);
      assert.equal((await store.audit.head()).hash, events.at(-1)!.hash);
      assert.equal((await h.container.services.audit.verifyStoredChain()).firstBreak, null);
    });

    it('when a transaction fails after appending, then neither the change nor its audit event is kept', async () => {
      const { store } = h.container;
      const before = await store.audit.head();
      const technician = await createTechnician(h);
      const headAfterCreate = await store.audit.head();
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.technicians.update(technician.id, { displayName: 'Changed' }, h.clock.now());
          await tx.audit.append(
            { actor: 'system', action: 'technician.updated', target: technician.id, details: { changed: ['displayName'] } },
            h.clock.now(),
          );
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal((await store.technicians.findById(technician.id))!.displayName, `Test ${technician.username}`);
      assert.deepEqual(await store.audit.head(), headAfterCreate);
      assert.equal(headAfterCreate.seq, before.seq + 1);
    });

    it('when the same TOTP step is accepted twice at once, then exactly one acceptance wins', async () => {
      const { store } = h.container;
      const technician = await createTechnician(h);
      await store.technicians.setPendingTotpSecret(technician.id, 'sealed-placeholder', h.clock.now());
      const results = await Promise.all(
        Array.from({ length: 8 }, () => store.technicians.acceptTotpStep(technician.id, 1000, h.clock.now(), 'sealed-placeholder')),
      );
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await store.technicians.acceptTotpStep(technician.id, 999, h.clock.now(), 'sealed-placeholder'), false);
      assert.equal(await store.technicians.acceptTotpStep(technician.id, 1001, h.clock.now(), 'sealed-placeholder'), true);
      const record = await store.technicians.findById(technician.id);
      assert.equal(record!.totpLastStep, 1001);
      assert.notEqual(record!.totpConfirmedAt, null);
    });

    it('when MFA attempts race, then each one is counted', async () => {
      const { store } = h.container;
      const technician = await createTechnician(h);
      const counts = await Promise.all(Array.from({ length: 6 }, () => store.technicians.countMfaAttempt(technician.id, h.clock.now())));
      assert.deepEqual([...counts].sort(), [1, 2, 3, 4, 5, 6]);
      await store.technicians.lockMfa(technician.id, new Date(h.clock.now().getTime() + 60_000), h.clock.now());
      assert.equal(await store.technicians.countMfaAttempt(technician.id, h.clock.now()), null);
      assert.equal(await store.technicians.countMfaAttempt(technician.id, new Date(h.clock.now().getTime() + 61_000)), 1);
    });

    it('when a move the state machine does not have is asked, then the store refuses it before it writes; a lock is not a move', async () => {
      const { elevations } = h.container.store;
      const now = h.clock.now();
      const refused = (error: unknown) => error instanceof DomainError && error.code === 'conflict';
      await assert.rejects(elevations.transition('no-such-elevation', 'active', 'active', {}, now), refused);
      await assert.rejects(elevations.transition('no-such-elevation', 'expired', 'active', {}, now), refused);
      await assert.rejects(elevations.transitionMany(['a', 'b'], 'revoked', 'revoking', {}, now), refused);
      // Moves the table has are asked of the database, which answers that nothing matched.
      assert.equal(await elevations.transition('no-such-elevation', 'active', 'revoking', {}, now), false);
      assert.deepEqual(await elevations.transitionMany(['a', 'b'], 'active', 'revoking', {}, now), []);
      assert.equal(await elevations.lock('no-such-elevation', 'active', now), false);
      assert.equal(await elevations.amend('no-such-elevation', 'active', { extension: null }, now), false);
    });

    it('when secrets are stored, then the database holds none of them in clear', async () => {
      const { store, secrets } = h.container;
      const technician = await createTechnician(h);
      const totpSecret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
      await store.technicians.setPendingTotpSecret(
        technician.id,
        await secrets.seal(totpSecret, totpSecretContext(technician.id)),
        h.clock.now(),
      );
      const bindPassword = 'Bind-Password-That-Must-Not-Leak-7f3a';
      await store.tenants.insert(
        {
          id: `t-${engine}`,
          displayName: 'T',
          timeZone: 'UTC',
          directory: { url: 'ldaps://127.0.0.2', bindDn: 'CN=x', baseDn: 'DC=x', caCertificate: 'pem' },
          keepAccountsDisabled: true,
          slackChannel: null,
          driftMode: 'remove',
          reviewSchedule: '0 6 * * 1',
          inactiveDays: 45,
          disableInactive: false,
          riskThreshold: 50,
          bindPasswordSealed: await secrets.seal(bindPassword, bindPasswordContext(`t-${engine}`)),
        },
        h.clock.now(),
      );
      const dump = storedBytes(h);
      assert.ok(dump.includes(technician.username), 'the dump is readable (sanity check of the test itself)');
      assert.ok(!dump.includes(totpSecret), 'TOTP secret in clear');
      assert.ok(!dump.includes(bindPassword), 'bind password in clear');
      assert.ok(!dump.includes(technician.password), 'password in clear');
      assert.ok(!dump.includes('"d":"'), 'a private signing key in clear');
    });
  });
}
