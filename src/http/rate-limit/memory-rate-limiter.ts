import { windowDecision, type RateDecision, type RateLimiter } from './rate-limiter.js';

const WINDOW_MS = 60_000;

/**
 * Fixed one-minute windows shared by every key. When the window rolls over the whole map is
 * dropped, so memory is bounded by the keys seen in one minute and no sweeper timer is needed.
 * The cost: a client can burst up to 2× the limit across a window boundary.
 */
export function createMemoryRateLimiter(now: () => number = Date.now): RateLimiter {
  let window = -1;
  let counts = new Map<string, number>();
  return {
    async consume(key, limit): Promise<RateDecision> {
      const t = now();
      const current = Math.floor(t / WINDOW_MS);
      if (current !== window) {
        window = current;
        counts = new Map();
      }
      const count = (counts.get(key) ?? 0) + 1;
      counts.set(key, count);
      return windowDecision(count, limit, (current + 1) * WINDOW_MS - t, WINDOW_MS);
    },
    async close() {
      counts.clear();
    },
  };
}
