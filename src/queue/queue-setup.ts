/**
 * Which queue a process runs, decided once from the config:
 *   - no queue.redis:        in-process queue + local piscina pool + async jobs in memory;
 *   - queue.redis, "serve":  BullMQ front + a BullMQ worker feeding the local pool (one process);
 *   - queue.redis, "api":    BullMQ front only: no pool, no database connections.
 * The worker-only process (`sluice worker`) is composed in cli/worker.ts from createQueueWorker.
 */
import type { SluiceConfig } from '../config/types.js';
import { createWorkerPool } from '../pool/piscina-pool.js';
import type { WorkerPool } from '../pool/worker-pool.js';
import type { AsyncJobs } from './async-jobs.js';
import { createBullmqAsyncJobs } from './bullmq/bullmq-async-jobs.js';
import { createBullmqQueue } from './bullmq/bullmq-queue.js';
import { createQueueWorker, type QueueWorker } from './bullmq/queue-worker.js';
import { createRedisContext } from './bullmq/redis-context.js';
import { createInProcessQueue } from './in-process-queue.js';
import type { JobQueue } from './job-queue.js';
import { createMemoryAsyncJobs } from './memory-async-jobs.js';

export type ProcessRole = 'serve' | 'api';

export type Readiness = Pick<WorkerPool, 'ping'>;

export interface QueueSetup {
  queue: JobQueue;
  jobs: AsyncJobs;
  /** What /readyz pings: the databases (when this process has a pool) and Redis (in queue mode). */
  readiness: Readiness;
  /** Bounded wait for Redis at start-up; never rejects (a down Redis shows in /readyz). */
  ready(): Promise<void>;
  /** In order: stop the front, let local work finish, close pools, close Redis. Idempotent. */
  close(): Promise<void>;
}

export type Log = (msg: string, extra?: Record<string, unknown>) => void;

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}

export function createQueueSetup(config: Readonly<SluiceConfig>, role: ProcessRole, log: Log): QueueSetup {
  if (config.queue.redis === undefined) {
    if (role === 'api') throw new Error('sluice api needs queue.redis in the config (the HTTP front only enqueues; workers run the queries)');
    const pool = createWorkerPool(config);
    const queue = createInProcessQueue(config, pool);
    const jobs = createMemoryAsyncJobs(config, queue);
    return {
      queue,
      jobs,
      readiness: pool,
      ready: async () => undefined,
      close: once(async () => {
        await Promise.allSettled([jobs.close(), queue.close()]);
        await pool.close();
      }),
    };
  }

  const ctx = createRedisContext(config, log);
  const queue = createBullmqQueue(ctx);
  const jobs = createBullmqAsyncJobs(ctx);
  let pool: WorkerPool | undefined;
  let worker: QueueWorker | undefined;
  if (role === 'serve') {
    pool = createWorkerPool(config);
    worker = createQueueWorker(config, pool, { log });
  }
  const local = pool;
  return {
    queue,
    jobs,
    readiness: {
      async ping() {
        const [dbs, redis] = await Promise.all([local ? local.ping() : Promise.resolve({}), ctx.ping()]);
        // Connection names cannot contain ':', so this key never collides with one.
        return { ...dbs, 'queue:redis': redis };
      },
    },
    async ready() {
      try {
        await Promise.all([ctx.ready(), worker?.ready()]);
      } catch (e) {
        log('redis not reachable at start-up; retrying in the background', { err: String(e) });
      }
    },
    close: once(async () => {
      await Promise.allSettled([queue.close(), jobs.close()]);
      await worker?.close();
      await pool?.close();
      await ctx.close();
    }),
  };
}
