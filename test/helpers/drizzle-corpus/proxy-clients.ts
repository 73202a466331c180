/**
 * Drizzle's three proxy drivers pointed at a running sluice, as an app would write their callbacks,
 * recording every statement they post. The callback hands Drizzle the `/data` answer as it is, so
 * whatever shape the gateway answers is what Drizzle sees (and what the corpus compares).
 */
import { drizzle as mysqlProxy, type MySqlRemoteDatabase } from 'drizzle-orm/mysql-proxy';
import { drizzle as pgProxy, type PgRemoteDatabase } from 'drizzle-orm/pg-proxy';
import { drizzle as sqliteProxy, type SqliteRemoteDatabase } from 'drizzle-orm/sqlite-proxy';
import { post, type PostResult } from '../sluice-harness.js';

export interface CapturedStatement {
  sql: string;
  params: unknown[];
  method: string;
  typings?: string[] | undefined;
}

/** The gateway's error as the callback throws it (Drizzle wraps it; the original is `cause`). */
export class SluiceAnswerError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`sluice ${status} ${code}: ${message}`);
  }
}

function answer(res: PostResult): { rows: unknown } & Record<string, unknown> {
  if (res.status !== 200) {
    const error = (res.body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new SluiceAnswerError(res.status, error?.code ?? `HTTP_${res.status}`, error?.message ?? res.text);
  }
  return res.body as { rows: unknown };
}

export interface ProxyTarget {
  url: string;
  token: string;
  /** Every statement posted, in order (batches statement by statement). */
  recorded: CapturedStatement[];
}

/**
 * JSON has no bigint, and Drizzle hands some bigint columns' values to the driver as bigints: an app's
 * callback must send them somehow, and a decimal string is what every database reads back exactly.
 */
function json(body: unknown): string {
  return JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

async function postOne(target: ProxyTarget, statement: CapturedStatement): Promise<{ rows: unknown }> {
  target.recorded.push(statement);
  const body = statement.typings === undefined ? { sql: statement.sql, params: statement.params, method: statement.method } : statement;
  return answer(await post(target.url, target.token, json(body)));
}

async function postBatch(target: ProxyTarget, statements: CapturedStatement[]): Promise<Array<{ rows: unknown }>> {
  target.recorded.push(...statements);
  const batch = statements.map((s) => (s.typings === undefined ? { sql: s.sql, params: s.params, method: s.method } : s));
  return (answer(await post(target.url, target.token, json({ batch }))) as unknown as { results: Array<{ rows: unknown }> }).results;
}

// Drizzle types the proxy callbacks' rows as any[]; the gateway's answer is handed over unchanged.
type ProxyRows = { rows: never[] };

/** Where a proxy callback sends one statement: straight to `/data`, or held for a batch. */
export type Poster = (statement: CapturedStatement) => Promise<{ rows: unknown }>;

export const postTo =
  (target: ProxyTarget): Poster =>
  (statement) =>
    postOne(target, statement);

export function pgProxyDb<S extends Record<string, unknown>>(post: Poster, schema: S): PgRemoteDatabase<S> {
  return pgProxy(async (sql, params, method, typings) => (await post({ sql, params, method, typings })) as ProxyRows, { schema });
}

export function mysqlProxyDb<S extends Record<string, unknown>>(post: Poster, schema: S): MySqlRemoteDatabase<S> {
  return mysqlProxy(async (sql, params, method) => (await post({ sql, params, method })) as ProxyRows, { schema });
}

/** sqlite-proxy with its batch callback posting one `/data` batch (one transaction). */
export function sqliteProxyDb<S extends Record<string, unknown>>(target: ProxyTarget, schema: S): SqliteRemoteDatabase<S> {
  return sqliteProxy(
    async (sql, params, method) => (await postOne(target, { sql, params, method })) as ProxyRows,
    async (queries) => (await postBatch(target, queries.map((q) => ({ sql: q.sql, params: q.params, method: q.method })))) as ProxyRows[],
    { schema },
  );
}

/**
 * pg-proxy and mysql-proxy have no batch API: a database object whose callback holds each statement
 * until `count` of them are queued, then posts them as one `/data` batch and answers each its own
 * result. Queries are started one at a time so the batch keeps their order.
 */
export async function deferredBatch<Db>(target: ProxyTarget, makeDb: (hold: Poster) => Db, build: (db: Db) => PromiseLike<unknown>[]): Promise<unknown[]> {
  const held: Array<{ statement: CapturedStatement; resolve(v: { rows: unknown }): void; reject(e: unknown): void }> = [];
  let onHeld: (() => void) | undefined;
  const db = makeDb(
    (statement) =>
      new Promise((resolve, reject) => {
        held.push({ statement, resolve, reject });
        onHeld?.();
      }),
  );
  const queries = build(db);
  const settled: Promise<unknown>[] = [];
  for (const query of queries) {
    const isHeld = new Promise<void>((resolve) => (onHeld = resolve));
    const result = Promise.resolve(query);
    settled.push(result);
    await Promise.race([isHeld, result.then(() => Promise.reject(new Error('a batch query finished without posting')))]);
  }
  try {
    const results = await postBatch(target, held.map((h) => h.statement));
    held.forEach((h, i) => h.resolve(results[i]!));
  } catch (err) {
    for (const h of held) h.reject(err);
  }
  return Promise.all(settled);
}

/** The native side of a batch: the same queries awaited one after another (inside the caller's transaction). */
export async function inOrder(queries: readonly unknown[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const q of queries) out.push(await q);
  return out;
}
