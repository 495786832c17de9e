// Fresh TOTP codes (docs/security-model.md, Login, TOTP and sessions) against the in-memory store
// and the real TOTP engine, with the clock moved by hand: enrolment completes on the first good
// code, a step is accepted once, and N failures in a row lock until the lockout has passed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError } from '../../../src/domain/errors.ts';
import { systemContext } from '../../../src/services/context.ts';
import { createMfaService, totpSecretContext } from '../../../src/services/access/index.ts';
import { fakeWorld, seedTechnician, totpCodeAt } from '../../support/fakes/index.ts';

const lockout = { maxFailures: 3, lockoutMs: 15 * 60_000 };
const refusedWith = (c: string) => (error: unknown) => error instanceof DomainError && error.code === c;

async function setup() {
  const w = fakeWorld();
  const mfa = createMfaService({
    store: w.store,
    clock: w.clock,
    secrets: w.secrets,
    totp: w.totp,
    lockout,
    notifications: w.notifications,
    log: w.log,
  });
  const tech = await seedTechnician(w, { username: 'alice' });
  const secret = w.totp.generateSecret();
  await w.store.technicians.setPendingTotpSecret(tech.id, await w.secrets.seal(secret, totpSecretContext(tech.id)), w.clock.now());
  const fresh = async () => (await w.store.technicians.findById(tech.id))!;
  const verify = async (code: string, onSuccess = async () => 'done') =>
    mfa.verifyFreshCode(await fresh(), code, 'login', systemContext, onSuccess);
  const codeNow = () => totpCodeAt(secret, w.clock.now());
  const actions = async () => (await w.store.audit.list({ limit: 100 })).map((e) => e.action).reverse();
  return { w, tech, fresh, verify, codeNow, actions };
}

describe('MFA service', () => {
  it('when the first good code is given, then the enrolment completes, the step is recorded and the change runs in the same transaction', async () => {
    const { w, fresh, verify, codeNow, actions } = await setup();
    assert.equal(
      await verify(await codeNow(), async () => {
        return 'authorised';
      }),
      'authorised',
    );
    const after = await fresh();
    assert.equal(after.mfaEnrolled, true);
    assert.equal(after.totpConfirmedAt?.getTime(), w.clock.now().getTime());
    assert.deepEqual(await actions(), ['mfa.verify.succeeded', 'mfa.enrolment.completed']);
  });

  it('when the same code is given again in its step, then it is refused as a replay and audited', async () => {
    const { verify, codeNow, actions } = await setup();
    const code = await codeNow();
    await verify(code);
    await assert.rejects(verify(code), refusedWith('mfa_replay'));
    assert.equal((await actions()).at(-1), 'mfa.replay_refused');
  });

  it('when the change a good code authorises fails, then nothing of it lands and the failure count goes back to 0', async () => {
    const { w, tech, fresh, verify, codeNow } = await setup();
    await assert.rejects(
      verify(await codeNow(), async () => {
        throw new Error('the change failed');
      }),
      /the change failed/,
    );
    const after = await fresh();
    assert.equal(after.totpLastStep, null);
    assert.equal(after.mfaFailures, 0);
    assert.deepEqual(await w.store.audit.list({ target: tech.id, limit: 10 }), []);
  });

  it('when wrong codes reach the limit, then MFA locks, the lockout is alerted, and even a good code is refused until it has passed', async () => {
    const { w, verify, codeNow, actions } = await setup();
    await assert.rejects(verify('000000'), refusedWith('mfa_invalid'));
    await assert.rejects(verify('not-a-code'), refusedWith('mfa_invalid'));
    await assert.rejects(verify('000000'), refusedWith('mfa_locked'));
    assert.deepEqual((await actions()).slice(-2), ['mfa.verify.failed', 'mfa.locked']);
    assert.deepEqual(
      w.notifications.published.map((n) => n.kind === 'alert' && n.alert),
      ['mfa_lockout'],
    );

    w.clock.advance(lockout.lockoutMs - 1000);
    await assert.rejects(verify(await codeNow()), refusedWith('mfa_locked'));
    w.clock.advance(1000);
    assert.equal(await verify(await codeNow()), 'done');
  });

  it('when the lockout alert cannot be queued, then the lockout still holds and the failure is logged', async () => {
    const { w, verify } = await setup();
    await assert.rejects(verify('000000'), refusedWith('mfa_invalid'));
    await assert.rejects(verify('000000'), refusedWith('mfa_invalid'));
    w.notifications.failNext();
    await assert.rejects(verify('000000'), refusedWith('mfa_locked'));
    assert.deepEqual(w.log.messages('warn'), ['the lockout alert could not be queued']);
  });

  it('when a good code follows wrong ones below the limit, then it passes and the count starts again', async () => {
    const { fresh, verify, codeNow } = await setup();
    await assert.rejects(verify('000000'), refusedWith('mfa_invalid'));
    await assert.rejects(verify('111111'), refusedWith('mfa_invalid'));
    assert.equal(await verify(await codeNow()), 'done');
    assert.equal((await fresh()).mfaFailures, 0);
  });

  it('when nothing is enrolled, then the code is refused before any attempt is counted', async () => {
    const { w, tech, fresh } = await setup();
    await w.store.technicians.clearTotp(tech.id, w.clock.now());
    const mfa = createMfaService({ ...w, lockout });
    await assert.rejects(
      mfa.verifyFreshCode(await fresh(), '123456', 'login', systemContext, async () => 1),
      refusedWith('mfa_not_enrolled'),
    );
    assert.equal((await fresh()).mfaFailures, 0);
  });
});
