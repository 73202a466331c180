/**
 * A client that sends its request too slowly (a trickled body, headers that never end) is cut off
 * with 408 REQUEST_TIMEOUT after server.requestTimeoutMs and its connection closed: Fastify's own
 * default is no limit, so a few thousand such sockets would otherwise be held forever.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawConnection } from '../helpers/raw-http.js';
import { startHarness, type Harness } from '../helpers/sluice-harness.js';
import { requirePostgres } from '../helpers/skip.js';

const run = await requirePostgres();
const TIMEOUT_MS = 1000;

describe.runIf(run)('slow clients (server.requestTimeoutMs)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ server: { requestTimeoutMs: TIMEOUT_MS } });
  });
  afterAll(async () => h?.close());

  it('a body that stops arriving gets 408 REQUEST_TIMEOUT and the connection is closed', async () => {
    const conn = await rawConnection(h.url);
    try {
      const started = Date.now();
      const answer = await conn.send(
        `POST /data HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${h.tokens.tenant1}\r\nContent-Length: 100\r\n\r\n{"sql":`,
        15_000,
      );
      expect(answer.status).toBe(408);
      expect(answer.body).toMatchObject({ error: { code: 'REQUEST_TIMEOUT' } });
      // Cut off near the bound (checked every bound/4), not after Node's 30 s sweep interval.
      expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 6);
      expect(await conn.waitClosed(5000)).toBe(true);
    } finally {
      conn.destroy();
    }
  });

  it('headers that never end get 408 too', async () => {
    const conn = await rawConnection(h.url);
    try {
      const answer = await conn.send('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a', 15_000);
      expect(answer.status).toBe(408);
      expect(answer.body).toMatchObject({ error: { code: 'REQUEST_TIMEOUT' } });
      expect(await conn.waitClosed(5000)).toBe(true);
    } finally {
      conn.destroy();
    }
  });

  it('a request sent in time on the same kind of connection is served', async () => {
    const conn = await rawConnection(h.url);
    try {
      const answer = await conn.send('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 5000);
      expect(answer.status).toBe(200);
    } finally {
      conn.destroy();
    }
  });
});
