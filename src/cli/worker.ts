/**
 * `sluice worker`: a BullMQ worker feeding a piscina pool. No HTTP. Start as many as the
 * database allows: processes × threads × connections[].max ≤ max_connections.
 * SIGTERM/SIGINT: stop taking jobs, let running ones finish (bounded), close pools and Redis, exit 0.
 */
import { parseConfig } from '../config/schema.js';
import { loadConfigFile } from '../config/load.js';
import { createBreakerPool } from '../pool/circuit-breaker.js';
import { createWorkerPool } from '../pool/piscina-pool.js';
import { createReloadablePool } from '../pool/reloadable-pool.js';
import { checkReloadable } from '../config/reload.js';
import { createQueueWorker, type QueueWorker } from '../queue/bullmq/queue-worker.js';
import type { SluiceConfig } from '../config/types.js';
import { startWorkerMetricsServer, type WorkerMetricsServer } from '../observability/worker-metrics-server.js';
import type { WorkerPool } from '../pool/worker-pool.js';
import { UsageError } from './usage.js';
import { withDeadline } from '../timeouts.js';
import { createLogger, type Log } from '../observability/log.js';
import { checkReadiness, pingTimeoutMs, type ReadinessSource } from '../observability/readiness.js';

const READY_WAIT_MS = 10_000;

export interface RunningWorker {
  /** The process's logger (the main logger's shape, at logging.level). */
  readonly log: Log;
  /** Re-read the config file: new jobs run on pools built from it, running ones finish on the old. */
  reload(): void;
  close(): Promise<void>;
}

export function parseThreads(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new UsageError(`--threads must be 1-256, got ${value}`);
  return n;
}

export function parseMetricsPort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--metrics-port must be 0-65535, got ${value}`);
  return n;
}

export interface WorkerOptions {
  /** Port of the worker's own GET /metrics; overrides observability.metrics.workerPort. */
  metricsPort?: number | undefined;
  /** Default: pino on stdout at the config's logging.level, like `sluice serve`. */
  log?: Log;
}

/**
 * The worker's own HTTP server, when a port is configured; bound to server.host. /readyz is the
 * front's check over this process: its databases (pings, breakers) and its Redis connections.
 */
function startMetrics(config: SluiceConfig, pool: WorkerPool, queueWorker: QueueWorker, metricsPort: number | undefined, log: Log): Promise<WorkerMetricsServer | undefined> {
  const m = config.observability.metrics;
  const port = metricsPort ?? m.workerPort;
  if (port === undefined) return Promise.resolve(undefined);
  const source: ReadinessSource = {
    ping: async () => {
      const [dbs, redis] = await Promise.all([pool.ping(), queueWorker.ping()]);
      return { ...dbs, 'queue:redis': redis };
    },
    breakerStates: () => pool.breakerStates?.() ?? {},
  };
  return startWorkerMetricsServer({
    pool,
    running: () => queueWorker.running,
    token: m.token,
    host: config.server.host,
    port,
    metrics: m.enabled,
    readiness: () => checkReadiness(source, pingTimeoutMs(config), log),
  });
}

export async function worker(configPath: string, threads: number | undefined, opts: WorkerOptions = {}): Promise<RunningWorker> {
  const loaded = loadConfigFile(configPath);
  if (loaded.queue.redis === undefined) {
    throw new UsageError(`sluice worker needs "queue": { "redis": "redis://…" } in ${configPath}`);
  }
  const config = threads === undefined ? loaded : parseConfig({ ...loaded, workers: { ...loaded.workers, threads } });
  const log = opts.log ?? createLogger(config.logging.level);
  const generations = createReloadablePool(config, createWorkerPool);
  const pool = createBreakerPool(generations, config, log);
  const queueWorker = createQueueWorker(config, pool, { log });
  let metrics: WorkerMetricsServer | undefined;
  try {
    metrics = await startMetrics(config, pool, queueWorker, opts.metricsPort, log);
  } catch (e) {
    // A taken port must not leave the threads and Redis connections keeping the process alive.
    await queueWorker.close();
    await pool.close();
    throw e;
  }
  const ready = await withDeadline(queueWorker.ready(), READY_WAIT_MS, () => new Error('not ready')).then(
    () => true,
    () => false,
  );
  const capacity = Object.fromEntries(Object.keys(config.connections).map((name) => [name, pool.capacity(name)]));
  if (ready) log.info({ threads: config.workers.threads, capacity }, 'worker ready');
  else log.warn({ threads: config.workers.threads, capacity }, 'worker started; redis not reachable yet, retrying in the background');
  if (metrics) log.info({ url: metrics.url }, 'worker metrics and probes listening');
  let closing: Promise<void> | undefined;
  let current = config;
  return {
    log,
    reload() {
      try {
        const raw = loadConfigFile(configPath);
        const next = threads === undefined ? raw : parseConfig({ ...raw, workers: { ...raw.workers, threads } });
        checkReloadable(current, next);
        generations.reload(next);
        current = next;
        log.info({ generation: generations.generations }, 'config reloaded');
      } catch (err) {
        log.error({ err: (err as Error).message }, 'config reload refused; the running config stays');
      }
    },
    close() {
      closing ??= (async () => {
        await metrics?.close();
        await queueWorker.close();
        await pool.close();
      })();
      return closing;
    },
  };
}

/** Close gracefully on SIGTERM/SIGINT and exit 0; a second signal exits at once. */
export function closeWorkerOnSignals(running: RunningWorker): void {
  const { log } = running;
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'shutting down');
    running.close().then(
      () => {
        log.info({}, 'stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err: String(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => running.reload());
}
