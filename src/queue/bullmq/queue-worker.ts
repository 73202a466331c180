/**
 * The worker side of queue mode: per sluice connection, one BullMQ Worker feeding the piscina
 * pool with concurrency = the pool's capacity for that connection, so a worker never takes more
 * jobs than it has connections: pool exhaustion stays in Redis as queue depth.
 *
 * Failure semantics:
 *   - A process that dies mid-job loses its lock; after `lockDurationMs` another worker's stalled
 *     check puts the job back (maxStalledCount 1). That second run is marked `readOnlyRetry`:
 *     the thread re-checks the SQL and runs it only if it is read-only; a write fails with
 *     WORKER_LOST (at-most-once). A second death fails the job for good (WORKER_LOST at the front).
 *   - Cancels (client gone, deadline, DELETE /jobs/:id) arrive on a pub/sub channel; a cancel for
 *     a job not (yet) running here is remembered briefly, so a job picked up just after its cancel
 *     never runs. A withdraw (a /data request that waited past maxWaitMs) is remembered the same
 *     way but leaves a running request alone.
 *   - A /data job is a batch of requests (payload.ts): each runs on its own with its own deadline
 *     and cancel, and its outcome is published on its front's reply channel as soon as it is known.
 *     Outcomes that could not be published ride back in the job's return value.
 */
import { Worker, type Job } from 'bullmq';
import type { SluiceConfig } from '../../config/types.js';
import type { QueryJob, QueryOutcome } from '../../pool/messages.js';
import { failure } from '../refusals.js';
import type { WorkerPool } from '../../pool/worker-pool.js';
import { createEarlyCancels } from '../../pool/early-cancels.js';
import { cancelChannel, parseCancelMessage, queueNameFor } from './names.js';
import type { BatchPayload, BatchReturn, JobPayload, JobReturn } from './payload.js';
import { encodeReply } from './reply-channel.js';
import { drainWaitMs, settleWithin } from '../../timeouts.js';
import { blockingOptions, createFrontClient, createSubscriber } from './redis-options.js';
import { createRedisJobQuotas } from './redis-job-quotas.js';
import { silentLog, type Log } from '../../observability/log.js';

const FORCE_CLOSE_WAIT_MS = 3000;
const IDLE_CLOSE_WAIT_MS = 2000;
const CANCEL_MEMORY_MS = 60_000;
const CANCEL_MEMORY_MAX = 10_000;
const ERROR_LOG_INTERVAL_MS = 10_000;

export interface QueueWorker {
  /** Resolves when every BullMQ worker and the cancel subscription are connected. */
  ready(): Promise<void>;
  /** Jobs running in this process. */
  readonly running: number;
  /** Every Redis connection of this worker is up (for /readyz of `sluice worker`). */
  ping(): Promise<{ ok: boolean; error?: string }>;
  /** Stop taking jobs, let running ones finish (bounded), disconnect. Does not close the pool. */
  close(): Promise<void>;
}

export interface QueueWorkerOptions {
  log?: Log;
}

