/**
 * `sluice worker`: a BullMQ worker feeding a piscina pool. No HTTP. Start as many as the
 * database allows: processes × threads × connections[].max ≤ max_connections.
 * SIGTERM/SIGINT: stop taking jobs, let running ones finish (bounded), close pools and Redis, exit 0.
 */
import { parseConfig } from '../config/schema.js';
import { loadConfigFile } from '../config/load.js';
import { createWorkerPool } from '../pool/piscina-pool.js';
import { createQueueWorker } from '../queue/bullmq/queue-worker.js';
import { UsageError } from './usage.js';
import { withDeadline } from '../timeouts.js';

const READY_WAIT_MS = 10_000;

export interface RunningWorker {
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

export async function worker(configPath: string, threads: number | undefined, log: WorkerLog = jsonLog): Promise<RunningWorker> {
  const loaded = loadConfigFile(configPath);
  if (loaded.queue.redis === undefined) {
    throw new UsageError(`sluice worker needs "queue": { "redis": "redis://…" } in ${configPath}`);
  }
  const config = threads === undefined ? loaded : parseConfig({ ...loaded, workers: { ...loaded.workers, threads } });
  const pool = createWorkerPool(config);
  const queueWorker = createQueueWorker(config, pool, { log });
  const ready = await withDeadline(queueWorker.ready(), READY_WAIT_MS, () => new Error('not ready')).then(
    () => true,
    () => false,
  );
  const capacity = Object.fromEntries(Object.keys(config.connections).map((name) => [name, pool.capacity(name)]));
  if (ready) log('worker ready', { threads: config.workers.threads, capacity });
  else log('worker started; redis not reachable yet, retrying in the background', { threads: config.workers.threads, capacity });
  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
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
}
