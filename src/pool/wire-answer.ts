/**
 * The /data response body, built where the rows are: on the worker thread (or `sluice worker`)
 * for jobs that ask for it (`QueryJob.answer === 'json'`), so the HTTP thread receives one string
 * and nothing row-shaped crosses the thread boundary (no structured clone of rows, no
 * JSON.stringify of them on the HTTP thread). The shapes are the wire contract of /data.
 */
import type { BatchItemResult, QueryJob, QueryMethod, QueryOutcome, QueryResult } from './messages.js';

type WireRows = unknown[] | Record<string, unknown> | null;

/**
 * `rows` as the client's Drizzle proxy callback hands them on, shaped like the native driver's
 * result: `get` with no row → null (Drizzle's sqlite-proxy reads a falsy `rows` as "no row"; its
 * own example server sends undefined, and an empty array would become an object of undefined
 * fields); `run` → better-sqlite3's run result object itself, `{ changes, lastInsertRowid }`; a
 * MySQL `execute` that returned rows → `[rows, fields]`, what mysql2's query() resolves to (Drizzle's
 * `db.execute()` and `$count()` read it so). Every other shape is as the driver gave it.
 */
function wireRows(method: QueryMethod, r: BatchItemResult): WireRows {
  if (method === 'get' && r.rows.length === 0) return null;
  if (method === 'run') return (r.rows[0] as Record<string, unknown> | undefined) ?? null;
  if (r.fields !== undefined) return [r.rows, r.fields];
  return r.rows;
}

interface WireResult {
  rows: WireRows;
  rowCount: number | null;
  /** Always present: true when rows beyond limits.maxRows or limits.maxResponseBytes were dropped. */
  truncated: boolean;
}

/**
 * One statement of a batch: `run` is the run result object itself (Drizzle's sqlite-proxy batch
 * hands each item to its result mapper, and for `run` that is better-sqlite3's run result);
 * anything else `{ rows, rowCount, truncated }`.
 */
function wireBatchItem(method: QueryMethod, r: BatchItemResult): WireResult | Record<string, unknown> | null {
  const rows = wireRows(method, r);
  return method === 'run' ? (rows as Record<string, unknown> | null) : { rows, rowCount: r.rowCount, truncated: r.truncated };
}

export type DataResponse =
  | WireResult
  /** A batch: one wireBatchItem per statement, in order. */
  | { results: Array<WireResult | Record<string, unknown> | null>; truncated: boolean };

/** The /data response for `job`'s successful result. */
export function dataResponse(job: Pick<QueryJob, 'method' | 'batch'>, result: QueryResult): DataResponse {
  if (result.results !== undefined) {
    const methods = job.batch?.map((st) => st.method) ?? [];
    return { results: result.results.map((r, i) => wireBatchItem(methods[i] ?? 'all', r)), truncated: result.truncated };
  }
  return { rows: wireRows(job.method, result), rowCount: result.rowCount, truncated: result.truncated };
}

/**
 * `outcome` with its rows replaced by the serialized /data body (`body`, `returned`). Throws what
 * JSON.stringify throws; the caller (runJob) turns that into an outcome like any other failure.
 */
export function withJsonBody(job: QueryJob, outcome: QueryOutcome): QueryOutcome {
  if (!outcome.ok) return outcome;
  const { result } = outcome;
  const body = JSON.stringify(dataResponse(job, result));
  const { results: _results, fields: _fields, ...rest } = result;
  return { ok: true, result: { ...rest, rows: [], returned: result.rows.length, body } };
}
