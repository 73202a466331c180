/**
 * Requests per key per minute. Small on purpose: the in-memory version counts per process; a
 * shared (Redis) version for several gateway instances implements the same interface later.
 */
export interface RateDecision {
  allowed: boolean;
  /** Seconds until the key may retry (0 when allowed). */
  retryAfter: number;
}

export interface RateLimiter {
  /** Count one request against `key`; refuse once more than `limit` arrive in the current window. */
  consume(key: string, limit: number): Promise<RateDecision>;
  close(): Promise<void>;
}
