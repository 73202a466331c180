/**
 * Typed messages between a worker thread and its SQLite process (structured clone over IPC with
 * `serialization: 'advanced'`). Plain data only; errors travel as ErrorBody.
 */
import type { ErrorBody } from '../../errors.js';
import type { QueryMethod } from '../../pool/messages.js';
import type { StatementResult } from '../driver.js';

export interface SqliteProcessOptions {
  /** Absolute path of the database file; it must exist. */
  file: string;
  busyTimeoutMs: number;
}

export interface SqliteStatement {
  sql: string;
  params: unknown[];
  method: QueryMethod;
  /**
   * The validator's tables for this statement (`t` or `main.t`). When given, the engine wall
   * refuses a program that opens any other table. Undefined: only the read-only check runs.
   */
  tables?: readonly string[];
}

export interface SqliteExecMessage {
  type: 'exec';
  id: number;
  statements: SqliteStatement[];
  /** All statements must be read-only; they run on the read-only connection. */
  readOnly: boolean;
  maxRows: number;
  /** ExecuteRequest.maxResponseBytes: counted over every statement while rows are stepped. */
  maxResponseBytes: number;
}

/** An exec request before it gets its id: what the driver hands to the process or the thread reader. */
export type SqliteWork = Omit<SqliteExecMessage, 'id' | 'type'>;

export interface SqlitePingMessage {
  type: 'ping';
  id: number;
}

export type SqliteRequest = SqliteExecMessage | SqlitePingMessage;

export type SqliteStatementResult = StatementResult;

export type SqliteReply =
  | { type: 'ready' }
  | { type: 'init-failed'; error: ErrorBody; raw: string }
  | { type: 'result'; id: number; ok: true; results: SqliteStatementResult[] }
  | { type: 'result'; id: number; ok: false; error: ErrorBody; raw?: string; rowDependent?: true };
