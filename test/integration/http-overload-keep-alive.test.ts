/**
 * A refusal decided in onRequest (the queue is full) is answered before the body is read, without
 * a drain when the small body is already buffered (early-answers.ts). A keep-alive client must
 * still see every 503, never a reset, and the unread body must never be taken for a request of its
 * own: refused requests back to back and pipelined on one socket, then a request that is admitted
 * on that same socket.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIfPg } from '../helpers/services.js';
import { saysClose } from '../helpers/keep-alive.js';
import { rawConnection } from '../helpers/raw-http.js';
import { startHarness, type Harness } from '../helpers/sluice-harness.js';

/** Seconds of work for Postgres: holds the only connection until cancelled. */
const LONG = { sql: 'select count(*) from generate_series(1, 2000000000)' };
const VALID = JSON.stringify({ sql: 'select 1 as one', method: 'execute' });
/** A body that is a request line if anything ever parsed it as one. */
const SMUGGLING = JSON.stringify({ sql: 'select 1', note: 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' });

const request = (token: string, body: string): string =>
  `POST /data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describeIfPg('overload refusals on a keep-alive connection', () => {
  let h: Harness;
  beforeAll(async () => {
    // One connection, one waiting place: the second job of a tenant fills the queue.
    h = await startHarness({ workers: { threads: 1 }, connection: { max: 1 }, queue: { maxWaiting: 1, maxWaitMs: 20_000 } });
  }, 60_000);
  afterAll(async () => {
    await h?.teardown();
  }, 30_000);

  it('every refused request gets its 503 on the same socket, and the socket then carries an admitted request', { timeout: 60_000 }, async () => {
    expect((await h.post(h.tokens.tenant1, { sql: 'select 1' })).status).toBe(200);
    const ac = new AbortController();
    const running = h.post(h.tokens.tenant1, LONG, { signal: ac.signal }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 500));
    const waiting = h.post(h.tokens.tenant1, LONG, { signal: ac.signal }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 500));
    const conn = await rawConnection(h.url);
    try {
      for (let i = 0; i < 20; i++) {
        const refused = await conn.send(request(h.tokens.tenant1, i % 2 === 0 ? VALID : SMUGGLING));
        expect(refused.status, refused.text).toBe(503);
        expect(refused.body.error.code).toBe('OVERLOADED');
        expect(Number(/\r\nretry-after: *(\d+)/i.exec(refused.headers)?.[1])).toBeGreaterThanOrEqual(1);
        expect(saysClose(refused)).toBe(false);
      }
      // Three refused requests in one write: three answers, in order, nothing more.
      const first = await conn.send(request(h.tokens.tenant1, SMUGGLING) + request(h.tokens.tenant1, VALID) + request(h.tokens.tenant1, SMUGGLING));
      const rest = [await conn.send(''), await conn.send('')];
      for (const a of [first, ...rest]) expect(a.body.error.code, a.text).toBe('OVERLOADED');
      expect(conn.closed()).toBe(false);
      // Tenant 2 is admitted (its line is empty): it waits for the connection, which the abort frees.
      const admitted = conn.send(request(h.tokens.tenant2, VALID), 30_000);
      await new Promise((r) => setTimeout(r, 300));
      ac.abort();
      const ok = await admitted;
      expect(ok.status, ok.text).toBe(200);
      expect(ok.body.rows).toEqual([{ one: 1 }]);
      expect(conn.closed()).toBe(false);
    } finally {
      conn.destroy();
      ac.abort();
      await Promise.all([running, waiting]);
    }
  });
});
