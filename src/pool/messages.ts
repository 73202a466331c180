/**
 * Typed messages between the HTTP thread and worker threads. Everything here must survive
 * structured clone: plain objects only, errors as ErrorBody, never class instances.
 */
import type { ErrorBody } from '../errors.js';

export type QueryMethod = 'all' | 'execute';

export interface QueryJob {
  /** Unique per request; used to cancel it. */
  id: string;
  connection: string;
  role: string;
  /** The verified JWT payload. */
  claims: Record<string, unknown>;
  sql: string;
  params: unknown[];
  method: QueryMethod;
  typings?: string[];
  /** Epoch ms after which the job must not start, and by which it must finish. */
  deadline: number;
}

export interface QueryTimings {
  /** ms spent parsing/checking/rewriting (0 on a cache hit). */
  checkMs: number;
  /** ms from leasing a connection to releasing it. */
  leaseMs: number;
  /** ms waiting for a connection inside the thread's pool. */
  acquireMs: number;
  cacheHit: boolean;
}

export interface QueryResult {
  rows: unknown[];
  rowCount: number | null;
  truncated: boolean;
  /** Qualified tables the statement touched. */
  tables: string[];
  kind: string;
  timings: QueryTimings;
}

export type QueryOutcome =
  | { ok: true; result: QueryResult }
  | { ok: false; error: ErrorBody; tables?: string[] };

/** Broadcast on the cancel channel: the thread running job `id` cancels it on the server. */
export interface CancelMessage {
  type: 'cancel';
  id: string;
}

/** What each worker thread receives at start-up. */
export interface WorkerInit {
  config: import('../config/types.js').SluiceConfig;
  cancelChannel: string;
}

export const CANCEL_CHANNEL_PREFIX = 'sluice-cancel-';
