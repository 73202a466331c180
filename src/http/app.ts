/**
 * The Fastify app, assembled but not listening. Everything it needs is passed in, so tests can
 * hand it fakes of the queue and pool and drive it with `app.inject`.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { createVerifier, type TokenVerifier } from '../auth/verifier.js';
import type { SluiceConfig } from '../config/types.js';
import { SluiceError } from '../errors.js';
import type { WorkerPool } from '../pool/worker-pool.js';
import type { JobQueue } from '../queue/job-queue.js';
import { createClientErrorHandler } from './client-error.js';
import { registerEarlyAnswers } from './early-answers.js';
import { registerJsonBody } from './json-body.js';
import { trackUnusedConnections } from './close-unused-connections.js';
import { registerErrorHandler, sendError, toSluiceError } from './plugins/error-handler.js';
import { createMemoryRateLimiter } from './rate-limit/memory-rate-limiter.js';
import type { RateLimiter } from './rate-limit/rate-limiter.js';
import './request-context.js';
import { genReqId, requestIdGenerator, requestIdHook } from './request-id.js';
import { registerCors } from './cors.js';
import { openApiRoute } from './routes/openapi.js';
import type { AsyncJobs } from '../queue/async-jobs.js';
import { createMemoryAsyncJobs } from '../queue/memory-async-jobs.js';
import { dataRoute } from './routes/data.js';
import { jobsRoute } from './routes/jobs.js';
import { createTenantRouter, type Routing } from '../tenants/router.js';
import { healthRoutes } from './routes/health.js';
import { adminRoutes } from './routes/admin.js';
import { registerObservability } from '../observability/http-observability.js';
import { createMetrics, type SluiceMetrics } from '../observability/metrics.js';
import { loggerOptions as baseLoggerOptions } from '../observability/log.js';
import { pingTimeoutMs } from '../observability/readiness.js';
import { createConsoleFeed } from '../observability/console-feed.js';
import type { PoolSource } from '../observability/pool-gauges.js';
import type { TenantDirectory } from '../tenants/directory.js';
import type { Queue } from 'bullmq';

export interface AppDeps {
  config: Readonly<SluiceConfig>;
  queue: JobQueue;
  /** Only pinged, by /readyz (in queue mode: the databases and/or Redis). */
  pool: Pick<WorkerPool, 'ping' | 'breakerStates'>;
  /** Async jobs (/jobs); default: in memory over `queue`. */
  jobs?: AsyncJobs;
  /** false: silent; true (default): pino at config.logging.level; object: extra pino options. */
  logger?: boolean | Record<string, unknown>;
  rateLimiter?: RateLimiter;
  verifier?: TokenVerifier;
  /** Live routing (engine.ts replaces it on reload); default: `config`, with no directory. */
  routing?: Routing;
  /** Reload the config from its source; with server.adminToken, POST /admin/reload calls it. */
  reload?: () => Promise<{ generation: number }>;
  /** This engine's metrics (engine.ts adds the pool); default: request and queue metrics only. */
  metrics?: SluiceMetrics;
  /** True while a drain delay runs (engine.drain): /readyz answers 503, everything else serves. */
  draining?: () => boolean;
  /** What the operator console (/admin, with server.adminToken) reads besides the queue and jobs. */
  admin?: AdminSources;
}

export interface AdminSources {
  /** This process's worker pool (pool numbers, breakers); absent in `sluice api`. */
  pool?: PoolSource | undefined;
  /** The live tenant directory (engine.ts replaces it on reload). */
  directory?: (() => TenantDirectory | undefined) | undefined;
  /** Queue mode: the BullMQ queues the board shows. */
  boardQueues?: readonly Queue[] | undefined;
}

