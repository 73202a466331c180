import type { PoolStats } from '../drivers/driver.js';
import type { QueryJob, QueryOutcome } from './messages.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * The piscina host as the rest of the code sees it. Implemented in pool/piscina-pool.ts.
 * `run` never rejects for query errors: those come back as `{ ok: false, error }`.
 */
export interface WorkerPool {
  run(job: QueryJob): Promise<QueryOutcome>;
  /** Ask the thread running `jobId` to cancel it on the server. */
  cancel(jobId: string): void;
  /** Total concurrent statements the pool can run for `connection` (threads × per-thread max). */
  capacity(connection: string): number;
  /** Per connection: reachable or the reason it is not. */
  ping(): Promise<Record<string, { ok: boolean; error?: string }>>;
  close(): Promise<void>;
  /** Per connection, the circuit breaker's state (present when the pool is wrapped by one). */
  breakerStates?(): Record<string, BreakerState>;
  /** Per connection, the pool numbers summed over every worker thread. */
  poolStats?(): Promise<Record<string, PoolStats>>;
}
