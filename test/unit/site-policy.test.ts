// The site's decision on every directory operation (src/domain/site-policy.ts): what a hostile
// Stint asks for is refused with its code, and what a grant needs goes through.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GroupFacts } from '../../src/domain/protected-groups.ts';
import { isDnUnder, normaliseDn } from '../../src/domain/ad.ts';
import {
  decideSiteOperation,
  siteExpiryAt,
  siteReadMethods,
  type SiteAccountFacts,
  type SiteDecision,
  type SiteFacts,
  type SiteGroupFacts,
  type SiteOperation,
  type SitePolicy,
} from '../../src/domain/site-policy.ts';

const domain = 'S-1-5-21-1-2-3';
const base = 'DC=client,DC=example';
const now = new Date('2025-03-03T10:00:00Z');
const inSeconds = (s: number) => new Date(now.getTime() + s * 1000);

const helpdesk: SiteGroupFacts = {
  guid: '11111111-1111-4111-8111-111111111111',
  sid: `${domain}-1201`,
  dn: `CN=Helpdesk,OU=Groups,${base}`,
  name: 'Helpdesk',
  adminCount: null,
  ancestors: [{ dn: `CN=IT Staff,OU=Groups,${base}`, sid: `${domain}-1202`, name: 'IT Staff', adminCount: null }],
};
const serverAdmins: SiteGroupFacts = {
  guid: '22222222-2222-4222-8222-222222222222',
  sid: `${domain}-1203`,
  dn: `CN=Server Admins,OU=Groups,${base}`,
  name: 'Server Admins',
  adminCount: null,
  ancestors: [],
};
const domainAdmins: SiteGroupFacts = {
  guid: '33333333-3333-4333-8333-333333333333',
  sid: `${domain}-512`,
  dn: `CN=Domain Admins,CN=Users,${base}`,
  name: 'Domain Admins',
  adminCount: 1,
  ancestors: [],
};
const domainAdminsFacts: GroupFacts = { dn: domainAdmins.dn, sid: domainAdmins.sid, name: domainAdmins.name, adminCount: 1 };

const policy: SitePolicy = {
  accounts: { ous: [`OU=MSP,OU=Staff,${base}`], objectGuids: ['44444444-4444-4444-8444-444444444444'], samAccountNames: ['msp-Listed'] },
  groups: { objectGuids: [helpdesk.guid, domainAdmins.guid], sids: [serverAdmins.sid.toUpperCase()] },
  maxGrantSeconds: 8 * 3600,
  graceSeconds: 120,
  protectedGroupSids: [],
};

const account = (sam: string, dn: string, changes: Partial<SiteAccountFacts> = {}): SiteAccountFacts => ({
  guid: '55555555-5555-4555-8555-555555555555',
  dn,
  samAccountName: sam,
  eligibility: {
    objectClasses: ['top', 'person', 'organizationalPerson', 'user'],
    sid: `${domain}-1105`,
    userAccountControl: 0x202,
    adminCount: null,
    primaryGroupId: 513,
    tokenGroupSids: [`${domain}-513`],
    servicePrincipalNames: 0,
  },
  ...changes,
});
const jdoe = account('msp-jdoe', `CN=msp-jdoe,OU=Tier1,OU=MSP,OU=Staff,${base}`);
const listed = account('MSP-LISTED', `CN=msp-listed,OU=Elsewhere,${base}`);
const byGuid = account('contractor', `CN=contractor,CN=Users,${base}`, { guid: '44444444-4444-4444-8444-444444444444' });
const clientAdmin = account('administrator.client', `CN=Client Admin,OU=Admins,${base}`);

