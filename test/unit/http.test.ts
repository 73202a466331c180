import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { signDevToken } from '../../src/auth/dev-token.js';
import { parseConfig } from '../../src/config/schema.js';
import { buildApp } from '../../src/http/app.js';
import { createMemoryRateLimiter } from '../../src/http/rate-limit/memory-rate-limiter.js';
import { fakePool, fakeQueue, okOutcome, type FakeQueue } from './http-fakes.js';
import { blockingRequest, type BlockingAnswer } from '../helpers/raw-http.js';

const SECRET = 'test-secret-that-is-long-enough-0123456789';

function config(overrides: Record<string, unknown> = {}) {
  return parseConfig({
    auth: { jwt: { secret: SECRET, algorithms: ['HS256'] } },
    connections: { main: 'postgres://app@127.0.0.1:5432/app', other: 'postgres://app@127.0.0.1:5432/other' },
    limits: { maxSqlLength: 50, maxParams: 3, rateLimitPerUser: 0, rateLimitPerIP: 0 },
    server: { bodyLimit: 2048 },
    ...overrides,
  });
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

function setup(overrides: Record<string, unknown> = {}, pool = fakePool()) {
  const cfg = config(overrides);
  const queue = fakeQueue();
  const app = buildApp({ config: cfg, queue, pool, logger: false });
  apps.push(app);
  return { app, queue, cfg, pool };
}

async function token(cfg: ReturnType<typeof config>, claims: Record<string, unknown> = { sub: 'u1', role: 'member', tenant_id: 1 }) {
  return signDevToken(cfg, claims);
}

async function post(app: FastifyInstance, body: unknown, tok?: string, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/data',
    headers: { 'content-type': 'application/json', ...(tok ? { authorization: `Bearer ${tok}` } : {}), ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('POST /data', () => {
  it('queues a job built from the body and the verified claims', async () => {
    const { app, queue, cfg } = setup();
    const before = Date.now();
    const res = await post(app, { sql: 'select 1', params: [1], typings: ['none'] }, await token(cfg));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ rows: [[1, 'a']], rowCount: 1, truncated: false });
    const job = queue.jobs[0]!;
    expect(job).toMatchObject({ connection: 'main', role: 'member', sql: 'select 1', params: [1], method: 'all', typings: ['none'] });
    expect(job.claims).toMatchObject({ sub: 'u1', tenant_id: 1 });
    expect(job.id).toMatch(/^[0-9a-f]{16}-[0-9a-z]+$/); // a per-process random prefix and a counter (build-job.ts)
    expect(job.deadline).toBeGreaterThanOrEqual(before + 10000 + 30000);
    expect(queue.signals[0]).toBeInstanceOf(AbortSignal);
  });

  it('passes truncated through and honours an explicit connection and method', async () => {
    const { app, queue, cfg } = setup();
    queue.answer = async () => okOutcome([], { truncated: true });
    const res = await post(app, { sql: 'delete from t', method: 'execute', connection: 'other' }, await token(cfg));
    expect(res.json()).toEqual({ rows: [], rowCount: 0, truncated: true });
    expect(queue.jobs[0]).toMatchObject({ connection: 'other', method: 'execute', params: [] });
  });

  it('maps a queued error outcome to its registry status', async () => {
    const { app, queue, cfg } = setup();
    queue.answer = async () => ({ ok: false, error: { code: 'UNIQUE_VIOLATION', message: 'dup', sqlstate: '23505' } });
    const res = await post(app, { sql: 'insert into t values (1)' }, await token(cfg));
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ error: { code: 'UNIQUE_VIOLATION', message: 'dup', sqlstate: '23505', requestId: res.headers['x-request-id'] } });
  });

  it('sets Retry-After for OVERLOADED', async () => {
    const { app, queue, cfg } = setup();
    queue.answer = async () => ({ ok: false, error: { code: 'OVERLOADED', message: 'busy', retryAfter: 2 } });
    const res = await post(app, { sql: 'select 1' }, await token(cfg));
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.json().error).toEqual({ code: 'OVERLOADED', message: 'busy', requestId: res.headers['x-request-id'] });
  });

  it.each([
    ['too long SQL', { sql: 'x'.repeat(51) }, 400, 'SQL_TOO_LONG'],
    ['too many params', { sql: 'select 1', params: [1, 2, 3, 4] }, 400, 'TOO_MANY_PARAMS'],
    ['unknown connection', { sql: 'select 1', connection: 'nope' }, 400, 'UNKNOWN_CONNECTION'],
    ['missing sql', { params: [] }, 400, 'BAD_REQUEST'],
    ['empty sql', { sql: '' }, 400, 'BAD_REQUEST'],
    ['extra key', { sql: 'select 1', extra: 1 }, 400, 'BAD_REQUEST'],
    ['bad method', { sql: 'select 1', method: 'bogus' }, 400, 'BAD_REQUEST'],
    ['non-string sql', { sql: 1 }, 400, 'BAD_REQUEST'],
    ['bad JSON', '{"sql": ', 400, 'BAD_REQUEST'],
    ['huge body', { sql: 'x'.repeat(4096) }, 413, 'BODY_TOO_LARGE'],
  ])('refuses %s before queueing', async (_name, body, status, code) => {
    const { app, queue, cfg } = setup();
    const res = await post(app, body, await token(cfg));
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
    expect(res.json().error.message).toEqual(expect.any(String));
    expect(queue.jobs).toHaveLength(0);
  });

  it('names the offending field in schema errors', async () => {
    const { app, cfg } = setup();
    const res = await post(app, { params: [] }, await token(cfg));
    expect(res.json().error.message).toContain('sql');
  });

  it('refuses a non-JSON content type with 415', async () => {
    const { app, cfg } = setup();
    const res = await post(app, 'select 1', await token(cfg), { 'content-type': 'text/plain' });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('requires a valid bearer token', async () => {
    const { app, cfg, queue } = setup();
    expect((await post(app, { sql: 'select 1' })).json().error.code).toBe('TOKEN_MISSING');
    expect((await post(app, { sql: 'select 1' }, undefined, { authorization: 'Basic abc' })).json().error.code).toBe('TOKEN_MISSING');
    const bad = await post(app, { sql: 'select 1' }, 'not.a.jwt');
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error.code).toBe('TOKEN_INVALID');
    const other = parseConfig({ auth: { jwt: { secret: 'another-secret-that-is-long-enough-000', algorithms: ['HS256'] } }, connections: { main: 'postgres://x@y/z' } });
    expect((await post(app, { sql: 'select 1' }, await signDevToken(other, { role: 'member' }))).json().error.code).toBe('TOKEN_INVALID');
    expect((await post(app, { sql: 'select 1' }, await signDevToken(cfg, { role: 'member' }, -60))).json().error.code).toBe('TOKEN_EXPIRED');
    const noRole = await post(app, { sql: 'select 1' }, await token(cfg, { sub: 'u1' }));
    expect(noRole.json().error).toMatchObject({ code: 'TOKEN_INVALID', message: expect.stringContaining('role') });
    expect(queue.jobs).toHaveLength(0);
  });

  it('gives a token without a role claim auth.defaultRole, and still refuses a malformed one', async () => {
    const { app, cfg, queue } = setup({ auth: { jwt: { secret: SECRET, algorithms: ['HS256'] }, defaultRole: 'member' }, permissions: { member: {}, admin: {} } });
    expect((await post(app, { sql: 'select 1' }, await token(cfg, { sub: 'u1', tenant_id: 1 }))).statusCode).toBe(200);
    expect((await post(app, { sql: 'select 1' }, await token(cfg, { sub: 'u2', role: 'admin' }))).statusCode).toBe(200);
    expect(queue.jobs.map((j) => j.role)).toEqual(['member', 'admin']);
    const malformed = await post(app, { sql: 'select 1' }, await token(cfg, { sub: 'u3', role: ['admin'] }));
    expect(malformed.json().error).toMatchObject({ code: 'TOKEN_INVALID' });
    expect(queue.jobs).toHaveLength(2);
  });

  it('authenticates before it parses the body', async () => {
    const { app } = setup();
    const res = await post(app, '{not json');
    expect(res.statusCode).toBe(401);
  });

  it('rate-limits per user with Retry-After', async () => {
    const { app, cfg } = setup({ limits: { rateLimitPerUser: 2, rateLimitPerIP: 0 } });
    const tok = await token(cfg);
    expect((await post(app, { sql: 'select 1' }, tok)).statusCode).toBe(200);
    expect((await post(app, { sql: 'select 1' }, tok)).statusCode).toBe(200);
    const third = await post(app, { sql: 'select 1' }, tok);
    expect(third.statusCode).toBe(429);
    expect(third.json().error.code).toBe('RATE_LIMITED');
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
    // Another user is unaffected.
    expect((await post(app, { sql: 'select 1' }, await token(cfg, { sub: 'u2', role: 'member' }))).statusCode).toBe(200);
  });

  it('rate-limits per IP even without a token', async () => {
    const { app } = setup({ limits: { rateLimitPerUser: 0, rateLimitPerIP: 1 } });
    expect((await post(app, { sql: 'select 1' })).statusCode).toBe(401);
    expect((await post(app, { sql: 'select 1' })).statusCode).toBe(429);
  });

  it('aborts the job signal when the client disconnects, and logs it once', async () => {
    const lines: string[] = [];
    const cfg = config();
    const queue = fakeQueue();
    const app = buildApp({ config: cfg, queue, pool: fakePool(), logger: { stream: { write: (l: string) => lines.push(l) } } });
    apps.push(app);
    let aborted!: () => void;
    const abortedP = new Promise<void>((r) => (aborted = r));
    queue.answer = (_job, signal) =>
      new Promise((resolve) => {
        signal!.addEventListener('abort', () => {
          aborted();
          resolve({ ok: false, error: { code: 'CLIENT_CLOSED', message: 'gone' } });
        });
      });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const tok = await token(cfg);
    const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/data', headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` } });
    req.on('error', () => {});
    req.end(JSON.stringify({ sql: 'select pg_sleep(10)' }));
    await new Promise<void>((resolve) => {
      const wait = (): void => void (queue.jobs.length > 0 ? resolve() : setTimeout(wait, 5));
      wait();
    });
    req.destroy();
    await abortedP;
    expect(queue.signals[0]!.aborted).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    const data = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'data request');
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({ verdict: 'CLIENT_CLOSED', status: 499, user: 'u1' });
  });

  it('does not abort after a normal response', async () => {
    const { app, queue, cfg } = setup();
    await post(app, { sql: 'select 1' }, await token(cfg));
    expect(queue.signals[0]!.aborted).toBe(false);
  });

  it('answers unexpected errors with a bare 500', async () => {
    const { app, queue, cfg } = setup();
    queue.answer = async () => {
      throw new Error('secret internal detail');
    };
    const res = await post(app, { sql: 'select 1' }, await token(cfg));
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'Internal error', requestId: res.headers['x-request-id'] } });
  });
});

