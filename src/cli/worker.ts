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

const READY_WAIT_MS = 10_000;

export interface RunningWorker {
  /** Re-read the config file: new jobs run on pools built from it, running ones finish on the old. */
  reload(): void;
  close(): Promise<void>;
}

export type WorkerLog = (msg: string, extra?: Record<string, unknown>) => void;

const jsonLog: WorkerLog = (msg, extra = {}) => console.log(JSON.stringify({ time: Date.now(), pid: process.pid, msg, ...extra }));

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
}

/** The worker's metrics server, when a port is configured; bound to server.host. */
function startMetrics(config: SluiceConfig, pool: WorkerPool, queueWorker: QueueWorker, metricsPort: number | undefined): Promise<WorkerMetricsServer | undefined> {
  const m = config.observability.metrics;
  const port = metricsPort ?? m.workerPort;
  if (port === undefined) return Promise.resolve(undefined);
  if (!m.enabled) throw new UsageError('--metrics-port needs observability.metrics.enabled (it is false in the config)');
  return startWorkerMetricsServer({ pool, running: () => queueWorker.running, token: m.token, host: config.server.host, port });
}

export async function worker(configPath: string, threads: number | undefined, log: WorkerLog = jsonLog, opts: WorkerOptions = {}): Promise<RunningWorker> {
  const loaded = loadConfigFile(configPath);
  if (loaded.queue.redis === undefined) {
    throw new UsageError(`sluice worker needs "queue": { "redis": "redis://…" } in ${configPath}`);
  }
  const config = threads === undefined ? loaded : parseConfig({ ...loaded, workers: { ...loaded.workers, threads } });
  const generations = createReloadablePool(config, createWorkerPool);
  const pool = createBreakerPool(generations, config, log);
  const queueWorker = createQueueWorker(config, pool, { log });
  let metrics: WorkerMetricsServer | undefined;
  try {
    metrics = await startMetrics(config, pool, queueWorker, opts.metricsPort);
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
  if (ready) log('worker ready', { threads: config.workers.threads, capacity });
  else log('worker started; redis not reachable yet, retrying in the background', { threads: config.workers.threads, capacity });
  if (metrics) log('worker metrics listening', { url: `${metrics.url}/metrics` });
  let closing: Promise<void> | undefined;
  let current = config;
  return {
    reload() {
      try {
        const raw = loadConfigFile(configPath);
        const next = threads === undefined ? raw : parseConfig({ ...raw, workers: { ...raw.workers, threads } });
        checkReloadable(current, next);
        generations.reload(next);
        current = next;
        log('config reloaded', { generation: generations.generations });
      } catch (err) {
        log('config reload refused; the running config stays', { err: (err as Error).message });
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
export function closeWorkerOnSignals(running: RunningWorker, log: WorkerLog = jsonLog): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    log('shutting down', { signal });
    running.close().then(
      () => {
        log('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log('shutdown failed', { err: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => running.reload());
}
