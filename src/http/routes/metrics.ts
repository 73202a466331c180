/**
 * GET /metrics: Prometheus text format. Outside the JWT (a scraper is not a tenant); protected by
 * observability.metrics.token when set; not registered at all when metrics are disabled (→ 404).
 */
import type { FastifyPluginAsync } from 'fastify';
import { SluiceError } from '../../errors.js';
import { metricsAuthError } from '../../observability/metrics-token.js';
import type { SluiceMetrics } from '../../observability/metrics.js';

export interface MetricsRouteOptions {
  metrics: SluiceMetrics;
  token: string | undefined;
}

export const metricsRoute: FastifyPluginAsync<MetricsRouteOptions> = async (app, { metrics, token }) => {
  app.get('/metrics', async (request, reply) => {
    const refused = metricsAuthError(request.headers.authorization, token);
    if (refused !== undefined) throw new SluiceError(refused, refused === 'TOKEN_MISSING' ? 'Authorization: Bearer <metrics token> is required' : 'The metrics token is invalid');
    const text = await metrics.render();
    return reply.header('cache-control', 'no-store').type(metrics.contentType).send(text);
  });
};
