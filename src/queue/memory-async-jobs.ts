/**
 * Async jobs in memory, for in-process mode: each job goes through the same JobQueue as /data
 * (so it counts against the same bounds) and its outcome is kept for resultTtlMs. Lost on
 * restart; queue mode keeps them in Redis instead.
 */
import { LRUCache } from 'lru-cache';
import type { SluiceConfig } from '../config/types.js';
import { SluiceError } from '../errors.js';
import type { QueryJob, QueryOutcome } from '../pool/messages.js';
import { finishedStatus, newJobId, sameOwner, type AsyncJobs, type JobOwner, type JobStatus } from './async-jobs.js';
import type { JobQueue } from './job-queue.js';
import { settleWithin } from '../timeouts.js';

const MAX_JOBS = 10_000;
const CANCEL_WAIT_MS = 2000;

interface Record {
  owner: JobOwner;
  outcome?: QueryOutcome;
  expiresAt: number;
  controller: AbortController;
  done: Promise<void>;
}

export function createMemoryAsyncJobs(config: Readonly<SluiceConfig>, queue: JobQueue, now: () => number = Date.now): AsyncJobs {
  const ttl = config.queue.resultTtlMs;
  const records = new LRUCache<string, Record>({ max: MAX_JOBS });
  let closed = false;

  function find(id: string, owner: JobOwner): Record | undefined {
    const r = records.get(id);
    if (!r || !sameOwner(r.owner, owner)) return undefined;
    if (r.outcome !== undefined && r.expiresAt <= now()) {
      records.delete(id);
      return undefined;
    }
    return r;
  }

  function status(id: string, r: Record): JobStatus {
    return r.outcome === undefined ? { id, state: 'queued' } : finishedStatus(id, r.outcome);
  }

  return {
    async submit(job: QueryJob, owner) {
      if (closed) return { ok: false, error: new SluiceError('SHUTTING_DOWN').toBody() };
      const id = newJobId();
      const controller = new AbortController();
      const task: QueryJob = { ...job, id, deadline: now() + config.queue.maxWaitMs + config.limits.queryTimeout };
      const record: Record = { owner, controller, expiresAt: Infinity, done: Promise.resolve() };
      record.done = queue.submit(task, controller.signal).then((outcome) => {
        record.outcome = outcome;
        record.expiresAt = now() + ttl;
      });
      records.set(id, record);
      return { ok: true, id };
    },
    async status(id, owner) {
      const r = find(id, owner);
      return r && status(id, r);
    },
    async result(id, owner) {
      const r = find(id, owner);
      if (!r) return undefined;
      return r.outcome === undefined ? { status: status(id, r) } : { status: status(id, r), outcome: r.outcome };
    },
    async cancel(id, owner) {
      const r = find(id, owner);
      if (!r) return undefined;
      if (r.outcome === undefined) {
        r.controller.abort();
        await settleWithin(r.done, CANCEL_WAIT_MS);
      }
      return status(id, r);
    },
    async close() {
      closed = true;
      for (const r of records.values()) if (r.outcome === undefined) r.controller.abort();
    },
  };
}
