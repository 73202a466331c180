/**
 * What /readyz answers, in one place for the HTTP front and `sluice worker`'s own server: every
 * connection (and Redis, in queue mode) answers a ping, no circuit breaker is open, and the process
 * is not shutting down (a drain delay makes load balancers stop sending before the drain starts).
 */
import type { SluiceConfig } from '../config/types.js';
import { ERRORS } from '../errors.js';
import type { BreakerState, WorkerPool } from '../pool/worker-pool.js';
import { withDeadline } from '../timeouts.js';
import type { Log } from './log.js';

export type ReadinessSource = Pick<WorkerPool, 'ping' | 'breakerStates'>;

export interface Readiness {
  status: 200 | 503;
  body: Record<string, unknown>;
}

class PingTimeout extends Error {}

/** A ping may take a connect timeout; one second more and the probe gives up on it. */
export function pingTimeoutMs(config: Readonly<SluiceConfig>): number {
  return Math.max(...Object.values(config.connections).map((c) => ('connectionTimeoutMs' in c ? c.connectionTimeoutMs : 0)), 1000) + 1000;
}

const unavailable = (connections: Record<string, unknown>): Readiness => ({
  status: 503,
  body: { error: { code: 'DATABASE_UNAVAILABLE', message: ERRORS.DATABASE_UNAVAILABLE.message }, connections },
});

export function drainingAnswer(): Readiness {
  return { status: 503, body: { error: { code: 'SHUTTING_DOWN', message: ERRORS.SHUTTING_DOWN.message }, status: 'draining' } };
}

/** A ping that hangs must not hang the probe: past `pingTimeoutMs` the answer is 503. */
export async function checkReadiness(pool: ReadinessSource, pingTimeoutMs: number, log: Log): Promise<Readiness> {
  let result: Record<string, { ok: boolean; error?: string }>;
  try {
    result = await withDeadline(pool.ping(), pingTimeoutMs, () => new PingTimeout());
  } catch (err) {
    if (!(err instanceof PingTimeout)) log.warn({ err }, 'readiness ping failed');
    return unavailable({});
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
      log.warn({ connection: name, reason: r.error }, 'connection not ready');
    }
  }
  return allOk ? { status: 200, body: { status: 'ready', connections } } : unavailable(connections);
}
