/**
 * Everything a front (the HTTP side) holds in Redis: one command connection shared by its BullMQ
 * Queues (fail-fast, no offline queue), one event listener per queue (jobs started, jobs lost),
 * this front's reply channel (every /data outcome, reply-channel.ts) and the cancel channel.
 * Built once, passed to the sync queue and the async job store, closed last.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { SluiceConfig } from '../../config/types.js';
import { SluiceError, type ErrorBody } from '../../errors.js';
import { cancelChannel, queueNameFor, withdrawMessage } from './names.js';
import type { JobPayload, JobReturn } from './payload.js';
import { createFrontClient } from './redis-options.js';
import { createResultListener, type ResultListener } from './result-listener.js';
import { createReplyChannel, newFrontId, type ReplyChannel } from './reply-channel.js';
import { settleWithin, withDeadline } from '../../timeouts.js';
import { silentLog, type Log } from '../../observability/log.js';

const READY_WAIT_MS = 5000;
const PING_TIMEOUT_MS = 1000;
const CLOSE_STEP_MS = 3000;

export type DataQueue = Queue<JobPayload, JobReturn>;

export interface RedisContext {
  readonly config: Readonly<SluiceConfig>;
  readonly client: Redis;
  queue(connection: string): DataQueue;
  listener(connection: string): ResultListener;
  /** This front's random id: names its reply channel and prefixes its batch job ids. */
  readonly frontId: string;
  readonly replies: ReplyChannel;
  /** true while the command connection is up. */
  available(): boolean;
  /** Resolves when connected and every listener reads events; rejects after a bounded wait. */
  ready(): Promise<void>;
  /** Cancel the request (or async job) `jobId` wherever it is: not started yet, or running. */
  publishCancel(jobId: string): void;
  /** Withdraw the /data request `jobId` if no worker started it yet; a running one runs on. */
  publishWithdraw(jobId: string): void;
  ping(): Promise<{ ok: boolean; error?: string }>;
  /** Called when the connection drops: in-flight waiters cannot learn their outcome any more. */
  onLost(fn: () => void): void;
  close(): Promise<void>;
}

export function unavailableError(message?: string): SluiceError {
  return new SluiceError('QUEUE_UNAVAILABLE', message, { retryAfter: 1 });
}

export function unavailable(message?: string): { ok: false; error: ErrorBody } {
  return { ok: false, error: unavailableError(message).toBody() };
}


function bounded<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return withDeadline(work, ms, () => new Error(`${what}: no answer within ${ms} ms`));
}

export function createRedisContext(config: Readonly<SluiceConfig>, log: Log = silentLog): RedisContext {
  const url = config.queue.redis;
  if (url === undefined) throw new Error('queue.redis is not configured');
  const { prefix } = config.queue;
  const client = createFrontClient(url, 'sluice-front');
  const queues = new Map<string, DataQueue>();
  const listeners = new Map<string, ResultListener>();
  const lostHandlers: Array<() => void> = [];
  let wasReady = false;
  const frontId = newFrontId();
  const replies = createReplyChannel({ url, prefix, frontId, onLost: () => lost('redis reply channel lost') });

  function lost(what: string): void {
    log.warn({}, what);
    for (const fn of lostHandlers) fn();
  }

  client.on('ready', () => {
    if (!wasReady) log.info({}, 'redis connected');
    wasReady = true;
  });
  client.on('close', () => {
    if (!wasReady) return;
    wasReady = false;
    lost('redis connection lost');
  });

  for (const name of Object.keys(config.connections)) {
    const queueName = queueNameFor(name);
    const queue: DataQueue = new Queue<JobPayload, JobReturn>(queueName, { connection: client, prefix });
    queue.on('error', () => undefined);
    queues.set(name, queue);
    listeners.set(name, createResultListener({ url, prefix, queueName, client, onError: () => undefined }));
  }

  async function ready(): Promise<void> {
    if (client.status !== 'ready') {
      await bounded(
        new Promise<void>((resolve) => client.once('ready', () => resolve())),
        READY_WAIT_MS,
        'redis',
      );
    }
    await bounded(Promise.all([replies.ready(), ...[...listeners.values()].map((l) => l.ready())]), READY_WAIT_MS, 'redis events');
  }

  return {
    config,
    client,
    queue: (connection) => queues.get(connection)!,
    listener: (connection) => listeners.get(connection)!,
    frontId,
    replies,
    available: () => client.status === 'ready' && replies.available(),
    ready,
    publishCancel(jobId) {
      client.publish(cancelChannel(prefix), jobId).catch(() => undefined);
    },
    publishWithdraw(jobId) {
      client.publish(cancelChannel(prefix), withdrawMessage(jobId)).catch(() => undefined);
    },
    async ping() {
      if (client.status !== 'ready') return { ok: false, error: `redis ${client.status}` };
      try {
        await bounded(client.ping(), PING_TIMEOUT_MS, 'redis ping');
        // A listener that failed to start (Redis was down at boot) starts now.
        await bounded(Promise.all([replies.ready(), ...[...listeners.values()].map((l) => l.ready())]), PING_TIMEOUT_MS, 'redis events');
        if (!replies.available()) return { ok: false, error: 'redis reply channel down' };
        return { ok: true };
      } catch (e) {
        return { ok: false, error: e instanceof Error ? e.message : String(e) };
      }
    },
    onLost(fn) {
      lostHandlers.push(fn);
    },
    async close() {
      // BullMQ's close waits for a connection that may never come back (Redis down): bounded.
      await settleWithin(Promise.allSettled([...listeners.values()].map((l) => l.close())), CLOSE_STEP_MS);
      await settleWithin(Promise.allSettled([...queues.values()].map((q) => q.close())), CLOSE_STEP_MS);
      replies.close();
      client.disconnect();
    },
  };
}
