/**
 * `health`: the per-connection circuit breaker and the periodic health checks behind it
 * (src/pool/circuit-breaker.ts). Defaults suit a database that restarts in seconds: five failures
 * in a row open the breaker, a probe every 5 s at first, backing off to one a minute.
 */
import { z } from 'zod';
import { int } from './coerce.js';

const HOUR_MS = 3_600_000;
/** Shorter periods would ping or probe a sick database in a tight loop. */
const MIN_PERIOD_MS = 100;

export interface HealthConfig {
  /** ms between health-check pings of every connection; 0 disables them (the breaker still works). */
  intervalMs: number;
  /** Consecutive "database unavailable" failures (requests or pings) that open a connection's breaker. */
  failureThreshold: number;
  /** ms the breaker stays open before its half-open probe. */
  cooldownMs: number;
  /** Each failed probe doubles the open period, up to this. */
  maxCooldownMs: number;
}

export const healthSchema = z
  .strictObject({
    intervalMs: int(0, HOUR_MS).default(5000),
    failureThreshold: int(1, 1000).default(5),
    cooldownMs: int(MIN_PERIOD_MS, HOUR_MS).default(5000),
    maxCooldownMs: int(MIN_PERIOD_MS, HOUR_MS).default(60_000),
  })
  .superRefine((h, ctx) => {
    if (h.intervalMs !== 0 && h.intervalMs < MIN_PERIOD_MS) {
      ctx.addIssue({ code: 'custom', path: ['intervalMs'], message: `must be 0 (off) or at least ${MIN_PERIOD_MS}` });
    }
    if (h.maxCooldownMs < h.cooldownMs) {
      ctx.addIssue({ code: 'custom', path: ['maxCooldownMs'], message: 'must be at least cooldownMs' });
    }
  })
  .prefault({});
