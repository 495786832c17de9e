// An admin's ticket pattern runs on every request before the TOTP code: one that can backtrack
// without bound is refused when the profile is saved, on both engines, and nothing is stored.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, startHarness, type Harness } from '../support/harness.ts';
import { bearer, createTechnician, login } from '../support/factories.ts';
import { testServices } from '../support/services.ts';
import { addTenant } from '../support/world.ts';

for (const engine of engines) {
  describe(`ticket patterns (${engine})`, () => {
    let h: Harness;
    let token: string;
    const { acme } = testServices().domains;

    before(async () => {
      h = await startHarness({ engine });
      token = (await login(h, await createTechnician(h, ['admin']))).accessToken;
      await addTenant(h, acme);
    });
    after(async () => {
      await h.close();
    });

    it('when a profile is given a pattern with nested or overlapping repetition, then 400 names the field and nothing is stored', async () => {
      const head = await h.container.store.audit.head();
      for (const ticketPattern of ['(\\d+)+X', '(a|a)*b', '([A-Z]+-?)*\\d']) {
        const response = await h.http
          .post(`/api/v1/tenants/${acme.name}/profiles`)
          .set(bearer(token))
          .send({
            name: 'ticketed',
            groups: [`CN=Helpdesk,${acme.baseDn}`],
            eligibleRoles: ['technician'],
            defaultDurationSeconds: 60,
            maxDurationSeconds: 60,
            ticketPattern,
          });
        assert.equal(response.status, 400, `${ticketPattern}: ${JSON.stringify(response.body)}`);
        assert.equal(response.body.error.code, 'validation_failed');
        assert.equal(response.body.error.details.field, 'ticketPattern');
      }
      assert.equal((await h.container.store.profiles.listForTenant(acme.name)).length, 0);
      assert.deepEqual(await h.container.store.audit.head(), head);
    });
  });
}
