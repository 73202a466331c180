/**
 * Hostile requests over reused keep-alive connections: each one is followed by a valid request on
 * the same connection when the gateway kept it, so a test sees both that the hostile answer arrived
 * (not a reset) and that nothing of the hostile body was read as a request of its own.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { malformedJson } from './malformed-json.js';
import { rawConnection, type RawAnswer, type RawConnection } from './raw-http.js';
import { send, type PostResult } from './sluice-harness.js';

/** One hostile POST: what to send, and the code it must be refused with. */
export interface HostileBody {
  name: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  code: string;
  chunked?: boolean;
}

/** The request as bytes (Content-Length, or one chunk when `chunked`). */
export function requestBytes(c: Pick<HostileBody, 'path' | 'headers' | 'body' | 'chunked'>): Buffer {
  const head = `POST ${c.path} HTTP/1.1\r\nHost: x\r\n${Object.entries(c.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}`;
  const n = Buffer.byteLength(c.body);
  return Buffer.from(c.chunked ? `${head}Transfer-Encoding: chunked\r\n\r\n${n.toString(16)}\r\n${c.body}\r\n0\r\n\r\n` : `${head}Content-Length: ${n}\r\n\r\n${c.body}`);
}

/**
 * Oversized and malformed bodies for `path` (/data or /jobs), each carrying `sql` (a write that must
 * never run): malformed JSON, over bodyLimit (also chunked), mistyped, nested 10 000 deep, a bad or
 * missing token with a large body, a complete request of `otherToken` smuggled as the body, the
 * wrong content type, an unknown route.
 */
export function hostileBodies(o: { path: string; sql: string; token: string; otherToken: string; bodyLimit: number; seed: number }): HostileBody[] {
  const json = { Authorization: `Bearer ${o.token}`, 'Content-Type': 'application/json' };
  const oversized = (n: number): string => JSON.stringify({ sql: o.sql, params: ['x'.repeat(n)] });
  const smuggled = requestBytes({ path: o.path, headers: { Authorization: `Bearer ${o.otherToken}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ sql: o.sql }) }).toString();
  const at = (c: Omit<HostileBody, 'path'>): HostileBody => ({ path: o.path, ...c });
  return [
    ...fc.sample(malformedJson(o.sql), { numRuns: 8, seed: o.seed }).map((body, i) => at({ name: `malformed ${i}`, headers: json, body, code: 'BAD_REQUEST' })),
    at({ name: 'one byte over bodyLimit', headers: json, body: oversized(o.bodyLimit), code: 'BODY_TOO_LARGE' }),
    at({ name: 'twice bodyLimit', headers: json, body: oversized(2 * o.bodyLimit), code: 'BODY_TOO_LARGE' }),
    at({ name: 'twice bodyLimit, chunked', headers: json, body: oversized(2 * o.bodyLimit), chunked: true, code: 'BODY_TOO_LARGE' }),
    at({ name: 'mistyped fields', headers: json, body: JSON.stringify({ sql: o.sql, params: { 0: 1 } }), code: 'BAD_REQUEST' }),
    at({ name: 'a batch item with an extra field', headers: json, body: JSON.stringify({ batch: [{ sql: o.sql, connection: 'main' }] }), code: 'BAD_REQUEST' }),
    at({ name: 'nested 10 000 deep', headers: json, body: `{"sql":${JSON.stringify(o.sql)},"params":[${'['.repeat(10_000)}${']'.repeat(10_000)}]}`, code: 'JSON_TOO_DEEP' }),
    at({ name: 'a bad token with twice bodyLimit of body', headers: { ...json, Authorization: 'Bearer x.y.z' }, body: oversized(2 * o.bodyLimit), code: 'TOKEN_INVALID' }),
    at({ name: 'no token, a smuggled request as the body', headers: { 'Content-Type': 'application/json' }, body: smuggled, code: 'TOKEN_MISSING' }),
    at({ name: 'text/plain with a big body', headers: { ...json, 'Content-Type': 'text/plain' }, body: oversized(o.bodyLimit / 2), code: 'UNSUPPORTED_MEDIA_TYPE' }),
    { name: 'no such route, a smuggled request as the body', path: `${o.path}/nowhere/x`, headers: { Authorization: `Bearer ${o.token}` }, body: smuggled, code: 'NOT_FOUND' },
  ];
}

/** The codes whose answers leave the connection open (the body was drained or read in full). */
export const KEEP_ALIVE_CODES = ['BAD_REQUEST', 'TOKEN_INVALID', 'TOKEN_MISSING', 'UNSUPPORTED_MEDIA_TYPE', 'NOT_FOUND'];

export interface Alternation {
  hostile: RawAnswer;
  /** The answer to the valid request sent right after it. */
  valid: RawAnswer;
  /** The hostile answer said Connection: close (and the gateway did close), so the valid one went on a new connection. */
  reconnected: boolean;
}

export const saysClose = (a: RawAnswer): boolean => /\r\nconnection: *close/i.test(a.headers);

/** On one raw socket (a new one only after an answer that closes it): hostile[i], then `valid`, in turn. */
export async function alternateOnOneSocket(url: string, hostile: ReadonlyArray<string | Buffer>, valid: () => string | Buffer): Promise<Alternation[]> {
  let conn: RawConnection = await rawConnection(url);
  const out: Alternation[] = [];
  try {
    for (const request of hostile) {
      const answer = await conn.send(request);
      const reconnected = saysClose(answer);
      if (reconnected) {
        expect(await conn.waitClosed(5_000), `the gateway closes after ${answer.headers.split('\r\n')[0]}`).toBe(true);
        conn = await rawConnection(url);
      } else {
        expect(conn.closed(), `the gateway kept the connection after ${answer.headers.split('\r\n')[0]}`).toBe(false);
      }
      out.push({ hostile: answer, valid: await conn.send(valid()), reconnected });
    }
  } finally {
    conn.destroy();
  }
  return out;
}

export interface FetchRequest {
  path: string;
  init: RequestInit;
}

/** The same with fetch (undici), which reuses its pooled connections: hostile[i], then `valid`, in turn. */
export async function alternateWithFetch(url: string, hostile: readonly FetchRequest[], valid: () => FetchRequest): Promise<Array<{ hostile: PostResult; valid: PostResult }>> {
  const out: Array<{ hostile: PostResult; valid: PostResult }> = [];
  for (const h of hostile) {
    const v = valid();
    out.push({ hostile: await send(url, h.path, h.init), valid: await send(url, v.path, v.init) });
  }
  return out;
}
