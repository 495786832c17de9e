// The one typed configuration object. Defaults live here and in config/default.yaml; secrets have
// no defaults. Unknown keys are errors, so a typo is reported instead of silently ignored.
import { z } from 'zod';

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const commaList = z.preprocess(
  (value) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value),
  z.array(z.string().min(1)),
);

export const configSchema = z.strictObject({
  mode: z.enum(['production', 'development']).default('production'),
  dataDir: z.string().min(1).default('./data'),
  server: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.coerce.number().int().min(0).max(65535).default(8080),
      publicUrl: z.url().optional(),
      trustProxy: z.union([z.boolean(), z.coerce.number().int().min(0), z.string()]).default(false),
      bodyLimitBytes: z.coerce.number().int().positive().max(10 * 1024 * 1024).default(64 * 1024),
    })
    .prefault({}),
  database: z.strictObject({ url: z.string().min(1).default('sqlite:stint.db') }).prefault({}),
  redis: z.strictObject({ url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').default('redis://127.0.0.1:6379') }).prefault({}),
  auth: z
    .strictObject({
      issuer: z.string().min(1).default('stint'),
      audience: z.string().min(1).default('stint-api'),
      accessTokenTtlSeconds: seconds(900),
      refreshIdleSeconds: seconds(1800),
      refreshAbsoluteSeconds: seconds(43_200),
      mfaChallengeTtlSeconds: seconds(300),
      retiredSigningKeyGraceSeconds: seconds(86_400),
      totpIssuer: z.string().min(1).default('Stint'),
      mfaMaxFailures: z.coerce.number().int().min(1).max(20).default(5),
      mfaLockoutSeconds: seconds(900),
      ldap: z
        .strictObject({
          url: z.string().regex(/^ldaps?:\/\//, 'must be an ldaps:// URL'),
          caFile: z.string().min(1),
          userPrincipalSuffix: z.string().min(1),
        })
        .optional(),
    })
    .prefault({}),
  directory: z
    .strictObject({
      timeoutSeconds: seconds(10),
      connectionsPerTenant: z.coerce.number().int().min(1).max(32).default(4),
    })
    .prefault({}),
  elevation: z
    .strictObject({
      /** accountExpires is set this long after a grant's end, so AD stops logons even if Stint is down. */
      accountExpirySkewSeconds: z.coerce.number().int().min(0).max(3600).default(300),
      /** A grant still not revoked this long after its end raises an alert. */
      overdueAlertSeconds: seconds(120),
      /** An elevation left `activating` or `revoking` this long is finished or undone by the reconciler. */
      stuckAfterSeconds: seconds(120),
    })
    .prefault({}),
  queue: z
    .strictObject({
      /** Redis key prefix; one per deployment (tests use one per test file). */
      prefix: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('stint'),
      revocationConcurrency: z.coerce.number().int().min(1).max(5000).default(200),
      reconcileIntervalSeconds: seconds(30),
      /** Removals for the same group arriving within this window go to the directory as one modify. */
      batchLingerMs: z.coerce.number().int().min(0).max(5000).default(25),
      maxBatch: z.coerce.number().int().min(1).max(10_000).default(5000),
      batchesPerTenant: z.coerce.number().int().min(1).max(32).default(2),
    })
    .prefault({}),
  rateLimit: z
    .strictObject({
      windowSeconds: seconds(60),
      loginPerWindow: z.coerce.number().int().positive().default(10),
      mfaPerWindow: z.coerce.number().int().positive().default(10),
    })
    .prefault({}),
  audit: z.strictObject({ retentionDays: z.coerce.number().int().min(7, 'must be at least 7 days').default(400) }).prefault({}),
  logging: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
  secrets: z
    .strictObject({
      /** 32 bytes, base64. From STINT_SECRETS__MASTER_KEY, never from a committed file. */
      masterKey: z.string().min(1).optional(),
      /** A file holding the base64 master key (e.g. a Docker or Kubernetes secret). */
      masterKeyFile: z.string().min(1).optional(),
      /** Earlier master keys, still able to open secrets until `stint keys rotate-master` has run. */
      previousMasterKeys: commaList.default([]),
    })
    .prefault({})
    .refine((s) => s.masterKey !== undefined || s.masterKeyFile !== undefined, {
      message: 'a master key is required: set STINT_SECRETS__MASTER_KEY or STINT_SECRETS__MASTER_KEY_FILE',
    })
    .refine((s) => !(s.masterKey !== undefined && s.masterKeyFile !== undefined), {
      message: 'set the master key or the master key file, not both',
    }),
});

export type Config = z.infer<typeof configSchema>;

/** Paths of configuration values that are secret or may embed one, masked when printed. */
export const secretPaths = ['secrets.masterKey', 'secrets.previousMasterKeys'] as const;
export const urlPathsWithCredentials = ['database.url', 'redis.url'] as const;
