/**
 * Per-IP limits run before authentication (so floods of bad tokens are throttled too); per-user
 * limits run after it. A limit of 0 disables that check. Each decision may set the RateLimit-*
 * headers (rate-limit/rate-limit-headers.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Limits } from '../../config/types.js';
import { SluiceError } from '../../errors.js';
import { showRateLimit } from '../rate-limit/rate-limit-headers.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';

async function enforce(limiter: RateLimiter, request: FastifyRequest, reply: FastifyReply, key: string, limit: number, what: string): Promise<void> {
  if (limit <= 0) return;
  const decision = await limiter.consume(key, limit);
  showRateLimit(request, reply, limit, decision);
  if (!decision.allowed) {
    throw new SluiceError('RATE_LIMITED', `Too many requests for this ${what} (${limit} per minute)`, { retryAfter: decision.retryAfter });
  }
}

export function ipRateLimitHook(limiter: RateLimiter, limits: Limits) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => enforce(limiter, request, reply, `ip:${request.ip}`, limits.rateLimitPerIP, 'client address');
}

export function userRateLimitHook(limiter: RateLimiter, limits: Limits) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const user = request.sluice.principal?.user;
    if (user !== undefined) await enforce(limiter, request, reply, `user:${user}`, limits.rateLimitPerUser, 'user');
  };
}
