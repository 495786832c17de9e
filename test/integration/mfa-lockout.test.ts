// A lockout always has an end, and a correct code never counts as a failure: not when the change it
// authorised fails, not when the secret cannot be opened, not when a count was left past the limit.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DomainError } from '../../src/domain/errors.ts';
import { systemContext } from '../../src/services/context.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { codeNow, createTechnician, login, type TestTechnician } from '../support/factories.ts';

for (const engine of engines) {
  describe(`MFA lockout (${engine})`, () => {
    let h: Harness;
    let who: TestTechnician;

    before(async () => {
      h = await startHarness({ engine });
      who = await createTechnician(h);
      await login(h, who);
    });
    after(async () => {
      await h.close();
    });

    const record = async () => (await h.container.store.technicians.findById(who.id))!;
    const verify = async (work: () => Promise<string> = async () => 'done') =>
      h.container.services.mfa.verifyFreshCode(await record(), await codeNow(h, who.totpSecret!), 'test', systemContext, work);
    const codeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => 'ok',
        (error: unknown) => (error instanceof DomainError ? error.code : (error as Error).message),
      );

    it('when a correct code authorises a change that fails, again and again, then it never counts and the next correct code works', async () => {
      h.clock.advance(30_000);
      for (let i = 0; i < 7; i += 1) {
        assert.equal(
          await codeOf(
            verify(async () => {
              throw new Error('the change failed');
            }),
          ),
          'the change failed',
        );
        assert.equal((await record()).mfaFailures, 0, 'a correct code counted as a failure');
      }
      assert.equal(await verify(), 'done');
    });

    it('when the secret cannot be opened, then the attempts are not counted and a good code works once it can be opened again', async () => {
      h.clock.advance(30_000);
      const sealed = (await record()).totpSecretSealed!;
      await h.container.store.technicians.replaceSealedTotpSecret(
        who.id,
        await h.container.secrets.seal('not this one', 'technician:someone-else:totp'),
      );
      for (let i = 0; i < 7; i += 1) assert.notEqual(await codeOf(verify()), 'ok');
      assert.equal((await record()).mfaFailures, 0, 'an unopenable secret counted as a failure');
      await h.container.store.technicians.replaceSealedTotpSecret(who.id, sealed);
      assert.equal(await verify(), 'done');
    });

    it('when the count was left past the limit with no lock time, then the lockout gets an end, is audited, and a good code works after it', async () => {
      h.clock.advance(30_000);
      const lockoutMs = h.config.auth.mfaLockoutSeconds * 1000;
      for (let i = 0; i < h.config.auth.mfaMaxFailures + 2; i += 1)
        await h.container.store.technicians.countMfaAttempt(who.id, h.clock.now());
      assert.equal((await record()).mfaLockedUntil, null);
      const lockedAt = h.clock.now();
      const refused = await verify().catch((error: unknown) => error as DomainError);
      assert.ok(refused instanceof DomainError);
      assert.equal(refused.code, 'mfa_locked');
      assert.equal(refused.details?.retryAfter, new Date(lockedAt.getTime() + lockoutMs).toISOString());
      assert.equal((await record()).mfaLockedUntil?.getTime(), lockedAt.getTime() + lockoutMs);
      const [locked] = await h.container.store.audit.list({ action: 'mfa.locked', limit: 1 });
      assert.equal(locked?.target, who.id);

      h.clock.advance(lockoutMs - 1000);
      assert.equal(await codeOf(verify()), 'mfa_locked', 'the lock ended early');
      h.clock.advance(2000);
      assert.equal(await verify(), 'done');
      assert.equal((await record()).mfaFailures, 0);
    });

    it('when wrong codes reach the limit, then the lock still starts and ends as before', async () => {
      h.clock.advance(30_000);
      const wrong = async () =>
        h.container.services.mfa.verifyFreshCode(await record(), '000000', 'test', systemContext, async () => 'done');
      const codes: string[] = [];
      for (let i = 0; i < h.config.auth.mfaMaxFailures + 1; i += 1) codes.push(await codeOf(wrong()));
      assert.deepEqual(codes, [
        ...Array.from({ length: h.config.auth.mfaMaxFailures - 1 }, () => 'mfa_invalid'),
        'mfa_locked',
        'mfa_locked',
      ]);
      h.clock.advance(h.config.auth.mfaLockoutSeconds * 1000 + 1000);
      assert.equal(await verify(), 'done');
    });
  });
}
