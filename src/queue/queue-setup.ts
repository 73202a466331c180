/**
 * Which queue a process runs, decided once from the config:
 *   - no queue.redis:        in-process queue + local piscina pool + async jobs in memory;
 *   - queue.redis, "serve":  BullMQ front + a BullMQ worker feeding the local pool (one process);
 *   - queue.redis, "api":    BullMQ front only: no pool, no database connections.
 * The worker-only process (`sluice worker`) is composed in cli/worker.ts from createQueueWorker.
 */
import type { Queue } from 'bullmq';
import type { SluiceConfig } from '../config/types.js';
import { createBreakerPool } from '../pool/circuit-breaker.js';
import { createWorkerPool } from '../pool/piscina-pool.js';
import { createReloadablePool, type ReloadablePool } from '../pool/reloadable-pool.js';
import type { WorkerPool } from '../pool/worker-pool.js';
import type { AsyncJobs } from './async-jobs.js';
import { createBullmqAsyncJobs } from './bullmq/bullmq-async-jobs.js';
import { createBullmqQueue } from './bullmq/bullmq-queue.js';
import { createQueueWorker, type QueueWorker } from './bullmq/queue-worker.js';
import { createRedisContext } from './bullmq/redis-context.js';
import { createFairQueue, type FairnessPolicy } from './fair-queue.js';
import { defaultFairnessPolicy } from './fairness-policy.js';
import { createInProcessQueue } from './in-process-queue.js';
import type { JobQueue } from './job-queue.js';
import { createMemoryAsyncJobs } from './memory-async-jobs.js';
import type { Log } from '../observability/log.js';

export type ProcessRole = 'serve' | 'api';

export type Readiness = Pick<WorkerPool, 'ping' | 'breakerStates'>;

export interface QueueSetup {
  queue: JobQueue;
  jobs: AsyncJobs;
  /** What /readyz pings: the databases (when this process has a pool) and Redis (in queue mode). */
  readiness: Readiness;
  /** This process's worker pool, for /metrics (pool and breaker gauges); absent in `sluice api`. */
  pool?: WorkerPool;
  /** Queue mode: this front's BullMQ queues (one per connection), for the console's board. */
  boardQueues?: readonly Queue[];
  /** Bounded wait for Redis at start-up; never rejects (a down Redis shows in /readyz). */
  ready(): Promise<void>;
  /** Apply a reloaded config: tenant limits, and this process's pool (when it has one). */
  reload(next: Readonly<SluiceConfig>): void;
  /** In order: stop the front, let local work finish, close pools, close Redis. Idempotent. */
  close(): Promise<void>;
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}

/** Tenant lines' limits from `tenants` (tiers, defaults), replaced on reload. */
function liveFairness(config: Readonly<SluiceConfig>): { policy: FairnessPolicy; reload(next: Readonly<SluiceConfig>): void } {
  let current = defaultFairnessPolicy(config, config.tenants ?? {});
  return {
    policy: (job) => current(job),
    reload(next) {
      current = defaultFairnessPolicy(next, next.tenants ?? {});
    },
  };
}

export function createQueueSetup(config: Readonly<SluiceConfig>, role: ProcessRole, log: Log): QueueSetup {
  if (config.queue.redis === undefined) {
    if (role === 'api') throw new Error('sluice api needs queue.redis in the config (the HTTP front only enqueues; workers run the queries)');
    const generations = createReloadablePool(config, createWorkerPool);
    const pool = createBreakerPool(generations, config, log);
    // Per-tenant lines in front of the shared queue: /data and /jobs both go through them.
    const fairness = liveFairness(config);
    const queue = createFairQueue(createInProcessQueue(config, pool), fairness.policy, config);
    const jobs = createMemoryAsyncJobs(config, queue);
    return {
      queue,
      jobs,
      readiness: pool,
      pool,
      ready: async () => undefined,
      reload(next) {
        fairness.reload(next);
        generations.reload(next);
      },
      close: once(async () => {
        await Promise.allSettled([jobs.close(), queue.close()]);
        await pool.close();
      }),
    };
  }

  const ctx = createRedisContext(config, log);
  // Per-tenant lines of this front (per API process) in front of Redis. /jobs goes to Redis directly.
  const fairness = liveFairness(config);
  const queue = createFairQueue(createBullmqQueue(ctx), fairness.policy, config);
  const jobs = createBullmqAsyncJobs(ctx);
  let pool: WorkerPool | undefined;
  let generations: ReloadablePool | undefined;
  let worker: QueueWorker | undefined;
  if (role === 'serve') {
    generations = createReloadablePool(config, createWorkerPool);
    pool = createBreakerPool(generations, config, log);
    worker = createQueueWorker(config, pool, { log });
  }
  const local = pool;
  return {
    queue,
    jobs,
    ...(local && { pool: local }),
    boardQueues: Object.keys(config.connections).map((name) => ctx.queue(name)),
    readiness: {
      async ping() {
        const [dbs, redis] = await Promise.all([local ? local.ping() : Promise.resolve({}), ctx.ping()]);
        // Connection names cannot contain ':', so this key never collides with one.
        return { ...dbs, 'queue:redis': redis };
      },
      breakerStates: () => local?.breakerStates?.() ?? {},
    },
    reload(next) {
      fairness.reload(next);
      generations?.reload(next);
    },
    async ready() {
      try {
        await Promise.all([ctx.ready(), worker?.ready()]);
      } catch (e) {
        log.warn({ err: String(e) }, 'redis not reachable at start-up; retrying in the background');
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
