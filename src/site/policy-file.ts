// The site policy file: the client's own limits (docs/site-policy.md), written and kept by the
// client on the site's host, read by the site at start. YAML (JSON is YAML too), parsed with the
// same library as the configuration and `apply -f` files. Strict like the configuration
// (src/config/load.ts): unknown keys are refused and every problem is listed with its path. An
// empty list of accounts or of groups is refused: an empty policy must never mean "allow all".
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { dnRdns, guidPattern, normaliseDn, ridOf, sidPattern } from '../domain/ad.ts';
import { protectedBuiltinSids, protectedDomainRids } from '../domain/protected-groups.ts';
import { defaultGraceSeconds, type SitePolicy } from '../domain/site-policy.ts';

/** The longest grant a site may allow: a week, as for profiles (src/services/tenants/profile-service.ts). */
export const maxGrantSecondsRange = { min: 60, max: 7 * 24 * 3600 } as const;
/** Long enough for Stint's own revocation to finish first; short enough that a lost Stint costs little. */
export const graceSecondsRange = { min: 30, max: 3600 } as const;

const listLimit = 1000;

const guid = z
  .string()
  .regex(guidPattern, 'an objectGUID such as 0b5d3e4c-1a2b-4c3d-8e9f-0123456789ab')
  .transform((g) => g.toLowerCase());
const sid = z
  .string()
  .regex(sidPattern, 'a SID such as S-1-5-21-1111111111-2222222222-3333333333-1104')
  .transform((s) => s.toUpperCase());

/** An OU (or container) DN; a domain's root alone would allow every account of the domain. */
const ou = z.string().superRefine((dn, ctx) => {
  const rdns = dnRdns(dn);
  if (!rdns) ctx.addIssue({ code: 'custom', message: 'a DN such as OU=MSP,DC=client,DC=example' });
  else if (rdns.every((rdn) => rdn.startsWith('dc=')))
    ctx.addIssue({
      code: 'custom',
      message: 'a domain root would allow every account of the domain: name the OU that holds the MSP accounts',
    });
});

const samAccountName = z
  .string()
  .min(1)
  .max(256)
  .refine((n) => !/["/\\[\]:;|=,+*?<>@]/.test(n) && ![...n].some((c) => c.charCodeAt(0) < 0x20), 'a sAMAccountName such as msp-jdoe')
  .transform((n) => n.toLowerCase());

const list = <T extends z.ZodType>(item: T) => z.array(item).max(listLimit).default([]);

/** Why a group SID can never be granted, or null (the same rules as src/domain/protected-groups.ts). */
function alwaysProtected(groupSid: string): string | null {
  const builtin = protectedBuiltinSids[groupSid];
  if (builtin) return `${builtin} (${groupSid})`;
  const rid = ridOf(groupSid);
  return rid !== null && protectedDomainRids[rid] ? `${protectedDomainRids[rid]} (RID ${rid})` : null;
}

function duplicates(ctx: z.RefinementCtx, path: (string | number)[], values: readonly string[], key = (v: string) => v) {
  const seen = new Set<string>();
  values.forEach((value, i) => {
    const k = key(value);
    if (seen.has(k)) ctx.addIssue({ code: 'custom', path: [...path, i], message: `${value} is listed twice` });
    seen.add(k);
  });
}

/** zod's message, or `required: …` when the key is absent. */
const required = (what: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? `required: ${what}` : undefined),
});

const accountsSchema = z
  .strictObject(
    { ous: list(ou), objectGuids: list(guid), samAccountNames: list(samAccountName) },
    required('the accounts that may be elevated (ous, objectGuids, samAccountNames)'),
  )
  .superRefine((accounts, ctx) => {
    if (accounts.ous.length + accounts.objectGuids.length + accounts.samAccountNames.length === 0)
      ctx.addIssue({ code: 'custom', message: 'name at least one OU, objectGUID or sAMAccountName: no list allows no one' });
    duplicates(ctx, ['ous'], accounts.ous, (dn) => normaliseDn(dn) ?? dn);
    duplicates(ctx, ['objectGuids'], accounts.objectGuids);
    duplicates(ctx, ['samAccountNames'], accounts.samAccountNames);
  });

const groupsSchema = z
  .strictObject({ objectGuids: list(guid), sids: list(sid) }, required('the groups that may be granted (objectGuids, sids)'))
  .superRefine((groups, ctx) => {
    if (groups.objectGuids.length + groups.sids.length === 0)
      ctx.addIssue({ code: 'custom', message: 'name at least one group by objectGUID or SID: no list allows nothing' });
    groups.sids.forEach((s, i) => {
      const reason = alwaysProtected(s);
      if (reason) ctx.addIssue({ code: 'custom', path: ['sids', i], message: `${reason} is always refused: remove it` });
    });
    duplicates(ctx, ['objectGuids'], groups.objectGuids);
    duplicates(ctx, ['sids'], groups.sids);
  });

export const sitePolicyFileSchema = z
  .strictObject({
    version: z.literal(1, 'the policy format version: 1'),
    accounts: accountsSchema,
    groups: groupsSchema,
    maxGrantSeconds: z
      .number(required(`the longest grant, in seconds (${maxGrantSecondsRange.min} to ${maxGrantSecondsRange.max})`))
      .int()
      .min(maxGrantSecondsRange.min)
      .max(maxGrantSecondsRange.max),
    graceSeconds: z.number().int().min(graceSecondsRange.min).max(graceSecondsRange.max).default(defaultGraceSeconds),
    protectedGroups: list(sid).superRefine((sids, ctx) => duplicates(ctx, [], sids)),
  })
  .superRefine((file, ctx) => {
    file.groups.sids.forEach((s, i) => {
      if (file.protectedGroups.includes(s) && !alwaysProtected(s))
        ctx.addIssue({ code: 'custom', path: ['groups', 'sids', i], message: `${s} is also in protectedGroups, which always wins` });
    });
  });

export class SitePolicyError extends Error {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`${source} is not a valid site policy:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SitePolicyError';
    this.problems = problems;
  }
}

function problemsOf(error: z.ZodError): string[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${[...issue.path, key].join('.')}: unknown setting`);
    return [`${issue.path.join('.') || '(root)'}: ${issue.message}`];
  });
}

/** The policy in `text` (YAML or JSON); throws SitePolicyError listing every problem, `source` naming the file. */
export function parseSitePolicy(text: string, source: string): SitePolicy {
  let raw: unknown;
  try {
    raw = parseYaml(text); // duplicate keys are an error in `yaml`: a second value cannot hide behind the first
  } catch (error) {
    throw new SitePolicyError(source, [`(file): ${(error as Error).message.split('\n')[0]}`]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new SitePolicyError(source, ['(root): the top level must be a mapping']);
  const parsed = sitePolicyFileSchema.safeParse(raw);
  if (!parsed.success) throw new SitePolicyError(source, problemsOf(parsed.error));
  const file = parsed.data;
  return {
    accounts: { ous: file.accounts.ous, objectGuids: file.accounts.objectGuids, samAccountNames: file.accounts.samAccountNames },
    groups: { objectGuids: file.groups.objectGuids, sids: file.groups.sids },
    maxGrantSeconds: file.maxGrantSeconds,
    graceSeconds: file.graceSeconds,
    protectedGroupSids: file.protectedGroups,
  };
}

/** Reads and validates the policy file at `path`. */
export function readSitePolicyFile(path: string): SitePolicy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SitePolicyError(path, [`(file): cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  return parseSitePolicy(text, path);
}
