// Prometheus metrics. Counts that several processes share (elevations by state, revocation lag,
// queue depth) are read from the store and Redis at scrape time, so any API replica answers with
// the same truth; LDAP latency is measured in the process that talks to the directory.
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricSources {
  elevationsByState(): Promise<Record<string, number>>;
  queueDepth(): Promise<Record<string, number>>;
  /** Seconds between each recent grant's end and its revocation. */
  recentRevocationLags(): Promise<number[]>;
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
    render: () => registry.metrics(),
  };
}
