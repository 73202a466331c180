/**
 * Issue 14 §3 over a real engine and Postgres: request ids on every answer (also early answers over
 * keep-alive), in error bodies, the audit log and the pino lines; CORS for listed origins only;
 * RateLimit-* headers (draft-ietf-httpapi-ratelimit-headers-06) counting down on /data and /jobs.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine.js';
import { saysClose } from '../helpers/keep-alive.js';
import { rawConnection, rawRequest, type RawAnswer } from '../helpers/raw-http.js';
import { startOfRateWindow } from '../helpers/rate-window.js';
import { describeIfPg } from '../helpers/services.js';
import { post, send, startHarness, startSluice, type Harness, type Sluice } from '../helpers/sluice-harness.js';
import { testConfig } from '../helpers/test-config.js';
import { signToken } from '../helpers/tokens.js';

const ORIGIN = 'https://app.example.com';
const GENERATED = /^[0-9a-f]{8}-[0-9a-z]+$/;
const SELECT = { sql: 'select id from customers order by id', method: 'all' };

/** A header of a raw answer (the last one when repeated). */
function rawHeader(a: RawAnswer, name: string): string | undefined {
  const re = new RegExp(`\\r\\n${name}: *([^\\r]*)`, 'gi');
  let m: RegExpExecArray | null;
  let value: string | undefined;
  while ((m = re.exec(a.headers)) !== null) value = m[1];
  return value;
}

