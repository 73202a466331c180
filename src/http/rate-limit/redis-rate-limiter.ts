/**
 * Rate limits shared by every API instance (queue mode): the same fixed one-minute windows as the
 * memory limiter, counted in Redis with INCR + PEXPIRE in one round trip. If Redis does not
 * answer within 250 ms, the request is allowed (the limiter must not turn a Redis outage into 429s; /data then
 * fails fast with QUEUE_UNAVAILABLE anyway).
 */
import { Redis } from 'ioredis';
import { windowDecision, type RateDecision, type RateLimiter } from './rate-limiter.js';
import { withDeadline } from '../../timeouts.js';

const WINDOW_MS = 60_000;
const CALL_TIMEOUT_MS = 250;

function bounded<T>(work: Promise<T>): Promise<T> {
  return withDeadline(work, CALL_TIMEOUT_MS, () => new Error('rate limiter: redis did not answer'));
}

export function createRedisRateLimiter(url: string, prefix: string, now: () => number = Date.now): RateLimiter {
  const client = new Redis(url, {
    connectionName: 'sluice-rate-limit',
    // Queued while (re)connecting, but each call is bounded below: a slow Redis costs ≤ CALL_TIMEOUT_MS.
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  });
  client.on('error', () => undefined);
  return {
    async consume(key, limit): Promise<RateDecision> {
      const t = now();
      const window = Math.floor(t / WINDOW_MS);
      const redisKey = `${prefix}:rl:${window}:${key}`;
      let count: number;
      try {
        const res = await bounded(client.multi().incr(redisKey).pexpire(redisKey, WINDOW_MS * 2).exec());
        count = Number(res?.[0]?.[1] ?? 0);
      } catch {
        return { allowed: true, retryAfter: 0 };
      }
      return windowDecision(count, limit, (window + 1) * WINDOW_MS - t, WINDOW_MS);
    },
    async close() {
      client.disconnect();
    },
  };
}
