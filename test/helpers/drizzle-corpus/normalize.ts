/**
 * What two drivers' answers are compared as: plain JSON-like values. Dates become ISO strings, or
 * `<recent>` when within ten minutes of the run (server clocks and `defaultNow()` differ by
 * milliseconds between the two databases); bytes become hex; bigints `123n`; class instances
 * (mysql2 rows, pg results) plain objects, so only values and shapes are compared.
 */
import { isDeepStrictEqual } from 'node:util';

const RECENT_MS = 10 * 60_000;

export function normalize(value: unknown, now: number = Date.now()): unknown {
  if (value === undefined) return '<undefined>';
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Date) {
    const t = value.getTime();
    if (Number.isNaN(t)) return '<invalid date>';
    return Math.abs(t - now) < RECENT_MS ? '<recent>' : value.toISOString();
  }
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString('hex') };
  if (value instanceof ArrayBuffer) return { bytes: Buffer.from(value).toString('hex') };
  if (Array.isArray(value)) return value.map((v) => normalize(v, now));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalize(v, now);
    return out;
  }
  return value;
}

/** Stable text of a normalized value (keys sorted), for multiset comparison and messages. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

/** Equal as normalized values; `unordered`: a top-level array compared as a multiset. */
export function sameAnswer(a: unknown, b: unknown, unordered = false): boolean {
  if (unordered && Array.isArray(a) && Array.isArray(b)) {
    const sort = (xs: unknown[]): string[] => xs.map(canonical).sort();
    return isDeepStrictEqual(sort(a), sort(b));
  }
  return isDeepStrictEqual(a, b);
}
