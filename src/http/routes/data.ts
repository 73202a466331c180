/**
 * POST /data: authenticated, rate-limited, size-checked, then queued. Hooks are registered inside
 * this plugin so they apply to /data only, never to the health probes.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TokenVerifier } from '../../auth/verifier.js';
import type { SluiceConfig } from '../../config/types.js';
import { ERRORS, SluiceError } from '../../errors.js';
import type { QueryOutcome } from '../../pool/messages.js';
import { dataResponse } from '../../pool/wire-answer.js';
import type { JobQueue } from '../../queue/job-queue.js';
import { auditRequest } from '../../observability/audit-log.js';
import { logsAt } from '../../observability/log.js';
import { abortOnClientClose } from '../abort-on-close.js';
import { authHook } from '../plugins/auth.js';
import { ipRateLimitHook, userRateLimitHook } from '../plugins/rate-limit.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';
import { admissionProbe, buildJob } from '../build-job.js';
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

/** The request's audit record, written once (observability/audit-log.ts); the client-gone path writes it early. */
function logLine(request: FastifyRequest, status: number, elapsedMs: number): void {
  auditRequest(request, status, elapsedMs);
}

/** The shape of the hooks merged into the one onRequest hook below. */
type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** What Fastify sends for an object; the body is already a string here. */
const JSON_TYPE = 'application/json; charset=utf-8';

export const dataRoute: FastifyPluginAsync<DataRouteOptions> = async (app, { config, routing, queue, verifier, rateLimiter }) => {
  const { limits } = config;

  const limitIp: Hook = ipRateLimitHook(rateLimiter, limits);
  // Authentication runs before the body is parsed: anonymous callers never cost us a JSON parse.
  const authenticate: Hook = authHook(verifier, config.auth);
  const limitUser: Hook = userRateLimitHook(rateLimiter, limits);
  // Overload: a request the queue would refuse now is refused before its body is read or parsed
  // (a refusal then costs little more than the token check, itself cached). early-answers.ts
  // drains the unread body within its bound.
  const refusal = queue.refusal?.bind(queue);
  // One hook, in this order (per-IP limit, token, per-user limit, admission): one hook-runner
  // step and one promise per request instead of four.
  app.addHook('onRequest', async (request, reply) => {
    if (limits.rateLimitPerIP > 0) await limitIp(request, reply);
    await authenticate(request, reply);
    if (limits.rateLimitPerUser > 0) await limitUser(request, reply);
    if (refusal) {
      const probe = admissionProbe(request.sluice.principal!, routing, Date.now() + config.queue.maxWaitMs + limits.queryTimeout);
      const refused = probe && refusal(probe);
      if (refused && !refused.ok) throw SluiceError.fromBody(refused.error);
    }
  });
  app.addHook('onResponse', (request, reply, done) => {
    logLine(request, reply.statusCode, reply.elapsedTime);
    done();
  });

  app.post<{ Body: DataBody }>('/data', { schema: { body: dataBodySchema } }, async (request, reply): Promise<string> => {
    const context = request.sluice;
    if (request.body.connection !== undefined) context.connection = request.body.connection;
    const principal = context.principal!;
    if (logsAt(request.log, 'debug')) request.log.debug({ sql: request.body.sql, statements: request.body.batch?.length }, 'data sql');
    const job = buildJob(request.body, principal, routing, Date.now() + config.queue.maxWaitMs + limits.queryTimeout);
    // The thread sends the finished body back (pool/wire-answer.ts): no rows cross to this thread.
    job.answer = 'json';
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
    context.rows = result.returned ?? result.rows.length;
    // Queue wait is not reported by the pool; what is left of the round trip approximates it.
    const waitMs = Math.max(0, submitMs - t.checkMs - t.acquireMs - t.leaseMs);
    context.timings = { waitMs: Math.round(waitMs * 100) / 100, checkMs: t.checkMs, acquireMs: t.acquireMs, leaseMs: t.leaseMs, cacheHit: t.cacheHit };
    context.verdict = 'ok';
    reply.header('content-type', JSON_TYPE);
    // A queue that hands back rows (a worker of an older version) still gets the same body.
    return result.body ?? JSON.stringify(dataResponse(job, result));
  });
};
