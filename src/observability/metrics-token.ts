/**
 * The optional shared secret of /metrics (observability.metrics.token). Never the JWT: a scraper
 * is not a tenant. Compared in constant time over digests, so neither the content nor the length
 * of the secret leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ErrorCode } from '../errors.js';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** undefined: allowed; otherwise the error code to answer with (401). */
export function metricsAuthError(header: string | undefined, token: string | undefined): ErrorCode | undefined {
  if (token === undefined) return undefined;
  const presented = header === undefined ? undefined : BEARER.exec(header)?.[1];
  if (presented === undefined) return 'TOKEN_MISSING';
  return timingSafeEqual(digest(presented), digest(token)) ? undefined : 'TOKEN_INVALID';
}
