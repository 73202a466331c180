/**
 * Composition root: config → worker pool → queue → HTTP app. Nothing is global; everything built
 * here is closed here, in reverse order (stop taking requests, drain the queue, stop the threads).
 */
import type { FastifyInstance } from 'fastify';
import { isDeepStrictEqual } from 'node:util';
import { ConfigError } from './config/config-error.js';
import { checkReloadable } from './config/reload.js';
import { parseConfig } from './config/schema.js';
import { SluiceError } from './errors.js';
import type { SluiceConfig } from './config/types.js';
import { buildApp } from './http/app.js';
import { createRedisRateLimiter } from './http/rate-limit/redis-rate-limiter.js';
import { checkAuditDestination } from './observability/audit-log.js';
import { createMetrics } from './observability/metrics.js';
import { deferredLog } from './observability/log.js';
import { createQueueSetup, type ProcessRole } from './queue/queue-setup.js';
import { createTenantDirectory } from './tenants/directory.js';
import { createTenantRouter, type Routing } from './tenants/router.js';

export interface EngineOptions {
  /** false: silent; true (default): JSON logs at config.logging.level; object: extra pino options. */
  logger?: boolean | Record<string, unknown>;
  /** Where POST /admin/reload reads the new config from (the CLI: the config file). */
  configSource?: () => unknown;
  /** "serve" (default): front and workers; "api": the HTTP front only (needs queue.redis). */
  role?: ProcessRole;
}

export interface Engine {
  readonly app: FastifyInstance;
  readonly config: Readonly<SluiceConfig>;
  /** Defaults to config.server.host / port; port 0 picks a free one. */
  listen(opts?: { port?: number; host?: string }): Promise<{ url: string }>;
  /**
   * Apply a new config without downtime: connections' settings (credentials), permissions, tenants
   * and sql. New requests use it at once; running ones finish on the old pools, which then close.
   * Throws ConfigError (and keeps the running config) for anything else; see config/reload.ts.
   */
  reload(rawConfig: unknown): Promise<{ generation: number }>;
  /**
   * SIGTERM: /readyz answers 503 at once while everything else keeps serving for `delayMs`
   * (default server.drainDelayMs), so a load balancer stops sending first; then close().
   */
  drain(delayMs?: number): Promise<void>;
  /**
   * Graceful and idempotent: stop taking requests, let running ones finish (each within its
   * deadline; background jobs within limits.queryTimeout + 2 s), close pools.
   */
  close(): Promise<void>;
}

function urlFor(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function createEngine(rawConfig: unknown, opts: EngineOptions = {}): Engine {
  const config = parseConfig(rawConfig);
  let app: FastifyInstance | undefined;
  const log = deferredLog(() => app?.log);
  // Before any thread starts: an unwritable audit file must not leave a pool running.
  checkAuditDestination(config.observability.audit.destination);
  const setup = createQueueSetup(config, opts.role ?? 'serve', log);
  const rateLimiter = config.queue.redis === undefined ? undefined : createRedisRateLimiter(config.queue.redis, config.queue.prefix);
  const directoryLog = (msg: string, extra: Record<string, unknown>): void => void app?.log.warn(extra, msg);
  let directory = createTenantDirectory(config, directoryLog);
  // Read per request by /data and /jobs; a reload replaces both fields together (synchronously).
  const routing: { config: Readonly<SluiceConfig>; router: Routing['router'] } = { config, router: createTenantRouter(config, directory?.lookup) };
  let reloads = 0;
  /** Set by the first drain(): the end of its delay, which every later drain() waits for too. */
  let draining: Promise<void> | undefined;
  app = buildApp({
    config,
    routing,
    metrics: createMetrics(config, { queue: setup.queue, ...(setup.pool && { pool: setup.pool }) }),
    queue: setup.queue,
    pool: setup.readiness,
    jobs: setup.jobs,
    ...(opts.configSource && { reload: () => reload(opts.configSource!()) }),
    ...(rateLimiter && { rateLimiter }),
    logger: opts.logger ?? true,
    draining: () => draining !== undefined,
    admin: { pool: setup.pool, directory: () => directory, boardQueues: setup.boardQueues },
  });
  const server = app;
  let closing: Promise<void> | undefined;

  async function shutdown(): Promise<void> {
    try {
      await server.close();
    } finally {
      await Promise.allSettled([setup.close(), directory?.close()]);
    }
  }

  let reloading: Promise<unknown> = Promise.resolve();
  /** One reload at a time: a second SIGHUP waits for the first instead of racing it. */
  function reload(raw: unknown): Promise<{ generation: number }> {
    const run = reloading.then(() => reloadNow(raw));
    reloading = run.catch(() => undefined);
    return run;
  }

  async function reloadNow(raw: unknown): Promise<{ generation: number }> {
    if (closing) throw new SluiceError('SHUTTING_DOWN', 'The gateway is shutting down; the config was not reloaded');
    const next = parseConfig(raw);
    checkReloadable(routing.config, next);
    // A new directory loads before it serves; the old one keeps serving until the switch.
    const sameDirectory = isDeepStrictEqual(next.tenants?.directory, routing.config.tenants?.directory) && isDeepStrictEqual(next.connections, routing.config.connections);
    const nextDirectory = sameDirectory ? directory : createTenantDirectory(next, directoryLog);
    if (nextDirectory !== directory && nextDirectory && !(await nextDirectory.refresh())) {
      // Serving on a directory that cannot be read would turn its tenants into 503s: keep the old.
      await nextDirectory.close();
      throw new ConfigError([{ path: 'tenants.directory', message: 'could not be read with the new config (see the log); the running config stays' }]);
    }
    try {
      setup.reload(next);
    } catch (e) {
      if (nextDirectory !== directory) await nextDirectory?.close();
      throw e;
    }
    const oldDirectory = directory;
    directory = nextDirectory;
    routing.router = createTenantRouter(next, directory?.lookup);
    routing.config = next;
    if (oldDirectory !== directory) void oldDirectory?.close();
    reloads++;
    server.log.info({ generation: reloads + 1 }, 'config reloaded');
    return { generation: reloads + 1 };
  }

  return {
    app: server,
    get config() {
      return routing.config;
    },
    reload,
    async listen(listenOpts = {}) {
      await setup.ready();
      // Bounded by the directory's query timeout; a failure leaves it retrying in the background.
      await directory?.refresh();
      const host = listenOpts.host ?? config.server.host;
      // Fastify logs one line per bound address; "listening on <url>" is the phrase scripts wait for.
      await server.listen({ host, port: listenOpts.port ?? config.server.port, listenTextResolver: (address) => `listening on ${address}` });
      const address = server.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : (listenOpts.port ?? config.server.port);
      return { url: urlFor(host, port) };
    },
    async drain(delayMs = config.server.drainDelayMs) {
      if (draining === undefined && closing === undefined && delayMs > 0) {
        server.log.info({ delayMs }, 'draining: /readyz answers 503, requests are still served until the delay ends');
        draining = new Promise((resolve) => setTimeout(resolve, delayMs));
      }
      await draining;
      closing ??= shutdown();
      return closing;
    },
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}