describe('logging', () => {
  it('writes one line per /data request without the token or params', async () => {
    const lines: string[] = [];
    const cfg = config();
    const queue: FakeQueue = fakeQueue();
    const app = buildApp({ config: cfg, queue, pool: fakePool(), logger: { stream: { write: (l: string) => lines.push(l) } } });
    apps.push(app);
    const tok = await token(cfg);
    await post(app, { sql: 'select $1', params: ['param-value-xyz'] }, tok);
    await post(app, { sql: 'select 1' });
    const data = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'data request');
    expect(data).toHaveLength(2);
    expect(data[0]).toMatchObject({ user: 'u1', role: 'member', tenant: 1, connection: 'main', tables: ['public.customers'], verdict: 'ok', rows: 1, status: 200, checkMs: 1, leaseMs: 2 });
    expect(data[0].reqId).toEqual(expect.any(String));
    expect(data[1]).toMatchObject({ verdict: 'TOKEN_MISSING', status: 401 });
    const all = lines.join('\n');
    expect(all).not.toContain(tok);
    expect(all).not.toContain('param-value-xyz');
  });
});

describe('other routes', () => {
  it('GET /healthz', async () => {
    const { app } = setup();
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz when every connection answers', async () => {
    const { app } = setup({}, fakePool(async () => ({ main: { ok: true }, other: { ok: true } })));
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', connections: { main: { ok: true }, other: { ok: true } } });
  });

  it('GET /readyz when one does not', async () => {
    const { app } = setup({}, fakePool(async () => ({ main: { ok: true }, other: { ok: false, error: 'ECONNREFUSED 10.0.0.1' } })));
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      error: { code: 'DATABASE_UNAVAILABLE', message: expect.any(String), requestId: res.headers['x-request-id'] },
      connections: { main: { ok: true }, other: { ok: false } },
    });
  });

  it('unknown route → 404 NOT_FOUND in the error shape', async () => {
    const { app } = setup();
    const res = await app.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NOT_FOUND');
  });

  it('refuses new requests with SHUTTING_DOWN while closing', async () => {
    const { app, cfg, queue } = setup();
    const tok = await token(cfg);
    let res: Response | undefined;
    // Registered after buildApp's own preClose hook, so the gateway already knows it is closing.
    app.addHook('preClose', async () => {
      const { port } = app.server.address() as AddressInfo;
      res = await fetch(`http://127.0.0.1:${port}/data`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` },
        body: JSON.stringify({ sql: 'select 1' }),
      });
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    await app.close();
    expect(res!.status).toBe(503);
    expect(res!.headers.get('retry-after')).toBe('1');
    expect(((await res!.json()) as { error: { code: string } }).error.code).toBe('SHUTTING_DOWN');
    expect(queue.jobs).toHaveLength(0);
  });

  it('while closing, a client that writes its whole 15 MiB body before reading still gets the 503 (the body is drained first)', async () => {
    const { app, cfg, queue } = setup({ server: { bodyLimit: 4 * 1024 * 1024 } });
    const tok = await token(cfg);
    let res: BlockingAnswer | undefined;
    app.addHook('preClose', async () => {
      const { port } = app.server.address() as AddressInfo;
      const body = Buffer.alloc(15 * 1024 * 1024, 'x');
      const head = `POST /data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
      res = await blockingRequest(`http://127.0.0.1:${port}`, head, body);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    await app.close();
    expect(res!.writeError).toBeUndefined();
    expect(res!.answer?.status).toBe(503);
    expect(res!.answer?.body.error.code).toBe('SHUTTING_DOWN');
    expect(queue.jobs).toHaveLength(0);
  });
});

describe('memory rate limiter', () => {
  it('counts per key per minute window', async () => {
    let now = 60_000 * 10 + 30_000;
    const rl = createMemoryRateLimiter(() => now);
    expect((await rl.consume('a', 1)).allowed).toBe(true);
    const refused = await rl.consume('a', 1);
    expect(refused).toEqual({ allowed: false, retryAfter: 30, remaining: 0, resetSeconds: 30, windowSeconds: 60 });
    expect((await rl.consume('b', 1)).allowed).toBe(true);
    now += 30_000;
    expect((await rl.consume('a', 1)).allowed).toBe(true);
  });
});
