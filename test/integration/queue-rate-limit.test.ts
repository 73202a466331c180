/** The Redis rate limiter: several API instances share one count per key (real Redis). */
import { randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { createEngine } from '../../src/engine.js';
import { createRedisRateLimiter } from '../../src/http/rate-limit/redis-rate-limiter.js';
import { describeIfRedis, dropRedisPrefix, REDIS_URL } from '../helpers/services.js';
import { post } from '../helpers/sluice-harness.js';
import { testConfig } from '../helpers/test-config.js';
import { makeTokens } from '../helpers/tokens.js';

describeIfRedis('redis rate limiter', () => {
  const prefix = `test-${randomUUID()}`;
  // Mid-window, so the test never straddles a minute boundary.
  const now = (): number => Math.floor(Date.now() / 60_000) * 60_000 + 30_000;
  const a = createRedisRateLimiter(REDIS_URL, prefix, now);
  const b = createRedisRateLimiter(REDIS_URL, prefix, now);

  afterAll(async () => {
    await a.close();
    await b.close();
    await dropRedisPrefix(prefix);
  });

  it('counts one key across instances and refuses past the limit with Retry-After', async () => {
    const decisions = [];
    for (let i = 0; i < 6; i++) decisions.push(await (i % 2 === 0 ? a : b).consume('user:u1', 5));
    expect(decisions.slice(0, 5).every((d) => d.allowed)).toBe(true);
    expect(decisions.slice(0, 5).map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0]);
    expect(decisions[5]).toEqual({ allowed: false, retryAfter: 30, remaining: 0, resetSeconds: 30, windowSeconds: 60 });
    expect((await a.consume('user:u2', 5)).allowed).toBe(true);
  });

  it('a Redis that does not answer never blocks requests (fails open, fast)', async () => {
    const dead = createRedisRateLimiter('redis://127.0.0.1:1', prefix, now);
    const t = Date.now();
    expect(await dead.consume('ip:x', 1)).toEqual({ allowed: true, retryAfter: 0 });
    expect(Date.now() - t).toBeLessThan(1000);
    await dead.close();
  });

  it('two API instances (sluice api, no workers) share one count per user', async () => {
    const apiPrefix = `test-${randomUUID()}`;
    // No worker runs: what passes the limiter waits maxWaitMs and is shed with 503.
    const config = testConfig('public', { limits: { rateLimitPerUser: 3 }, queue: { redis: REDIS_URL, prefix: apiPrefix, maxWaitMs: 100 } });
    const engines = [createEngine(config, { logger: false, role: 'api' }), createEngine(config, { logger: false, role: 'api' })];
    try {
      const urls = await Promise.all(engines.map(async (e) => (await e.listen({ host: '127.0.0.1', port: 0 })).url));
      const { tenant1 } = await makeTokens();
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await post(urls[i % 2]!, tenant1, { sql: 'select 1' })).status);
      expect(statuses).toEqual([503, 503, 503, 429, 429]);
      const ready = await fetch(`${urls[0]}/readyz`);
      expect(await ready.json()).toEqual({ status: 'ready', connections: { 'queue:redis': { ok: true } } });
    } finally {
      await Promise.all(engines.map((e) => e.close()));
      await dropRedisPrefix(apiPrefix);
    }
  });
});
