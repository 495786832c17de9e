// Prometheus metrics. Counts that several processes share (elevations by state, revocation lag,
// queue depth) are read from the store and Redis at scrape time, so any API replica answers with
// the same truth; LDAP latency is measured in the process that talks to the directory. The SIEM
// gauges come from one read of the forwarding status per scrape, so they agree with each other.
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the SIEM gauges show of one target (the forwarding service's status, structurally). */
export interface SiemTargetGauges {
  target: string;
  backlog: number;
  oldestUnforwardedAgeSeconds: number;
  state: string;
  lastSuccessAt: Date | null;
  lastError: { at: Date } | null;
}

export interface MetricSources {
  elevationsByState(): Promise<Record<string, number>>;
  queueDepth(): Promise<Record<string, number>>;
  /** Seconds between each recent grant's end and its revocation. */
  recentRevocationLags(): Promise<number[]>;
  /** Every configured SIEM target (none: the gauges are empty). */
  siemTargets(): Promise<SiemTargetGauges[]>;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function createMetrics(sources: MetricSources) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'stint_process_' });

  new Gauge({
    name: 'stint_elevations',
    help: 'Elevations by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [state, count] of Object.entries(await sources.elevationsByState())) this.set({ state }, count);
    },
  });
  new Gauge({
    name: 'stint_revocation_queue_jobs',
    help: 'Revocation jobs by state (delayed = scheduled grants)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [state, count] of Object.entries(await sources.queueDepth())) this.set({ state }, count);
    },
  });
  new Gauge({
    name: 'stint_revocation_lag_seconds',
    help: 'Lag between a grant’s end and its confirmed revocation, over the last hour',
    labelNames: ['quantile'],
    registers: [registry],
    async collect() {
      this.reset();
      const lags = (await sources.recentRevocationLags()).sort((a, b) => a - b);
      for (const q of [0.5, 0.99, 1]) this.set({ quantile: String(q) }, quantile(lags, q));
    },
  });
  let siemSnapshot: Promise<SiemTargetGauges[]> | null = null;
  const siemGauge = (name: string, help: string, value: (t: SiemTargetGauges) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['target'],
      registers: [registry],
      async collect() {
        this.reset();
        siemSnapshot ??= sources.siemTargets();
        for (const t of await siemSnapshot) {
          const v = value(t);
          if (v !== null) this.set({ target: t.target }, v);
        }
      },
    });
  const seconds = (d: Date | null | undefined) => (d ? d.getTime() / 1000 : null);
  siemGauge(
    'stint_siem_backlog_events',
    'Audit events not yet forwarded to the SIEM target (chain head minus its cursor)',
    (t) => t.backlog,
  );
  siemGauge(
    'stint_siem_oldest_unforwarded_age_seconds',
    'Age of the oldest audit event the SIEM target has not received (0: none waiting)',
    (t) => t.oldestUnforwardedAgeSeconds,
  );
  siemGauge('stint_siem_stalled', '1 while the SIEM target cannot be reached', (t) => (t.state === 'stalled' ? 1 : 0));
  siemGauge('stint_siem_last_success_timestamp_seconds', 'When the SIEM target last took events (Unix time; absent: never)', (t) =>
    seconds(t.lastSuccessAt),
  );
  siemGauge('stint_siem_last_error_timestamp_seconds', 'When forwarding to the SIEM target last failed (Unix time; absent: never)', (t) =>
    seconds(t.lastError?.at),
  );

  const ldapLatency = new Histogram({
    name: 'stint_ldap_operation_seconds',
    help: 'LDAP operations against tenants’ domains',
    labelNames: ['tenant', 'operation'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  return {
    observeLdap(tenant: string, operation: string, ms: number) {
      ldapLatency.observe({ tenant, operation }, ms / 1000);
    },
    contentType: registry.contentType,
    async render() {
      siemSnapshot = null;
      try {
        return await registry.metrics();
      } finally {
        siemSnapshot = null;
      }
    },
  };
}
