/** What a /data request accumulates for its single log line. Never holds the token or params. */
import type { Principal } from '../auth/principal.js';

export interface RequestContext {
  principal?: Principal;
  connection?: string;
  tables?: string[];
  /** "ok" or the error code. */
  verdict?: string;
  rows?: number;
  timings?: { waitMs: number; checkMs: number; acquireMs: number; leaseMs: number; cacheHit: boolean };
  /** /jobs: the job the request submitted or names (audit log). */
  jobId?: string;
  /** Set once the request's line is written, so it is written exactly once. */
  logged?: boolean;
  /** Set once the request is counted in the metrics, so it is counted exactly once. */
  metered?: boolean;
  /** performance.now() when the request arrived: a client-gone hook has no reply.elapsedTime. */
  startedAt?: number;
  /** The RateLimit-Remaining already on the answer, the lowest so far (rate-limit/rate-limit-headers.ts). */
  rateLimitRemaining?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    sluice: RequestContext;
  }
}
