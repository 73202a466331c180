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
import type { Pinger } from '../drivers/pg/pg-pinger.js';
import { SluiceError } from '../errors.js';
import type { ChannelMessage } from './control-messages.js';
import { createPinger } from './create-driver.js';
import { CANCEL_CHANNEL_PREFIX, type QueryJob, type QueryOutcome, type WorkerInit } from './messages.js';
import { createThreadLog } from './thread-log.js';
import { resolveWorkerEntry } from './worker-entry.js';
import type { WorkerPool } from './worker-pool.js';
import { settleWithin } from '../timeouts.js';

const DRAIN_WAIT_MS = 10_000;
const SHUTDOWN_ACK_WAIT_MS = 5_000;

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
  });
  // Without a listener, an error of an idle thread would be thrown as an uncaught 'error' event.
  piscina.on('error', (err: unknown) => log('worker thread error', { err: String(err) }));

  const channel = new BroadcastChannel(init.cancelChannel);
  channel.unref();
  const acks = new Set<number>();
  let onAck: (() => void) | undefined;
  channel.onmessage = (event: unknown) => {
    const data = (event as { data: ChannelMessage }).data;
    if (data?.type === 'shutdown-done') {
      acks.add(data.threadId);
      onAck?.();
    }
  };

  const inFlight = new Set<Promise<unknown>>();
  const pingers = new Map<string, Pinger>();
  let closing: Promise<void> | undefined;

  async function run(job: QueryJob): Promise<QueryOutcome> {
    if (closing) return { ok: false, error: new SluiceError('SHUTTING_DOWN').toBody() };
    const task = piscina.run(job);
    inFlight.add(task);
    try {
      return await task;
    } catch (err) {
      // The thread died (crash, OOM, process.exit): piscina fails every task it was running and
      // starts a replacement. The statement's fate on the server is unknown; the client gets 500.
      log('worker task failed', { jobId: job.id, err: String(err) });
      return { ok: false, error: new SluiceError('INTERNAL_ERROR').toBody() };
    } finally {
      inFlight.delete(task);
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

  async function shutdown(): Promise<void> {
    await settleWithin(Promise.allSettled([...inFlight]), DRAIN_WAIT_MS);
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
      channel.postMessage({ type: 'cancel', id: jobId } satisfies ChannelMessage);
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
            pinger = createPinger(config.connections[name]!, log);
            pingers.set(name, pinger);
          }
          return pinger.ping();
        }),
      );
      return Object.fromEntries(names.map((name, i) => [name, results[i]!]));
    },
    close() {
      closing ??= shutdown();
      return closing;
    },
    get threads() {
      return piscina.threads;
    },
  };
}
