/** The gateway's `POST /data` contract, as far as the client needs it (README "HTTP API"). */

export type Method = 'all' | 'execute' | 'run' | 'get' | 'values';

export interface Statement {
  sql: string;
  params: unknown[];
  method: Method;
  typings?: unknown[];
}

export type DataRequest = (Statement | { batch: Statement[] }) & { connection?: string };

/** One statement's answer (a SQLite `run` batch item is the run result object itself instead). */
export interface SingleAnswer {
  rows: any;
  rowCount?: number | null;
  truncated?: boolean;
}

export interface BatchAnswer {
  results: any[];
  truncated?: boolean;
}

export interface ErrorAnswer {
  error: { code?: unknown; message?: unknown; sqlstate?: unknown; requestId?: unknown };
}
