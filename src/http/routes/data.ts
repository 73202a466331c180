/**
 * POST /data: authenticated, rate-limited, size-checked, then queued. Hooks are registered inside
 * this plugin so they apply to /data only, never to the health probes.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TokenVerifier } from '../../auth/verifier.js';
import type { SluiceConfig } from '../../config/types.js';
import { ERRORS, SluiceError } from '../../errors.js';
import type { BatchItemResult, QueryMethod, QueryOutcome } from '../../pool/messages.js';
import type { JobQueue } from '../../queue/job-queue.js';
import { auditRequest } from '../../observability/audit-log.js';
import { abortOnClientClose } from '../abort-on-close.js';
import { authHook } from '../plugins/auth.js';
import { ipRateLimitHook, userRateLimitHook } from '../plugins/rate-limit.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';
import { buildJob } from '../build-job.js';
import type { Routing } from '../../tenants/router.js';
import { dataBodySchema, type DataBody } from '../schemas/data-body.js';

export interface DataRouteOptions {
  config: Readonly<SluiceConfig>;
  /** Live connections/permissions/tenants (replaced on reload). */
  routing: Routing;
  queue: JobQueue;
  verifier: TokenVerifier;
  rateLimiter: RateLimiter;
}

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

/** The request's audit record, written once (observability/audit-log.ts); the client-gone path writes it early. */
function logLine(request: FastifyRequest, status: number, elapsedMs: number): void {
  auditRequest(request, status, elapsedMs);
}

export const dataRoute: FastifyPluginAsync<DataRouteOptions> = async (app, { config, routing, queue, verifier, rateLimiter }) => {
  const { limits } = config;

  app.addHook('onRequest', ipRateLimitHook(rateLimiter, limits));
  // Authentication runs before the body is parsed: anonymous callers never cost us a JSON parse.
  app.addHook('onRequest', authHook(verifier, config.auth));
  app.addHook('onRequest', userRateLimitHook(rateLimiter, limits));
  app.addHook('onResponse', async (request, reply) => logLine(request, reply.statusCode, reply.elapsedTime));

  app.post<{ Body: DataBody }>('/data', { schema: { body: dataBodySchema } }, async (request, reply): Promise<DataResponse> => {
    const context = request.sluice;
    if (request.body.connection !== undefined) context.connection = request.body.connection;
    const principal = context.principal!;
    request.log.debug({ sql: request.body.sql, statements: request.body.batch?.length }, 'data sql');
    const job = buildJob(request.body, principal, routing, Date.now() + config.queue.maxWaitMs + limits.queryTimeout);
    context.connection = job.connection;

    const abort = abortOnClientClose(reply);
    const started = performance.now();
    let outcome: QueryOutcome;
    try {
      outcome = await queue.submit(job, abort.signal);
    } finally {
      abort.dispose();
    }
    const submitMs = performance.now() - started;
    if (abort.signal.aborted) {
      // Nobody is listening any more and onResponse may never fire: log the request here.
      context.verdict = 'CLIENT_CLOSED';
      if (outcome.ok) context.tables = outcome.result.tables;
      else if (outcome.tables) context.tables = outcome.tables;
      logLine(request, ERRORS.CLIENT_CLOSED.status, reply.elapsedTime);
      throw new SluiceError('CLIENT_CLOSED');
    }

    if (!outcome.ok) {
      if (outcome.tables) context.tables = outcome.tables;
      throw SluiceError.fromBody(outcome.error);
    }
    const { result } = outcome;
    const t = result.timings;
    context.tables = result.tables;
    context.rows = result.rows.length;
    // Queue wait is not reported by the pool; what is left of the round trip approximates it.
    const waitMs = Math.max(0, submitMs - t.checkMs - t.acquireMs - t.leaseMs);
    context.timings = { waitMs: Math.round(waitMs * 100) / 100, checkMs: t.checkMs, acquireMs: t.acquireMs, leaseMs: t.leaseMs, cacheHit: t.cacheHit };
    context.verdict = 'ok';
    if (result.results !== undefined) {
      const methods = job.batch?.map((st) => st.method) ?? [];
      return { results: result.results.map((r, i) => wireBatchItem(methods[i] ?? 'all', r)), truncated: result.truncated };
    }
    return { rows: wireRows(job.method, result), rowCount: result.rowCount, truncated: result.truncated };
  });
};
