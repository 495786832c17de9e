// The one typed configuration object. Defaults live here and in config/default.yaml; secrets have
// no defaults. Unknown keys are errors, so a typo is reported instead of silently ignored.
import { z } from 'zod';
import { DomainError } from '../domain/errors.ts';
import { riskDefaults } from '../domain/risk.ts';
import { assertDirectoryUrlAllowed } from '../domain/tenant.ts';

/**
 * A number, also given as a string of one (environment variables are strings). Unlike zod's
 * coercion, an empty string or a YAML key with no value is an error rather than 0.
 */
const numeric = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value), schema);
const seconds = (fallback: number) => numeric(z.number().int().positive()).default(fallback);

const base64Text = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * What is wrong with the text of a master key (32 bytes, base64; surrounding whitespace is
 * ignored), or undefined when nothing is. The answer never repeats the key.
 */
export function masterKeyProblem(text: string): string | undefined {
  const trimmed = text.trim();
  if (!base64Text.test(trimmed)) return 'is not base64 text (a master key is 32 random bytes, base64-encoded)';
  const length = Buffer.from(trimmed, 'base64').length;
  if (length !== 32) return `must be 32 bytes, base64-encoded (this one is ${length} bytes)`;
  return undefined;
}

const masterKeyText = z.string().superRefine((text, ctx) => {
  const problem = masterKeyProblem(text);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const commaList = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : value,
  z.array(z.string().min(1)),
);

export const configSchema = z
  .strictObject({
    mode: z.enum(['production', 'development']).default('production'),
    dataDir: z.string().min(1).default('./data'),
    server: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: numeric(z.number().int().min(0).max(65535)).default(8080),
        publicUrl: z.url().optional(),
        trustProxy: z.union([z.boolean(), numeric(z.number().int().min(0)), z.string().min(1)]).default(false),
        bodyLimitBytes: numeric(
          z
            .number()
            .int()
            .positive()
            .max(10 * 1024 * 1024),
        ).default(64 * 1024),
      })
      .prefault({}),
    database: z.strictObject({ url: z.string().min(1).default('sqlite:stint.db') }).prefault({}),
    redis: z
      .strictObject({
        url: z
          .string()
          .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
          .default('redis://127.0.0.1:6379'),
      })
      .prefault({}),
    auth: z
      .strictObject({
        issuer: z.string().min(1).default('stint'),
        audience: z.string().min(1).default('stint-api'),
        accessTokenTtlSeconds: seconds(900),
        refreshIdleSeconds: seconds(1800),
        refreshAbsoluteSeconds: seconds(43_200),
        mfaChallengeTtlSeconds: seconds(300),
        totpIssuer: z.string().min(1).default('Stint'),
        mfaMaxFailures: numeric(z.number().int().min(1).max(20)).default(5),
        mfaLockoutSeconds: seconds(900),
        ldap: z
          .strictObject({
            /** ldaps:// (plain ldap:// only in development mode; checked with the mode, below). */
            url: z.string().min(1),
            caFile: z.string().min(1),
            userPrincipalSuffix: z.string().min(1),
          })
          .optional(),
      })
      .prefault({}),
    directory: z
      .strictObject({
        timeoutSeconds: seconds(10),
        connectionsPerTenant: numeric(z.number().int().min(1).max(32)).default(4),
      })
      .prefault({}),
    elevation: z
      .strictObject({
        /** accountExpires is set this long after a grant's end, so AD stops logons even if Stint is down. */
        accountExpirySkewSeconds: numeric(z.number().int().min(0).max(3600)).default(300),
        /** A grant still not revoked this long after its end raises an alert. */
        overdueAlertSeconds: seconds(120),
        /** An elevation left `revoking` this long (or `activating` with no lease, from before leases) is finished or undone by the reconciler. */
        stuckAfterSeconds: seconds(120),
        /**
         * The lease of an activation in flight, renewed every third of it by the process doing it; once
         * it lapses (that process died) the activation is undone at the next lease check.
         */
        activationLeaseSeconds: numeric(z.number().int().min(3).max(300)).default(15),
      })
      .prefault({}),
    /** Risk signals (docs/security-model.md, Risk signals); the points and the baseline's rule are in src/domain/risk.ts, thresholds are per tenant. */
    risk: z
      .strictObject({
        /** Requests into `fanOutTenants` or more tenants within this many minutes are a fan-out. */
        fanOutWindowMinutes: numeric(z.number().int().min(1).max(1440)).default(riskDefaults.fanOut.windowMinutes),
        fanOutTenants: numeric(z.number().int().min(2).max(100)).default(riskDefaults.fanOut.tenants),
        /** Wrong TOTP codes and lockouts this recent raise the score. */
        mfaWindowHours: numeric(z.number().int().min(1).max(720)).default(riskDefaults.mfa.windowHours),
        /** How far back a technician's usual hours are learned from. */
        baselineLookbackDays: numeric(z.number().int().min(7).max(730)).default(riskDefaults.baseline.lookbackDays),
      })
      .prefault({}),
    queue: z
      .strictObject({
        /** Redis key prefix; one per deployment (tests use one per test file). */
        prefix: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/)
          .default('stint'),
        revocationConcurrency: numeric(z.number().int().min(1).max(5000)).default(200),
        reconcileIntervalSeconds: seconds(30),
        /** How often the worker looks for activations whose lease has lapsed (a cheap query; the reconciler checks too). */
        leaseCheckIntervalSeconds: numeric(z.number().int().min(1).max(60)).default(5),
        /** Removals for the same group arriving within this window go to the directory as one modify. */
        batchLingerMs: numeric(z.number().int().min(0).max(5000)).default(25),
        maxBatch: numeric(z.number().int().min(1).max(10_000)).default(5000),
        batchesPerTenant: numeric(z.number().int().min(1).max(32)).default(2),
      })
      .prefault({}),
    rateLimit: z
      .strictObject({
        windowSeconds: seconds(60),
        loginPerWindow: numeric(z.number().int().positive()).default(10),
        mfaPerWindow: numeric(z.number().int().positive()).default(10),
        /** /readyz calls per address and window (load balancers probe every few seconds). */
        readyPerWindow: numeric(z.number().int().positive()).default(120),
      })
      .prefault({}),
    siem: z
      .strictObject({
        /** Where the audit chain is forwarded (docs/architecture.md, SIEM forwarding). None by default. */
        targets: z
          .array(
            z.strictObject({
              /** Names the target's cursor in the store: renaming a target starts it again from the first event. */
              name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (at most 64)'),
              host: z.string().min(1),
              port: numeric(z.number().int().min(1).max(65535)),
              protocol: z.enum(['tcp', 'tls']),
              /** PEM CA certificate that signed the target's (tls; default: the system's CAs). */
              caFile: z.string().min(1).optional(),
              format: z.enum(['json', 'cef']).default('json'),
              /** Plain tcp to a host other than loopback, in production mode. */
              allowPlaintext: z.boolean().default(false),
            }),
          )
          .default([])
          .superRefine((targets, ctx) => {
            const seen = new Set<string>();
            targets.forEach((t, i) => {
              if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `the target name ${t.name} is used twice` });
              seen.add(t.name);
              if (t.protocol === 'tcp' && t.caFile)
                ctx.addIssue({ code: 'custom', path: [i, 'caFile'], message: 'caFile is for protocol tls' });
            });
          }),
        /** HOSTNAME in each syslog message (default: this machine's host name). */
        hostname: z
          .string()
          .regex(/^[\x21-\x7e]{1,255}$/)
          .optional(),
        /** Syslog facility (13: log audit). */
        facility: numeric(z.number().int().min(0).max(23)).default(13),
        /** How often the worker forwards new events. */
        intervalMs: numeric(z.number().int().min(100).max(3_600_000)).default(5000),
        batchSize: numeric(z.number().int().min(1).max(10_000)).default(500),
        /** Events waiting for one target beyond which an alert is raised (audit, log, Slack alert channel). */
        backlogAlertThreshold: numeric(z.number().int().min(1)).default(10_000),
        connectTimeoutSeconds: seconds(10),
        retryMaxSeconds: seconds(300),
      })
      .prefault({}),
    audit: z
      .strictObject({
        /** Events older than this are purged once checkpointed and forwarded; never below 7 days. */
        retentionDays: numeric(z.number().int().min(7, 'must be at least 7 days')).default(400),
        /** The worker signs a checkpoint of the chain head this often (when the head has moved). */
        checkpointIntervalSeconds: seconds(900),
        /** How often the worker runs the retention purge. */
        purgeIntervalSeconds: seconds(3600),
      })
      .prefault({}),
    logging: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
    secrets: z
      .strictObject({
        /** 32 bytes, base64. From STINT_SECRETS__MASTER_KEY, never from a committed file. */
        masterKey: masterKeyText.optional(),
        /** A file holding the base64 master key (e.g. a Docker or Kubernetes secret). */
        masterKeyFile: z.string().min(1).optional(),
        /** Earlier master keys, still able to open secrets until `stint keys rotate-master` has run. */
        previousMasterKeys: commaList.pipe(z.array(masterKeyText)).default([]),
      })
      .prefault({})
      .refine((s) => s.masterKey !== undefined || s.masterKeyFile !== undefined, {
        message: 'a master key is required: set STINT_SECRETS__MASTER_KEY or STINT_SECRETS__MASTER_KEY_FILE',
      })
      .refine((s) => !(s.masterKey !== undefined && s.masterKeyFile !== undefined), {
        message: 'set the master key or the master key file, not both',
      }),
    metrics: z
      .strictObject({
        /**
         * /metrics names every tenant and their activity: Prometheus sends this bearer token
         * (Authorization: Bearer …), given here, from STINT_METRICS__TOKEN, or from a file. At least 32
         * characters.
         */
        token: z.string().min(32, 'at least 32 characters').optional(),
        tokenFile: z.string().min(1).optional(),
        /**
         * Serve /metrics on its own address (a port only the monitoring network reaches) instead of the
         * API's. With neither a token nor an address, /metrics is open in development mode only.
         */
        listen: z
          .strictObject({ host: z.string().min(1).default('127.0.0.1'), port: numeric(z.number().int().min(0).max(65535)) })
          .optional(),
      })
      .prefault({})
      .refine((m) => !(m.token !== undefined && m.tokenFile !== undefined), {
        message: 'set token or tokenFile, not both',
        path: ['token'],
      }),
    slack: z
      .strictObject({
        /** Slash commands, approval buttons and DMs (docs/architecture.md, Slack). Off unless turned on. */
        enabled: z.boolean().default(false),
        /** Slack's Web API. https, except on loopback (the tests' local fake Slack). */
        apiUrl: z
          .url()
          .default('https://slack.com/api/')
          .refine((u) => u.startsWith('https://') || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(u), 'must be an https:// URL'),
        /** The bot token (xoxb-…), from STINT_SLACK__BOT_TOKEN or a file; never committed. */
        botToken: z.string().min(1).optional(),
        botTokenFile: z.string().min(1).optional(),
        /** The app's signing secret: every request from Slack is verified with it. */
        signingSecret: z.string().min(1).optional(),
        signingSecretFile: z.string().min(1).optional(),
        /** The channel id alerts go to (lockouts, overdue revocations, kill switches). */
        alertChannel: z.string().min(1).optional(),
        /** The requester is told this long before their grant ends. */
        expiryWarningSeconds: seconds(600),
      })
      .prefault({})
      .superRefine((s, ctx) => {
        if (!s.enabled) return;
        for (const [name, value, file] of [
          ['botToken', s.botToken, s.botTokenFile],
          ['signingSecret', s.signingSecret, s.signingSecretFile],
        ] as const) {
          if (value === undefined && file === undefined)
            ctx.addIssue({ code: 'custom', path: [name], message: `required when Slack is enabled: set it or ${name}File` });
          if (value !== undefined && file !== undefined)
            ctx.addIssue({ code: 'custom', path: [name], message: `set ${name} or ${name}File, not both` });
        }
      }),
  })
  .superRefine(
    (config, ctx) => {
      // TLS to every directory (docs/security-model.md, Directory connections and sealed bind passwords), the MSP's own identity source included. Checked even when
      // other settings are wrong (`when`), so that every problem is listed at once; hence the care
      // about the shape of what was given.
      const given = config as unknown as { mode?: unknown; auth?: { ldap?: { url?: unknown } }; siem?: { targets?: unknown } } | null;
      // TLS to the SIEM (docs/architecture.md, SIEM forwarding): in production, plain tcp only to loopback or when allowed per target.
      const targets = Array.isArray(given?.siem?.targets)
        ? (given.siem.targets as Array<{ protocol?: unknown; host?: unknown; allowPlaintext?: unknown }>)
        : [];
      targets.forEach((t, i) => {
        if (given?.mode === 'development' || t?.protocol !== 'tcp' || t.allowPlaintext === true) return;
        if (typeof t.host === 'string' && isLoopbackHost(t.host)) return;
        ctx.addIssue({
          code: 'custom',
          path: ['siem', 'targets', i, 'protocol'],
          message: 'plain tcp sends the audit trail unencrypted: use tls, or set allowPlaintext: true',
        });
      });
      const lease = (config as { elevation?: { activationLeaseSeconds?: unknown } }).elevation?.activationLeaseSeconds;
      const check = (config as { queue?: { leaseCheckIntervalSeconds?: unknown } }).queue?.leaseCheckIntervalSeconds;
      if (typeof lease === 'number' && typeof check === 'number' && check >= lease) {
        ctx.addIssue({
          code: 'custom',
          path: ['queue', 'leaseCheckIntervalSeconds'],
          message: `must be shorter than elevation.activationLeaseSeconds (${lease})`,
        });
      }
      const url = typeof given?.auth === 'object' ? given.auth?.ldap?.url : undefined;
      if (typeof url !== 'string' || url === '') return;
      try {
        assertDirectoryUrlAllowed(url, given?.mode !== 'development');
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        ctx.addIssue({ code: 'custom', path: ['auth', 'ldap', 'url'], message: error.message });
      }
    },
    { when: () => true },
  );

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export type Config = z.infer<typeof configSchema>;

/** Paths of configuration values that are secret or may embed one, masked when printed. */
export const secretPaths = [
  'secrets.masterKey',
  'secrets.previousMasterKeys',
  'slack.botToken',
  'slack.signingSecret',
  'metrics.token',
] as const;
export const urlPathsWithCredentials = ['database.url', 'redis.url'] as const;
