/**
 * Rate-limit state on /data and /jobs answers, as draft-ietf-httpapi-ratelimit-headers-06 spells it:
 * `RateLimit-Limit` (requests per window), `RateLimit-Remaining`, `RateLimit-Reset` (seconds until
 * the window ends) and `RateLimit-Policy` (`<limit>;w=60`). A request counts against two limits
 * (per IP, then per user); the answer shows the one closer to exhaustion, as the draft asks. A
 * limit of 0 (off), or a Redis limiter that did not answer, shows nothing.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RateDecision } from './rate-limiter.js';

export const RATE_LIMIT_HEADERS = ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-policy'];

export function showRateLimit(request: FastifyRequest, reply: FastifyReply, limit: number, decision: RateDecision): void {
  const { remaining, resetSeconds, windowSeconds } = decision;
  if (remaining === undefined || resetSeconds === undefined) return;
  const shown = request.sluice.rateLimitRemaining;
  if (shown !== undefined && shown <= remaining) return;
  request.sluice.rateLimitRemaining = remaining;
  reply.header('ratelimit-limit', String(limit));
  reply.header('ratelimit-remaining', String(remaining));
  reply.header('ratelimit-reset', String(resetSeconds));
  reply.header('ratelimit-policy', `${limit};w=${windowSeconds ?? 60}`);
}
