/**
 * POST /data: authenticated, rate-limited, size-checked, then queued. Hooks are registered inside
 * this plugin so they apply to /data only, never to the health probes.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TokenVerifier } from '../../auth/verifier.js';
import type { SluiceConfig } from '../../config/types.js';
import { ERRORS, SluiceError } from '../../errors.js';
import type { QueryMethod, QueryOutcome } from '../../pool/messages.js';
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

type WireRows = unknown[] | null;

/**
 * Drizzle's sqlite-proxy reads `get` with no row as a falsy `rows` (its own example server sends
 * undefined); an empty array would become an object of undefined fields. Every other shape is as is.
 */
function wireRows(method: QueryMethod, rows: unknown[]): WireRows {
  return method === 'get' && rows.length === 0 ? null : rows;
}

export type DataResponse =
  | {
      /** null only for `get` with no row. */
      rows: WireRows;
      rowCount: number | null;
      /** Always present: true when rows beyond limits.maxRows were dropped. */
      truncated: boolean;
    }
  /** A batch: one `{ rows, rowCount, truncated }` per statement, in order. */
  | { results: Array<{ rows: WireRows; rowCount: number | null; truncated: boolean }>; truncated: boolean };

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
      return { results: result.results.map((r, i) => ({ ...r, rows: wireRows(methods[i] ?? 'all', r.rows) })), truncated: result.truncated };
    }
    return { rows: wireRows(job.method, result.rows), rowCount: result.rowCount, truncated: result.truncated };
  });
};
