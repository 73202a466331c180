/** What an app configures once per gateway (and per user, through `token`). */

export interface TokenContext {
  /** true after the gateway answered 401: return a fresh token, not a cached one. */
  refresh: boolean;
}

export interface TruncationInfo {
  /** The statement (or, for a batch, the first truncated statement) whose rows were cut. */
  sql: string;
  /** Rows that did arrive. */
  rows: number | undefined;
}

export type TruncationPolicy = 'throw' | 'warn' | 'ignore' | ((info: TruncationInfo) => void);

export interface SluiceClientOptions {
  /** The gateway, e.g. `https://sluice.example.com` (`/data` is appended unless the path ends with it). */
  url: string | URL;
  /**
   * The user's JWT, or a function returning it (called before every request, so it may cache;
   * called with `{ refresh: true }` once after a 401, and the request is sent once more).
   */
  token: string | ((context: TokenContext) => string | Promise<string>);
  /** The `connection` named in every request (omitted: the gateway's routing or first connection). */
  connection?: string;
  /** A read the gateway cut at `limits.maxRows`/`maxResponseBytes`: 'throw' (default) a TRUNCATED error, 'warn' (console.warn on each cut answer, rows returned), 'ignore', or a function. */
  onTruncated?: TruncationPolicy;
  /** Retries of a READ answered 429 or 503 (default 2). Writes are never retried. */
  retries?: number;
  /** First backoff when the answer has no Retry-After, doubled per retry, with jitter (default 250 ms). */
  retryDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the error is thrown at once (default 10 s). */
  maxRetryDelayMs?: number;
  /** Bound on one call including its retries, in ms (default 60 s, above the gateway's default deadline of 40 s; 0 = none). Ends in a TIMEOUT error. */
  timeoutMs?: number;
  /** Aborts every call made through this client (ABORTED error), e.g. the app's request signal. */
  signal?: AbortSignal;
  /** Extra request headers (e.g. `x-request-id`). */
  headers?: Record<string, string>;
  /** A fetch implementation (default: the global fetch). */
  fetch?: typeof fetch;
}
