// The client's own limits, enforced by the Stint Site whatever Stint asks (docs/site-policy.md):
// the policy a client writes in its site's policy file, and the decision the site makes on every
// directory operation before it performs it. Pure: the site reads the facts (the group, its chain
// of parents, the accounts named, the time) and this decides; a refusal is logged at the site and
// reported to Stint. The protected-group rules are Stint's own (docs/security-model.md, Protected
// groups; src/domain/protected-groups.ts), evaluated here from what the site itself read.
import { accountIneligibility, type AccountEligibilityFacts } from './account-eligibility.ts';
import { accountDisableFlag, isDnUnder } from './ad.ts';
import { protectionReason, type GroupFacts } from './protected-groups.ts';

export interface SitePolicy {
  /** Who may be elevated: an account under one of the OUs (at any depth) or in one of the lists. */
  accounts: {
    ous: readonly string[];
    /** Lower case. */
    objectGuids: readonly string[];
    /** Compared case-insensitively. */
    samAccountNames: readonly string[];
  };
  /** Which groups may be granted, by objectGUID (lower case) or SID (upper case). */
  groups: { objectGuids: readonly string[]; sids: readonly string[] };
  /** The longest an add may ask for: its grant's end is at most now + this. */
  maxGrantSeconds: number;
  /** After a grant's end, how long the site waits for Stint before ending it itself. */
  graceSeconds: number;
  /** The client's own protected groups (SIDs, upper case), refused like the built-in ones. */
  protectedGroupSids: readonly string[];
}

export const defaultGraceSeconds = 120;

/** The reads Stint's directory port makes (src/services/ports/directory.ts, TenantDirectory). */
export const siteReadMethods = [
  'ping',
  'findAccount',
  'accountByGuid',
  'accountDnsByGuid',
  'groupByDn',
  'groupByGuid',
  'searchGroups',
  'findProtection',
  'ancestorsOf',
  'currentMembers',
  'accountGroups',
  'groupMembers',
  'supportsTtlMembership',
] as const;
export type SiteReadMethod = (typeof siteReadMethods)[number];

/**
 * What Stint asks the site to do, as its directory port asks it (TenantDirectory), plus the writes
 * the port never makes but a compromised Stint could ask for over the channel: every one of those
 * is named so that it is refused by name, and anything else is `other`.
 */
export type SiteOperation =
  | { kind: 'read'; method: SiteReadMethod }
  | { kind: 'add_members'; groupDn: string; memberDns: readonly string[]; grantEndsAt: Date | null; ttlSeconds?: number }
  | { kind: 'remove_members'; groupDn: string; memberDns: readonly string[] }
  /** Attribute names as asked (any case); values as asked, unchecked until decided. */
  | { kind: 'update_account'; dn: string; changes: Readonly<Record<string, unknown>> }
  | { kind: 'modify_object'; dn: string; attributes: readonly string[] }
  | { kind: 'create_object'; dn: string }
  | { kind: 'delete_object'; dn: string }
  | { kind: 'move_object'; dn: string; newDn: string }
  | { kind: 'other'; name: string };

/** An account as the site read it (by the reference Stint gave), never as Stint described it. */
export interface SiteAccountFacts {
  guid: string;
  /** Its DN now, as read: the OU rule is applied to this one. */
  dn: string;
  samAccountName: string;
  /** Its userAccountControl now is `eligibility.userAccountControl`. */
  eligibility: AccountEligibilityFacts;
}

/** The group an add names, as the site read it, with every group that contains it at any depth. */
export interface SiteGroupFacts extends GroupFacts {
  guid: string;
  /**
   * Every group that contains it, at any depth: the in-chain rule (1.2.840.113556.1.4.1941) from
   * the domain's root, and in a child domain the forest root's groups reached through memberOf.
   */
  ancestors: readonly GroupFacts[];
}

export interface SiteFacts {
  now: Date;
  /** The group the add or removal names; null: not found. Needed for adds. */
  group?: SiteGroupFacts | null;
  /** Each object the operation names, by the exact value Stint gave (DN, `<GUID=…>` or `<GUID=…>;DN`); absent: not found. */
  accounts: ReadonlyMap<string, SiteAccountFacts>;
}

