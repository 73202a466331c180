/**
 * The driver contract: each database library is imported only inside its own folder under
 * drivers/. A driver leases a connection, binds the tenant context transaction-locally, runs one
 * statement with a server-side timeout, and returns the connection with no state left on it.
 * Cancellation is part of the contract: `cancel(jobId)` stops a running statement on the server.
 */
import type { QueryMethod } from '../pool/messages.js';
import type { UpsertShape } from '../sql/validator.js';

export interface ExecuteRequest {
  jobId: string;
  sql: string;
  params: unknown[];
  method: QueryMethod;
  /** JWT claims, bound for the transaction (Postgres: request.jwt.claims). */
  claims: Record<string, unknown>;
  /** ms the statement may run (server-side timeout). */
  timeoutMs: number;
  /** Rows beyond this are dropped and `truncated` is set. */
  maxRows: number;
  /**
   * Bytes of row JSON the answer may carry (a batch: all statements together), counted while rows
   * arrive (common/response-budget.ts). A read stops on the server at the first row that does not
   * fit; a write runs to its end and only drops rows. Either way `truncated` is set.
   */
  maxResponseBytes: number;
  readOnly: boolean;
  /**
   * The validator's tables for this statement. Drivers with an engine-level check (SQLite) refuse
   * a compiled statement that touches any other table; undefined skips that check.
   */
  tables?: readonly string[];
  /**
   * An INSERT that may update the row it conflicts with instead (ON DUPLICATE KEY UPDATE, ON
   * CONFLICT DO UPDATE). MySQL reports the id of the last row such a statement touched, which may
   * be another tenant's; its driver then reports only an id the statement generated, or the id of the
   * one row it updated (which passed the tenant guard).
   */
  upsert?: UpsertShape;
}

/** Column descriptions as mysql2 gives them, without the table and database names behind them. */
export interface FieldInfo {
  name: string;
  columnType: number | undefined;
  type: number | undefined;
  columnLength: number | undefined;
  decimals: number;
  flags: number | string[];
  characterSet: number | undefined;
}

/** One statement's answer, shaped for the method (see each driver) and already cut to maxRows/maxResponseBytes. */
export interface StatementResult {
  rows: unknown[];
  rowCount: number | null;
  truncated: boolean;
  /**
   * A statement that returned a result set under MySQL's `execute`: its columns. The edge then
   * answers `[rows, fields]`, what mysql2 (and so Drizzle's mysql-proxy) returns for a read.
   */
  fields?: FieldInfo[];
}

export interface ExecuteResult extends StatementResult {
  acquireMs: number;
  leaseMs: number;
}

export interface BatchRequestStatement {
  sql: string;
  params: unknown[];
  method: QueryMethod;
  /** As ExecuteRequest.tables. */
  tables?: readonly string[];
  /** As ExecuteRequest.upsert. */
  upsert?: UpsertShape;
}

/** Several statements on one lease, in one transaction: all commit or none does. */
export interface ExecuteBatchRequest extends Omit<ExecuteRequest, 'sql' | 'params' | 'method' | 'tables' | 'upsert'> {
  statements: BatchRequestStatement[];
}

export interface ExecuteBatchResult {
  results: StatementResult[];
  acquireMs: number;
  leaseMs: number;
}

/** One driver's pool, as seen by metrics and replica routing (numbers of this thread only). */
export interface PoolStats {
  /** Most leases at once (the connection's `max`). */
  max: number;
  /** Leases held now. */
  active: number;
  /** Callers waiting for a lease. */
  waiting: number;
  /** Physical connections open (idle or leased). */
  open: number;
}

export interface Driver {
  /** Throws SluiceError (already mapped to stable codes, sanitized). */
  execute(req: ExecuteRequest): Promise<ExecuteResult>;
  /** Like execute, for a batch; `timeoutMs` bounds the whole transaction. Cancel by `jobId` as usual. */
  executeBatch(req: ExecuteBatchRequest): Promise<ExecuteBatchResult>;
  /** Cancel the running statement of `jobId` on the server; no-op if it is not running here. */
  cancel(jobId: string): Promise<void>;
  stats(): PoolStats;
  /** Cheap reachability probe for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
