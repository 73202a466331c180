/**
 * Async jobs in Redis: the BullMQ job is the record (owner and claims in its data, the outcome as
 * its return value), kept `resultTtlMs` after it finishes, so any API instance answers for it.
 * A job cancelled while still waiting is removed and leaves a small tombstone for the same TTL.
 * Stored jobs are bounded per owner, per tenant and in all (redis-job-quotas.ts): a full bound
 * refuses the new job; nothing is evicted (BullMQ removes a result only once its TTL has passed).
 */
import { Job } from 'bullmq';
import { SluiceError } from '../../errors.js';
import type { QueryJob, QueryOutcome } from '../../pool/messages.js';
import { finishedStatus, newJobId, sameOwner, type AsyncJobs, type JobCounts, type JobOwner, type JobStatus } from '../async-jobs.js';
import { cancelledKey } from './names.js';
import { createRedisJobQuotas, type StoredJobState } from './redis-job-quotas.js';
import type { JobPayload, JobReturn } from './payload.js';
import { unavailable, unavailableError, type DataQueue, type RedisContext } from './redis-context.js';
import { failedOutcome } from './result-listener.js';

const CANCEL_WAIT_MS = 2000;
const CANCEL_POLL_MS = 50;

interface Found {
  job: Job<JobPayload, JobReturn>;
  queue: DataQueue;
}

function stateOf(id: string, state: string, job: Job<JobPayload, JobReturn>): { status: JobStatus; outcome?: QueryOutcome } {
  if (state === 'completed') return { status: finishedStatus(id, job.returnvalue), outcome: job.returnvalue };
  if (state === 'failed') {
    const outcome = failedOutcome(job.failedReason);
    return { status: finishedStatus(id, outcome), outcome };
  }
  return { status: { id, state: state === 'active' ? 'running' : 'queued' } };
}

