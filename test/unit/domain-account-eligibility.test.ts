// Which accounts may be a tenant account (src/domain/account-eligibility.ts): the rules alone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accountIneligibility, type AccountEligibilityFacts } from '../../src/domain/account-eligibility.ts';

const domain = 'S-1-5-21-1-2-3';
const person = (changes: Partial<AccountEligibilityFacts> = {}): AccountEligibilityFacts => ({
  objectClasses: ['top', 'person', 'organizationalPerson', 'user'],
  sid: `${domain}-1105`,
  userAccountControl: 514,
  adminCount: null,
  primaryGroupId: 513,
  tokenGroupSids: [`${domain}-513`, 'S-1-5-32-545'],
  servicePrincipalNames: 0,
  ...changes,
});

describe('tenant account eligibility', () => {
  it('when the account is a plain person’s user (or an inetOrgPerson), then it may be linked', () => {
    assert.equal(accountIneligibility(person()), null);
    assert.equal(accountIneligibility(person({ objectClasses: ['top', 'person', 'organizationalPerson', 'user', 'inetOrgPerson'] })), null);
  });

  it('when the account is a computer, a managed service, a trust or a service account, then it is refused and says what it is', () => {
    assert.match(
      accountIneligibility(
        person({ objectClasses: ['top', 'person', 'organizationalPerson', 'user', 'computer'], userAccountControl: 532480 }),
      )!,
      /computer/,
    );
    assert.match(
      accountIneligibility(
        person({ objectClasses: ['top', 'person', 'organizationalPerson', 'user', 'computer', 'msDS-GroupManagedServiceAccount'] }),
      )!,
      /computer|gMSA/,
    );
    assert.match(
      accountIneligibility(person({ objectClasses: ['top', 'person', 'organizationalPerson', 'user', 'msDS-ManagedServiceAccount'] }))!,
      /managed service/,
    );
    assert.match(accountIneligibility(person({ userAccountControl: 0x0800 | 0x2 }))!, /interdomain trust/);
    assert.match(accountIneligibility(person({ userAccountControl: 0x2000 }))!, /server trust/);
    assert.match(accountIneligibility(person({ servicePrincipalNames: 1 }))!, /servicePrincipalName/);
    assert.match(accountIneligibility(person({ objectClasses: ['top', 'group'] }))!, /not a user/);
  });

  it('when the account is built-in or well known, adminCount=1, or in a protected group at any depth, then it is refused', () => {
    for (const rid of [500, 501, 502, 503, 999])
      assert.match(accountIneligibility(person({ sid: `${domain}-${rid}` }))!, new RegExp(`RID ${rid}`));
    assert.match(accountIneligibility(person({ adminCount: 1 }))!, /adminCount=1/);
    assert.match(accountIneligibility(person({ primaryGroupId: 512 }))!, /primary group is Domain Admins/);
    assert.match(accountIneligibility(person({ tokenGroupSids: [`${domain}-513`, `${domain}-512`] }))!, /Domain Admins/);
    assert.match(accountIneligibility(person({ tokenGroupSids: ['S-1-5-32-551'] }))!, /Backup Operators/);
    // A child domain's account in the forest root's Enterprise Admins (another domain's SID, RID 519).
    assert.match(accountIneligibility(person({ tokenGroupSids: ['S-1-5-21-9-9-9-519'] }))!, /Enterprise Admins/);
    assert.match(accountIneligibility(person({ tokenGroupSids: [`${domain}-4242`] }), [`${domain}-4242`])!, /the tenant protects/);
    assert.match(accountIneligibility(person({ tokenGroupSids: null }))!, /could not be read/);
    assert.match(accountIneligibility(person({ sid: null }))!, /objectSid/);
  });
});
