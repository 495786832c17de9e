// The composition root: the one place that builds adapters and wires them into services. Nothing
// connects at import time; `close()` releases everything in stages (src/lifecycle.ts).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Config } from './config/schema.ts';
import { riskDefaults } from './domain/risk.ts';
import { createLogger, type Logger } from './adapters/logging/logger.ts';
import { createPasswordHasher } from './adapters/crypto/passwords.ts';
import { createRandomSource } from './adapters/crypto/random.ts';
import { createHashing } from './adapters/crypto/hashing.ts';
import { systemClock, systemTimers } from './adapters/runtime/clock.ts';
import { createCsrfTokens } from './adapters/crypto/csrf.ts';
import { createSecretBox, parseMasterKey, type MasterKey } from './adapters/crypto/secret-box.ts';
import { createAuditSignatureVerifier, createAuditSigner } from './adapters/crypto/audit-signer.ts';
import { createTokenService } from './adapters/crypto/tokens.ts';
import { createLineChunkPool } from './adapters/formats/line-chunk-pool.ts';
import { auditExportDecoder, auditExportEncoder, tableEncoder } from './adapters/formats/export-formats.ts';
import { createTotpEngine, totpCodeAt } from './adapters/crypto/totp.ts';
import { createLdapIdentitySource } from './adapters/directory/identity.ts';
import { createDirectoryGateway } from './adapters/directory/gateway.ts';
import { createDirectoryProbe } from './adapters/directory/probe.ts';
import {
  createExpiryWarnings,
  createQueuedNotifications,
  createQueues,
  createReviewJobs,
  createReviewSchedules,
  createRevocationJobs,
} from './adapters/queue/jobs.ts';
import { createMetrics } from './adapters/metrics/prometheus.ts';
import { assertNoEviction, createRedis, failingAsQueueUnavailable, redisHealth } from './adapters/queue/redis.ts';
import { createSyslogSink } from './adapters/siem/syslog-sink.ts';
import { createSlackApprovalMessages } from './adapters/slack/approval-messages.ts';
import { slackViews } from './adapters/slack/blocks.ts';
import { notificationsWithSlackOff } from './adapters/slack/disabled.ts';
import { createSlackRequestVerifier } from './adapters/slack/signature.ts';
import { createSlackApi } from './adapters/slack/web-api.ts';
import { createStore, migrateToLatest, openDatabase, type StoreEngine } from './adapters/store/index.ts';
import { createAccountService } from './services/tenants/index.ts';
import { createProtectedGroupService } from './services/tenants/index.ts';
import { createApplyService } from './services/tenants/index.ts';
import { createAuditService } from './services/audit/index.ts';
import { createExportVerifier } from './services/audit/index.ts';
import { createDriftService } from './services/reviews/index.ts';
import { createElevationHistory, createElevationService } from './services/elevations/index.ts';
import { createMemberRemoval } from './adapters/directory/member-removal.ts';
import { createProfileService } from './services/tenants/index.ts';
import { createReviewService } from './services/reviews/index.ts';
import { createTenantAccess } from './services/tenants/index.ts';
import { createAuthService } from './services/access/index.ts';
import { createKeyService } from './services/access/index.ts';
import { createLocalIdentitySource } from './adapters/identity/local.ts';
import { createMfaService } from './services/access/index.ts';
import type { Clock, EventLog } from './services/ports/runtime.ts';
import type { IdentitySource } from './services/ports/identity.ts';
import type { Notifications } from './services/ports/notifications.ts';
import type { QueueHealth } from './services/ports/queue.ts';
import type { Store } from './services/ports/store.ts';
import { createSiemForwarding } from './services/siem/index.ts';
import { createSlackNotices } from './services/slack/index.ts';
import { createSlackService, type SlackElevationUseCases } from './services/slack/index.ts';
import { createTechnicianService } from './services/access/index.ts';
import { createTenantService } from './services/tenants/index.ts';
import { closeInStages, closer, type ShutdownStage } from './lifecycle.ts';

export interface ContainerOptions {
  clock?: Clock;
  logger?: Logger;
  /** Which process this is (api, worker, cli): names its database connections. */
  role?: string;
}

export function loadMasterKeys(config: Config): { current: MasterKey; previous: MasterKey[] } {
  const encoded = config.secrets.masterKey ?? readFileSync(config.secrets.masterKeyFile!, 'utf8');
  return { current: parseMasterKey(encoded), previous: config.secrets.previousMasterKeys.map(parseMasterKey) };
}

/** A secret given directly or as a file (a Docker or Kubernetes secret); the schema requires one of the two. */
function secretValue(value: string | undefined, file: string | undefined): string {
  return value ?? readFileSync(file!, 'utf8').trim();
}