export function createBullmqAsyncJobs(ctx: RedisContext): AsyncJobs {
  const { config } = ctx;
  const ttl = config.queue.resultTtlMs;
  const ttlSeconds = Math.ceil(ttl / 1000);
  const connections = Object.keys(config.connections);
  let closed = false;

  /** Where a quota member's job stands, for reconciling a bound that looks full. */
  async function inspect(connection: string, id: string): Promise<StoredJobState> {
    if (!connections.includes(connection)) return { state: 'gone' };
    const job = await Job.fromId<JobPayload, JobReturn>(ctx.queue(connection), id);
    if (job) return job.finishedOn === undefined ? { state: 'live' } : { state: 'expires', at: job.finishedOn + ttl };
    const left = await ctx.client.pttl(cancelledKey(config.queue.prefix, id));
    return left > 0 ? { state: 'expires', at: Date.now() + left } : { state: 'gone' };
  }
  const quotas = createRedisJobQuotas(ctx.client, config, inspect);

  async function find(id: string, owner: JobOwner): Promise<Found | undefined> {
    if (!/^j_[A-Za-z0-9_-]{24}$/.test(id)) return undefined;
    for (const name of connections) {
      const queue = ctx.queue(name);
      const job = await Job.fromId<JobPayload, JobReturn>(queue, id);
      if (!job) continue;
      if (job.data.kind !== 'async' || !sameOwner(job.data.owner, owner)) return undefined;
      if (job.finishedOn !== undefined && job.finishedOn + ttl <= Date.now()) return undefined;
      return { job, queue };
    }
    return undefined;
  }

  async function tombstone(id: string, owner: JobOwner): Promise<JobStatus | undefined> {
    const raw = await ctx.client.get(cancelledKey(config.queue.prefix, id));
    if (raw === null) return undefined;
    return sameOwner(JSON.parse(raw) as JobOwner, owner) ? { id, state: 'cancelled' } : undefined;
  }

  async function lookup(id: string, owner: JobOwner): Promise<{ status: JobStatus; outcome?: QueryOutcome; found?: Found } | undefined> {
    const found = await find(id, owner);
    if (!found) {
      const status = await tombstone(id, owner);
      return status && { status };
    }
    const state = await found.job.getState();
    // It finished after it was read: read it again for its outcome.
    if ((state === 'completed' || state === 'failed') && found.job.finishedOn === undefined) {
      const fresh = await Job.fromId<JobPayload, JobReturn>(found.queue, id);
      if (!fresh) return undefined;
      found.job = fresh;
    }
    return { ...stateOf(id, state, found.job), found };
  }

  /** Redis errors become QUEUE_UNAVAILABLE (a 503 at the route), never a 500. */
  async function guarded<T>(work: () => Promise<T>): Promise<T> {
    if (!ctx.available()) throw unavailableError();
    try {
      return await work();
    } catch (e) {
      if (e instanceof SluiceError) throw e;
      throw unavailableError();
    }
  }

  return {
    async submit(job: QueryJob, owner) {
      if (closed) return { ok: false, error: new SluiceError('SHUTTING_DOWN').toBody() };
      if (!ctx.available()) return unavailable();
      const id = newJobId();
      const queue = ctx.queue(job.connection);
      try {
        if ((await queue.getWaitingCount()) >= config.queue.maxWaiting) {
          return { ok: false, error: new SluiceError('OVERLOADED', undefined, { retryAfter: 1 }).toBody() };
        }
        const refused = await quotas.admit(owner, job.connection, id);
        if (refused) return { ok: false, error: refused };
        const payload: JobPayload = { kind: 'async', job: { ...job, id, deadline: 0 }, owner };
        try {
          await queue.add('query', payload, { jobId: id, removeOnComplete: { age: ttlSeconds }, removeOnFail: { age: ttlSeconds }, attempts: 1 });
        } catch {
          // Never stored: give the place back (if this fails too, reconciling does it later).
          await quotas.release(owner, job.connection, id).catch(() => undefined);
          return unavailable();
        }
        return { ok: true, id };
      } catch {
        return unavailable();
      }
    },
    status: (id, owner) => guarded(async () => (await lookup(id, owner))?.status),
    result: (id, owner) =>
      guarded(async () => {
        const r = await lookup(id, owner);
        if (!r) return undefined;
        return r.outcome === undefined ? { status: r.status } : { status: r.status, outcome: r.outcome };
      }),
    cancel: (id, owner) =>
      guarded(async () => {
        const r = await lookup(id, owner);
        if (!r?.found || r.outcome !== undefined) return r?.status;
        const { queue, job } = r.found;
        if ((await queue.remove(id)) === 1) {
          await ctx.client.set(cancelledKey(config.queue.prefix, id), JSON.stringify(owner), 'PX', ttl);
          // The tombstone is what is stored now; reconciling would find it if this update were lost.
          const connection = job.data.kind === 'async' ? job.data.job.connection : '';
          await quotas.expiresAt(owner, connection, id, Date.now() + ttl).catch(() => undefined);
          return { id, state: 'cancelled' } satisfies JobStatus;
        }
        // Running on some worker: it cancels the statement on the server and finishes the job.
        ctx.publishCancel(id);
        const until = Date.now() + CANCEL_WAIT_MS;
        while (Date.now() < until) {
          const state = await job.getState();
          if (state === 'completed' || state === 'failed' || state === 'unknown') break;
          await new Promise((resolve) => setTimeout(resolve, CANCEL_POLL_MS));
        }
        return (await lookup(id, owner))?.status ?? { id, state: 'cancelled' };
      }),
    counts: () =>
      guarded(async () => {
        const counts: JobCounts = { queued: 0, running: 0, completed: 0, failed: 0 };
        for (const name of connections) {
          const c = await ctx.queue(name).getJobCounts('wait', 'prioritized', 'delayed', 'waiting-children', 'active', 'completed', 'failed');
          counts.queued! += (c.wait ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) + (c['waiting-children'] ?? 0);
          counts.running! += c.active ?? 0;
          counts.completed! += c.completed ?? 0;
          counts.failed! += c.failed ?? 0;
        }
        return counts;
      }),
    async close() {
      closed = true;
    },
  };
}
