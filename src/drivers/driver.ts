/**
 * The driver contract: each database library is imported only inside its own folder under
 * drivers/. A driver leases a connection, binds the tenant context transaction-locally, runs one
 * statement with a server-side timeout, and returns the connection with no state left on it.
 * Cancellation is part of the contract: `cancel(jobId)` stops a running statement on the server.
 */
import type { QueryMethod } from '../pool/messages.js';

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
  readOnly: boolean;
}

export interface ExecuteResult {
  rows: unknown[];
  rowCount: number | null;
  truncated: boolean;
  acquireMs: number;
  leaseMs: number;
}

export interface Driver {
  /** Throws SluiceError (already mapped to stable codes, sanitized). */
  execute(req: ExecuteRequest): Promise<ExecuteResult>;
  /** Cancel the running statement of `jobId` on the server; no-op if it is not running here. */
  cancel(jobId: string): Promise<void>;
  /** Cheap reachability probe for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