function facts(group: SiteGroupFacts | null, ...accounts: SiteAccountFacts[]): SiteFacts {
  return { now, group, accounts: new Map(accounts.map((a) => [a.dn, a])) };
}
const add = (group: SiteGroupFacts, member: SiteAccountFacts, end: Date | null = inSeconds(3600)): SiteOperation => ({
  kind: 'add_members',
  groupDn: group.dn,
  memberDns: [member.dn],
  grantEndsAt: end,
});
const update = (dn: string, changes: Record<string, unknown>): SiteOperation => ({ kind: 'update_account', dn, changes });

function refused(decision: SiteDecision, code: string, mentions?: RegExp) {
  assert.equal(decision.allowed, false, `expected ${code}, got allowed`);
  if (decision.allowed) return;
  assert.equal(decision.code, code, decision.reason);
  if (mentions) assert.match(decision.reason, mentions);
}

describe('site policy: what a hostile Stint asks for is refused', () => {
  it('when the group is Domain Admins (RID 512), then it is refused as protected even though the client listed it', () => {
    refused(decideSiteOperation(policy, add(domainAdmins, jdoe), facts(domainAdmins, jdoe)), 'group_protected', /Domain Admins.*RID 512/);
  });

  it('when the group is nested inside Domain Admins (in-chain facts), then it is refused, naming the protected group', () => {
    const nested: SiteGroupFacts = { ...helpdesk, ancestors: [...helpdesk.ancestors, domainAdminsFacts] };
    refused(
      decideSiteOperation(policy, add(nested, jdoe), facts(nested, jdoe)),
      'group_protected',
      /Helpdesk.*nested inside CN=Domain Admins/,
    );
  });

  it('when an allow-listed group is protected anyway (adminCount=1, builtin SID, the client’s own list, a child domain’s root), then it is refused', () => {
    const cases: SiteGroupFacts[] = [
      { ...helpdesk, adminCount: 1 },
      { ...serverAdmins, sid: 'S-1-5-32-544', name: 'Administrators' },
      { ...helpdesk, ancestors: [{ dn: `CN=Enterprise Admins,CN=Users,DC=root`, sid: 'S-1-5-21-9-9-9-519', name: '', adminCount: null }] },
    ];
    for (const group of cases) refused(decideSiteOperation(policy, add(group, jdoe), facts(group, jdoe)), 'group_protected');
    const own = { ...policy, protectedGroupSids: [helpdesk.sid.toUpperCase()] };
    refused(decideSiteOperation(own, add(helpdesk, jdoe), facts(helpdesk, jdoe)), 'group_protected', /protected by the tenant/);
  });

  it('when the group is not on the client’s list, then it is refused', () => {
    const other = { ...helpdesk, guid: '66666666-6666-4666-8666-666666666666', sid: `${domain}-1300`, name: 'Finance' };
    refused(decideSiteOperation(policy, add(other, jdoe), facts(other, jdoe)), 'group_not_allowed', /Finance/);
  });

  it('when the account is outside the allowed OU and lists, then it is refused, naming it', () => {
    refused(
      decideSiteOperation(policy, add(helpdesk, clientAdmin), facts(helpdesk, clientAdmin)),
      'account_not_allowed',
      /administrator\.client/,
    );
    // An OU whose name only ends like the allowed one is not under it.
    const lookalike = account('x', `CN=x,OU=NotMSP,OU=Staff,${base}`);
    refused(decideSiteOperation(policy, add(helpdesk, lookalike), facts(helpdesk, lookalike)), 'account_not_allowed');
  });

  it('when one of several members is not allowed, then the whole add is refused', () => {
    const op: SiteOperation = {
      kind: 'add_members',
      groupDn: helpdesk.dn,
      memberDns: [jdoe.dn, clientAdmin.dn],
      grantEndsAt: inSeconds(60),
    };
    refused(decideSiteOperation(policy, op, facts(helpdesk, jdoe, clientAdmin)), 'account_not_allowed');
  });

  it('when the account is allowed but ineligible by Stint’s rules (a computer, a protected member), or the member is a group, then the add is refused', () => {
    const computer = account('pc1$', `CN=pc1,OU=MSP,OU=Staff,${base}`);
    computer.eligibility = { ...computer.eligibility, objectClasses: [...computer.eligibility.objectClasses, 'computer'] };
    const admin = account('msp-admin', `CN=msp-admin,OU=MSP,OU=Staff,${base}`);
    admin.eligibility = { ...admin.eligibility, tokenGroupSids: [`${domain}-512`] };
    const group = account('Nested', `CN=Nested,OU=MSP,OU=Staff,${base}`);
    group.eligibility = { ...group.eligibility, objectClasses: ['top', 'group'] };
    for (const a of [computer, admin, group])
      refused(decideSiteOperation(policy, add(helpdesk, a), facts(helpdesk, a)), 'account_not_allowed', /may not be elevated/);
  });

  it('when the site could not find the group or the account, then the add is refused', () => {
    refused(decideSiteOperation(policy, add(helpdesk, jdoe), facts(null, jdoe)), 'object_not_found');
    refused(decideSiteOperation(policy, add(helpdesk, jdoe), facts(helpdesk)), 'object_not_found');
  });

  it('when the add has no end, an end in the past, or an invalid one, then it is refused', () => {
    refused(decideSiteOperation(policy, add(helpdesk, jdoe, null), facts(helpdesk, jdoe)), 'grant_end_invalid', /must carry/);
    refused(decideSiteOperation(policy, add(helpdesk, jdoe, now), facts(helpdesk, jdoe)), 'grant_end_invalid');
    refused(decideSiteOperation(policy, add(helpdesk, jdoe, new Date(Number.NaN)), facts(helpdesk, jdoe)), 'grant_end_invalid');
  });

  it('when the grant is longer than the site’s maximum (or its TTL is), then it is refused', () => {
    refused(decideSiteOperation(policy, add(helpdesk, jdoe, inSeconds(8 * 3600 + 1)), facts(helpdesk, jdoe)), 'grant_too_long', /28800/);
    const ttl: SiteOperation = { ...(add(helpdesk, jdoe) as Extract<SiteOperation, { kind: 'add_members' }>), ttlSeconds: 8 * 3600 + 1 };
    refused(decideSiteOperation(policy, ttl, facts(helpdesk, jdoe)), 'grant_too_long');
  });

  it('when Stint asks for a password, or any credential attribute, then it is refused as a password write', () => {
    for (const attribute of ['unicodePwd', 'userPassword', 'msDS-KeyCredentialLink', 'altSecurityIdentities', 'pwdLastSet'])
      refused(
        decideSiteOperation(policy, update(jdoe.dn, { [attribute]: 'x' }), facts(null, jdoe)),
        'password_write',
        new RegExp(attribute),
      );
    // Hidden among allowed changes, and through a generic modify, too.
    refused(decideSiteOperation(policy, update(jdoe.dn, { accountExpires: '0', UNICODEPWD: 'x' }), facts(null, jdoe)), 'password_write');
    refused(decideSiteOperation(policy, { kind: 'modify_object', dn: jdoe.dn, attributes: ['unicodePwd'] }, facts(null)), 'password_write');
  });

  it('when Stint asks to create, delete or move an object, then it is refused', () => {
    refused(decideSiteOperation(policy, { kind: 'create_object', dn: `CN=evil,OU=MSP,OU=Staff,${base}` }, facts(null)), 'object_create');
    refused(decideSiteOperation(policy, { kind: 'delete_object', dn: clientAdmin.dn }, facts(null)), 'object_delete', /Client Admin/);
    const move: SiteOperation = { kind: 'move_object', dn: clientAdmin.dn, newDn: `CN=Client Admin,OU=MSP,OU=Staff,${base}` };
    refused(decideSiteOperation(policy, move, facts(null)), 'object_move');
  });

  it('when Stint asks to change an attribute outside the four, or a group’s own attributes, then it is refused', () => {
    refused(decideSiteOperation(policy, update(jdoe.dn, { description: 'x' }), facts(null, jdoe)), 'attribute_not_allowed', /description/);
    refused(
      decideSiteOperation(policy, update(jdoe.dn, { accountExpires: '0', servicePrincipalName: 'x' }), facts(null, jdoe)),
      'attribute_not_allowed',
    );
    const group: SiteOperation = { kind: 'modify_object', dn: helpdesk.dn, attributes: ['managedBy'] };
    refused(decideSiteOperation(policy, group, facts(helpdesk)), 'attribute_not_allowed', /managedBy/);
    refused(
      decideSiteOperation(policy, { kind: 'modify_object', dn: helpdesk.dn, attributes: ['member'] }, facts(helpdesk)),
      'attribute_not_allowed',
    );
  });

  it('when a userAccountControl change flips another bit than the disable bit, then it is refused', () => {
    // 0x202 → 0x10200: enabled and "password never expires" set.
    refused(
      decideSiteOperation(policy, update(jdoe.dn, { userAccountControl: 0x10200 }), facts(null, jdoe)),
      'uac_bits_changed',
      /0x10000/,
    );
    // Dropping NORMAL_ACCOUNT (0x200) while disabling.
    refused(decideSiteOperation(policy, update(jdoe.dn, { userAccountControl: 0x2 }), facts(null, jdoe)), 'uac_bits_changed');
  });

  it('when a value is not what the attribute takes, or an attribute is named twice, then it is refused', () => {
    for (const changes of [
      { userAccountControl: '512' },
      { accountExpires: -1 },
      { accountExpires: '99999999999999999999' },
      { logonHours: new Uint8Array(20) },
      { userWorkstations: 'pc1\npc2' },
      { accountExpires: '0', accountexpires: '1' },
      {},
    ])
      refused(decideSiteOperation(policy, update(jdoe.dn, changes), facts(null, jdoe)), 'value_invalid');
  });

  it('when an account outside the policy is updated, then it is refused', () => {
    refused(
      decideSiteOperation(policy, update(clientAdmin.dn, { userAccountControl: 0x200 }), facts(null, clientAdmin)),
      'account_not_allowed',
    );
    refused(
      decideSiteOperation(policy, update(clientAdmin.dn, { userAccountControl: 0x202 }), facts(null, clientAdmin)),
      'account_not_allowed',
    );
  });

  it('when Stint removes the client’s own admin from Domain Admins, then it is refused (a denial of service on the client)', () => {
    const op: SiteOperation = { kind: 'remove_members', groupDn: domainAdmins.dn, memberDns: [clientAdmin.dn] };
    refused(decideSiteOperation(policy, op, facts(domainAdmins, clientAdmin)), 'account_not_allowed', /administrator\.client/);
    refused(decideSiteOperation(policy, { ...op, memberDns: [] }, facts(domainAdmins)), 'value_invalid');
  });

  it('when the operation is unknown, then it is refused', () => {
    refused(decideSiteOperation(policy, { kind: 'other', name: 'restoreTombstone' }, facts(null)), 'operation_unknown', /restoreTombstone/);
    refused(decideSiteOperation(policy, { kind: 'read', method: 'dumpSecrets' as never }, facts(null)), 'operation_unknown');
    refused(decideSiteOperation(policy, { kind: 'bulkWrite' } as never, facts(null)), 'operation_unknown');
  });
});

