/**
 * Composition root: config → worker pool → queue → HTTP app. Nothing is global; everything built
 * here is closed here, in reverse order (stop taking requests, drain the queue, stop the threads).
 */
import type { FastifyInstance } from 'fastify';
import { parseConfig } from './config/schema.js';
import type { SluiceConfig } from './config/types.js';
import { buildApp } from './http/app.js';
import { createWorkerPool } from './pool/piscina-pool.js';
import { createInProcessQueue } from './queue/in-process-queue.js';

export interface EngineOptions {
  /** false: silent; true (default): JSON logs at config.logging.level; object: extra pino options. */
  logger?: boolean | Record<string, unknown>;
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
  const pool = createWorkerPool(config);
  const queue = createInProcessQueue(config, pool);
  const app = buildApp({ config, queue, pool, logger: opts.logger ?? true });
  let closing: Promise<void> | undefined;

  async function shutdown(): Promise<void> {
    try {
      await app.close();
    } finally {
      try {
        await queue.close();
      } finally {
        await pool.close();
      }
    }
  }

  return {
    app,
    config,
    async listen(listenOpts = {}) {
      const host = listenOpts.host ?? config.server.host;
      // Fastify logs one line per bound address; "listening on <url>" is the phrase scripts wait for.
      await app.listen({ host, port: listenOpts.port ?? config.server.port, listenTextResolver: (address) => `listening on ${address}` });
      const address = app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : (listenOpts.port ?? config.server.port);
      return { url: urlFor(host, port) };
    },
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}