export const siteRefusalCodes = [
  'operation_unknown',
  'object_create',
  'object_delete',
  'object_move',
  'object_not_found',
  'password_write',
  'attribute_not_allowed',
  'uac_bits_changed',
  'value_invalid',
  'account_not_allowed',
  'group_not_allowed',
  'group_protected',
  'grant_end_invalid',
  'grant_too_long',
] as const;
export type SiteRefusalCode = (typeof siteRefusalCodes)[number];

/** Which rule let an operation through (for the site's own log). */
export type SiteAllowRule = 'read' | 'membership_add' | 'membership_remove' | 'account_update';

export type SiteDecision = { allowed: true; rule: SiteAllowRule } | { allowed: false; code: SiteRefusalCode; reason: string };

const refuse = (code: SiteRefusalCode, reason: string): SiteDecision => ({ allowed: false, code, reason });

/** When the site ends a grant itself if Stint has not: its end plus the grace. */
export function siteExpiryAt(policy: SitePolicy, grantEndsAt: Date): Date {
  return new Date(grantEndsAt.getTime() + policy.graceSeconds * 1000);
}

/** Why the account may not be elevated by this site, or null. */
export function accountRefusal(policy: SitePolicy, account: SiteAccountFacts): string | null {
  const { ous, objectGuids, samAccountNames } = policy.accounts;
  const listed =
    objectGuids.includes(account.guid.toLowerCase()) ||
    samAccountNames.some((name) => name.toLowerCase() === account.samAccountName.toLowerCase()) ||
    ous.some((ou) => isDnUnder(account.dn, ou));
  if (!listed) return `${account.samAccountName} (${account.dn}) is outside the accounts this site allows`;
  return null;
}

/** Why the group may not be granted by this site, or null: protected first, then the allow-list. */
export function groupRefusal(policy: SitePolicy, group: SiteGroupFacts): { code: SiteRefusalCode; reason: string } | null {
  const own = protectionReason(group, policy.protectedGroupSids);
  if (own) return { code: 'group_protected', reason: `${group.name} (${group.dn}) is protected: ${own}` };
  for (const ancestor of group.ancestors) {
    const reason = protectionReason(ancestor, policy.protectedGroupSids);
    if (reason)
      return {
        code: 'group_protected',
        reason: `${group.name} (${group.dn}) is nested inside ${ancestor.dn}, which is protected: ${reason}`,
      };
  }
  const allowed = policy.groups.objectGuids.includes(group.guid.toLowerCase()) || policy.groups.sids.includes(group.sid.toUpperCase());
  if (!allowed) return { code: 'group_not_allowed', reason: `${group.name} (${group.dn}) is not a group this site allows` };
  return null;
}

/** Every member must be read, allowed by the policy, and (for adds and updates) eligible as Stint's own rules say. */
function membersRefusal(policy: SitePolicy, facts: SiteFacts, refs: readonly string[], eligible: boolean): SiteDecision | null {
  if (refs.length === 0) return refuse('value_invalid', 'The operation names no account');
  for (const ref of refs) {
    const account = facts.accounts.get(ref);
    if (!account) return refuse('object_not_found', `The site found no account ${ref}`);
    const outside = accountRefusal(policy, account);
    if (outside) return refuse('account_not_allowed', outside);
    const ineligible = eligible ? accountIneligibility(account.eligibility, policy.protectedGroupSids) : null;
    if (ineligible) return refuse('account_not_allowed', `${account.samAccountName} (${account.dn}) may not be elevated: ${ineligible}`);
  }
  return null;
}

