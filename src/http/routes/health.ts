/** Liveness (the process answers) and readiness (every connection answers a ping). */
import type { FastifyPluginAsync } from 'fastify';
import { ERRORS } from '../../errors.js';
import type { BreakerState, WorkerPool } from '../../pool/worker-pool.js';
import { withDeadline } from '../../timeouts.js';

export interface HealthRouteOptions {
  /** breakerStates, when present, adds each connection's circuit breaker state to /readyz. */
  pool: Pick<WorkerPool, 'ping' | 'breakerStates'>;
  /** A ping that hangs must not hang the probe. */
  pingTimeoutMs: number;
}

type PingResult = Record<string, { ok: boolean; error?: string }>;

class PingTimeout extends Error {}

export const healthRoutes: FastifyPluginAsync<HealthRouteOptions> = async (app, { pool, pingTimeoutMs }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (request, reply) => {
    let result: PingResult | 'timeout';
    try {
      result = await withDeadline(pool.ping(), pingTimeoutMs, () => new PingTimeout());
    } catch (err) {
      if (!(err instanceof PingTimeout)) request.log.warn({ err }, 'readiness ping failed');
      result = 'timeout';
    }
    if (result === 'timeout') {
      return reply.code(503).send({ error: { code: 'DATABASE_UNAVAILABLE', message: ERRORS.DATABASE_UNAVAILABLE.message }, connections: {} });
    }
    // Reasons go to the log, not the response: they can name hosts and users.
    const connections: Record<string, { ok: boolean; breaker?: BreakerState }> = {};
    const breakers = pool.breakerStates?.() ?? {};
    let allOk = true;
    for (const [name, r] of Object.entries(result)) {
      const breaker = Object.hasOwn(breakers, name) ? breakers[name] : undefined;
      connections[name] = breaker === undefined ? { ok: r.ok } : { ok: r.ok, breaker };
      if (!r.ok) {
        allOk = false;
        request.log.warn({ connection: name, reason: r.error }, 'connection not ready');
      }
    }
    if (allOk) return { status: 'ready', connections };
    return reply.code(503).send({ error: { code: 'DATABASE_UNAVAILABLE', message: ERRORS.DATABASE_UNAVAILABLE.message }, connections });
  });
};
