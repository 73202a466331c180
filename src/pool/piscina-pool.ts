/**
 * The piscina host. Threads live as long as the pool (their pg pools with them), run several
 * statements at once (they mostly wait on sockets, hence atomics: 'async'), and are cancelled
 * through a BroadcastChannel rather than piscina's AbortSignal, which would terminate the whole
 * thread and every other statement running on it.
 */
import { randomUUID } from 'node:crypto';
import { BroadcastChannel, type Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { SluiceConfig } from '../config/types.js';
import type { PoolStats } from '../drivers/driver.js';
import type { Pinger } from '../drivers/pg/pg-pinger.js';
import { SluiceError } from '../errors.js';
import type { ChannelMessage, StatsReply } from './control-messages.js';
import { createPinger } from './create-driver.js';
import { CANCEL_CHANNEL_PREFIX, type QueryJob, type QueryOutcome, type WorkerInit } from './messages.js';
import { createThreadLog } from './thread-log.js';
import { driverWarnings } from '../observability/log.js';
import { resolveWorkerEntry } from './worker-entry.js';
import type { WorkerPool } from './worker-pool.js';
import { drainWaitMs, settleWithin } from '../timeouts.js';

const SHUTDOWN_ACK_WAIT_MS = 5_000;
/** A thread busy on CPU (a huge parse) answers late: /metrics then reports the others, never hangs. */
const STATS_WAIT_MS = 1_000;

export interface PiscinaWorkerPool extends WorkerPool {
  /** The live threads, for tests that need to kill one. */
  readonly threads: readonly Worker[];
}


export function createWorkerPool(config: SluiceConfig): WorkerPool {
  return createPiscinaWorkerPool(config);
}

export function createPiscinaWorkerPool(config: SluiceConfig): PiscinaWorkerPool {
  const log = createThreadLog(config.logging.level);
  const init: WorkerInit = { config, cancelChannel: `${CANCEL_CHANNEL_PREFIX}${randomUUID()}` };
  const entry = resolveWorkerEntry();
  const threads = config.workers.threads;
  const maxConnections = Math.max(...Object.values(config.connections).map((c) => c.max));
  const piscina = new Piscina<QueryJob, QueryOutcome>({
    filename: entry.filename,
    ...(entry.execArgv !== undefined && { execArgv: entry.execArgv }),
    workerData: init,
    minThreads: threads,
    maxThreads: threads,
    // The default tears idle threads down, and their pg pools with them.
    idleTimeout: Infinity,
    atomics: 'async',
    // A thread runs up to `max` statements per connection concurrently; beyond that they would wait
    // inside its pg pool. The in-process queue bounds the total, so piscina's own queue stays short.
    concurrentTasksPerWorker: maxConnections,
    maxQueue: Infinity,
    // Piscina's run/wait-time histograms (a performance.now() and a histogram record per task on
    // both threads) are read by nothing in sluice.
    recordTiming: false,
  });
  // Without a listener, an error of an idle thread would be thrown as an uncaught 'error' event.
  piscina.on('error', (err: unknown) => log.error({ err: String(err) }, 'worker thread error'));

  const channel = new BroadcastChannel(init.cancelChannel);
  channel.unref();
  const acks = new Set<number>();
  let onAck: (() => void) | undefined;
  /** Pending poolStats() calls by requestId. */
  const statsWaiters = new Map<string, (reply: StatsReply) => void>();
  channel.onmessage = (event: unknown) => {
    const data = (event as { data: ChannelMessage }).data;
    if (data?.type === 'shutdown-done') {
      acks.add(data.threadId);
      onAck?.();
    } else if (data?.type === 'stats-reply') statsWaiters.get(data.requestId)?.(data);
    else if (data?.type === 'listening') for (const id of cancelledInFlight) postCancel(id);
  };

  const inFlight = new Set<Promise<unknown>>();
  /** Ids of the jobs in `inFlight`, and those of them cancelled: at most the pool's capacity. */
  const inFlightIds = new Set<string>();
  const cancelledInFlight = new Set<string>();
  const postCancel = (id: string): void => channel.postMessage({ type: 'cancel', id } satisfies ChannelMessage);
  const pingers = new Map<string, Pinger>();
  let closing: Promise<void> | undefined;

  async function run(job: QueryJob): Promise<QueryOutcome> {
    if (closing) return { ok: false, error: new SluiceError('SHUTTING_DOWN').toBody() };
    const task = piscina.run(job);
    inFlight.add(task);
    inFlightIds.add(job.id);
    try {
      return await task;
    } catch (err) {
      // The thread died (crash, OOM, terminate): piscina fails every task it was running and
      // starts a replacement. The statement's fate on the server is unknown and it is never
      // re-run: WORKER_LOST (503), as when a queue worker process dies.
      log.error({ jobId: job.id, err: String(err) }, 'worker task failed');
      return { ok: false, error: new SluiceError('WORKER_LOST').toBody() };
    } finally {
      inFlight.delete(task);
      inFlightIds.delete(job.id);
      cancelledInFlight.delete(job.id);
    }
  }

  async function waitForAcks(expected: number): Promise<void> {
    if (acks.size >= expected) return;
    await settleWithin(
      new Promise<void>((resolve) => {
        onAck = () => acks.size >= expected && resolve();
      }),
      SHUTDOWN_ACK_WAIT_MS,
    );
    onAck = undefined;
  }

  /** Every thread's driver numbers, summed per connection; `max` is the configured capacity. */
  async function poolStats(): Promise<Record<string, PoolStats>> {
    const totals: Record<string, PoolStats> = {};
    for (const [name, conn] of Object.entries(config.connections)) totals[name] = { max: threads * conn.max, active: 0, waiting: 0, open: 0 };
    const expected = piscina.threads.length;
    if (closing || expected === 0) return totals;
    const requestId = randomUUID();
    const replies = new Map<number, Record<string, PoolStats>>();
    await settleWithin(
      new Promise<void>((resolve) => {
        statsWaiters.set(requestId, (reply) => {
          replies.set(reply.threadId, reply.stats);
          if (replies.size >= expected) resolve();
        });
        channel.postMessage({ type: 'stats', requestId } satisfies ChannelMessage);
      }),
      STATS_WAIT_MS,
    );
    statsWaiters.delete(requestId);
    for (const perThread of replies.values()) {
      for (const [name, s] of Object.entries(perThread)) {
        const t = Object.hasOwn(totals, name) ? totals[name] : undefined;
        if (!t) continue;
        t.active += s.active;
        t.waiting += s.waiting;
        t.open += s.open;
      }
    }
    return totals;
  }

  async function shutdown(): Promise<void> {
    await settleWithin(Promise.allSettled([...inFlight]), drainWaitMs(config.limits.queryTimeout));
    // Let each thread end its pg pools cleanly (Terminate, not a torn socket) before it is killed.
    const expected = piscina.threads.length;
    channel.postMessage({ type: 'shutdown' } satisfies ChannelMessage);
    await waitForAcks(expected);
    await piscina.destroy();
    channel.close();
    await Promise.allSettled([...pingers.values()].map((p) => p.close()));
  }

  return {
    run,
    cancel(jobId) {
      // Remembered to repeat to a thread whose channel opens later (a first or replacement thread).
      if (inFlightIds.has(jobId)) cancelledInFlight.add(jobId);
      postCancel(jobId);
    },
    capacity(connection) {
      const conn = Object.hasOwn(config.connections, connection) ? config.connections[connection] : undefined;
      return conn ? threads * conn.max : 0;
    },
    async ping() {
      const names = Object.keys(config.connections);
      if (closing) return Object.fromEntries(names.map((name) => [name, { ok: false, error: 'shutting down' }]));
      const results = await Promise.all(
        names.map((name) => {
          let pinger = pingers.get(name);
          if (!pinger) {
            pinger = createPinger(config.connections[name]!, driverWarnings(log));
            pingers.set(name, pinger);
          }
          return pinger.ping();
        }),
      );
      return Object.fromEntries(names.map((name, i) => [name, results[i]!]));
    },
    poolStats,
    close() {
      closing ??= shutdown();
      return closing;
    },
    get threads() {
      return piscina.threads;
    },
  };
}
