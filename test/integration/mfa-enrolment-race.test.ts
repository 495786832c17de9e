// Enrolment is compare-and-set on the technician's TOTP state: a second enrolment racing the first
// one's confirmation never overwrites the confirmed secret, and a code checked against a secret that
// an enrolment replaced meanwhile never confirms the new one. Each race is made on purpose: the
// racing request is paused (its secret box held) at the point between its read and its write.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { totpCodeAt } from '../../src/adapters/crypto/totp.ts';
import { totpSecretContext } from '../../src/services/access/index.ts';
import type { SecretBox } from '../../src/services/ports/crypto.ts';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { createTechnician } from '../support/factories.ts';

/** Holds the next call of `method` until released; `reached` resolves once a call is held. */
function holdNext(secrets: SecretBox, method: 'seal' | 'open') {
  const original = secrets[method].bind(secrets) as (value: string, context: string) => Promise<string>;
  let release!: () => void;
  let reached!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const arrived = new Promise<void>((resolve) => (reached = resolve));
  (secrets as unknown as Record<string, unknown>)[method] = async (value: string, context: string) => {
    (secrets as unknown as Record<string, unknown>)[method] = original;
    reached();
    await gate;
    return original(value, context);
  };
  return { reached: arrived, release };
}

for (const engine of engines) {
  describe(`racing MFA enrolments (${engine})`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({ engine });
    });
    after(async () => {
      await h.close();
    });

    async function challenge() {
      const who = await createTechnician(h);
      const step = await h.http.post('/api/v1/auth/login').send({ username: who.username, password: who.password });
      assert.equal(step.body.next, 'enrol');
      return { who, mfaToken: step.body.mfaToken as string };
    }
    const enrol = (mfaToken: string) => h.http.post('/api/v1/auth/mfa/enrol').send({ mfaToken });
    const verify = async (mfaToken: string, secret: string) =>
      h.http.post('/api/v1/auth/mfa/verify').send({ mfaToken, code: await totpCodeAt(secret, h.clock.now()) });
    const storedSecret = async (id: string) => {
      const record = (await h.container.store.technicians.findById(id))!;
      return {
        secret: await h.container.secrets.open(record.totpSecretSealed!, totpSecretContext(id)),
        confirmed: record.totpConfirmedAt !== null,
      };
    };

    it('when a second enrolment passed its check before the first was confirmed, then it is refused after and the confirmed secret stands', async () => {
      const { who, mfaToken } = await challenge();
      const first = await enrol(mfaToken);
      assert.equal(first.status, 200);
      const held = holdNext(h.container.secrets, 'seal');
      const second = enrol(mfaToken).then((r) => r);
      await held.reached;
      h.clock.advance(30_000);
      assert.equal((await verify(mfaToken, first.body.secret)).status, 200, 'the first enrolment is confirmed');
      held.release();
      const racing = await second;
      assert.equal(racing.status, 409, JSON.stringify(racing.body));
      assert.equal(racing.body.error.code, 'mfa_already_enrolled');
      assert.deepEqual(await storedSecret(who.id), { secret: first.body.secret, confirmed: true });
    });

    it('when an enrolment replaces the secret while a code for the old one is being checked, then that code confirms nothing', async () => {
      const { who, mfaToken } = await challenge();
      const first = await enrol(mfaToken);
      h.clock.advance(30_000);
      const held = holdNext(h.container.secrets, 'open');
      const checking = verify(mfaToken, first.body.secret).then((r) => r);
      await held.reached;
      const second = await enrol(mfaToken);
      assert.equal(second.status, 200);
      held.release();
      const answer = await checking;
      assert.equal(answer.status, 401, JSON.stringify(answer.body));
      assert.deepEqual(await storedSecret(who.id), { secret: second.body.secret, confirmed: false });
      h.clock.advance(30_000);
      assert.equal((await verify(mfaToken, second.body.secret)).status, 200, 'the enrolment that stands confirms with its own code');
    });
  });
}
