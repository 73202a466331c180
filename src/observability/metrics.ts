/**
 * The Prometheus metrics of one engine, in a registry of its own (never prom-client's global one:
 * several engines share a process in tests, and a library must not leak series into its host's
 * registry). Request metrics are recorded as requests finish; queue, pool and breaker gauges are
 * read at scrape time. Every metric and when to act on it: docs/observability.md.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SluiceConfig } from '../config/types.js';
import type { QueueStats } from '../queue/job-queue.js';
import { createLabelCap, OTHER_LABEL } from './label-cap.js';
import { createPoolGauges, type PoolGauges, type PoolSource } from './pool-gauges.js';

export interface MetricsSources {
  /** The process's JobQueue (absent: no queue gauges). */
  queue?: { stats(): QueueStats };
  /** The process's worker pool (absent in `sluice api`: no pool or breaker gauges). */
  pool?: PoolSource;
}

/** What one finished HTTP request contributes. Timings only for a /data statement that ran. */
export interface RequestObservation {
  method: string;
  /** The route pattern (`/jobs/:id`), never the raw URL; "unmatched" for a 404. */
  route: string;
  status: number;
  /** "ok" or the error code. */
  code: string;
  durationMs: number;
  connection?: string | undefined;
  tenant?: string | number | undefined;
  timings?: { waitMs: number; checkMs: number; acquireMs: number; leaseMs: number; cacheHit: boolean } | undefined;
}

export interface SluiceMetrics {
  readonly contentType: string;
  observe(o: RequestObservation): void;
  /** The exposition text; concurrent scrapes share one collection. */
  render(): Promise<string>;
  close(): void;
}

const SECONDS = 1000;
/** Seconds: a cached point read is ~1 ms, a report may take the full queryTimeout (30 s default). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(config: Readonly<SluiceConfig>, sources: MetricsSources = {}): SluiceMetrics {
  const registry = new Registry();
  const registers = [registry];
  const tenantLabel = createLabelCap(config.observability.metrics.maxTenantLabels);
  // A failed request may carry any string the client sent as its connection: never make it a label.
  const connectionLabel = (name: string | undefined): string => (name !== undefined && Object.hasOwn(config.connections, name) ? name : OTHER_LABEL);

  const requests = new Counter({
    name: 'sluice_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern, status and code ("ok" or the error code)',
    labelNames: ['method', 'route', 'status', 'code'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'sluice_http_request_duration_seconds',
    help: 'Time from receiving a request to answering it',
    labelNames: ['method', 'route'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const rejections = new Counter({
    name: 'sluice_rejections_total',
    help: 'Requests answered with a 4xx or 5xx, by error code',
    labelNames: ['code'] as const,
    registers,
  });
  const queueWait = new Histogram({
    name: 'sluice_queue_wait_seconds',
    help: 'Time a /data statement waited in the queue for a free connection slot (approximate: round trip minus check, acquire and lease)',
    labelNames: ['connection'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const acquire = new Histogram({
    name: 'sluice_pool_acquire_seconds',
    help: "Time a statement waited inside a worker thread for a database connection (its pool's lease)",
    labelNames: ['connection'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const lease = new Histogram({
    name: 'sluice_lease_duration_seconds',
    help: 'Time a statement held its database connection, per tenant (capped by observability.metrics.maxTenantLabels; then "_other")',
    labelNames: ['connection', 'tenant'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const cacheHits = new Counter({
    name: 'sluice_validation_cache_hits_total',
    help: 'Statements whose check/rewrite came from the per-thread validation cache',
    labelNames: ['connection'] as const,
    registers,
  });
  const cacheMisses = new Counter({
    name: 'sluice_validation_cache_misses_total',
    help: 'Statements that had to be parsed, checked and rewritten',
    labelNames: ['connection'] as const,
    registers,
  });

  const queue = sources.queue;
  const queueGauges =
    queue === undefined
      ? undefined
      : {
          waiting: new Gauge({ name: 'sluice_queue_waiting_jobs', help: 'Jobs waiting for a free connection slot (this process)', registers }),
          running: new Gauge({ name: 'sluice_queue_running_jobs', help: 'Jobs running or handed to a worker (this process)', registers }),
        };
  const poolGauges: PoolGauges | undefined = sources.pool ? createPoolGauges(registry, sources.pool) : undefined;

  async function collect(): Promise<string> {
    if (queue && queueGauges) {
      const s = queue.stats();
      queueGauges.waiting.set(s.waiting);
      queueGauges.running.set(s.running);
    }
    await poolGauges?.refresh();
    return registry.metrics();
  }

  let rendering: Promise<string> | undefined;

  return {
    get contentType() {
      return registry.contentType;
    },
    observe(o) {
      const status = String(o.status);
      requests.inc({ method: o.method, route: o.route, status, code: o.code });
      duration.observe({ method: o.method, route: o.route }, o.durationMs / SECONDS);
      if (o.status >= 400) rejections.inc({ code: o.code });
      const t = o.timings;
      if (t === undefined) return;
      const connection = connectionLabel(o.connection);
      queueWait.observe({ connection }, t.waitMs / SECONDS);
      acquire.observe({ connection }, t.acquireMs / SECONDS);
      lease.observe({ connection, tenant: tenantLabel(o.tenant) }, t.leaseMs / SECONDS);
      (t.cacheHit ? cacheHits : cacheMisses).inc({ connection });
    },
    render() {
      rendering ??= collect().finally(() => {
        rendering = undefined;
      });
      return rendering;
    },
    close() {
      registry.clear();
    },
  };
}
