/**
 * The JobQueue of queue mode. /data requests of one connection are collected into BullMQ jobs of
 * up to BATCH_MAX requests: a job is added as soon as no other add of that connection is
 * in flight, carrying every request that arrived meanwhile (so a lone request waits for nothing,
 * and under load one Redis job carries many). Each request keeps its own id, deadline and cancel;
 * its outcome comes back on this front's reply channel (reply-channel.ts) the moment its worker
 * has it, never waiting for its batch-mates. Each request is bounded twice:
 *   - not started within min(maxWaitMs, deadline): withdrawn (a worker that has not started it
 *     skips it; a job whose requests are all withdrawn is removed) → 503 OVERLOADED;
 *   - no outcome by the deadline (+ grace): cancel broadcast → 408 QUERY_TIMEOUT.
 * Load is shed at the front: more than `maxWaiting` requests waiting → 503 OVERLOADED at once.
 * Same contract as the in-process queue: `submit` never rejects.
 */
import type { SluiceConfig } from '../../config/types.js';
import { drainWaitMs } from '../../timeouts.js';
import type { QueryJob, QueryOutcome } from '../../pool/messages.js';
import type { JobQueue, QueueStats } from '../job-queue.js';
import type { BatchPayload, BatchReturn } from './payload.js';
import { unavailable, type RedisContext } from './redis-context.js';
import { failure, refuseAtSubmit } from '../refusals.js';

/** The worker enforces the deadline itself; this covers its answer's trip back. */
const DEADLINE_GRACE_MS = 2000;
/** A job completed but a request's reply has not arrived: how long it may still be on its way. */
const REPLY_GRACE_MS = 1000;
/** How stale the shared waiting count may be; the local count covers bursts in between. */
const DEPTH_REFRESH_MS = 200;
const OVERLOADED_RETRY_AFTER = 1;
/** Requests one BullMQ job carries at most. */
const BATCH_MAX = 32;
/** Adds in flight per connection; requests arriving meanwhile ride in the next job. */
const ADDS_IN_FLIGHT = 1;

interface Item {
  job: QueryJob;
  /** Its job, once added (or being added). */
  batch?: Batch;
  done: boolean;
  /** Asked not to start (it waited too long); its answer comes from the worker or the job's removal. */
  withdrawn: boolean;
  finish(outcome: QueryOutcome): void;
}

interface Batch {
  id: string;
  connection: string;
  items: Item[];
  started: boolean;
  unwatch(): void;
}

interface Lane {
  connection: string;
  pending: Item[];
  adding: number;
  scheduled: boolean;
  /** Requests per job, smoothed: turns the shared count of waiting jobs into requests. */
  meanBatch: number;
}

const waiting = (item: Item): boolean => !item.done && item.batch?.started !== true;

