/**
 * Answers sluice gives before it has read the request body (src/http/early-answers.ts,
 * client-error.ts) reach the client: the rest of the body is drained, within a bound in bytes and
 * time, before the answer goes out.
 *
 * The client that shows the difference is one that writes its whole request before reading
 * (curl, Python's http.client): if the server answers and closes while the body is still arriving,
 * its write fails (EPIPE / ECONNRESET) and the answer is never read — measured here before the fix
 * with bodies beyond what the loopback kernel buffers (~10 MB). Also: keep-alive connections stay
 * usable after a drained answer (raw socket and fetch/undici), and past the bound (64 MiB, or a
 * client that trickles) the gateway stops reading and closes the connection.
 */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRAIN_MS } from '../../src/http/drain.js';
import { expectRefused } from '../helpers/expect-refused.js';
import { saysClose } from '../helpers/keep-alive.js';
import { blockingRequest, rawConnection, rawRequest } from '../helpers/raw-http.js';
import { startHarness, startSluice, type Harness, type Sluice } from '../helpers/sluice-harness.js';
import { startOfRateWindow } from '../helpers/rate-window.js';
import { requirePostgres } from '../helpers/skip.js';

const run = await requirePostgres();
const MiB = 1024 * 1024;
/** Drain bound: max(4 × bodyLimit, 4 MiB) = 16 MiB. */
const BODY_LIMIT = 4 * MiB;
/** Over bodyLimit, within the drain bound, and more than the loopback kernel buffers. */
const WITHIN = 15 * MiB;
const BEYOND = 64 * MiB;
const VALID = JSON.stringify({ sql: 'select 1 as one', method: 'execute' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A request head; `length` 'chunked' sends Transfer-Encoding: chunked. */
function head(method: string, path: string, headers: Record<string, string>, length: number | 'chunked'): string {
  const framing = length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`;
  return `${method} ${path} HTTP/1.1\r\nHost: x\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}${framing}\r\n\r\n`;
}

/** `n` bytes of a JSON body that is never valid (it is not meant to be read). */
const filler = (n: number): Buffer => Buffer.alloc(n, 'x');

function chunked(body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
}


describe.skipIf(!run)('answers given before the body is read', () => {
  let h: Harness;
  let limited: Sluice;
  let json: Record<string, string>;

  beforeAll(async () => {
    h = await startHarness({ server: { bodyLimit: BODY_LIMIT } });
    // Per-user limit of 1: a second request is a 429 decided in onRequest, before the body.
    limited = await startSluice(h.schema, { server: { bodyLimit: BODY_LIMIT }, limits: { rateLimitPerUser: 1 } });
    json = { Authorization: `Bearer ${h.tokens.tenant1}`, 'Content-Type': 'application/json' };
  }, 60_000);
  afterAll(async () => {
    await limited?.close();
    await h?.teardown();
  }, 30_000);

  async function stillServes(url = h.url): Promise<void> {
    const res = await rawRequest(url, head('POST', '/data', { ...json, Connection: 'close' }, Buffer.byteLength(VALID)) + VALID);
    expect(res.status, res.text).toBe(200);
  }

  describe('a client that writes its whole body before reading gets the answer', () => {
    const cases: Array<[string, () => [string, Buffer], number, string]> = [
      ['413: Content-Length over bodyLimit', () => [head('POST', '/data', json, WITHIN), filler(WITHIN)], 413, 'BODY_TOO_LARGE'],
      ['413: chunked, the limit reached mid-body', () => [head('POST', '/data', json, 'chunked'), chunked(filler(WITHIN))], 413, 'BODY_TOO_LARGE'],
      ['401: no token', () => [head('POST', '/data', { 'Content-Type': 'application/json' }, WITHIN), filler(WITHIN)], 401, 'TOKEN_MISSING'],
      ['401: a bad token, chunked', () => [head('POST', '/data', { ...json, Authorization: 'Bearer x.y.z' }, 'chunked'), chunked(filler(WITHIN))], 401, 'TOKEN_INVALID'],
      ['415: text/plain', () => [head('POST', '/data', { ...json, 'Content-Type': 'text/plain' }, WITHIN), filler(WITHIN)], 415, 'UNSUPPORTED_MEDIA_TYPE'],
      // With a JSON content type Fastify parses the body of an unknown route too; without, it answers at once.
      ['404: no such route', () => [head('POST', '/nowhere', { 'Content-Type': 'application/octet-stream' }, WITHIN), filler(WITHIN)], 404, 'NOT_FOUND'],
      ['401 on /jobs', () => [head('POST', '/jobs', { 'Content-Type': 'application/json' }, WITHIN), filler(WITHIN)], 401, 'TOKEN_MISSING'],
      ['431: headers over the limit (answered by the HTTP parser)', () => [head('POST', '/data', { ...json, 'X-Big': 'a'.repeat(70_000) }, WITHIN), filler(WITHIN)], 431, 'HEADERS_TOO_LARGE'],
    ];

    it.each(cases)('%s', async (name, make, status, code) => {
      const [headBytes, body] = make();
      const res = await blockingRequest(h.url, headBytes, body);
      expect(res.writeError, `${name}: the gateway stopped reading`).toBeUndefined();
      expect(res.answer?.status, `${name}: ${res.answer?.text}`).toBe(status);
      expect(expectRefused(res.answer!, name)).toBe(code);
      expect(res.ms, name).toBeLessThan(DRAIN_MS + 10_000);
    }, 30_000);

    it('200: a GET with a body it does not read', async () => {
      const res = await blockingRequest(h.url, head('GET', '/healthz', {}, WITHIN), filler(WITHIN));
      expect(res.writeError).toBeUndefined();
      expect(res.answer?.status).toBe(200);
    }, 30_000);

    it('429: a rate-limited user', async () => {
      await startOfRateWindow();
      const first = await blockingRequest(limited.url, head('POST', '/data', json, Buffer.byteLength(VALID)), Buffer.from(VALID));
      expect(first.answer?.status).toBe(200);
      const res = await blockingRequest(limited.url, head('POST', '/data', json, WITHIN), filler(WITHIN));
      expect(res.writeError).toBeUndefined();
      expect(expectRefused(res.answer!, '429')).toBe('RATE_LIMITED');
    }, 30_000);

    it('the 2 MB body of the finding, on a raw socket, is answered promptly', async () => {
      const res = await blockingRequest(h.url, head('POST', '/data', json, 2 * BODY_LIMIT), filler(2 * BODY_LIMIT), 10_000);
      expect(res.writeError).toBeUndefined();
      expect(expectRefused(res.answer!, '2 × bodyLimit')).toBe('BODY_TOO_LARGE');
      expect(res.ms).toBeLessThan(10_000);
      await stillServes();
    }, 30_000);
  });

  describe('the drain is bounded', () => {
    it.each([
      ['a Content-Length beyond the bound: not read at all', () => [head('POST', '/data', { 'Content-Type': 'application/json' }, BEYOND), filler(BEYOND)] as const],
      ['a chunked body beyond the bound: read up to it', () => [head('POST', '/data', json, 'chunked'), chunked(filler(BEYOND))] as const],
      ['a parser error followed by more than the bound', () => [head('POST', '/data', { ...json, 'X-Big': 'a'.repeat(70_000) }, BEYOND), filler(BEYOND)] as const],
    ])('%s: the gateway closes the connection while the client is still writing', async (name, make) => {
      const [headBytes, body] = make();
      const res = await blockingRequest(h.url, headBytes, body, 30_000);
      // The client could not write all 64 MiB: the gateway stopped reading and closed.
      expect(res.writeError, name).toMatch(/^(EPIPE|ECONNRESET)$/);
      expect(res.ms, name).toBeLessThan(DRAIN_MS + 10_000);
      await stillServes();
    }, 60_000);

    it('a client that reads while it writes still gets the answer past the bound, with Connection: close', async () => {
      const res = await rawRequest(h.url, Buffer.concat([Buffer.from(head('POST', '/data', json, BEYOND)), filler(BEYOND)]), 20_000);
      expect(expectRefused(res, 'beyond the bound')).toBe('BODY_TOO_LARGE');
      expect(saysClose(res)).toBe(true);
    }, 30_000);

    it(`a client that trickles its body gets the answer, and the connection closed, after ${DRAIN_MS} ms`, async () => {
      const conn = await rawConnection(h.url);
      const started = Date.now();
      const answer = conn.send(head('POST', '/data', { 'Content-Type': 'application/json', Authorization: 'Bearer x.y.z' }, MiB), DRAIN_MS + 10_000);
      let sent = 0;
      const trickle = (async () => {
        while (!conn.closed() && sent < MiB) {
          await sleep(100);
          if (conn.closed()) break;
          conn.write(filler(1024));
          sent += 1024;
        }
      })();
      const res = await answer;
      expect(expectRefused(res, 'trickled')).toBe('TOKEN_INVALID');
      expect(saysClose(res), res.headers).toBe(true);
      expect(await conn.waitClosed(5_000), 'the gateway closed the connection').toBe(true);
      await trickle;
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(DRAIN_MS - 500);
      expect(elapsed).toBeLessThan(DRAIN_MS + 10_000);
      expect(sent, 'the client was still sending').toBeLessThan(MiB);
      await stillServes();
    }, 30_000);
  });

  describe('keep-alive connections', () => {
    it('stay usable after a drained 401, 404, 415 or a GET with a body; the next request runs on the same socket', async () => {
      const conn = await rawConnection(h.url);
      try {
        const early: Array<[string, string, number]> = [
          [head('POST', '/data', { 'Content-Type': 'application/json' }, 2 * MiB), 'TOKEN_MISSING', 2 * MiB],
          [head('POST', '/nowhere', {}, 2 * MiB), 'NOT_FOUND', 2 * MiB],
          [head('POST', '/jobs', { ...json, 'Content-Type': 'application/x-www-form-urlencoded' }, 2 * MiB), 'UNSUPPORTED_MEDIA_TYPE', 2 * MiB],
        ];
        for (const [headBytes, code, n] of early) {
          const res = await conn.send(Buffer.concat([Buffer.from(headBytes), filler(n)]));
          expect(expectRefused(res, code)).toBe(code);
          expect(saysClose(res), `${code} keeps the connection`).toBe(false);
          const ok = await conn.send(head('POST', '/data', json, Buffer.byteLength(VALID)) + VALID);
          expect(ok.status, ok.text).toBe(200);
        }
        const get = await conn.send(Buffer.concat([Buffer.from(head('GET', '/healthz', {}, 2 * MiB)), filler(2 * MiB)]));
        expect(get.status).toBe(200);
        expect((await conn.send(head('POST', '/data', json, Buffer.byteLength(VALID)) + VALID)).status).toBe(200);
        expect(conn.closed()).toBe(false);
      } finally {
        conn.destroy();
      }
    }, 30_000);

    it('a 413 is read in full by the client, then the connection closes cleanly', async () => {
      const conn = await rawConnection(h.url);
      const res = await conn.send(Buffer.concat([Buffer.from(head('POST', '/data', json, 2 * BODY_LIMIT)), filler(2 * BODY_LIMIT)]));
      expect(expectRefused(res, '413')).toBe('BODY_TOO_LARGE');
      expect(saysClose(res)).toBe(true);
      expect(await conn.waitClosed(5_000)).toBe(true);
    }, 30_000);

    it('fetch (undici) over its reused connections: every early answer arrives, and the gateway keeps the connection after the ones that allow it', async () => {
      // undici decides itself how many connections it opens; what the gateway decides is when one closes.
      let closed = 0;
      const count = (socket: Socket): void => void socket.once('close', () => closed++);
      h.engine.app.server.on('connection', count);
      try {
        const send = async (body: string | Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number; body: any; text: string }> => {
          const res = await fetch(`${h.url}/data`, { method: 'POST', headers: { authorization: json.Authorization!, 'content-type': 'application/json', ...headers }, body });
          const text = await res.text();
          return { status: res.status, body: JSON.parse(text), text };
        };
        expect((await send(VALID)).status).toBe(200);
        for (let i = 0; i < 5; i++) {
          const before = closed;
          expect(expectRefused(await send(filler(3 * MiB), { authorization: 'Bearer x.y.z' }), 'bad token')).toBe('TOKEN_INVALID');
          expect(expectRefused(await send(filler(3 * MiB), { 'content-type': 'text/plain' }), 'text/plain')).toBe('UNSUPPORTED_MEDIA_TYPE');
          expect((await send(VALID)).status).toBe(200);
          expect(closed, 'the drained 401 and 415 kept their connections').toBe(before);
          expect(expectRefused(await send(filler(BODY_LIMIT + 1 + i * MiB)), 'over the limit')).toBe('BODY_TOO_LARGE');
          expect(expectRefused(await send('{"sql":'), 'malformed')).toBe('BAD_REQUEST');
          expect((await send(VALID)).status).toBe(200);
          expect(closed, 'the 413 and the malformed body closed theirs').toBeGreaterThan(before);
        }
      } finally {
        h.engine.app.server.off('connection', count);
      }
    }, 60_000);
  });
});
