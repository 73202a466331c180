/**
 * ONE QueueEvents reader per queue (its own blocking connection) tells the front what became of
 * its /data jobs, by job id: started, completed (with the outcomes the worker could not publish on
 * the reply channel), failed (a worker died with it, twice). `job.waitUntilFinished()` is not
 * used: it races with `removeOnComplete` and can hang when a job disappears. The return value
 * rides in the 'completed' event itself, so finished jobs can be removed from Redis at once.
 *
 * The reader starts from the stream's current last id (read before it starts), so no event of a
 * job added after `ready()` can be missed; after a Redis outage it resumes from its last id.
 */
import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { SluiceError } from '../../errors.js';
import type { QueryOutcome } from '../../pool/messages.js';
import { blockingOptions } from './redis-options.js';
import { register } from './waiter-map.js';

export interface Waiter {
  /** The job completed: its return value. */
  completed(value: unknown): void;
  /** The job failed in BullMQ terms (its worker died with it twice). */
  failed(outcome: QueryOutcome): void;
  /** The job became active on some worker. */
  active?(): void;
}

export interface ResultListener {
  ready(): Promise<void>;
  /** Register before adding the job; returns the unregister function. */
  watch(jobId: string, waiter: Waiter): () => void;
  readonly size: number;
  close(): Promise<void>;
}

/** A job that failed in BullMQ terms (our processor never throws): a worker died with it, twice. */
export function failedOutcome(failedReason: string): QueryOutcome {
  if (/stalled|started more than/.test(failedReason)) return { ok: false, error: new SluiceError('WORKER_LOST').toBody() };
  return { ok: false, error: new SluiceError('INTERNAL_ERROR').toBody() };
}

export function createResultListener(opts: { url: string; prefix: string; queueName: string; client: Redis; onError(err: unknown): void }): ResultListener {
  const waiters = new Map<string, Waiter>();
  let events: QueueEvents | undefined;
  let starting: Promise<void> | undefined;

  function take(jobId: string): Waiter | undefined {
    const w = waiters.get(jobId);
    if (w) waiters.delete(jobId);
    return w;
  }

  async function start(): Promise<void> {
    const streamKey = `${opts.prefix}:${opts.queueName}:events`;
    const last = (await opts.client.xrevrange(streamKey, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
    events = new QueueEvents(opts.queueName, {
      connection: blockingOptions(opts.url, `sluice-events-${opts.queueName}`),
      prefix: opts.prefix,
      lastEventId: last,
      blockingTimeout: 5000,
    });
    events.on('error', (err) => opts.onError(err));
    events.on('completed', ({ jobId, returnvalue }) => take(jobId)?.completed(returnvalue));
    events.on('failed', ({ jobId, failedReason }) => take(jobId)?.failed(failedOutcome(failedReason)));
    events.on('active', ({ jobId }) => waiters.get(jobId)?.active?.());
    await events.waitUntilReady();
  }

  return {
    ready() {
      // A failed start (Redis down at boot) is retried by the next caller.
      starting ??= start().catch(async (e: unknown) => {
        const failed = events;
        events = undefined;
        starting = undefined;
        await failed?.close().catch(() => undefined);
        throw e;
      });
      return starting;
    },
    watch: (jobId, waiter) => register(waiters, jobId, waiter),
    get size() {
      return waiters.size;
    },
    async close() {
      await starting?.catch(() => undefined);
      await events?.close();
    },
  };
}
