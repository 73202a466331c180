/**
 * Wires metrics and the audit log into the Fastify app: every request is counted once when it is
 * answered (or when its client goes away first), the audit log is decorated onto the instance for
 * the /data and /jobs routes, and GET /metrics is registered unless disabled.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SluiceConfig } from '../config/types.js';
import { ERRORS } from '../errors.js';
import { metricsRoute } from '../http/routes/metrics.js';
import { createAuditLog } from './audit-log.js';
import { elapsedSinceStart, onClientGone } from './client-gone.js';
import type { SluiceMetrics } from './metrics.js';
import type { ConsoleFeed } from './console-feed.js';

export interface ObservabilityDeps {
  config: Readonly<SluiceConfig>;
  metrics: SluiceMetrics;
  /** The operator console's refusals and queue waits (present when server.adminToken is set). */
  feed?: ConsoleFeed | undefined;
}

/** A response without a registry code (a probe's own 503): the status says what happened. */
function codeFor(status: number): string {
  if (status === 404) return 'NOT_FOUND';
  return status < 400 ? 'ok' : `HTTP_${status}`;
}

export function registerObservability(app: FastifyInstance, { config, metrics, feed }: ObservabilityDeps): void {
  const audit = createAuditLog(config.observability.audit.destination, (err) => app.log.error({ err: String(err) }, 'audit log write failed'));
  app.decorate('auditLog', audit);

  function meter(request: FastifyRequest, status: number, durationMs: number, code?: string): void {
    const c = request.sluice;
    if (c) {
      if (c.metered) return;
      c.metered = true;
    }
    const route = request.routeOptions.url ?? 'unmatched';
    const verdict = code ?? c?.verdict ?? codeFor(status);
    metrics.observe({
      method: request.method,
      route,
      status,
      code: verdict,
      durationMs,
      connection: c?.connection,
      tenant: c?.principal?.tenant,
      timings: status < 400 ? c?.timings : undefined,
    });
    feed?.record({
      method: request.method,
      route,
      status,
      code: verdict,
      role: c?.principal?.role,
      tenant: c?.principal?.tenant,
      connection: c?.connection,
      tables: c?.tables,
      waitMs: status < 400 ? c?.timings?.waitMs : undefined,
    });
  }

  // Runs after app.ts's own onRequest hook, which creates request.sluice.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.sluice) request.sluice.startedAt = performance.now();
    onClientGone(reply, () => meter(request, ERRORS.CLIENT_CLOSED.status, elapsedSinceStart(request), 'CLIENT_CLOSED'));
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    meter(request, reply.statusCode, reply.elapsedTime);
    done();
  });
  app.addHook('onClose', async () => {
    await audit.close();
    metrics.close();
  });
  if (config.observability.metrics.enabled) app.register(metricsRoute, { metrics, token: config.observability.metrics.token });
}