function requestBytes(path: string, headers: Record<string, string>, body: string | Buffer): Buffer {
  const head = `POST ${path} HTTP/1.1\r\nHost: x\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
}

describeIfPg('HTTP conventions', () => {
  let h: Harness;
  let json: Record<string, string>;

  beforeAll(async () => {
    h = await startHarness({ server: { bodyLimit: 64 * 1024, cors: { origins: [ORIGIN, 'http://localhost:3000'], credentials: true, maxAge: 300 } } });
    json = { authorization: `Bearer ${h.tokens.tenant1}`, 'content-type': 'application/json' };
  }, 60_000);
  afterAll(async () => h?.teardown(), 30_000);

  describe('request ids', () => {
    it('generates one per request and returns it on a 200', async () => {
      const a = await h.post(h.tokens.tenant1, SELECT);
      const b = await h.post(h.tokens.tenant1, SELECT);
      expect(a.status).toBe(200);
      expect(a.headers.get('x-request-id')).toMatch(GENERATED);
      expect(b.headers.get('x-request-id')).toMatch(GENERATED);
      expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
    });

    it("keeps the client's id when it is short and of the safe charset", async () => {
      const id = `trace-${randomUUID()}:1/2+3=4@x.y_z`;
      const res = await post(h.url, h.tokens.tenant1, SELECT, { headers: { 'x-request-id': id } });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toBe(id);
    });

    it.each([
      ['129 characters', 'a'.repeat(129)],
      ['a space', 'a b'],
      ['a quote and angle brackets', '"<script>'],
      ['a newline-looking escape', 'a\\r\\nset-cookie'],
      ['non-ASCII', 'idé'],
    ])('replaces an id with %s', async (_name, id) => {
      // Raw bytes: fetch would refuse some of these values itself.
      const res = await rawRequest(h.url, Buffer.concat([Buffer.from(`GET /jobs/x HTTP/1.1\r\nHost: x\r\nX-Request-Id: `), Buffer.from(id, 'latin1'), Buffer.from('\r\nConnection: close\r\n\r\n')]));
      expect(res.status).toBe(401);
      expect(rawHeader(res, 'x-request-id')).toMatch(GENERATED);
      expect(res.body.error.requestId).toBe(rawHeader(res, 'x-request-id'));
    });

    it('an id sent twice is replaced', async () => {
      const res = await rawRequest(h.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: one\r\nX-Request-Id: two\r\nConnection: close\r\n\r\n`);
      expect(res.status).toBe(200);
      expect(rawHeader(res, 'x-request-id')).toMatch(GENERATED);
    });

    it('error bodies carry it: 401, 400, 403, 404, /jobs', async () => {
      const answers = [
        await post(h.url, undefined, SELECT),
        await post(h.url, h.tokens.tenant1, { sql: 'selec id from customers' }),
        await post(h.url, h.tokens.tenant1, { sql: 'select 1', extra: true }),
        await post(h.url, h.tokens.tenant1, { sql: 'select id from audit_secrets' }),
        await send(h.url, '/nowhere', { headers: { 'x-request-id': 'nf-1' } }),
        await send(h.url, `/jobs/${randomUUID()}`, { headers: { authorization: `Bearer ${h.tokens.tenant1}` } }),
      ];
      expect(answers.map((a) => a.status)).toEqual([401, 400, 400, 403, 404, 404]);
      for (const a of answers) {
        const id = a.headers.get('x-request-id');
        expect(id, a.text).toBeTruthy();
        expect(a.body.error.requestId).toBe(id);
      }
      expect(answers[4]!.body.error.requestId).toBe('nf-1');
    });

    it('an error the router decides before any hook (a malformed URL) carries it', async () => {
      const res = await rawRequest(h.url, 'GET /jobs/%E0%A4%A HTTP/1.1\r\nHost: x\r\nX-Request-Id: bad-url\r\nConnection: close\r\n\r\n');
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'BAD_REQUEST', requestId: 'bad-url' });
      expect(rawHeader(res, 'x-request-id')).toBe('bad-url');
    });

    it('early answers over a keep-alive connection carry it: a 401 (connection kept), then a 413 (answered, then closed)', async () => {
      const conn = await rawConnection(h.url);
      try {
        const first = await conn.send(requestBytes('/data', json, JSON.stringify(SELECT)));
        expect(first.status).toBe(200);
        // Decided in onRequest, the body (over bodyLimit) drained: the connection stays.
        const anonymous = await conn.send(requestBytes('/data', { 'content-type': 'application/json', 'x-request-id': 'early-401' }, Buffer.alloc(100 * 1024, 'x')));
        expect(anonymous.status).toBe(401);
        expect(anonymous.body.error).toMatchObject({ code: 'TOKEN_MISSING', requestId: 'early-401' });
        expect(rawHeader(anonymous, 'x-request-id')).toBe('early-401');
        expect(conn.closed()).toBe(false);
        const again = await conn.send(requestBytes('/data', json, JSON.stringify(SELECT)));
        expect(again.status).toBe(200);
        expect(rawHeader(again, 'x-request-id')).toMatch(GENERATED);
        // Content-Length over bodyLimit: the answer arrives (no reset), with the id, and says close.
        const tooLarge = await conn.send(requestBytes('/data', { ...json, 'x-request-id': 'big-413' }, Buffer.alloc(200 * 1024, 'x')));
        expect(tooLarge.status).toBe(413);
        expect(tooLarge.body.error).toMatchObject({ code: 'BODY_TOO_LARGE', requestId: 'big-413' });
        expect(rawHeader(tooLarge, 'x-request-id')).toBe('big-413');
        expect(saysClose(tooLarge)).toBe(true);
        expect(await conn.waitClosed(5_000)).toBe(true);
      } finally {
        conn.destroy();
      }
    });

    it('an answer of the HTTP parser itself (431) carries a fresh one', async () => {
      const res = await rawRequest(h.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: mine\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`);
      expect(res.status).toBe(431);
      expect(rawHeader(res, 'x-request-id')).toMatch(GENERATED);
      expect(res.body.error.requestId).toBe(rawHeader(res, 'x-request-id'));
    });
  });

  describe('CORS (server.cors)', () => {
    const preflight = (path: string, origin: string, method = 'POST'): Promise<Awaited<ReturnType<typeof send>>> =>
      send(h.url, path, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' } });

    it.each([
      ['/data', 'POST'],
      ['/jobs', 'POST'],
      [`/jobs/${randomUUID()}`, 'DELETE'],
      [`/jobs/${randomUUID()}/result`, 'GET'],
    ])('a preflight for %s %s from a listed origin is answered without a token', async (path, method) => {
      const res = await preflight(path, ORIGIN, method);
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(res.headers.get('access-control-allow-credentials')).toBe('true');
      expect(res.headers.get('access-control-allow-methods')?.split(/, */)).toContain(method);
      expect(res.headers.get('access-control-allow-headers')?.split(/, */)).toEqual(expect.arrayContaining(['authorization', 'content-type']));
      expect(res.headers.get('access-control-max-age')).toBe('300');
      expect(res.headers.get('vary')).toMatch(/origin/i);
      expect(res.headers.get('x-request-id')).toMatch(GENERATED);
    });

    it('a preflight from an origin not listed gets no CORS header at all', async () => {
      for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.com', 'http://app.example.com', 'null']) {
        const res = await preflight('/data', origin);
        expect(res.status, origin).toBe(404);
        expect(res.body.error.code).toBe('NOT_FOUND');
        expect([...res.headers.keys()].filter((k) => k.startsWith('access-control-')), origin).toEqual([]);
      }
    });

    it('a call from a listed origin gets Allow-Origin and the exposed headers; from another origin none', async () => {
      const ok = await post(h.url, h.tokens.tenant1, SELECT, { headers: { origin: 'http://localhost:3000' } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
      expect(ok.headers.get('access-control-expose-headers')?.split(/, */)).toEqual(
        expect.arrayContaining(['x-request-id', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']),
      );
      // Errors too, so a page can read the code.
      const refused = await post(h.url, undefined, SELECT, { headers: { origin: ORIGIN } });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      const other = await post(h.url, h.tokens.tenant1, SELECT, { headers: { origin: 'https://evil.example.com' } });
      expect(other.status).toBe(200);
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('is off by default: no CORS headers, preflights are 404', async () => {
      const plain = await startSluice(h.schema);
      try {
        const pre = await send(plain.url, '/data', { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } });
        expect(pre.status).toBe(404);
        expect(pre.headers.get('access-control-allow-origin')).toBeNull();
        const res = await post(plain.url, h.tokens.tenant1, SELECT, { headers: { origin: ORIGIN } });
        expect(res.status).toBe(200);
        expect(res.headers.get('access-control-allow-origin')).toBeNull();
      } finally {
        await plain.close();
      }
    });
  });

  describe('RateLimit-* headers', () => {
    let limited: Sluice;
    beforeAll(async () => {
      limited = await startSluice(h.schema, { limits: { rateLimitPerUser: 5, rateLimitPerIP: 8 } });
    }, 30_000);
    afterAll(async () => limited?.close());

    function rate(res: { headers: Headers }): { limit: number; remaining: number; reset: number; policy: string | null } {
      return {
        limit: Number(res.headers.get('ratelimit-limit')),
        remaining: Number(res.headers.get('ratelimit-remaining')),
        reset: Number(res.headers.get('ratelimit-reset')),
        policy: res.headers.get('ratelimit-policy'),
      };
    }

    it('count down on /data and /jobs, showing the limit closest to exhaustion, then 429', async () => {
      await startOfRateWindow(30_000);
      const a = await signToken({ sub: `rl-a-${randomUUID()}`, role: 'member', tenant_id: 1 });
      const b = await signToken({ sub: `rl-b-${randomUUID()}`, role: 'member', tenant_id: 1 });
      const jobs = (token: string): Promise<Awaited<ReturnType<typeof send>>> => send(limited.url, `/jobs/${randomUUID()}`, { headers: { authorization: `Bearer ${token}` } });
      // User a: 5 per user is tighter than 8 per IP.
      const seenA = [await post(limited.url, a, SELECT), await post(limited.url, a, SELECT), await jobs(a), await post(limited.url, a, SELECT), await jobs(a)];
      expect(seenA.map((r) => r.status)).toEqual([200, 200, 404, 200, 404]);
      expect(seenA.map((r) => rate(r).remaining)).toEqual([4, 3, 2, 1, 0]);
      for (const r of seenA) {
        expect(rate(r)).toMatchObject({ limit: 5, policy: '5;w=60' });
        expect(rate(r).reset).toBeGreaterThanOrEqual(1);
        expect(rate(r).reset).toBeLessThanOrEqual(60);
      }
      const refusedA = await post(limited.url, a, SELECT);
      expect(refusedA.status).toBe(429);
      expect(refusedA.body.error.code).toBe('RATE_LIMITED');
      expect(rate(refusedA)).toMatchObject({ limit: 5, remaining: 0, policy: '5;w=60' });
      expect(refusedA.headers.get('retry-after')).toBe(String(rate(refusedA).reset));
      expect(refusedA.body.error.requestId).toBe(refusedA.headers.get('x-request-id'));
      expect(refusedA.headers.get('x-request-id')).toMatch(GENERATED);
      // User b: the IP has used 6 of 8, so the IP limit is the one shown.
      const b1 = await post(limited.url, b, SELECT);
      expect(b1.status).toBe(200);
      expect(rate(b1)).toMatchObject({ limit: 8, remaining: 1, policy: '8;w=60' });
      const b2 = await jobs(b);
      expect(rate(b2)).toMatchObject({ limit: 8, remaining: 0 });
      const b3 = await post(limited.url, b, SELECT);
      expect(b3.status).toBe(429);
      expect(rate(b3)).toMatchObject({ limit: 8, remaining: 0 });
      // Probes are not rate-limited and say nothing about it.
      const probe = await send(limited.url, '/healthz');
      expect(probe.headers.get('ratelimit-limit')).toBeNull();
    }, 90_000);

    it('are absent when the limits are off', async () => {
      const res = await h.post(h.tokens.tenant1, SELECT);
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-limit')).toBeNull();
      expect(res.headers.get('ratelimit-remaining')).toBeNull();
    });
  });

  describe('the id in the logs', () => {
    it('is the reqId of the audit record (file) and of the pino lines', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sluice-reqid-'));
      const file = join(dir, 'audit.log');
      const lines: string[] = [];
      const stream = new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(...chunk.toString().split('\n').filter(Boolean));
          done();
        },
      });
      const id = `corr-${randomUUID()}`;
      try {
        // The file audit log, and the main logger at debug (the "data sql" line).
        const engine = createEngine({ ...testConfig(h.schema), logging: { level: 'debug' }, observability: { audit: { destination: file } } }, { logger: { stream } });
        try {
          const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
          expect((await post(url, h.tokens.tenant1, SELECT, { headers: { 'x-request-id': id } })).status).toBe(200);
          expect((await post(url, undefined, SELECT, { headers: { 'x-request-id': `${id}-401` } })).status).toBe(401);
        } finally {
          await engine.close();
        }
        const records = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(records.find((r) => r.reqId === id)).toMatchObject({ route: 'POST /data', status: 200, verdict: 'ok' });
        expect(records.find((r) => r.reqId === `${id}-401`)).toMatchObject({ status: 401, verdict: 'TOKEN_MISSING' });
        const sqlLine = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'data sql' && l.reqId === id);
        expect(sqlLine).toBeDefined();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
