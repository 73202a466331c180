/**
 * The error every callback throws. Drizzle wraps a callback's error (DrizzleQueryError, with the
 * original on `cause`), so `sluiceError(err)` walks the `cause` chain to find it.
 */

/** Codes the client raises itself, when there is no error answer from the gateway (status 0). */
export const CLIENT_CODES = ['TRUNCATED', 'TIMEOUT', 'ABORTED', 'NETWORK_ERROR', 'BAD_RESPONSE', 'NOT_A_SLUICE_QUERY'] as const;
export type ClientCode = (typeof CLIENT_CODES)[number];

export interface SluiceErrorInit {
  code: string;
  message: string;
  /** HTTP status of the gateway's answer; 0 when the error arose in the client. */
  status: number;
  sqlstate?: string | undefined;
  /** Seconds the gateway asked to wait (Retry-After), on 429 and 503. */
  retryAfter?: number | undefined;
  /** The gateway's request id (`x-request-id` answer header or `error.requestId`), when it sent one. */
  requestId?: string | undefined;
  cause?: unknown;
}

export class SluiceError extends Error {
  /** A gateway code from docs/errors.md (e.g. `TABLE_NOT_ALLOWED`), or one of CLIENT_CODES. */
  readonly code: string;
  readonly status: number;
  readonly sqlstate: string | undefined;
  readonly retryAfter: number | undefined;
  readonly requestId: string | undefined;

  constructor(init: SluiceErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'SluiceError';
    this.code = init.code;
    this.status = init.status;
    this.sqlstate = init.sqlstate;
    this.retryAfter = init.retryAfter;
    this.requestId = init.requestId;
  }
}

/** instanceof, or the same shape from another copy of this package (bundlers may duplicate it). */
export function isSluiceError(value: unknown): value is SluiceError {
  if (value instanceof SluiceError) return true;
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { name?: unknown; code?: unknown; status?: unknown };
  return v.name === 'SluiceError' && typeof v.code === 'string' && typeof v.status === 'number';
}

/**
 * The SluiceError inside whatever Drizzle (or the app) wrapped around it, following `cause`
 * (bounded, so a cyclic chain ends); undefined when the error did not come from the gateway.
 */
export function sluiceError(err: unknown): SluiceError | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 16 && typeof current === 'object' && current !== null; depth++) {
    if (isSluiceError(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
