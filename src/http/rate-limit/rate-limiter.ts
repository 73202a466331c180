/**
 * Requests per key per minute. Small on purpose: the in-memory version counts per process; a
 * shared (Redis) version for several gateway instances implements the same interface later.
 */
export interface RateDecision {
  allowed: boolean;
  /** Seconds until the key may retry (0 when allowed). */
  retryAfter: number;
  /** Requests left in the current window (0 when refused); absent when the count is unknown (Redis did not answer). */
  remaining?: number;
  /** Seconds until the current window ends (at least 1). */
  resetSeconds?: number;
  /** The window's length in seconds. */
  windowSeconds?: number;
}

export interface RateLimiter {
  /** Count one request against `key`; refuse once more than `limit` arrive in the current window. */
  consume(key: string, limit: number): Promise<RateDecision>;
  close(): Promise<void>;
}

/** The decision for the `count`th request of a fixed window that ends in `msLeft`. */
export function windowDecision(count: number, limit: number, msLeft: number, windowMs: number): RateDecision {
  const resetSeconds = Math.max(1, Math.ceil(msLeft / 1000));
  const shape = { remaining: Math.max(0, limit - count), resetSeconds, windowSeconds: windowMs / 1000 };
  return count <= limit ? { allowed: true, retryAfter: 0, ...shape } : { allowed: false, retryAfter: resetSeconds, ...shape };
}
