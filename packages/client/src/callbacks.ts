/**
 * The callbacks Drizzle's proxy drivers call. Each carries its transport under a symbol so that
 * `batch(db, …)` can send a batch through the same gateway, token and policy.
 */
import { SluiceError } from './errors.js';
import type { SluiceClientOptions } from './options.js';
import { isReadStatement } from './read-statement.js';
import { createTransport, type Transport } from './transport.js';
import { onTruncated } from './truncation.js';
import type { BatchAnswer, Method, SingleAnswer, Statement } from './wire.js';

const TRANSPORT = Symbol.for('@sluice/client.transport');

export type PgProxyCallback = (sql: string, params: any[], method: 'all' | 'execute', typings?: any[]) => Promise<{ rows: any[] }>;
export type MysqlProxyCallback = (sql: string, params: any[], method: 'all' | 'execute') => Promise<{ rows: any[] }>;
export type SqliteMethod = 'run' | 'all' | 'values' | 'get';
export type SqliteProxyBatchCallback = (batch: { sql: string; params: any[]; method: SqliteMethod }[]) => Promise<{ rows: any[] }[]>;
export type SqliteProxyCallback = ((sql: string, params: any[], method: SqliteMethod) => Promise<{ rows: any[] }>) & {
  /** drizzle(callback, callback.batch, config): `db.batch([...])` as one gateway transaction. */
  batch: SqliteProxyBatchCallback;
};

/** The transport behind a callback made here, or undefined for any other function. */
export function transportOf(callback: unknown): Transport | undefined {
  return typeof callback === 'function' ? (callback as { [TRANSPORT]?: Transport })[TRANSPORT] : undefined;
}

function tag<F extends object>(fn: F, transport: Transport): F {
  Object.defineProperty(fn, TRANSPORT, { value: transport });
  return fn;
}

function single(answer: unknown): SingleAnswer {
  if (!('rows' in (answer as object))) throw new SluiceError({ code: 'BAD_RESPONSE', status: 200, message: 'sluice: the answer has no rows' });
  return answer as SingleAnswer;
}

async function sendOne(transport: Transport, st: Statement): Promise<{ rows: any }> {
  const answer = single(await transport.send(st, isReadStatement(st.sql, st.method)));
  if (answer.truncated === true) onTruncated(transport.options.onTruncated, st.sql, answer.rowCount);
  return { rows: answer.rows };
}

/** One `/data` batch (one transaction); retried on 429/503 only when every statement is a read. */
export async function sendBatch(transport: Transport, statements: Statement[]): Promise<any[]> {
  const retryable = statements.every((st) => isReadStatement(st.sql, st.method));
  const answer = (await transport.send({ batch: statements }, retryable)) as BatchAnswer;
  if (!Array.isArray(answer.results) || answer.results.length !== statements.length) {
    throw new SluiceError({ code: 'BAD_RESPONSE', status: 200, message: 'sluice: the batch answer does not have one result per statement' });
  }
  if (answer.truncated === true) {
    const i = answer.results.findIndex((r) => (r as SingleAnswer | null)?.truncated === true);
    onTruncated(transport.options.onTruncated, statements[Math.max(0, i)]!.sql, (answer.results[i] as SingleAnswer | undefined)?.rowCount);
  }
  return answer.results;
}

function statement(sql: string, params: unknown[] | undefined, method: Method, typings?: unknown[]): Statement {
  const st: Statement = { sql, params: params ?? [], method };
  if (typings !== undefined && typings.length > 0) st.typings = typings;
  return st;
}

/** drizzle-orm/pg-proxy: `drizzle(pgProxy({ url, token }), { schema })`. */
export function pgProxy(options: SluiceClientOptions): PgProxyCallback {
  const transport = createTransport(options);
  return tag((sql: string, params: any[], method: 'all' | 'execute', typings?: any[]) => sendOne(transport, statement(sql, params, method, typings)), transport);
}

/** drizzle-orm/mysql-proxy: `drizzle(mysqlProxy({ url, token }), { schema, mode: 'default' })`. */
export function mysqlProxy(options: SluiceClientOptions): MysqlProxyCallback {
  const transport = createTransport(options);
  return tag((sql: string, params: any[], method: 'all' | 'execute') => sendOne(transport, statement(sql, params, method)), transport);
}

/** drizzle-orm/sqlite-proxy: `const cb = sqliteProxy({ url, token }); drizzle(cb, cb.batch, { schema })`. */
export function sqliteProxy(options: SluiceClientOptions): SqliteProxyCallback {
  const transport = createTransport(options);
  const callback = (sql: string, params: any[], method: SqliteMethod): Promise<{ rows: any }> => sendOne(transport, statement(sql, params, method));
  const batchCallback: SqliteProxyBatchCallback = (queries) =>
    sendBatch(
      transport,
      queries.map((q) => statement(q.sql, q.params, q.method)),
    );
  return tag(Object.assign(callback, { batch: tag(batchCallback, transport) }), transport);
}
