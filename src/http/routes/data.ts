/**
 * POST /data: authenticated, rate-limited, size-checked, then queued. Hooks are registered inside
 * this plugin so they apply to /data only, never to the health probes.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { TokenVerifier } from '../../auth/verifier.js';
import type { SluiceConfig } from '../../config/types.js';
import { ERRORS, SluiceError } from '../../errors.js';
import type { QueryOutcome } from '../../pool/messages.js';
import { dataResponse } from '../../pool/wire-answer.js';
import type { JobQueue } from '../../queue/job-queue.js';
import { auditRequest } from '../../observability/audit-log.js';
import { logsAt } from '../../observability/log.js';
import { abortOnClientClose } from '../abort-on-close.js';
import { authHook, rememberedAuth } from '../plugins/auth.js';
import { answerError } from '../plugins/error-handler.js';
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

/** The shape of the checks merged into the one onRequest hook below. */
type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** What Fastify sends for an object; the body is already a string here. */
const JSON_TYPE = 'application/json; charset=utf-8';

export const dataRoute: FastifyPluginAsync<DataRouteOptions> = async (app, { config, routing, queue, verifier, rateLimiter }) => {
  const { limits } = config;

  const limitIp: Hook = ipRateLimitHook(rateLimiter, limits);
  // Authentication runs before the body is parsed: anonymous callers never cost us a JSON parse.
  const authenticate: Hook = authHook(verifier, config.auth);
  const authenticateRemembered = rememberedAuth(verifier, config.auth);
  const limitUser: Hook = userRateLimitHook(rateLimiter, limits);
  // Overload: a request the queue would refuse now is refused before its body is read or parsed
  // (a refusal then costs little more than the token check, itself cached). early-answers.ts
  // drains the unread body within its bound, or lets Node discard it when it is all buffered.
  const refusal = queue.refusal?.bind(queue);

  /** The checks that may have to wait, in their order: per-IP limit, token (unless remembered), per-user limit. */
  async function checks(request: FastifyRequest, reply: FastifyReply, authenticated: boolean): Promise<void> {
    if (limits.rateLimitPerIP > 0) await limitIp(request, reply);
    if (!authenticated) await authenticate(request, reply);
    if (limits.rateLimitPerUser > 0) await limitUser(request, reply);
  }

  /** Admission, last: false when the queue refused the request and it has been answered (503/429, no Error built). */
  function admitted(request: FastifyRequest, reply: FastifyReply): boolean {
    if (!refusal) return true;
    const probe = admissionProbe(request.sluice.principal!, routing, Date.now() + config.queue.maxWaitMs + limits.queryTimeout);
    const refused = probe && refusal(probe);
    if (!refused || refused.ok) return true;
    answerError(request, reply, refused.error);
    return false;
  }

  function admit(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    let go: boolean;
    try {
      go = admitted(request, reply);
    } catch (e) {
      return done(e as Error);
    }
    // Not called after an answer: Fastify then neither reads the body nor runs the handler.
    if (go) done();
  }

  // One hook for the checks above, in that order. Without a per-IP limit a remembered token is
  // checked synchronously, and without rate limits the whole hook is: no promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    const authenticated = limits.rateLimitPerIP <= 0 && authenticateRemembered(request);
    if (authenticated && limits.rateLimitPerUser <= 0) return admit(request, reply, done);
    checks(request, reply, authenticated).then(() => admit(request, reply, done), done);
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
