/**
 * Per-tenant fairness in front of any JobQueue (in-process or BullMQ): each tenant line (the
 * policy's `key`) has at most `maxConcurrent` jobs handed to the inner queue at once; the excess
 * waits in the line's OWN FIFO here, so a flooding tenant never fills the inner queue's shared
 * waiting slots or connections and other tenants' jobs are never queued behind more than
 * `maxConcurrent` of its jobs.
 *
 * Answers (`submit` never rejects, like every JobQueue):
 *   - the line already holds `maxWaiting`            → 429 TENANT_BUSY + Retry-After;
 *   - all lines together hold `queue.maxWaiting`     → 503 OVERLOADED + Retry-After (bounds memory
 *     however many tenants flood at once);
 *   - waited min(queue.maxWaitMs, deadline) in line  → 503 OVERLOADED + Retry-After;
 *   - aborted while in line → CLIENT_CLOSED; once handed on, the signal goes to the inner queue.
 * The inner queue applies its own bounds (maxWaiting, maxWaitMs) from the moment it gets a job,
 * so a job may wait up to maxWaitMs here and again up to maxWaitMs there.
 *
 * Work-conserving: the caps bite only when others wait. A line at its cap may still hand on its
 * next job while the inner queue has at least two idle slots for the connection
 * (`JobQueue.idleSlots`) and no other line of that connection has a job waiting, so a lone tenant
 * can use every idle slot but one. That one is kept for a tenant that arrives: it starts at once
 * instead of waiting for a borrowed slot — a lone tenant's slow statements (a locked table) hold
 * their slots up to queryTimeout, longer than maxWaitMs, and would otherwise shed the newcomer
 * (test/integration/faults-slow-database.test.ts). Once another line waits, the caps apply again.
 * An inner queue without `idleSlots` (BullMQ) gets hard caps.
 *
 * `stats()` is the inner queue's stats plus the jobs waiting in the tenant lines (`waiting`);
 * `running` is the inner queue's. A line with nothing handed on and nothing waiting is deleted.
 *
 * Limitation: the count is per process. In queue mode with N API processes a tenant may have up
 * to N × maxConcurrent jobs in Redis at once (and N × maxWaiting waiting).
 */
import type { SluiceConfig } from '../config/types.js';
import type { QueryJob, QueryOutcome } from '../pool/messages.js';
import type { JobQueue, QueueStats } from './job-queue.js';
import { failure, refuseAtSubmit } from './refusals.js';

export interface TenantLimits {
  maxConcurrent: number;
  maxWaiting: number;
}

/** The tenant line a job belongs to and its limits. */
export type FairnessPolicy = (job: QueryJob) => { key: string } & TenantLimits;

export interface FairQueue extends JobQueue {
  /** Lines currently held (a job handed on or waiting); idle lines are deleted. For tests and metrics. */
  lines(): number;
}

/** Seconds: a tenant's slot frees up within one of its statements. */
const TENANT_BUSY_RETRY_AFTER = 1;
const OVERLOADED_RETRY_AFTER = 1;

interface Waiter {
  job: QueryJob;
  signal: AbortSignal | undefined;
  maxConcurrent: number;
  /** Adopts the outcome of the job once handed on. */
  resolve(outcome: QueryOutcome | Promise<QueryOutcome>): void;
  /** Clears the wait timer and abort listener. */
  dispose(): void;
}

interface Line {
  key: string;
  connection: string;
  /** Jobs handed to the inner queue and not answered yet. */
  handedOn: number;
  /** Insertion-ordered: FIFO with O(1) removal of an expired or aborted waiter. */
  waiting: Set<Waiter>;
}

/** A policy value that is not a positive count would stall the line for good; fail towards 1. */
const concurrency = (n: number): number => (n >= 1 ? Math.floor(n) : 1);
const waitingRoom = (n: number): number => (n >= 0 ? Math.floor(n) : 0);