/**
 * Slack, when enabled: the inbound side (slash command, buttons, modals) for the API and the
 * outbound side (approval messages, DMs, alerts) for the notifications worker.
 */
function buildSlack(
  config: Config,
  deps: {
    store: Store;
    clock: Clock;
    redis: Redis;
    queues: ReturnType<typeof createQueues>;
    elevations: SlackElevationUseCases;
    log: EventLog;
  },
) {
  const botToken = secretValue(config.slack.botToken, config.slack.botTokenFile);
  const signingSecret = secretValue(config.slack.signingSecret, config.slack.signingSecretFile);
  const { store, clock, redis, log } = deps;
  const api = (interactive: boolean) => createSlackApi({ botToken, apiUrl: config.slack.apiUrl, log, interactive });
  return {
    service: createSlackService({
      store,
      clock,
      slack: api(true),
      views: slackViews,
      verifier: failingAsQueueUnavailable(createSlackRequestVerifier({ signingSecret, redis, keyPrefix: config.queue.prefix, clock })),
      elevations: deps.elevations,
      log,
    }),
    notices: createSlackNotices({
      store,
      clock,
      slack: api(false),
      views: slackViews,
      messages: failingAsQueueUnavailable(createSlackApprovalMessages(redis, config.queue.prefix)),
      warnings: failingAsQueueUnavailable(createExpiryWarnings(deps.queues.notifications, clock)),
      alertChannel: config.slack.alertChannel ?? null,
      warnBeforeMs: config.slack.expiryWarningSeconds * 1000,
      publicUrl: config.server.publicUrl ?? null,
      log,
    }),
  };
}

const productVersion = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The configured SIEM targets and the forwarding to them; nothing connects until the worker forwards. */
function buildSiemForwarding(
  config: Config,
  deps: { store: Store; clock: Clock; random: ReturnType<typeof createRandomSource>; notifications: Notifications; log: EventLog },
) {
  const siem = config.siem;
  const identity = { hostname: siem.hostname ?? hostname(), facility: siem.facility, version: productVersion };
  const timeoutMs = siem.connectTimeoutSeconds * 1000;
  const sinks = siem.targets.map((target) =>
    createSyslogSink(target, { identity, clock: deps.clock, connectTimeoutMs: timeoutMs, writeTimeoutMs: timeoutMs }),
  );
  return createSiemForwarding({
    ...deps,
    sinks,
    settings: {
      batchSize: siem.batchSize,
      maxBatchesPerRun: 20,
      backlogAlertThreshold: siem.backlogAlertThreshold,
      retryBaseMs: Math.min(1000, siem.intervalMs),
      retryMaxMs: siem.retryMaxSeconds * 1000,
      resendWindowMs: 5000,
      leaseMs: Math.max(60_000, timeoutMs * 3),
    },
  });
}

