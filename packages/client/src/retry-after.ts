/** Retry-After is seconds or an HTTP date (RFC 9110 §10.2.3); anything else is ignored. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** ms to wait before retry number `attempt` (0-based): Retry-After when given, else jittered doubling. */
export function retryDelay(attempt: number, retryAfter: number | undefined, baseMs: number): number {
  if (retryAfter !== undefined) return retryAfter * 1000;
  const ceiling = baseMs * 2 ** attempt;
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
