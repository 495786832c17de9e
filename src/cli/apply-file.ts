// The file format of `stint apply -f`: tenants with their profiles. Secrets are never in the file:
// a tenant's bind password comes from the environment variable the file names.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { roles } from '../domain/roles.ts';
import type { TenantPlan } from '../services/apply-service.ts';

const hhmm = z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/, 'HH:MM');

const profileSchema = z.strictObject({
  name: z.string().min(1).max(64),
  description: z.string().max(500).optional(),
  groups: z.array(z.string().min(3)).min(1),
  eligibleTechnicians: z.array(z.string()).optional(),
  eligibleRoles: z.array(z.enum(roles)).optional(),
  defaultDurationSeconds: z.number().int().positive(),
  maxDurationSeconds: z.number().int().positive(),
  windows: z.array(z.strictObject({ days: z.array(z.number().int().min(0).max(6)).min(1), start: hhmm, end: hhmm })).optional(),
  workstations: z.array(z.string()).optional(),
  requireJustification: z.boolean().optional(),
  ticketPattern: z.string().nullable().optional(),
});

const fileSchema = z.strictObject({
  tenants: z.array(
    z.strictObject({
      id: z.string().min(1).max(40),
      displayName: z.string().min(1),
      timeZone: z.string().min(1),
      keepAccountsDisabled: z.boolean().default(true),
      directory: z.strictObject({
        url: z.string().min(1),
        bindDn: z.string().min(3),
        baseDn: z.string().min(3),
        caFile: z.string().min(1).describe('PEM file, relative to this file'),
        bindPasswordEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name'),
      }),
      profiles: z.array(profileSchema).default([]),
    }),
  ),
});

export function readApplyFile(path: string, env: NodeJS.ProcessEnv): TenantPlan[] {
  const parsed = fileSchema.safeParse(parseYaml(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    throw new Error(`${path} is not valid:\n${parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  const problems: string[] = [];
  const plans = parsed.data.tenants.map((tenant) => {
    const bindPassword = env[tenant.directory.bindPasswordEnv];
    if (!bindPassword) problems.push(`tenant ${tenant.id}: ${tenant.directory.bindPasswordEnv} is not set`);
    const { caFile, bindPasswordEnv: _env, ...directory } = tenant.directory;
    return {
      ...tenant,
      directory: { ...directory, bindPassword: bindPassword ?? '', caCertificate: readFileSync(resolve(dirname(path), caFile), 'utf8') },
    };
  });
  if (problems.length) throw new Error(problems.join('\n'));
  return plans;
}