describe('site policy: what a grant needs goes through', () => {
  const allowed = (decision: SiteDecision, rule: string) => assert.deepEqual(decision, { allowed: true, rule });

  it('when an allowed account is added to an allowed group within the maximum, then it is allowed (by OU, by GUID, by name in any case, by SID)', () => {
    allowed(decideSiteOperation(policy, add(helpdesk, jdoe, inSeconds(8 * 3600)), facts(helpdesk, jdoe)), 'membership_add');
    allowed(decideSiteOperation(policy, add(helpdesk, byGuid), facts(helpdesk, byGuid)), 'membership_add');
    allowed(decideSiteOperation(policy, add(serverAdmins, listed), facts(serverAdmins, listed)), 'membership_add');
  });

  it('when the OU is spelled in another case and spacing, then the account under it is still allowed', () => {
    const spelled = { ...policy, accounts: { ...policy.accounts, ous: ['ou=msp, ou=STAFF ,dc=Client,dc=EXAMPLE'] } };
    allowed(decideSiteOperation(spelled, add(helpdesk, jdoe), facts(helpdesk, jdoe)), 'membership_add');
  });

  it('when an allowed account is enabled or disabled, then it is allowed (disabling even when it has become ineligible)', () => {
    allowed(decideSiteOperation(policy, update(jdoe.dn, { userAccountControl: 0x200 }), facts(null, jdoe)), 'account_update');
    allowed(decideSiteOperation(policy, update(jdoe.dn, { userAccountControl: 0x202 }), facts(null, jdoe)), 'account_update');
    const tainted = { ...jdoe, eligibility: { ...jdoe.eligibility, adminCount: 1, userAccountControl: 0x200 } };
    allowed(decideSiteOperation(policy, update(jdoe.dn, { userAccountControl: 0x202 }), facts(null, tainted)), 'account_update');
    refused(decideSiteOperation(policy, update(jdoe.dn, { userAccountControl: 0x200 }), facts(null, tainted)), 'account_not_allowed');
  });

  it('when accountExpires, logonHours and userWorkstations are set or cleared on an allowed account, then it is allowed', () => {
    const changes = { accountExpires: '133860000000000000', logonHours: new Uint8Array(21).fill(255), userWorkstations: 'PC1,PC2' };
    allowed(decideSiteOperation(policy, update(jdoe.dn, changes), facts(null, jdoe)), 'account_update');
    allowed(
      decideSiteOperation(policy, update(jdoe.dn, { logonHours: null, userWorkstations: null }), facts(null, jdoe)),
      'account_update',
    );
  });

  it('when an allowed account is removed from any group, Domain Admins or one the client no longer lists, then it is allowed', () => {
    for (const group of [helpdesk, domainAdmins, { ...helpdesk, guid: '77777777-7777-4777-8777-777777777777' }]) {
      const op: SiteOperation = { kind: 'remove_members', groupDn: group.dn, memberDns: [jdoe.dn] };
      allowed(decideSiteOperation(policy, op, facts(group, jdoe)), 'membership_remove');
    }
  });

  it('when Stint reads, whatever it reads, then it is allowed as a read', () => {
    for (const method of siteReadMethods) allowed(decideSiteOperation(policy, { kind: 'read', method }, facts(null)), 'read');
  });

  it('when a grant ends, then the site ends it itself after the grace', () => {
    assert.equal(siteExpiryAt(policy, inSeconds(60)).toISOString(), inSeconds(180).toISOString());
  });
});

describe('DNs compared as Active Directory does', () => {
  it('when two spellings name one DN, then they normalise alike; and under means strictly below', () => {
    assert.equal(normaliseDn('CN=A\\, B , OU=X+CN=y,DC=Z'), normaliseDn('cn=a\\2c b,cn=Y+ou=x,dc=z'));
    assert.equal(isDnUnder('CN=a,OU=MSP,DC=z', 'ou=msp,dc=Z'), true);
    assert.equal(isDnUnder('OU=MSP,DC=z', 'OU=MSP,DC=z'), false);
    assert.equal(isDnUnder('CN=a,OU=MSP2,DC=z', 'OU=MSP,DC=z'), false);
    assert.equal(isDnUnder('CN=a\\,OU=MSP,DC=z', 'OU=MSP,DC=z'), false);
    assert.equal(normaliseDn('not a dn'), null);
    assert.equal(isDnUnder('CN=a,OU=MSP,DC=z', ''), false);
  });
});