/** `stint migrate`: brings the schema up to date without building the rest. */
export async function migrateDatabase(config: Config): Promise<string[]> {
  const { db } = openDatabase(config.database.url, config.dataDir);
  try {
    return await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
}

/** A fresh random master key, base64 (`stint keys generate-master`). */
export const generateMasterKey = (): string => createRandomSource().bytes(32).toString('base64');

/** `stint audit verify`: needs no configuration, database or key, only the public keys it is given. */
/** `stint audit verify`: NDJSON exports are checked on worker threads (line-chunk-pool.ts). */
export const createOfflineExportVerifier = (options: { threads?: number; chunkBytes?: number } = {}) =>
  createExportVerifier({
    signatures: createAuditSignatureVerifier(),
    hashing: createHashing(),
    decoder: auditExportDecoder,
    lineChunks: () => createLineChunkPool(options.threads),
    ...(options.chunkBytes !== undefined && { chunkBytes: options.chunkBytes }),
  });

/** The current code for a TOTP secret: the demo's stand-in for an authenticator app. */
export const currentTotpCode = (secret: string): Promise<string> => totpCodeAt(secret, new Date());

export async function createContainer(config: Config, options: ContainerOptions = {}) {
  const clock: Clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logging.level);
  const production = config.mode === 'production';

  const { current, previous } = loadMasterKeys(config);
  const secrets = createSecretBox(current, previous);
  const random = createRandomSource();
  const hasher = createPasswordHasher();
  const hashing = createHashing();
  const totp = createTotpEngine(random);

  const opened = openDatabase(config.database.url, config.dataDir, {
    applicationName: `stint-${options.role ?? 'process'}`,
    // The pool replaces the connection; the request that was using it answers 503 (store_unavailable).
    onConnectionError: (error) => logger.warn({ err: error.message }, 'a database connection was ended by the server; it will be replaced'),
  });
  await migrateToLatest(opened.db);
  const store: Store = createStore(opened.db);

  // The workers' connection (waits for Redis forever; lazy, so the API never opens it) and the
  // producers' (fails fast: a request meets Redis away with a 503, never a hang).
  const redis: Redis = createRedis(config.redis.url, 'worker');
  const producer: Redis = createRedis(config.redis.url, 'producer');
  let redisDown = false;
  for (const connection of [redis, producer]) {
    connection.on('error', (error: Error) => {
      // ioredis reconnects by itself; say so once per outage rather than on every retry.
      if (!redisDown) logger.warn({ err: error.message }, 'redis unreachable; retrying');
      redisDown = true;
    });
    connection.on('ready', () => {
      if (redisDown) logger.info('redis reachable again');
      redisDown = false;
    });
  }
  const queueHealth: QueueHealth = redisHealth(producer);

  const ldapOptions = { timeoutMs: config.directory.timeoutSeconds * 1000 };
  const identitySources: Partial<Record<'local' | 'ldap', IdentitySource>> = { local: createLocalIdentitySource(hasher) };
  if (config.auth.ldap) {
    identitySources.ldap = createLdapIdentitySource(
      {
        url: config.auth.ldap.url,
        caCertificate: readFileSync(config.auth.ldap.caFile, 'utf8'),
        userPrincipalSuffix: config.auth.ldap.userPrincipalSuffix,
      },
      ldapOptions,
    );
  }

  const tokens = createTokenService(store.signingKeys, secrets, random, {
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    longestTokenLifetimeMs: Math.max(config.auth.accessTokenTtlSeconds, config.auth.mfaChallengeTtlSeconds) * 1000,
  });
  const sessionPolicy = {
    accessTtlMs: config.auth.accessTokenTtlSeconds * 1000,
    refreshIdleMs: config.auth.refreshIdleSeconds * 1000,
    refreshAbsoluteMs: config.auth.refreshAbsoluteSeconds * 1000,
  };
  const queues = createQueues(producer, config.queue.prefix);
  // Notices go to the notifications queue for the worker to send to Slack; with Slack off, nowhere.
  const notifications: Notifications = config.slack.enabled
    ? failingAsQueueUnavailable(createQueuedNotifications(queues.notifications))
    : notificationsWithSlackOff;
  const mfa = createMfaService({
    store,
    clock,
    secrets,
    totp,
    lockout: { maxFailures: config.auth.mfaMaxFailures, lockoutMs: config.auth.mfaLockoutSeconds * 1000 },
    notifications,
    log: logger,
  });
  const keys = createKeyService({ store, clock, secrets, tokens });
  await keys.ensureSigningKey();
  const siem = buildSiemForwarding(config, { store, clock, random, notifications, log: logger });
  const audit = createAuditService({
    store,
    clock,
    signer: createAuditSigner(store.auditKeys, secrets),
    signatures: createAuditSignatureVerifier(),
    hashing,
    encoder: auditExportEncoder,
    // Retention never purges what a SIEM target has not received yet.
    forwarding: siem.progress,
    retentionDays: config.audit.retentionDays,
  });
  await audit.ensureSigningKey();

  const jobs = failingAsQueueUnavailable(createRevocationJobs(queues.revocations, clock));
  const metrics = createMetrics({
    elevationsByState: () => store.elevations.countByState(),
    queueDepth: () => queues.revocations.getJobCounts('delayed', 'waiting', 'active', 'failed'),
    recentRevocationLags: () => store.elevations.revocationLags(new Date(clock.now().getTime() - 3_600_000)),
    siemTargets: async () => (await siem.status()).targets,
  });
  const directory = createDirectoryGateway({
    ...ldapOptions,
    connectionsPerTenant: config.directory.connectionsPerTenant,
    observe: (tenantId, operation, ms) => metrics.observeLdap(tenantId, operation, ms),
  });
  const access = createTenantAccess({ store, secrets, directory });
  const removal = createMemberRemoval({
    lingerMs: config.queue.batchLingerMs,
    maxBatch: config.queue.maxBatch,
    concurrentBatchesPerTenant: config.queue.batchesPerTenant,
  });

  const reviewSchedules = failingAsQueueUnavailable(createReviewSchedules(queues.reviews));
  const tenants = createTenantService({
    store,
    clock,
    secrets,
    directory: createDirectoryProbe(ldapOptions),
    production,
    reviewSchedules,
    log: logger,
  });
  const profiles = createProfileService({ store, clock, random, access });
  const protectedGroups = createProtectedGroupService({ store, clock, access });
  // The use cases go to http, Slack and the CLI (in `services`); the upkeep only to the worker.
  const elevations = createElevationService({
    store,
    clock,
    timers: systemTimers,
    random,
    access,
    mfa,
    jobs,
    removal,
    notifications,
    log: logger,
    settings: {
      accountExpirySkewMs: config.elevation.accountExpirySkewSeconds * 1000,
      overdueAfterMs: config.elevation.overdueAlertSeconds * 1000,
      stuckAfterMs: config.elevation.stuckAfterSeconds * 1000,
      activationLeaseMs: config.elevation.activationLeaseSeconds * 1000,
      risk: {
        ...riskDefaults,
        baseline: { ...riskDefaults.baseline, lookbackDays: config.risk.baselineLookbackDays },
        fanOut: { windowMinutes: config.risk.fanOutWindowMinutes, tenants: config.risk.fanOutTenants },
        mfa: { windowHours: config.risk.mfaWindowHours },
      },
    },
  });
  const services = {
    auth: createAuthService({
      store,
      clock,
      hasher,
      hashing,
      identitySources,
      mfa,
      totp,
      secrets,
      tokens,
      random,
      sessionPolicy,
      mfaChallengeTtlMs: config.auth.mfaChallengeTtlSeconds * 1000,
      totpIssuer: config.auth.totpIssuer,
    }),
    mfa,
    technicians: createTechnicianService({ store, clock, hasher, random, notifications, log: logger }),
    tenants,
    audit,
    elevationHistory: createElevationHistory({ store, clock, encoder: tableEncoder }),
    keys,
    accounts: createAccountService({ store, clock, random, access }),
    protectedGroups,
    profiles,
    apply: createApplyService({ store, secrets, tenants, profiles, protectedGroups }),
    elevations: elevations.useCases,
    drift: createDriftService({ store, clock, access, removal, notifications, log: logger }),
    reviews: createReviewService({
      store,
      clock,
      random,
      access,
      mfa,
      jobs: failingAsQueueUnavailable(createReviewJobs(queues.reviews)),
      notifications,
      encoder: tableEncoder,
      log: logger,
    }),
  };

  const slack = config.slack.enabled
    ? buildSlack(config, { store, clock, redis: producer, queues, elevations: services.elevations, log: logger })
    : null;
  const shutdownStages: readonly ShutdownStage[] = [
    {
      name: 'work in hand',
      closers: [...(slack ? [closer('slack', () => slack.service.idle())] : []), closer('siem sinks', () => siem.close())],
    },
    { name: 'queues', closers: [closer('queues', () => queues.close())] },
    {
      name: 'redis',
      closers: [closer('redis producer', () => producer.disconnect()), closer('redis worker', () => redis.disconnect())],
    },
    { name: 'directories', closers: [closer('directories', () => directory.close())] },
    { name: 'store', closers: [closer('store', () => store.close())] },
  ];
  let closing: Promise<void> | undefined;

  return {
    config,
    clock,
    logger,
    store,
    storeEngine: opened.engine as StoreEngine,
    databaseFile: opened.file,
    redis,
    queueHealth,
    tokens,
    secrets,
    /** Opens a tenant's directory with its sealed bind password. */
    access,
    /** The web UI's session-bound CSRF tokens. */
    csrf: createCsrfTokens(current),
    totp,
    queues,
    jobs,
    /** Each tenant's repeatable review job (the worker writes them all at start). */
    reviewSchedules,
    metrics,
    services,
    /** The elevations' internal operations (revocation jobs, the reconciler, lease checks): the worker's, never a route's. */
    elevationUpkeep: elevations.upkeep,
    /** Slack's two sides, or null when slack.enabled is false. */
    slack,
    /** Audit forwarding to the SIEM targets (the worker runs it); `siem.progress` tells retention how far it got. */
    siem,
    /**
     * What the container holds open, by stage, for the process's lifecycle (src/lifecycle.ts) to
     * close after what the entry closes first (servers, queue workers): the work in hand (Slack's,
     * the SIEM sinks), the queues, Redis, the directories, the store. Each closer closes once.
     */
    shutdownStages,
    /**
     * Closes everything in shutdownStages' order, each stage with Promise.allSettled; rejects
     * (once every stage has run) if a closer failed. Idempotent: a second call waits for the first.
     */
    close() {
      closing ??= closeInStages(shutdownStages, logger);
      return closing;
    },
  };
}

export type Container = Awaited<ReturnType<typeof createContainer>>;

/** Workers call this first: Redis must answer and must never evict jobs. */
export async function verifyQueueStore(container: Container): Promise<void> {
  await container.queueHealth.ping();
  await assertNoEviction(container.redis);
}
export type Services = Container['services'];
