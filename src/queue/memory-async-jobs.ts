/**
 * Async jobs in memory, for in-process mode: each job goes through the same JobQueue as /data
 * (so it counts against the same bounds) and its outcome is kept for resultTtlMs. Stored jobs are
 * bounded per owner, per tenant and in all (memory-job-store.ts): a full bound refuses the new job,
 * it never evicts another's. Lost on restart; queue mode keeps them in Redis instead.
 */
import type { SluiceConfig } from '../config/types.js';
import { SluiceError } from '../errors.js';
import type { QueryJob, QueryOutcome } from '../pool/messages.js';
import { finishedStatus, newJobId, sameOwner, type AsyncJobs, type JobCounts, type JobOwner, type JobStatus } from './async-jobs.js';
import type { JobQueue } from './job-queue.js';
import { quotaLimits } from './job-quotas.js';
import { createMemoryJobStore } from './memory-job-store.js';
import { settleWithin } from '../timeouts.js';

const CANCEL_WAIT_MS = 2000;

interface Record {
  owner: JobOwner;
  outcome?: QueryOutcome;
  expiresAt: number;
  controller: AbortController;
  done: Promise<void>;
}

export function createMemoryAsyncJobs(config: Readonly<SluiceConfig>, queue: JobQueue, now: () => number = Date.now): AsyncJobs {
  const records = createMemoryJobStore<Record>(quotaLimits(config), config.queue.resultTtlMs, now);
  let closed = false;

  function find(id: string, owner: JobOwner): Record | undefined {
    const r = records.get(id);
    return r && sameOwner(r.owner, owner) ? r : undefined;
  }

  function status(id: string, r: Record): JobStatus {
    return r.outcome === undefined ? { id, state: 'queued' } : finishedStatus(id, r.outcome);
  }

  return {
    async submit(job: QueryJob, owner) {
      if (closed) return { ok: false, error: new SluiceError('SHUTTING_DOWN').toBody() };
      const id = newJobId();
      const record: Record = { owner, controller: new AbortController(), expiresAt: Infinity, done: Promise.resolve() };
      const refused = records.admit(id, record);
      if (refused) return { ok: false, error: refused };
      const task: QueryJob = { ...job, id, deadline: now() + config.queue.maxWaitMs + config.limits.queryTimeout };
      record.done = queue.submit(task, record.controller.signal).then((outcome) => {
        record.outcome = outcome;
        records.finish(id);
      });
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
    async counts() {
      const t = now();
      const counts: JobCounts = { unfinished: 0, completed: 0, failed: 0, cancelled: 0 };
      // Bounded by queue.maxStoredJobs (job-quotas.ts); expired records not yet purged are skipped.
      for (const r of records.values()) {
        if (r.expiresAt <= t) continue;
        const state = r.outcome === undefined ? 'unfinished' : finishedStatus('', r.outcome).state;
        counts[state] = (counts[state] ?? 0) + 1;
      }
      return counts;
    },
    async close() {
      closed = true;
      for (const r of records.values()) if (r.outcome === undefined) r.controller.abort();
    },
  };
}
