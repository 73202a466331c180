/** The `health` config key (circuit breaker and health checks) and its place in /readyz. */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import { healthRoutes } from '../../src/http/routes/health.js';
import type { BreakerState } from '../../src/pool/worker-pool.js';
import { configErrorOf, withConnection } from '../helpers/config-error.js';

const base = (): Record<string, unknown> => withConnection('postgres://app@127.0.0.1:5432/app');

const errorOf = (health: unknown): string => configErrorOf({ ...base(), health });

describe('health config', () => {
  it('defaults', () => {
    expect(parseConfig(base()).health).toEqual({ intervalMs: 5000, failureThreshold: 5, cooldownMs: 5000, maxCooldownMs: 60_000 });
  });

  it('accepts 0 (off) for intervalMs and numbers as strings', () => {
    expect(parseConfig({ ...base(), health: { intervalMs: '0', failureThreshold: '2', cooldownMs: 250, maxCooldownMs: 250 } }).health).toEqual({
      intervalMs: 0, failureThreshold: 2, cooldownMs: 250, maxCooldownMs: 250,
    });
  });

  it('refuses bad values, naming the key', () => {
    expect(errorOf({ intervalMs: 50 })).toMatch(/health\.intervalMs/);
    expect(errorOf({ failureThreshold: 0 })).toMatch(/health\.failureThreshold/);
    expect(errorOf({ cooldownMs: 10_000, maxCooldownMs: 5000 })).toMatch(/health\.maxCooldownMs/);
    expect(errorOf({ cooldown: 1000 })).toMatch(/health\.cooldown: unknown key/);
  });
});

describe('/readyz with circuit breakers', () => {
  async function readyz(ping: Record<string, { ok: boolean; error?: string }>, states?: Record<string, BreakerState>): Promise<{ status: number; body: unknown }> {
    const app = Fastify();
    await app.register(healthRoutes, { pool: { ping: async () => ping, ...(states && { breakerStates: () => states }) }, pingTimeoutMs: 1000 });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    await app.close();
    return { status: res.statusCode, body: res.json() };
  }

  it("adds each connection's breaker state", async () => {
    expect(await readyz({ main: { ok: true } }, { main: 'closed' })).toEqual({ status: 200, body: { status: 'ready', connections: { main: { ok: true, breaker: 'closed' } } } });
  });

  it('an open breaker (its ping answers not ok) makes the instance not ready', async () => {
    const res = await readyz({ main: { ok: false, error: 'circuit breaker open' }, other: { ok: true } }, { main: 'open', other: 'closed' });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      error: { code: 'DATABASE_UNAVAILABLE', message: expect.any(String), requestId: expect.any(String) },
      connections: { main: { ok: false, breaker: 'open' }, other: { ok: true, breaker: 'closed' } },
    });
  });

  it('keeps the old shape without breakers (sluice api: Redis only)', async () => {
    expect(await readyz({ 'queue:redis': { ok: true } }, {})).toEqual({ status: 200, body: { status: 'ready', connections: { 'queue:redis': { ok: true } } } });
    expect(await readyz({ main: { ok: true } })).toEqual({ status: 200, body: { status: 'ready', connections: { main: { ok: true } } } });
  });
});
