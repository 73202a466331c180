/** Fakes of the JobQueue / WorkerPool interfaces for HTTP unit tests (no database involved). */
import type { QueryJob, QueryOutcome } from '../../src/pool/messages.js';
import type { WorkerPool } from '../../src/pool/worker-pool.js';
import type { JobQueue, QueueStats } from '../../src/queue/job-queue.js';

export interface FakeQueue extends JobQueue {
  jobs: QueryJob[];
  signals: (AbortSignal | undefined)[];
  /** Decides the outcome of each submitted job; default: one row. */
  answer: (job: QueryJob, signal?: AbortSignal) => Promise<QueryOutcome>;
  closed: boolean;
}

export function okOutcome(rows: unknown[] = [[1, 'a']], extra: { truncated?: boolean } = {}): QueryOutcome {
  return {
    ok: true,
    result: {
      rows,
      rowCount: rows.length,
      truncated: extra.truncated ?? false,
      tables: ['public.customers'],
      kind: 'select',
      timings: { checkMs: 1, leaseMs: 2, acquireMs: 0.5, cacheHit: false },
    },
  };
}

export function fakeQueue(): FakeQueue {
  const q: FakeQueue = {
    jobs: [],
    signals: [],
    closed: false,
    answer: async () => okOutcome(),
    submit(job, signal) {
      q.jobs.push(job);
      q.signals.push(signal);
      return q.answer(job, signal);
    },
    stats(): QueueStats {
      return { waiting: 0, running: 0 };
    },
    async close() {
      q.closed = true;
    },
  };
  return q;
}

export function fakePool(ping: () => Promise<Record<string, { ok: boolean; error?: string }>> = async () => ({ main: { ok: true } })): WorkerPool & { closed: boolean } {
  const pool = {
    closed: false,
    run: async (): Promise<QueryOutcome> => okOutcome(),
    cancel: () => {},
    capacity: () => 10,
    ping,
    async close() {
      pool.closed = true;
    },
  };
  return pool;
}
