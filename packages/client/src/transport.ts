/**
 * One `POST /data` round trip with the client's policy: token (refreshed once on 401), retries
 * of reads on 429/503 (Retry-After honoured), the timeout and abort signal, and the gateway's
 * error answer turned into a SluiceError.
 */
import { startDeadline, sleep, type Deadline } from './deadline.js';
import { SluiceError } from './errors.js';
import type { SluiceClientOptions } from './options.js';
import { parseRetryAfter, retryDelay } from './retry-after.js';
import type { DataRequest, ErrorAnswer } from './wire.js';

export interface Transport {
  readonly options: Readonly<SluiceClientOptions>;
  /** The parsed 200 answer; `retryable` says whether a 429/503 may be sent again (reads only). */
  send(request: DataRequest, retryable: boolean): Promise<unknown>;
}

const DEFAULTS = { retries: 2, retryDelayMs: 250, maxRetryDelayMs: 10_000, timeoutMs: 60_000 };

export function dataEndpoint(url: string | URL): string {
  const u = new URL(url);
  if (!u.pathname.endsWith('/data')) u.pathname = `${u.pathname.replace(/\/+$/, '')}/data`;
  return u.toString();
}

/** JSON has no bigint: every database reads the decimal string back exactly. */
function toJson(body: unknown): string {
  return JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function errorFromAnswer(res: Response, body: unknown, text: string): SluiceError {
  const e = (typeof body === 'object' && body !== null ? (body as ErrorAnswer).error : undefined) ?? {};
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const code = str(e.code) ?? 'BAD_RESPONSE';
  const message = str(e.message) ?? (text.slice(0, 200) || res.statusText);
  return new SluiceError({
    code,
    status: res.status,
    message: `sluice ${res.status} ${code}: ${message}`,
    sqlstate: str(e.sqlstate),
    retryAfter: parseRetryAfter(res.headers.get('retry-after')),
    requestId: str(e.requestId) ?? res.headers.get('x-request-id') ?? undefined,
  });
}

export function createTransport(options: SluiceClientOptions): Transport {
  const endpoint = dataEndpoint(options.url);
  const retries = options.retries ?? DEFAULTS.retries;
  const baseMs = options.retryDelayMs ?? DEFAULTS.retryDelayMs;
  const maxDelayMs = options.maxRetryDelayMs ?? DEFAULTS.maxRetryDelayMs;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;

  async function token(refresh: boolean): Promise<string> {
    return typeof options.token === 'string' ? options.token : await options.token({ refresh });
  }

  async function attempt(body: string, refresh: boolean, deadline: Deadline): Promise<{ res: Response; text: string }> {
    const doFetch = options.fetch ?? globalThis.fetch;
    const headers = { ...options.headers, 'content-type': 'application/json', authorization: `Bearer ${await token(refresh)}` };
    try {
      const res = await doFetch(endpoint, { method: 'POST', headers, body, signal: deadline.signal });
      return { res, text: await res.text() };
    } catch (err) {
      if (deadline.signal.aborted) throw deadline.error(err);
      throw new SluiceError({ code: 'NETWORK_ERROR', status: 0, message: `sluice: ${endpoint} did not answer: ${String(err)}`, cause: err });
    }
  }

  async function send(request: DataRequest, retryable: boolean): Promise<unknown> {
    const body = toJson(options.connection === undefined ? request : { ...request, connection: options.connection });
    const deadline = startDeadline(timeoutMs, options.signal);
    try {
      let refreshed = false;
      for (let retry = 0; ; ) {
        const { res, text } = await attempt(body, refreshed, deadline);
        const parsed = parseJson(text);
        if (res.ok) {
          if (typeof parsed !== 'object' || parsed === null) {
            throw new SluiceError({ code: 'BAD_RESPONSE', status: res.status, message: `sluice: the answer is not a JSON object: ${text.slice(0, 200)}` });
          }
          return parsed;
        }
        const err = errorFromAnswer(res, parsed, text);
        // A 401 is answered before the body is read: sending it again cannot run anything twice.
        if (res.status === 401 && typeof options.token === 'function' && !refreshed) {
          refreshed = true;
          continue;
        }
        if ((res.status === 429 || res.status === 503) && retryable && retry < retries) {
          const wait = retryDelay(retry, err.retryAfter, baseMs);
          if (wait <= maxDelayMs && wait < deadline.remaining()) {
            await sleep(wait, deadline);
            retry++;
            continue;
          }
        }
        throw err;
      }
    } finally {
      deadline.dispose();
    }
  }

  return { options, send };
}
