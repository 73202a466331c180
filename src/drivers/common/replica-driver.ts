/**
 * Read replicas as a Driver decorator (built in pool/create-driver.ts, so every driver gets the
 * same routing):
 *
 * - A write, or a batch with any write, always runs on the primary.
 * - A read-only statement (or an all-read-only batch) runs on the next replica, round-robin —
 *   `always`, or in `overflow` mode only while the primary's pool is busier than `utilization`:
 *   (active + waiting) / max from the primary's stats(), so queued callers count.
 * - A replica that fails before the statement was sent (no connection: wasNotSent) is skipped for
 *   REPLICA_RETRY_MS and the read runs on the primary with what is left of its time budget. A
 *   failure after the statement may have started is answered as it is, never retried: the
 *   statement may be what broke the connection, and a second run costs a second budget.
 *
 * stats() and ping() are the primary's: a replica outage sends reads back to the primary, it does
 * not make the connection unready. Replicas lag: a read right after a write may not see it there
 * (docs/configuration.md says so; a batch with the write in it runs on the primary).
 */
import { SluiceError } from '../../errors.js';
import type { Driver } from '../driver.js';
import { wasNotSent } from './not-sent.js';

export interface ReplicaRouting {
  reads: 'always' | 'overflow';
  /** 0–1: the primary's utilization above which `overflow` diverts reads. */
  utilization: number;
}

export const REPLICA_DEFAULTS: ReplicaRouting = { reads: 'always', utilization: 0.85 };

/** How long a replica that could not be reached is left out before reads try it again. */
export const REPLICA_RETRY_MS = 5000;

type Log = (msg: string, details: Record<string, unknown>) => void;

interface Job {
  driver: Driver;
  cancelled: boolean;
}

export function withReplicas(primary: Driver, replicas: readonly Driver[], routing: ReplicaRouting, log: Log): Driver {
  if (replicas.length === 0) return primary;
  const downUntil = replicas.map(() => 0);
  let next = 0;
  const jobs = new Map<string, Job>();

  function primaryBusy(): boolean {
    const s = primary.stats();
    return s.max > 0 && (s.active + s.waiting) / s.max > routing.utilization;
  }

  /** The replica for a read, or undefined for the primary. */
  function pick(readOnly: boolean): number | undefined {
    if (!readOnly || (routing.reads === 'overflow' && !primaryBusy())) return undefined;
    const now = Date.now();
    for (let i = 0; i < replicas.length; i++) {
      const k = (next + i) % replicas.length;
      if (downUntil[k]! <= now) {
        next = (k + 1) % replicas.length;
        return k;
      }
    }
    return undefined;
  }

  async function route<R>(jobId: string, readOnly: boolean, timeoutMs: number, run: (d: Driver, timeoutMs: number) => Promise<R>): Promise<R> {
    const k = pick(readOnly);
    const job: Job = { driver: k === undefined ? primary : replicas[k]!, cancelled: false };
    jobs.set(jobId, job);
    const started = performance.now();
    try {
      try {
        return await run(job.driver, timeoutMs);
      } catch (err) {
        if (k === undefined || !(err instanceof SluiceError) || err.code !== 'DATABASE_UNAVAILABLE' || !wasNotSent(err)) throw err;
        downUntil[k] = Date.now() + REPLICA_RETRY_MS;
        log('replica unreachable; reads go to the primary for a while', { replica: k, retryInMs: REPLICA_RETRY_MS });
        if (job.cancelled) throw new SluiceError('CLIENT_CLOSED');
        const left = timeoutMs - (performance.now() - started);
        // The replica's connect spent the whole budget: its unavailability is the answer.
        if (left < 1) throw err;
        // Switched before the call, which registers the job synchronously: a cancel cannot slip between.
        job.driver = primary;
        return await run(primary, left);
      }
    } finally {
      jobs.delete(jobId);
    }
  }

  return {
    execute: (req) => route(req.jobId, req.readOnly, req.timeoutMs, (d, timeoutMs) => d.execute({ ...req, timeoutMs })),
    executeBatch: (req) => route(req.jobId, req.readOnly, req.timeoutMs, (d, timeoutMs) => d.executeBatch({ ...req, timeoutMs })),
    async cancel(jobId) {
      const job = jobs.get(jobId);
      if (!job) return;
      job.cancelled = true;
      await job.driver.cancel(jobId);
    },
    stats: () => primary.stats(),
    ping: () => primary.ping(),
    async close() {
      await Promise.allSettled([primary, ...replicas].map((d) => d.close()));
    },
  };
}
