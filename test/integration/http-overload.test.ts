/**
 * Under overload, a request the queue would refuse is answered 503 OVERLOADED in onRequest, before
 * its body is read or parsed (a malformed body proves it: parsed, it would be a 400); a tenant the
 * queue would still take is not refused early (fairness), and its body is parsed as usual.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIfPg } from '../helpers/services.js';
import { startHarness, type Harness } from '../helpers/sluice-harness.js';
import { saysClose } from '../helpers/keep-alive.js';
import { rawConnection } from '../helpers/raw-http.js';

/** Seconds of work for Postgres: holds the only connection until cancelled. */
const LONG = { sql: 'select count(*) from generate_series(1, 2000000000)' };
const MALFORMED = '{"sql": "select 1", ';
const VALID = JSON.stringify({ sql: 'select 1 as one', method: 'execute' });
/** A body that is a request line if anything ever parsed it as one. */
const SMUGGLING = JSON.stringify({ sql: 'select 1', note: 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' });

const request = (token: string, body: string): string =>
  `POST /data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describeIfPg('overload is refused before the body is read', () => {
  let h: Harness;
  beforeAll(async () => {
    // One connection, one waiting place: the second job of a tenant fills the queue.
    h = await startHarness({ workers: { threads: 1 }, connection: { max: 1 }, queue: { maxWaiting: 1, maxWaitMs: 20_000 } });
  }, 60_000);
  afterAll(async () => {
    await h?.teardown();
  }, 30_000);

  it('a full queue answers 503 OVERLOADED with Retry-After without parsing the body; another tenant is still admitted', { timeout: 60_000 }, async () => {
    // Warm the thread (parsers) so the long statement starts at once.
    expect((await h.post(h.tokens.tenant1, { sql: 'select 1' })).status).toBe(200);
    // Not overloaded: the malformed body is parsed and refused as such.
    expect((await h.post(h.tokens.tenant1, MALFORMED)).status).toBe(400);

    const ac = new AbortController();
    const running = h.post(h.tokens.tenant1, LONG, { signal: ac.signal }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 500));
    const waiting = h.post(h.tokens.tenant1, LONG, { signal: ac.signal }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 500));
    try {
      const refused = await h.post(h.tokens.tenant1, MALFORMED);
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('OVERLOADED');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Tenant 2 has nothing running: the queue would take its job, so its body is read (400 here).
      const other = await h.post(h.tokens.tenant2, MALFORMED);
      expect(other.status).toBe(400);
    } finally {
      ac.abort();
      await Promise.all([running, waiting]);
    }
  });

  // The refusal goes out before the body is read, and without a drain when the small body is
  // already buffered (early-answers.ts): a keep-alive client still sees every 503, never a reset,
  // and the unread body is never taken for a request of its own.
  it('every refused request gets its 503 on the same socket, and the socket then carries an admitted request', { timeout: 60_000 }, async () => {
    // The test before aborted its jobs: the gateway frees their places once it has seen the clients go.
    let first = await h.post(h.tokens.tenant1, { sql: 'select 1' });
    for (const until = Date.now() + 15_000; first.status === 503 && Date.now() < until; first = await h.post(h.tokens.tenant1, { sql: 'select 1' })) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(first.status, JSON.stringify(first.body)).toBe(200);
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
