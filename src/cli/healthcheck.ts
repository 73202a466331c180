/**
 * `sluice healthcheck`: the container HEALTHCHECK. GETs a probe URL of the process in the same
 * container (`/readyz` of `serve`/`api`, the worker's `/readyz` on its metrics port) and exits 0
 * on a 2xx, 1 otherwise. Node's fetch, so the image needs no curl or wget.
 */
import { UsageError } from './usage.js';

export const DEFAULT_HEALTHCHECK_URL = 'http://127.0.0.1:8080/readyz';
const DEFAULT_TIMEOUT_MS = 4000;

export function healthcheckUrl(option: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): string {
  const url = option ?? (env.SLUICE_HEALTHCHECK_URL || DEFAULT_HEALTHCHECK_URL);
  if (!/^https?:\/\/./.test(url)) throw new UsageError(`--url must be an http:// or https:// URL, got ${url}`, 'healthcheck');
  return url;
}

export function parseTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_MS;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 1 || ms > 600_000) throw new UsageError(`--timeout must be 1-600000 (ms), got ${value}`, 'healthcheck');
  return ms;
}

/** true if `url` answered 2xx within `timeoutMs`; one line on what was found either way. */
export async function healthcheck(url: string, timeoutMs: number, out: (line: string) => void = console.log): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { connection: 'close' } });
    // The body says which connection is down; the probe's log (docker inspect) keeps it.
    const body = (await res.text()).slice(0, 500);
    out(`${url}: ${res.status} ${body}`);
    return res.ok;
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    out(`${url}: ${err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err.cause?.code ?? err.message)}`);
    return false;
  }
}