function grantEndRefusal(policy: SitePolicy, op: Extract<SiteOperation, { kind: 'add_members' }>, now: Date): SiteDecision | null {
  const end = op.grantEndsAt;
  if (!(end instanceof Date) || Number.isNaN(end.getTime()))
    return refuse('grant_end_invalid', `An add to ${op.groupDn} must carry its grant's end`);
  if (end.getTime() <= now.getTime())
    return refuse('grant_end_invalid', `An add to ${op.groupDn} whose grant ended at ${end.toISOString()} is refused`);
  const latest = now.getTime() + policy.maxGrantSeconds * 1000;
  if (end.getTime() > latest)
    return refuse(
      'grant_too_long',
      `An add to ${op.groupDn} until ${end.toISOString()} is longer than this site's longest grant (${policy.maxGrantSeconds} s)`,
    );
  if (op.ttlSeconds !== undefined && !(Number.isInteger(op.ttlSeconds) && op.ttlSeconds > 0 && op.ttlSeconds <= policy.maxGrantSeconds))
    return refuse('grant_too_long', `A membership TTL of ${op.ttlSeconds} s is not within this site's longest grant`);
  return null;
}

function decideAdd(policy: SitePolicy, op: Extract<SiteOperation, { kind: 'add_members' }>, facts: SiteFacts): SiteDecision {
  const ended = grantEndRefusal(policy, op, facts.now);
  if (ended) return ended;
  if (!facts.group) return refuse('object_not_found', `The site found no group ${op.groupDn}`);
  const group = groupRefusal(policy, facts.group);
  if (group) return refuse(group.code, group.reason);
  return membersRefusal(policy, facts, op.memberDns, true) ?? { allowed: true, rule: 'membership_add' };
}

/**
 * Removing a membership takes access away, so it is allowed from any group, protected or not and
 * listed or not (a grant made before the client narrowed its list must still end), but only for
 * accounts this site allows: a compromised Stint must not remove the client's own administrators
 * from Domain Admins, which would deny the client its own domain.
 */
function decideRemove(policy: SitePolicy, op: Extract<SiteOperation, { kind: 'remove_members' }>, facts: SiteFacts): SiteDecision {
  return membersRefusal(policy, facts, op.memberDns, false) ?? { allowed: true, rule: 'membership_remove' };
}

/** The only attributes of an account the site writes (lower case, as LDAP compares them). */
export const accountAttributes: ReadonlySet<string> = new Set(['useraccountcontrol', 'accountexpires', 'logonhours', 'userworkstations']);

/**
 * Attributes that are, or that set, a way to sign in as the account: its password and hashes,
 * shadow credentials (msDS-KeyCredentialLink), certificate mappings (altSecurityIdentities) and
 * pwdLastSet. Always refused, under their own code.
 */
export const credentialAttributes: ReadonlySet<string> = new Set([
  'unicodepwd',
  'userpassword',
  'dbcspwd',
  'ntpwdhistory',
  'lmpwdhistory',
  'supplementalcredentials',
  'pwdlastset',
  'msds-keycredentiallink',
  'altsecurityidentities',
]);

const maxFileTime = 9_223_372_036_854_775_807n;

/** Why a value is not one the attribute takes, or null. `current` is the account's userAccountControl now. */
function valueProblem(attribute: string, value: unknown, current: number): { code: SiteRefusalCode; reason: string } | null {
  const invalid = (what: string) => ({ code: 'value_invalid' as const, reason: `${attribute} must be ${what}` });
  switch (attribute) {
    case 'useraccountcontrol': {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) return invalid('a 32-bit flag set');
      const flipped = ((value ^ current) >>> 0) & ~accountDisableFlag;
      if (flipped === 0) return null;
      return {
        code: 'uac_bits_changed',
        reason: `only the disable bit of userAccountControl may change (0x${flipped.toString(16)} would too)`,
      };
    }
    case 'accountexpires':
      return typeof value === 'string' && /^\d{1,19}$/.test(value) && BigInt(value) <= maxFileTime
        ? null
        : invalid('a FILETIME in decimal');
    case 'logonhours':
      return value === null || (value instanceof Uint8Array && value.length === 21) ? null : invalid('21 bytes or cleared');
    default: // userworkstations
      return value === null || (typeof value === 'string' && value.length <= 1024 && ![...value].some((c) => c.charCodeAt(0) < 0x20))
        ? null
        : invalid('a list of workstation names or cleared');
  }
}

