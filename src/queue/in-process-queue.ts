/**
 * The in-process JobQueue: per connection, at most `pool.capacity(connection)` jobs run at once and
 * the rest wait FIFO, so a burst queues here (bounded, with 503s) instead of piling up inside
 * piscina or the pg pools where it could be neither counted nor cancelled.
 *
 * Errors of the queue itself (OVERLOADED, SHUTTING_DOWN, CLIENT_CLOSED, UNKNOWN_CONNECTION) are
 * returned as `{ ok: false, error }` like query errors: `submit` never rejects.
 */
import type { SluiceConfig } from '../config/types.js';
import type { QueryJob, QueryOutcome } from '../pool/messages.js';
import type { WorkerPool } from '../pool/worker-pool.js';
import type { JobQueue, QueueStats } from './job-queue.js';
import { drainWaitMs, settleWithin } from '../timeouts.js';
import { failure, refuseAtSubmit } from './refusals.js';

/** Seconds: a full queue usually frees up within a statement or two. */
const OVERLOADED_RETRY_AFTER = 1;

interface Waiter {
  job: QueryJob;
  signal: AbortSignal | undefined;
  /** Given the running job's promise, the waiter's promise adopts its outcome. */
  resolve(outcome: QueryOutcome | Promise<QueryOutcome>): void;
  /** Clears the wait timer and abort listener. */
  dispose(): void;
}

export function createInProcessQueue(config: SluiceConfig, pool: WorkerPool): JobQueue {
  const { maxWaiting, maxWaitMs } = config.queue;
  const running = new Map<string, number>();
  /** Sets iterate in insertion order: FIFO, with O(1) removal of an expired or aborted waiter. */
  const waiting = new Map<string, Set<Waiter>>();
  const runningJobs = new Set<Promise<unknown>>();
  let waitingCount = 0;
  let runningCount = 0;
  let closed = false;

  function queueOf(connection: string): Set<Waiter> {
    let q = waiting.get(connection);
    if (!q) {
      q = new Set();
      waiting.set(connection, q);
    }
    return q;
  }

  function removeWaiter(w: Waiter): boolean {
    const q = waiting.get(w.job.connection);
    if (!q?.delete(w)) return false;
    waitingCount--;
    w.dispose();
    return true;
  }

  async function start(job: QueryJob, signal: AbortSignal | undefined): Promise<QueryOutcome> {
    running.set(job.connection, (running.get(job.connection) ?? 0) + 1);
    runningCount++;
    const onAbort = (): void => pool.cancel(job.id);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await pool.run(job);
    } catch {
      // WorkerPool.run does not reject by contract; if it ever does, the caller still gets an outcome.
      return failure('INTERNAL_ERROR');
    } finally {
      signal?.removeEventListener('abort', onAbort);
      running.set(job.connection, running.get(job.connection)! - 1);
      runningCount--;
      next(job.connection);
    }
  }

  function track(outcome: Promise<QueryOutcome>): Promise<QueryOutcome> {
    runningJobs.add(outcome);
    void outcome.finally(() => runningJobs.delete(outcome));
    return outcome;
  }

  function next(connection: string): void {
    const q = waiting.get(connection);
    if (!q || closed) return;
    while (q.size > 0 && (running.get(connection) ?? 0) < pool.capacity(connection)) {
      const w = q.values().next().value as Waiter;
      removeWaiter(w);
      w.resolve(track(start(w.job, w.signal)));
    }
  }

  function wait(job: QueryJob, signal: AbortSignal | undefined): Promise<QueryOutcome> {
    const waitMs = Math.min(maxWaitMs, job.deadline - Date.now());
    if (waitingCount >= maxWaiting || waitMs <= 0) {
      return Promise.resolve(failure('OVERLOADED', undefined, OVERLOADED_RETRY_AFTER));
    }
    return new Promise<QueryOutcome>((resolve) => {
      const timer = setTimeout(() => {
        if (removeWaiter(w)) resolve(failure('OVERLOADED', 'No connection became free in time; retry later', OVERLOADED_RETRY_AFTER));
      }, waitMs);
      const onAbort = (): void => {
        if (removeWaiter(w)) resolve(failure('CLIENT_CLOSED'));
      };
      const w: Waiter = {
        job,
        signal,
        resolve,
        dispose() {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queueOf(job.connection).add(w);
      waitingCount++;
    });
  }

  function idle(connection: string): boolean {
    return !closed && (running.get(connection) ?? 0) < pool.capacity(connection) && (waiting.get(connection)?.size ?? 0) === 0;
  }

  return {
    submit(job, signal) {
      const refused = refuseAtSubmit(config, closed, job, signal);
      if (refused) return Promise.resolve(refused);
      const free = (running.get(job.connection) ?? 0) < pool.capacity(job.connection);
      // Jobs already waiting go first, even if a slot is free right now.
      if (free && (waiting.get(job.connection)?.size ?? 0) === 0) return track(start(job, signal));
      return wait(job, signal);
    },
    stats(): QueueStats {
      return { waiting: waitingCount, running: runningCount };
    },
    refusal(probe) {
      if (closed || idle(probe.connection)) return undefined;
      return waitingCount >= maxWaiting ? failure('OVERLOADED', undefined, OVERLOADED_RETRY_AFTER) : undefined;
    },
    idleSlots(connection) {
      return idle(connection) ? pool.capacity(connection) - (running.get(connection) ?? 0) : 0;
    },
    async close() {
      closed = true;
      for (const q of waiting.values()) {
        for (const w of [...q]) {
          removeWaiter(w);
          w.resolve(failure('SHUTTING_DOWN'));
        }
      }
      await settleWithin(Promise.allSettled([...runningJobs]), drainWaitMs(config.limits.queryTimeout));
    },
  };
}
