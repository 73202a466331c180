/**
 * The JobQueue of queue mode: a /data request becomes a BullMQ job on its connection's queue and
 * the front awaits its outcome from the result listener, bounded twice:
 *   - not started within min(maxWaitMs, deadline): the job is removed → 503 OVERLOADED;
 *   - no outcome by the deadline (+ grace): cancel broadcast, job removed → 408 QUERY_TIMEOUT.
 * Load is shed at the front: more than `maxWaiting` jobs waiting → 503 OVERLOADED at once.
 * Same contract as the in-process queue: `submit` never rejects.
 */
import type { SluiceConfig } from '../../config/types.js';
import { drainWaitMs } from '../../timeouts.js';
import type { QueryJob, QueryOutcome } from '../../pool/messages.js';
import type { JobQueue, QueueStats } from '../job-queue.js';
import { unavailable, type RedisContext } from './redis-context.js';
import { failure, refuseAtSubmit } from '../refusals.js';

/** The worker enforces the deadline itself; this covers its answer's trip back. */
const DEADLINE_GRACE_MS = 2000;
/** How stale the shared waiting count may be; the local count covers bursts in between. */
const DEPTH_REFRESH_MS = 200;
const OVERLOADED_RETRY_AFTER = 1;

interface InFlight {
  job: QueryJob;
  started: boolean;
  finish(outcome: QueryOutcome): void;
}

export function createBullmqQueue(ctx: RedisContext): JobQueue {
  const config: Readonly<SluiceConfig> = ctx.config;
  const { maxWaiting, maxWaitMs } = config.queue;
  const inFlight = new Map<string, InFlight>();
  const depth = new Map<string, { value: number; at: number; refreshing: boolean }>();
  let closed = false;

  ctx.onLost(() => {
    for (const f of [...inFlight.values()]) f.finish(unavailable('Lost the connection to the job queue; the statement may or may not have run'));
  });

  function localWaiting(connection?: string): number {
    let n = 0;
    for (const f of inFlight.values()) if (!f.started && (connection === undefined || f.job.connection === connection)) n++;
    return n;
  }

  /** Jobs waiting in Redis for this connection (all fronts), refreshed in the background. */
  function sharedWaiting(connection: string): number {
    let d = depth.get(connection);
    if (!d) {
      d = { value: 0, at: 0, refreshing: false };
      depth.set(connection, d);
    }
    const now = Date.now();
    if (now - d.at > DEPTH_REFRESH_MS && !d.refreshing) {
      const entry = d;
      entry.refreshing = true;
      ctx
        .queue(connection)
        .getWaitingCount()
        .then(
          (n) => {
            entry.value = n;
            entry.at = Date.now();
          },
          () => undefined,
        )
        .finally(() => (entry.refreshing = false));
    }
    return d.value;
  }

  function run(job: QueryJob, signal: AbortSignal | undefined): Promise<QueryOutcome> {
    const queue = ctx.queue(job.connection);
    const listener = ctx.listener(job.connection);
    return new Promise<QueryOutcome>((resolve) => {
      let done = false;
      const timers: NodeJS.Timeout[] = [];
      const entry: InFlight = { job, started: false, finish };
      const unwatch = listener.watch(job.id, {
        settle: finish,
        active: () => {
          entry.started = true;
        },
      });
      function finish(outcome: QueryOutcome): void {
        if (done) return;
        done = true;
        unwatch();
        for (const t of timers) clearTimeout(t);
        signal?.removeEventListener('abort', onAbort);
        inFlight.delete(job.id);
        resolve(outcome);
      }
      /** Remove the job if no worker holds it; otherwise ask the worker to cancel it. */
      async function withdraw(): Promise<boolean> {
        const removed = entry.started ? 0 : await queue.remove(job.id).catch(() => 0);
        if (removed === 1) return true;
        ctx.publishCancel(job.id);
        return false;
      }
      function onAbort(): void {
        void withdraw();
        finish(failure('CLIENT_CLOSED'));
      }
      inFlight.set(job.id, entry);
      signal?.addEventListener('abort', onAbort, { once: true });
      const now = Date.now();
      timers.push(
        setTimeout(
          () => {
            if (entry.started || done) return;
            void queue.remove(job.id).then(
              (removed) => removed === 1 && finish(failure('OVERLOADED', 'No worker became free in time; retry later', OVERLOADED_RETRY_AFTER)),
              () => undefined,
            );
          },
          Math.min(maxWaitMs, job.deadline - now),
        ),
        setTimeout(
          () => {
            void withdraw();
            finish(failure('QUERY_TIMEOUT', 'No answer from a worker before the request deadline'));
          },
          job.deadline - now + DEADLINE_GRACE_MS,
        ),
      );
      listener
        .ready()
        .then(() => (done ? undefined : queue.add('query', { kind: 'sync', job }, { jobId: job.id, removeOnComplete: true, removeOnFail: true, attempts: 1 })))
        .catch(() => finish(unavailable()));
    });
  }

  return {
    submit(job, signal) {
      const refused = refuseAtSubmit(config, closed, job, signal);
      if (refused) return Promise.resolve(refused);
      if (!ctx.available()) return Promise.resolve(unavailable());
      const waiting = Math.max(localWaiting(job.connection), sharedWaiting(job.connection));
      if (waiting >= maxWaiting || Math.min(maxWaitMs, job.deadline - Date.now()) <= 0) {
        return Promise.resolve(failure('OVERLOADED', undefined, OVERLOADED_RETRY_AFTER));
      }
      // Synchronously from the admission check to the registration in inFlight: a burst in one
      // tick sees its own earlier jobs as waiting.
      return run(job, signal);
    },
    stats(): QueueStats {
      const waiting = localWaiting();
      return { waiting, running: inFlight.size - waiting };
    },
    async close() {
      closed = true;
      await Promise.allSettled(
        [...inFlight.values()]
          .filter((f) => !f.started)
          .map(async (f) => {
            const removed = await ctx.queue(f.job.connection).remove(f.job.id).catch(() => 0);
            if (removed === 1) f.finish(failure('SHUTTING_DOWN'));
          }),
      );
      // Jobs already on a worker finish there; wait for their answers, bounded.
      const until = Date.now() + drainWaitMs(config.limits.queryTimeout);
      while (inFlight.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      for (const f of [...inFlight.values()]) f.finish(failure('SHUTTING_DOWN'));
    },
  };
}