/** The changes by attribute name in lower case, or a refusal: a credential, another attribute, a name given twice. */
function accountChanges(op: Extract<SiteOperation, { kind: 'update_account' }>): Map<string, unknown> | SiteDecision {
  const names = Object.keys(op.changes);
  if (names.length === 0) return refuse('value_invalid', `An update of ${op.dn} changes nothing`);
  const credential = names.find((n) => credentialAttributes.has(n.toLowerCase()));
  if (credential) return refuse('password_write', `Writing ${credential} on ${op.dn} is refused: the site never writes a credential`);
  const other = names.filter((n) => !accountAttributes.has(n.toLowerCase()));
  if (other.length)
    return refuse(
      'attribute_not_allowed',
      `Changing ${other.join(', ')} on ${op.dn} is refused: only ${[...accountAttributes].join(', ')}`,
    );
  const changes = new Map(names.map((n) => [n.toLowerCase(), op.changes[n]]));
  if (changes.size !== names.length) return refuse('value_invalid', `An update of ${op.dn} names an attribute twice`);
  return changes;
}

/**
 * An update of an allowed account, limited to the four attributes a grant writes; of
 * userAccountControl only the disable bit may change. Disabling alone takes access away and needs
 * only an allowed account; anything else also needs it to be eligible as Stint's own rules say.
 */
function decideAccountUpdate(policy: SitePolicy, op: Extract<SiteOperation, { kind: 'update_account' }>, facts: SiteFacts): SiteDecision {
  const changes = accountChanges(op);
  if (!(changes instanceof Map)) return changes;
  const account = facts.accounts.get(op.dn);
  const uac = changes.get('useraccountcontrol');
  const onlyDisables = changes.size === 1 && typeof uac === 'number' && (uac & accountDisableFlag) !== 0;
  const members = membersRefusal(policy, facts, [op.dn], !onlyDisables);
  if (members || !account) return members ?? refuse('object_not_found', `The site found no account ${op.dn}`);
  for (const [attribute, value] of changes) {
    const problem = valueProblem(attribute, value, account.eligibility.userAccountControl);
    if (problem) return refuse(problem.code, `${account.samAccountName}: ${problem.reason}`);
  }
  return { allowed: true, rule: 'account_update' };
}

function decideModify(op: Extract<SiteOperation, { kind: 'modify_object' }>): SiteDecision {
  const credential = op.attributes.find((a) => credentialAttributes.has(a.toLowerCase()));
  if (credential) return refuse('password_write', `Writing ${credential} on ${op.dn} is refused: the site never writes a credential`);
  const names = op.attributes.length ? op.attributes.join(', ') : '(none)';
  return refuse('attribute_not_allowed', `Changing ${names} on ${op.dn} is refused: the site writes only what a grant needs`);
}

/**
 * The decision on one operation Stint asks for. Reads are allowed: Stint needs them for
 * activation checks, read-backs, drift, reviews, group search and account linking, and they
 * change nothing. Writes are allowed only as a grant needs them; anything else is refused.
 */
export function decideSiteOperation(policy: SitePolicy, op: SiteOperation, facts: SiteFacts): SiteDecision {
  switch (op.kind) {
    case 'read':
      if ((siteReadMethods as readonly string[]).includes(op.method)) return { allowed: true, rule: 'read' };
      return refuse('operation_unknown', `${String(op.method)} is not a read the site knows`);
    case 'add_members':
      return decideAdd(policy, op, facts);
    case 'remove_members':
      return decideRemove(policy, op, facts);
    case 'update_account':
      return decideAccountUpdate(policy, op, facts);
    case 'modify_object':
      return decideModify(op);
    case 'create_object':
      return refuse('object_create', `Creating ${op.dn} is refused: the site never creates an object`);
    case 'delete_object':
      return refuse('object_delete', `Deleting ${op.dn} is refused: the site never deletes an object`);
    case 'move_object':
      return refuse('object_move', `Moving or renaming ${op.dn} is refused: a move could bring an account under an allowed OU`);
    case 'other':
      return refuse('operation_unknown', `${op.name} is not an operation the site performs`);
    default:
      // A kind the union does not know (a newer or hostile Stint): refused, never guessed at.
      return refuse('operation_unknown', 'The operation is not one the site performs');
  }
}