export function createQueueWorker(config: Readonly<SluiceConfig>, pool: WorkerPool, opts: QueueWorkerOptions = {}): QueueWorker {
  const url = config.queue.redis;
  if (url === undefined) throw new Error('queue.redis is not configured');
  const log = opts.log ?? silentLog;
  const { prefix, lockDurationMs } = config.queue;
  const running = new Set<string>();
  /** Cancels for jobs not running here (yet), bounded in time and count. */
  const cancelled = createEarlyCancels({ ttlMs: CANCEL_MEMORY_MS, max: CANCEL_MEMORY_MAX });

  const lastLogged = new Map<string, number>();
  function logThrottled(msg: string, extra: { connection: string; err: string }): void {
    const key = `${extra.connection} ${extra.err}`;
    const now = Date.now();
    if ((lastLogged.get(key) ?? 0) > now - ERROR_LOG_INTERVAL_MS) return;
    if (lastLogged.size > 100) lastLogged.clear();
    lastLogged.set(key, now);
    log.warn(extra, msg);
  }

  // Quota updates and /data replies. An async job's quota place counts from now until its result
  // expires (redis-job-quotas.ts).
  const client = createFrontClient(url, 'sluice-worker-commands');
  const quotas = createRedisJobQuotas(client, config);
  function finished(job: Job<JobPayload, JobReturn | BatchReturn> | undefined): void {
    if (job?.data.kind !== 'async' || job.data.owner === undefined || job.id === undefined) return;
    const at = (job.finishedOn ?? Date.now()) + config.queue.resultTtlMs;
    // Lost (Redis away): the front reconciles the place when the bound is full.
    quotas.expiresAt(job.data.owner, job.data.job.connection, job.id, at).catch(() => undefined);
  }

  const subscriber = createSubscriber(url, 'sluice-worker-cancel');
  const subscribed = subscriber.subscribe(cancelChannel(prefix));
  subscribed.catch(() => undefined);
  subscriber.on('message', (_channel: string, message: string) => {
    const { id, withdrawOnly } = parseCancelMessage(message);
    if (!running.has(id)) cancelled.add(id);
    else if (!withdrawOnly) pool.cancel(id);
  });

  /** One request (or async job); never rejects. `early`: the answer if it was cancelled before it started. */
  async function runTask(task: QueryJob, retried: boolean, early: QueryOutcome): Promise<QueryOutcome> {
    if (retried) task.readOnlyRetry = true;
    if (cancelled.take(task.id)) return early;
    running.add(task.id);
    try {
      return await pool.run(task);
    } catch {
      return failure('INTERNAL_ERROR');
    } finally {
      running.delete(task.id);
    }
  }

  async function processBatch(data: BatchPayload, retried: boolean): Promise<BatchReturn> {
    const unsent: Record<string, QueryOutcome> = {};
    await Promise.all(
      data.items.map(async (item) => {
        // Cancelled before it started: its front answered already; withdrawn: the front answers
        // OVERLOADED with this outcome.
        const outcome = await runTask({ ...item }, retried, failure('OVERLOADED', 'No worker became free in time; retry later', 1));
        try {
          await client.publish(data.reply, encodeReply(item.id, outcome));
        } catch {
          unsent[item.id] = outcome;
        }
      }),
    );
    return { unsent };
  }

  async function processJob(job: Job<JobPayload, JobReturn | BatchReturn>): Promise<JobReturn | BatchReturn> {
    const retried = job.attemptsStarted > 1;
    if (retried) log.warn({ jobId: job.id }, 'job restarted after its worker was lost');
    if (job.data.kind === 'batch') return processBatch(job.data, retried);
    // An async job waited for as long as it had to: its time budget starts now.
    const task = { ...job.data.job, deadline: Date.now() + config.limits.queryTimeout };
    return runTask(task, retried, failure('CLIENT_CLOSED'));
  }

  const workers = Object.keys(config.connections).map((name) => {
    const worker = new Worker<JobPayload, JobReturn | BatchReturn>(queueNameFor(name), processJob, {
      connection: blockingOptions(url, `sluice-worker-${name}`),
      prefix,
      concurrency: Math.max(1, pool.capacity(name)),
      lockDuration: lockDurationMs,
      stalledInterval: Math.max(500, Math.floor(lockDurationMs / 2)),
      maxStalledCount: 1,
    });
    // Connection errors are retried by BullMQ itself (every second while Redis is away): log each
    // distinct error at most every 10 s, never crash.
    worker.on('error', (err) => logThrottled('queue worker error', { connection: name, err: String(err) }));
    worker.on('completed', (job) => finished(job));
    worker.on('failed', (job) => finished(job));
    return worker;
  });

  let closing: Promise<void> | undefined;

  async function shutdown(): Promise<void> {
    const closeWaitMs = drainWaitMs(config.limits.queryTimeout);
    let timer: NodeJS.Timeout | undefined;
    const graceful = Promise.allSettled(workers.map((w) => w.close()));
    // Waits for running jobs (bounded); with none left, only briefly for BullMQ to let go of Redis.
    const started = Date.now();
    const timedOut = await Promise.race([
      graceful.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setInterval(() => {
          const waited = Date.now() - started;
          if (waited >= closeWaitMs || (running.size === 0 && waited >= IDLE_CLOSE_WAIT_MS)) resolve(true);
        }, 100);
      }),
    ]);
    clearInterval(timer);
    if (timedOut) {
      if (running.size > 0) log.warn({ running: running.size }, 'jobs still running after the shutdown wait: cancelling them');
      for (const id of running) pool.cancel(id);
      // With Redis away even a forced close waits for a reconnect: bounded, the process exits anyway.
      await settleWithin(Promise.allSettled(workers.map((w) => w.close(true))), FORCE_CLOSE_WAIT_MS);
    }
    subscriber.disconnect();
    client.disconnect();
  }

  return {
    async ready() {
      await Promise.all([...workers.map((w) => w.waitUntilReady()), subscribed]);
    },
    get running() {
      return running.size;
    },
    async ping() {
      if (closing) return { ok: false, error: 'shutting down' };
      // The connections' state, not a round trip: a command would wait in ioredis' offline queue.
      const states = [...(await Promise.all(workers.map(async (w) => (await w.backend.client).status))), subscriber.status, client.status];
      const down = states.find((s) => s !== 'ready');
      return down === undefined ? { ok: true } : { ok: false, error: `redis connection ${down}` };
    },
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}