export function createFairQueue(inner: JobQueue, policy: FairnessPolicy, config: Readonly<SluiceConfig>): FairQueue {
  const { maxWaiting, maxWaitMs } = config.queue;
  const lines = new Map<string, Line>();
  let waitingCount = 0;
  let closed = false;

  /** Lines with jobs waiting, per connection: only these can hold back a borrower. */
  function othersWait(line: Line, connection: string): boolean {
    for (const other of lines.values()) if (other !== line && other.connection === connection && other.waiting.size > 0) return true;
    return false;
  }

  /** Borrowing leaves at least this slot idle, for a tenant that arrives (see the header). */
  function canLend(connection: string): boolean {
    return (inner.idleSlots?.(connection) ?? 0) > 1;
  }

  /** May `line`, at or over its cap, hand on one more job now? (work-conserving; see the header) */
  function mayBorrow(line: Line, connection: string): boolean {
    return canLend(connection) && !othersWait(line, connection);
  }

  /** A slot of `connection` may have come free: the one line still waiting there may borrow it. */
  function lend(connection: string): void {
    if (waitingCount === 0 || !canLend(connection)) return;
    let borrower: Line | undefined;
    for (const l of lines.values()) {
      if (l.connection !== connection || l.waiting.size === 0) continue;
      if (borrower) return; // two lines wait: the caps bite
      borrower = l;
    }
    if (borrower) next(borrower);
  }

  /** Only ever called when the line is settled for now (never between taking a waiter and handing it on). */
  function dropIfIdle(line: Line): void {
    if (line.handedOn === 0 && line.waiting.size === 0) lines.delete(line.key);
  }

  function take(line: Line, w: Waiter): boolean {
    if (!line.waiting.delete(w)) return false;
    waitingCount--;
    w.dispose();
    return true;
  }

  function handOn(line: Line, job: QueryJob, signal: AbortSignal | undefined): Promise<QueryOutcome> {
    line.handedOn++;
    let outcome: Promise<QueryOutcome>;
    try {
      outcome = inner.submit(job, signal);
    } catch {
      outcome = Promise.resolve(failure('INTERNAL_ERROR'));
    }
    return outcome
      .catch(() => failure('INTERNAL_ERROR')) // JobQueue.submit does not reject by contract; if it does, the caller still gets an outcome.
      .finally(() => {
        line.handedOn--;
        next(line);
        dropIfIdle(line);
        lend(job.connection);
      });
  }

  function next(line: Line): void {
    while (!closed && line.waiting.size > 0) {
      const w = line.waiting.values().next().value as Waiter;
      if (line.handedOn >= w.maxConcurrent && !mayBorrow(line, w.job.connection)) return;
      take(line, w);
      w.resolve(handOn(line, w.job, w.signal));
    }
  }

  function wait(line: Line, job: QueryJob, signal: AbortSignal | undefined, maxConcurrent: number, waitMs: number): Promise<QueryOutcome> {
    return new Promise<QueryOutcome>((resolve) => {
      const timer = setTimeout(() => {
        if (!take(line, w)) return;
        dropIfIdle(line);
        resolve(failure('OVERLOADED', "No slot of the tenant's line became free in time; retry later", OVERLOADED_RETRY_AFTER));
      }, waitMs);
      const onAbort = (): void => {
        if (!take(line, w)) return;
        dropIfIdle(line);
        resolve(failure('CLIENT_CLOSED'));
      };
      const w: Waiter = {
        job,
        signal,
        maxConcurrent,
        resolve,
        dispose() {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      line.waiting.add(w);
      waitingCount++;
    });
  }

  return {
    submit(job, signal) {
      const refused = refuseAtSubmit(config, closed, job, signal);
      if (refused) return Promise.resolve(refused);
      let rule: ReturnType<FairnessPolicy>;
      try {
        rule = policy(job);
      } catch {
        return Promise.resolve(failure('INTERNAL_ERROR'));
      }
      const maxConcurrent = concurrency(rule.maxConcurrent);
      let line = lines.get(rule.key);
      if (!line) {
        line = { key: rule.key, connection: job.connection, handedOn: 0, waiting: new Set() };
        lines.set(rule.key, line);
      }
      // Jobs already in line go first, even if a slot is free right now (another job's limits).
      if (line.waiting.size === 0 && (line.handedOn < maxConcurrent || mayBorrow(line, job.connection))) return handOn(line, job, signal);
      if (line.waiting.size >= waitingRoom(rule.maxWaiting)) {
        dropIfIdle(line);
        return Promise.resolve(failure('TENANT_BUSY', undefined, TENANT_BUSY_RETRY_AFTER));
      }
      const waitMs = Math.min(maxWaitMs, job.deadline - Date.now());
      if (waitingCount >= maxWaiting || waitMs <= 0) {
        dropIfIdle(line);
        return Promise.resolve(failure('OVERLOADED', undefined, OVERLOADED_RETRY_AFTER));
      }
      return wait(line, job, signal, maxConcurrent, waitMs);
    },
    refusal(probe) {
      if (closed) return undefined;
      let rule: ReturnType<FairnessPolicy>;
      try {
        rule = policy(probe as QueryJob);
      } catch {
        return undefined;
      }
      const line = lines.get(rule.key);
      // As submit() decides: handed on (then the inner queue's bounds apply) or waiting in line.
      if (!line || (line.waiting.size === 0 && (line.handedOn < concurrency(rule.maxConcurrent) || mayBorrow(line, probe.connection)))) return inner.refusal?.(probe);
      if (line.waiting.size >= waitingRoom(rule.maxWaiting)) return failure('TENANT_BUSY', undefined, TENANT_BUSY_RETRY_AFTER);
      if (waitingCount >= maxWaiting) return failure('OVERLOADED', undefined, OVERLOADED_RETRY_AFTER);
      return undefined;
    },
    stats(): QueueStats {
      const s = inner.stats();
      return { waiting: s.waiting + waitingCount, running: s.running };
    },
    lines: () => lines.size,
    async close() {
      closed = true;
      for (const line of [...lines.values()]) {
        for (const w of [...line.waiting]) {
          take(line, w);
          w.resolve(failure('SHUTTING_DOWN'));
        }
        dropIfIdle(line);
      }
      await inner.close();
    },
  };
}
