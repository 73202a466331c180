/**
 * limits.maxResponseBytes, enforced by every driver WHILE rows arrive (pg: per DataRow message,
 * mysql2: per row event, SQLite: per step in its process), never after a whole result is in
 * memory: one statement can produce gigabytes within the query timeout, and the HTTP thread must
 * never be handed more than it can serialize. One budget spans every statement of a batch.
 *
 * A row costs the exact UTF-8 length of its JSON as the HTTP thread writes it (binary values in
 * their wire form, see below) plus one separator. Once a row does not fit, it and every later row
 * of the response are dropped: the answer is the rows that fit, in order, marked truncated.
 *
 * Admitted rows get their binary values rewritten to the wire form (wire-binary.ts) here, in the
 * thread or process that read them, before they cross a thread or IPC boundary.
 */
import { SluiceError } from '../../errors.js';
import { wireBinary } from './wire-binary.js';

export interface ResponseBudget {
  /**
   * Rewrites `row`'s binary values to their wire form and charges its size. false: the row does
   * not fit; drop it — from then on every row is dropped (`exhausted`).
   */
  admit(row: unknown): boolean;
  readonly exhausted: boolean;
}

/** A JSON string needs escapes (or is not plain UTF-8 text) only when one of these occurs. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
/** `{"type":"Buffer","data":[` … `]}` */
const BINARY_FRAME = 27;

function stringBytes(s: string): number {
  if (!NEEDS_ESCAPE.test(s)) return Buffer.byteLength(s, 'utf8') + 2;
  return Buffer.byteLength(JSON.stringify(s), 'utf8');
}

function binaryBytes(b: Uint8Array): number {
  let n = BINARY_FRAME + Math.max(0, b.length - 1);
  for (let i = 0; i < b.length; i++) {
    const v = b[i]!;
    n += v < 10 ? 1 : v < 100 ? 2 : 3;
  }
  return n;
}

/** The exact byte length of JSON.stringify(v) (binary values as WireBinary). `inArray`: undefined is written as null. */
export function jsonBytes(v: unknown, inArray = true): number {
  switch (typeof v) {
    case 'string':
      return stringBytes(v);
    case 'number':
      return Number.isFinite(v) ? String(v).length : 4;
    case 'boolean':
      return v ? 4 : 5;
    case 'bigint':
      // JSON.stringify refuses a bigint; no driver produces one (counted as its digits).
      return String(v).length;
    case 'object':
      break;
    default:
      // undefined, functions, symbols: null in an array, left out of an object.
      return inArray ? 4 : 0;
  }
  if (v === null) return 4;
  if (v instanceof Uint8Array) return binaryBytes(v);
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return jsonBytes((toJSON as () => unknown).call(v), inArray);
  if (Array.isArray(v)) {
    let n = 2 + Math.max(0, v.length - 1);
    for (const item of v) n += jsonBytes(item, true);
    return n;
  }
  let n = 2;
  let members = 0;
  for (const key of Object.keys(v)) {
    const value = (v as Record<string, unknown>)[key];
    const size = jsonBytes(value, false);
    if (size === 0) continue;
    n += stringBytes(key) + 1 + size;
    members++;
  }
  return n + Math.max(0, members - 1);
}

/** Binary values of a row (an array or a flat object, as drivers give them) in their wire form, in place. */
function binaryToWire(row: unknown): void {
  if (row === null || typeof row !== 'object') return;
  const values = row as Record<string | number, unknown>;
  for (const key of Object.keys(values)) {
    const value = values[key];
    if (value instanceof Uint8Array) values[key] = wireBinary(value);
  }
}

export function createResponseBudget(maxBytes: number): ResponseBudget {
  let left = maxBytes;
  let exhausted = false;
  return {
    admit(row) {
      if (exhausted) return false;
      // Sized before the rewrite: binaryBytes counts the wire form without building it first.
      const size = jsonBytes(row) + 1;
      if (size > left) {
        exhausted = true;
        return false;
      }
      left -= size;
      binaryToWire(row);
      return true;
    },
    get exhausted() {
      return exhausted;
    },
  };
}

/**
 * The answer for a read that lost rows to the byte cap: the rows that fit, marked truncated — but a
 * read statement that kept none (its first row alone was too large, or a statement of a batch the
 * cap stopped before it ran) would read as "no rows" to a client that ignores `truncated` (Drizzle
 * does): that is refused instead. Writes are never refused here: they committed.
 */
export function refuseEmptyTruncation(results: ReadonlyArray<{ rows: unknown[]; truncated: boolean }>, readOnly: boolean): void {
  if (readOnly && results.some((r) => r.truncated && r.rows.length === 0)) throw new SluiceError('RESULT_TOO_LARGE');
}
