// The file format of `stint apply -f`: tenants with their profiles. Secrets are never in the file:
// a tenant's bind password comes from the environment variable the file names.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { defaultInactiveDays, defaultReviewSchedule, inactiveDaysRange, reviewScheduleProblem } from '../domain/review.ts';
import { defaultRiskThreshold, riskThresholdRange } from '../domain/risk.ts';
import { driftModes } from '../domain/tenant.ts';
import type { TenantPlan } from '../services/tenants/index.ts';
import { profileInputSchema } from '../services/tenants/index.ts';

const fileSchema = z.strictObject({
  tenants: z.array(
    z
      .strictObject({
        id: z.string().min(1).max(40),
        displayName: z.string().min(1),
        timeZone: z.string().min(1),
        keepAccountsDisabled: z.boolean().default(true),
        slackChannel: z
          .string()
          .regex(/^[CG][A-Z0-9]{2,20}$/, 'a Slack channel id such as C012AB3CD')
          .nullable()
          .default(null),
        driftMode: z.enum(driftModes).default('remove'),
        reviewSchedule: z.string().min(9).max(100).default(defaultReviewSchedule),
        inactiveDays: z.number().int().min(inactiveDaysRange.min).max(inactiveDaysRange.max).default(defaultInactiveDays),
        disableInactive: z.boolean().default(false),
        riskThreshold: z.number().int().min(riskThresholdRange.min).max(riskThresholdRange.max).default(defaultRiskThreshold),
        directory: z.strictObject({
          url: z.string().min(1),
          bindDn: z.string().min(3),
          baseDn: z.string().min(3),
          caFile: z.string().min(1).describe('PEM file, relative to this file'),
          bindPasswordEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name'),
        }),
        profiles: z.array(profileInputSchema).default([]),
        /** The tenant's own protected groups (docs/security-model.md, Protected groups), by DN or objectGUID; absent: the list is left as it is. */
        protectedGroups: z.array(z.string().min(3).max(1024)).max(200).optional(),
      })
      .superRefine((tenant, ctx) => {
        const problem = reviewScheduleProblem(tenant.reviewSchedule, tenant.timeZone);
        if (problem) ctx.addIssue({ code: 'custom', path: ['reviewSchedule'], message: problem });
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
