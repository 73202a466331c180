/**
 * Typed messages between the HTTP thread and worker threads. Everything here must survive
 * structured clone: plain objects only, errors as ErrorBody, never class instances.
 */
import type { FieldInfo, StatementResult } from '../drivers/driver.js';
import { SluiceError, type ErrorBody } from '../errors.js';

/**
 * What the client wants back (Drizzle's proxy callbacks): `all` row arrays, `execute` row objects
 * (MySQL: the write's header), and SQLite's `values` (row arrays), `get` (one flat row), `run`
 * (the write's result). Which ones a connection accepts depends on its dialect.
 */
export const QUERY_METHODS = ['all', 'execute', 'values', 'get', 'run'] as const;
export type QueryMethod = (typeof QUERY_METHODS)[number];

/** The `method`s each dialect serves (what its Drizzle proxy driver sends); others → METHOD_NOT_SUPPORTED. */
export const METHODS_BY_DIALECT: Readonly<Record<import('../config/types.js').Dialect, ReadonlySet<QueryMethod>>> = {
  postgres: new Set(['all', 'execute']),
  mysql: new Set(['all', 'execute']),
  sqlite: new Set(['all', 'values', 'get', 'run', 'execute']),
};

/** Throws METHOD_NOT_SUPPORTED (400). Checked at the HTTP edge and again in front of every driver. */
export function checkMethod(dialect: import('../config/types.js').Dialect, method: QueryMethod): void {
  if (!METHODS_BY_DIALECT[dialect].has(method)) {
    const allowed = [...METHODS_BY_DIALECT[dialect]].join(', ');
    throw new SluiceError('METHOD_NOT_SUPPORTED', `method "${method}" is not supported on a ${dialect} connection (use ${allowed})`);
  }
}

export interface QueryJob {
  /** Unique per request; used to cancel it. */
  id: string;
  connection: string;
  role: string;
  /** The verified JWT payload. */
  claims: Record<string, unknown>;
  /**
   * Who the job is fair-queued as (the tenant claim; the user when there is none), and the tier of
   * the tenant's route (tenants config). Set by buildJob at the edge.
   */
  tenant?: string;
  tier?: string;
  sql: string;
  params: unknown[];
  method: QueryMethod;
  typings?: string[];
  /** Epoch ms after which the job must not start, and by which it must finish. */
  deadline: number;
  /**
   * Several statements in one transaction, all or nothing. When present, `sql`/`params`/`method`/
   * `typings` of the job itself are ignored and the result carries `results`, one per statement.
   */
  batch?: BatchStatement[];
  /**
   * Set by the queue worker when this job already started once on a worker that died: only a
   * read-only job may run again; a write fails with WORKER_LOST instead (at-most-once).
   */
  readOnlyRetry?: boolean;
  /**
   * "json" (/data): the thread answers with the serialized response body (`QueryResult.body`)
   * instead of rows, so nothing row-shaped crosses back. Unset (/jobs, which store rows): rows.
   */
  answer?: 'json';
}

export interface BatchStatement {
  sql: string;
  params: unknown[];
  method: QueryMethod;
  typings?: string[];
}

/** One statement's answer, as the driver shaped it (see StatementResult). */
export type BatchItemResult = StatementResult;

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
  /** MySQL `execute` of a statement that returned rows: its columns (the edge answers `[rows, fields]`). */
  fields?: FieldInfo[];
  /** Qualified tables the statement touched. */
  tables: string[];
  kind: string;
  timings: QueryTimings;
  /** A batch job: one entry per statement, in order (`rows` is then empty). */
  results?: BatchItemResult[];
  /** A job with `answer: "json"`: the /data response body; `rows` is then empty and `results` absent. */
  body?: string;
  /** With `body`: how many rows it carries (what `rows.length` would have been). */
  returned?: number;
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
