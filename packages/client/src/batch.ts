/**
 * `batch(db, [q1, q2, …])` for pg-proxy and mysql-proxy, whose databases have no `db.batch()`:
 * the queries go to the gateway as ONE `/data` batch (one transaction, all or nothing) and each
 * result is mapped by Drizzle's own code, exactly as if the query had been awaited alone.
 *
 * How: each builder's prepared query (`_prepare()` on pg, `prepare()` on mysql) is executed with
 * its `client` — the proxy callback — swapped for a recorder. Drizzle calls the recorder with the
 * statement it would have sent (sql, params, method, typings) and maps whatever the recorder
 * resolves to; the recorder resolves with the batch's answer for that statement. The swap is on
 * a fresh prepared-query object, so concurrent queries on the same `db` are never caught.
 * `db.execute(sql)` on pg (a PgRaw) is sent with method `execute` and mapped by its own mapResult.
 * This relies on the prepared query's `client` field (drizzle-orm 0.36 – 0.45); a query that has
 * no such field fails with NOT_A_SLUICE_QUERY before anything is sent.
 */
import { SluiceError } from './errors.js';
import { sendBatch, transportOf } from './callbacks.js';
import type { Transport } from './transport.js';
import type { Method, Statement } from './wire.js';

interface Prepared {
  client?: unknown;
  execute(placeholders?: Record<string, unknown>): Promise<unknown>;
  getQuery?(): { sql: string; params: unknown[]; typings?: unknown[] };
  mapResult?(rows: unknown, isFromBatch?: boolean): unknown;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

function notOurs(message: string): SluiceError {
  return new SluiceError({ code: 'NOT_A_SLUICE_QUERY', status: 0, message: `sluice batch: ${message}` });
}

function prepare(query: unknown): Prepared {
  const q = query as { _prepare?: () => Prepared; prepare?: () => Prepared };
  if (typeof q?._prepare === 'function') return q._prepare();
  if (typeof q?.prepare === 'function') return q.prepare();
  throw notOurs('an item is not a Drizzle query builder');
}

/** The session's callback of a Drizzle database, when it exposes one. */
function dbCallback(db: unknown): unknown {
  const d = db as { session?: { client?: unknown }; _?: { session?: { client?: unknown } } };
  return d?.session?.client ?? d?._?.session?.client;
}

interface Entry {
  statement: Statement | undefined;
  /** Resolves with Drizzle's mapped result once `answer` is resolved. */
  result: Promise<unknown>;
  answer: Deferred<{ rows: unknown }>;
}

/** Run the prepared query against a recorder; wait until Drizzle has handed it the statement. */
async function record(prepared: Prepared, transport: Transport | undefined): Promise<{ entry: Entry; transport: Transport | undefined }> {
  const answer = deferred<{ rows: unknown }>();
  if (prepared.client === undefined && typeof prepared.getQuery === 'function') {
    // pg's db.execute(sql): a PgRaw, whose own execute is bound to the database's callback.
    const q = prepared.getQuery();
    const st: Statement = { sql: q.sql, params: q.params, method: 'execute' };
    if (q.typings !== undefined && q.typings.length > 0) st.typings = q.typings;
    const result = answer.promise.then(({ rows }) => (prepared.mapResult ? prepared.mapResult(rows, true) : rows));
    return { entry: { statement: st, result, answer }, transport };
  }
  const own = transportOf(prepared.client);
  if (own === undefined) throw notOurs('the query does not belong to a database built on a @sluice/client callback');
  if (transport !== undefined && own !== transport) throw notOurs('the queries belong to different clients');
  const seen = deferred<Statement>();
  prepared.client = (sql: string, params: unknown[], method: Method, typings?: unknown[]) => {
    const st: Statement = { sql, params, method };
    if (typings !== undefined && typings.length > 0) st.typings = typings;
    seen.resolve(st);
    return answer.promise;
  };
  const result = prepared.execute();
  // A query Drizzle answers without the database (its cache) resolves without calling the recorder.
  const statement = await Promise.race([seen.promise, result.then(() => undefined)]);
  return { entry: { statement, result, answer }, transport: own };
}

export async function batch<const T extends readonly [PromiseLike<unknown>, ...PromiseLike<unknown>[]]>(
  db: object,
  queries: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  let transport = transportOf(dbCallback(db));
  const entries: Entry[] = [];
  try {
    for (const query of queries) {
      const recorded = await record(prepare(query), transport);
      transport = recorded.transport;
      entries.push(recorded.entry);
    }
    if (transport === undefined) throw notOurs('the database is not built on a @sluice/client callback');
    const sent = entries.filter((e) => e.statement !== undefined);
    if (sent.length > 0) {
      const results = await sendBatch(
        transport,
        sent.map((e) => e.statement!),
      );
      sent.forEach((e, i) => e.answer.resolve({ rows: (results[i] as { rows?: unknown } | null)?.rows }));
    }
  } catch (err) {
    for (const e of entries) {
      e.result.catch(() => undefined);
      e.answer.reject(err);
    }
    throw err;
  }
  return (await Promise.all(entries.map((e) => e.result))) as { -readonly [K in keyof T]: Awaited<T[K]> };
}
