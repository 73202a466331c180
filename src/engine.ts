/**
 * Composition root: config → worker pool → queue → HTTP app. Nothing is global; everything built
 * here is closed here, in reverse order (stop taking requests, drain the queue, stop the threads).
 */
import type { FastifyInstance } from 'fastify';
import { parseConfig } from './config/schema.js';
import type { SluiceConfig } from './config/types.js';
import { buildApp } from './http/app.js';
import { createRedisRateLimiter } from './http/rate-limit/redis-rate-limiter.js';
import { createQueueSetup, type Log, type ProcessRole } from './queue/queue-setup.js';

export interface EngineOptions {
  /** false: silent; true (default): JSON logs at config.logging.level; object: extra pino options. */
  logger?: boolean | Record<string, unknown>;
  /** "serve" (default): front and workers; "api": the HTTP front only (needs queue.redis). */
  role?: ProcessRole;
}

export interface Engine {
  readonly app: FastifyInstance;
  readonly config: Readonly<SluiceConfig>;
  /** Defaults to config.server.host / port; port 0 picks a free one. */
  listen(opts?: { port?: number; host?: string }): Promise<{ url: string }>;
  /** Graceful and idempotent. */
  close(): Promise<void>;
}

function urlFor(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function createEngine(rawConfig: unknown, opts: EngineOptions = {}): Engine {
  const config = parseConfig(rawConfig);
  let app: FastifyInstance | undefined;
  const log: Log = (msg, extra) => app?.log.info(extra ?? {}, msg);
  const setup = createQueueSetup(config, opts.role ?? 'serve', log);
  const rateLimiter = config.queue.redis === undefined ? undefined : createRedisRateLimiter(config.queue.redis, config.queue.prefix);
  app = buildApp({
    config,
    queue: setup.queue,
    pool: setup.readiness,
    jobs: setup.jobs,
    ...(rateLimiter && { rateLimiter }),
    logger: opts.logger ?? true,
  });
  const server = app;
  let closing: Promise<void> | undefined;

  async function shutdown(): Promise<void> {
    try {
      await server.close();
    } finally {
      await setup.close();
    }
  }

  return {
    app: server,
    config,
    async listen(listenOpts = {}) {
      await setup.ready();
      const host = listenOpts.host ?? config.server.host;
      // Fastify logs one line per bound address; "listening on <url>" is the phrase scripts wait for.
      await server.listen({ host, port: listenOpts.port ?? config.server.port, listenTextResolver: (address) => `listening on ${address}` });
      const address = server.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : (listenOpts.port ?? config.server.port);
      return { url: urlFor(host, port) };
    },
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}
