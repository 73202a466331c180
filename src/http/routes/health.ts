/** Liveness (the process answers) and readiness (every connection answers a ping, not draining). */
import type { FastifyPluginAsync } from 'fastify';
import { checkReadiness, drainingAnswer, type ReadinessSource } from '../../observability/readiness.js';

export interface HealthRouteOptions {
  /** breakerStates, when present, adds each connection's circuit breaker state to /readyz. */
  pool: ReadinessSource;
  /** A ping that hangs must not hang the probe. */
  pingTimeoutMs: number;
  /** True between SIGTERM and the drain (server.drainDelayMs): not ready, still serving. */
  draining?: () => boolean;
}

export const healthRoutes: FastifyPluginAsync<HealthRouteOptions> = async (app, { pool, pingTimeoutMs, draining }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (request, reply) => {
    const { status, body } = draining?.() ? drainingAnswer() : await checkReadiness(pool, pingTimeoutMs, request.log);
    // Like every error body, a 503 names the request.
    const error = body.error as Record<string, unknown> | undefined;
    return reply.code(status).send(error ? { ...body, error: { ...error, requestId: request.id } } : body);
  });
};
