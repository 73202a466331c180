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
  /** Set once the request's line is written, so it is written exactly once. */
  logged?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    sluice: RequestContext;
  }
}