function loggerOptions(config: Readonly<SluiceConfig>, logger: AppDeps['logger']): false | Record<string, unknown> {
  if (logger === false) return false;
  return {
    // The same level and redaction as worker threads and `sluice worker` (observability/log.ts).
    ...baseLoggerOptions(config.logging.level),
    ...(typeof logger === 'object' ? logger : {}),
  };
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const { config, queue, pool } = deps;
  const rateLimiter = deps.rateLimiter ?? createMemoryRateLimiter();
  const verifier = deps.verifier ?? createVerifier(config.auth.jwt, config.limits.maxJsonDepth);
  const routing = deps.routing ?? { config, router: createTenantRouter(config) };
  const freshRequestId = requestIdGenerator();

  const app = Fastify({
    logger: loggerOptions(config, deps.logger ?? true),
    bodyLimit: config.server.bodyLimit,
    trustProxy: config.server.trustProxy,
    // Slow senders (a trickled body or header) are cut off with 408, checked a few times per bound.
    requestTimeout: config.server.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(60_000, config.server.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(config.server.requestTimeoutMs / 4))),
    },
    // Fastify's default request/response lines carry nothing we need; the /data line has it all.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: genReqId(freshRequestId),
    // Fastify's built-in 503 while closing has its own body shape; the hook below answers in ours.
    return503OnClosing: false,
    // Requests Node's HTTP parser rejects are answered in our error shape too.
    clientErrorHandler: createClientErrorHandler(config.server.bodyLimit, freshRequestId),
    // Errors found while routing (bad percent-encoding, a path parameter over maxParamLength)
    // bypass the error handler and would be answered in Fastify's shape, echoing the raw path.
    frameworkErrors: (error, request, reply) => {
      const { error: e, unexpected } = toSluiceError(error, config.server.bodyLimit);
      if (unexpected) request.log.error({ err: error }, 'unexpected error');
      return sendError(reply, e.code === 'BAD_REQUEST' ? new SluiceError('BAD_REQUEST', 'The URL is malformed or a path segment is too long') : e);
    },
    routerOptions: { maxParamLength: 100 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true } },
  });

  // Only JSON bodies: text/plain would otherwise reach the schema and fail with a confusing 400.
  app.removeContentTypeParser('text/plain');
  // First, so every answer carries the id, also a CORS preflight answered by a later hook.
  app.addHook('onRequest', requestIdHook);
  registerJsonBody(app, config.limits.maxJsonDepth);
  registerEarlyAnswers(app, config.server.bodyLimit);
  if (config.server.trustProxy === true) {
    app.log.warn('server.trustProxy is true: X-Forwarded-For is believed from any client, so anyone who reaches this port chooses the address its per-IP rate limit counts against; list your proxies\' addresses instead (docs/configuration.md)');
  }
  app.decorateRequest('sluice', null as never);

  let closing = false;
  const unusedConnections = trackUnusedConnections(app.server);
  app.addHook('preClose', async () => {
    closing = true;
    // Otherwise server.close() waits up to headersTimeout for connections that carry no request.
    unusedConnections.close();
  });
  // Callback-style hooks here and in observability: no promise and microtask turn per request.
  app.addHook('onRequest', (request, _reply, done) => {
    request.sluice = {};
    done(closing ? new SluiceError('SHUTTING_DOWN', undefined, { retryAfter: 1 }) : undefined);
  });
  // A response finished while closing must end its keep-alive connection, or server.close()
  // waits for the client's idle socket (keepAliveTimeout) before the process can exit.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onClose', async () => rateLimiter.close());

  registerErrorHandler(app, config.server.bodyLimit);
  if (config.server.cors) registerCors(app, config.server.cors);
  const jobs = deps.jobs ?? createMemoryAsyncJobs(config, queue);
  // The console's refusals and waits are kept only when there is a console to show them.
  const feed = config.server.adminToken === undefined ? undefined : createConsoleFeed({ isConnection: (name) => Object.hasOwn(routing.config.connections, name) });
  registerObservability(app, { config, metrics: deps.metrics ?? createMetrics(config, { queue }), feed });
  if (config.server.adminToken !== undefined && feed) {
    app.register(adminRoutes, {
      token: config.server.adminToken,
      reload: deps.reload,
      sources: { routing, queue, jobs, feed, pool: deps.admin?.pool, directory: deps.admin?.directory },
      boardQueues: deps.admin?.boardQueues,
    });
  }
  app.register(healthRoutes, {
    pool,
    pingTimeoutMs: pingTimeoutMs(config),
    ...(deps.draining && { draining: deps.draining }),
  });
  app.register(dataRoute, { config, routing, queue, verifier, rateLimiter });
  app.addHook('onClose', async () => jobs.close());
  app.register(jobsRoute, { config, routing, jobs, verifier, rateLimiter });
  app.register(openApiRoute, { metrics: config.observability.metrics.enabled, console: config.server.adminToken !== undefined, admin: config.server.adminToken !== undefined && deps.reload !== undefined });
  return app;
}