export function createBullmqQueue(ctx: RedisContext): JobQueue {
  const config: Readonly<SluiceConfig> = ctx.config;
  const { maxWaiting, maxWaitMs } = config.queue;
  const inFlight = new Map<string, Item>();
  const batches = new Map<string, Batch>();
  const lanes = new Map<string, Lane>();
  const depth = new Map<string, { value: number; at: number; refreshing: boolean }>();
  let closed = false;
  let counter = 0;

  ctx.onLost(() => {
    for (const item of [...inFlight.values()]) item.finish(unavailable('Lost the connection to the job queue; the statement may or may not have run'));
  });

  function laneOf(connection: string): Lane {
    let lane = lanes.get(connection);
    if (!lane) {
      lane = { connection, pending: [], adding: 0, scheduled: false, meanBatch: 1 };
      lanes.set(connection, lane);
    }
    return lane;
  }

  function localWaiting(connection?: string): number {
    let n = 0;
    for (const item of inFlight.values()) if (waiting(item) && (connection === undefined || item.job.connection === connection)) n++;
    return n;
  }

  /** Requests waiting in Redis for this connection (all fronts), refreshed in the background. */
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
    return Math.round(d.value * laneOf(connection).meanBatch);
  }

  function forget(batch: Batch): void {
    batch.unwatch();
    batches.delete(batch.id);
  }

  /** Every request of a job that has not started is answered or withdrawn: take the job out of Redis. */
  function removeIfAbandoned(batch: Batch): void {
    if (batch.started || !batch.items.every((i) => i.done || i.withdrawn)) return;
    void ctx
      .queue(batch.connection)
      .remove(batch.id)
      .then(
        (removed) => {
          if (removed !== 1) return; // started after all: the worker answers the withdrawn ones
          for (const i of batch.items) i.finish(failure('OVERLOADED', 'No worker became free in time; retry later', OVERLOADED_RETRY_AFTER));
          forget(batch);
        },
        () => undefined,
      );
  }

  function add(lane: Lane, items: Item[]): void {
    const batch: Batch = { id: `${ctx.frontId}-${++counter}`, connection: lane.connection, items, started: false, unwatch: () => undefined };
    for (const item of items) item.batch = batch;
    batches.set(batch.id, batch);
    lane.meanBatch = lane.meanBatch * 0.9 + items.length * 0.1;
    batch.unwatch = ctx.listener(lane.connection).watch(batch.id, {
      active() {
        batch.started = true;
      },
      completed(value) {
        batches.delete(batch.id);
        const unsent = (value as BatchReturn | null)?.unsent ?? {};
        for (const item of items) if (Object.hasOwn(unsent, item.job.id)) item.finish(unsent[item.job.id]!);
        if (items.every((i) => i.done)) return;
        // Published before the job completed, but read on another connection: give it a moment.
        setTimeout(() => {
          for (const item of items) item.finish(unavailable('The answer was lost on its way back from the worker; the statement may or may not have run'));
        }, REPLY_GRACE_MS).unref();
      },
      failed(outcome) {
        batches.delete(batch.id);
        for (const item of items) item.finish(outcome);
      },
    });
    const payload: BatchPayload = { kind: 'batch', items: items.map((i) => i.job), reply: ctx.replies.channel };
    lane.adding++;
    const listener = ctx.listener(lane.connection);
    Promise.all([listener.ready(), ctx.replies.ready()])
      .then(() => ctx.queue(lane.connection).add('query', payload, { jobId: batch.id, removeOnComplete: true, removeOnFail: true, attempts: 1 }))
      .then(
        () => removeIfAbandoned(batch),
        () => {
          for (const item of items) item.finish(unavailable());
          forget(batch);
        },
      )
      .finally(() => {
        lane.adding--;
        flush(lane);
      });
  }

  function flush(lane: Lane): void {
    while (lane.adding < ADDS_IN_FLIGHT && lane.pending.length > 0) add(lane, lane.pending.splice(0, BATCH_MAX));
  }

  /** After this turn's I/O: requests read in the same turn share a job. */
  function schedule(lane: Lane): void {
    if (lane.scheduled) return;
    lane.scheduled = true;
    setImmediate(() => {
      lane.scheduled = false;
      flush(lane);
    });
  }

  function run(job: QueryJob, signal: AbortSignal | undefined): Promise<QueryOutcome> {
    const lane = laneOf(job.connection);
    return new Promise<QueryOutcome>((resolve) => {
      const timers: NodeJS.Timeout[] = [];
      const item: Item = { job, done: false, withdrawn: false, finish };
      const unwatch = ctx.replies.watch(job.id, finish);
      function finish(outcome: QueryOutcome): void {
        if (item.done) return;
        item.done = true;
        unwatch();
        for (const t of timers) clearTimeout(t);
        signal?.removeEventListener('abort', onAbort);
        inFlight.delete(job.id);
        resolve(outcome);
        const batch = item.batch;
        if (batch && batches.has(batch.id) && batch.items.every((i) => i.done)) forget(batch);
      }
      /** Not in Redis yet: drop it from the lane. true when it was there. */
      function unqueue(): boolean {
        if (item.batch) return false;
        const at = lane.pending.indexOf(item);
        if (at >= 0) lane.pending.splice(at, 1);
        return true;
      }
      /** Client gone or deadline passed: stop it wherever it is. */
      function cancel(answer: QueryOutcome): void {
        if (item.done) return;
        const batch = item.batch;
        if (unqueue() || !batch) return finish(answer);
        ctx.publishCancel(job.id);
        finish(answer);
        removeIfAbandoned(batch);
      }
      function onAbort(): void {
        cancel(failure('CLIENT_CLOSED'));
      }
      inFlight.set(job.id, item);
      signal?.addEventListener('abort', onAbort, { once: true });
      const now = Date.now();
      timers.push(
        setTimeout(
          () => {
            if (!waiting(item)) return;
            if (unqueue()) return finish(failure('OVERLOADED', 'No worker became free in time; retry later', OVERLOADED_RETRY_AFTER));
            item.withdrawn = true;
            ctx.publishWithdraw(job.id);
            removeIfAbandoned(item.batch!);
          },
          Math.min(maxWaitMs, job.deadline - now),
        ),
        setTimeout(() => cancel(failure('QUERY_TIMEOUT', 'No answer from a worker before the request deadline')), job.deadline - now + DEADLINE_GRACE_MS),
      );
      lane.pending.push(item);
      schedule(lane);
    });
  }

  return {
    submit(job, signal) {
      const refused = refuseAtSubmit(config, closed, job, signal);
      if (refused) return Promise.resolve(refused);
      if (!ctx.available()) return Promise.resolve(unavailable());
      const queued = Math.max(localWaiting(job.connection), sharedWaiting(job.connection));
      if (queued >= maxWaiting || Math.min(maxWaitMs, job.deadline - Date.now()) <= 0) {
        return Promise.resolve(failure('OVERLOADED', undefined, OVERLOADED_RETRY_AFTER));
      }
      // Synchronously from the admission check to the registration in inFlight: a burst in one
      // tick sees its own earlier jobs as waiting.
      return run(job, signal);
    },
    stats(): QueueStats {
      const n = localWaiting();
      return { waiting: n, running: inFlight.size - n };
    },
    async close() {
      closed = true;
      for (const lane of lanes.values()) for (const item of lane.pending.splice(0)) item.finish(failure('SHUTTING_DOWN'));
      await Promise.allSettled(
        [...batches.values()]
          .filter((b) => !b.started)
          .map(async (b) => {
            const removed = await ctx.queue(b.connection).remove(b.id).catch(() => 0);
            if (removed === 1) for (const item of b.items) item.finish(failure('SHUTTING_DOWN'));
          }),
      );
      // Jobs already on a worker finish there; wait for their answers, bounded.
      const until = Date.now() + drainWaitMs(config.limits.queryTimeout);
      while (inFlight.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      for (const item of [...inFlight.values()]) item.finish(failure('SHUTTING_DOWN'));
    },
  };
}
