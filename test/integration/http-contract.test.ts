/**
 * The HTTP contract of a real engine over a real database: authentication, request validation,
 * routes, claim handling, row caps and readiness.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, startSluice, post, type Harness, type Sluice } from '../helpers/sluice-harness.js';
import { requirePostgres } from '../helpers/skip.js';
import { makeTokens } from '../helpers/tokens.js';

const run = await requirePostgres();
const SELECT = { sql: 'select "id", "tenant_id", "name" from "customers" order by "id"', params: [], method: 'execute' };

describe.skipIf(!run)('HTTP contract', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  }, 60_000);
  afterAll(async () => {
    await h?.teardown();
  }, 30_000);

  describe('authentication (401)', () => {
    it.each([
      ['no Authorization header', undefined, 'TOKEN_MISSING'],
      ['garbage token', 'not-a-jwt', 'TOKEN_INVALID'],
      ['wrong secret', 'wrongSecret', 'TOKEN_INVALID'],
      ['alg none', 'algNone', 'TOKEN_INVALID'],
      ['expired', 'expired', 'TOKEN_EXPIRED'],
    ] as const)('%s → 401 %s', async (_name, which, code) => {
      const token = which === undefined ? undefined : which in h.tokens ? h.tokens[which as keyof typeof h.tokens] : which;
      const res = await h.post(token, SELECT);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe(code);
      expect(res.text).not.toContain('T1 Alice');
    });

    it('a Basic scheme is not a bearer token', async () => {
      const res = await fetch(`${h.url}/data`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${h.tokens.tenant1}` }, body: JSON.stringify(SELECT) });
      expect(res.status).toBe(401);
    });
  });

  describe('request bodies (400/413/415)', () => {
    it.each([
      ['invalid JSON', '{"sql": "select 1"'],
      ['missing sql', {}],
      ['sql not a string', { sql: 1 }],
      ['empty sql', { sql: '' }],
      ['params not an array', { sql: 'select 1', params: 'x' }],
      ['unknown method', { sql: 'select 1', method: 'bogus' }],
      ['unknown field', { sql: 'select 1', tenant_id: 2 }],
      ['typings not strings', { sql: 'select 1', typings: [1] }],
      ['a JSON array', [{ sql: 'select 1' }]],
    ])('%s → 400 BAD_REQUEST', async (_name, body) => {
      const res = await h.post(h.tokens.tenant1, body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('BAD_REQUEST');
    });

    it('an unknown connection → 400 UNKNOWN_CONNECTION', async () => {
      const res = await h.post(h.tokens.tenant1, { ...SELECT, connection: 'nope' });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('UNKNOWN_CONNECTION');
    });

    it('SQL that does not parse → 400 SQL_PARSE_ERROR', async () => {
      const res = await h.post(h.tokens.tenant1, { sql: 'selec name fro customers' });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('SQL_PARSE_ERROR');
    });

    it('a body over the limit → 413 BODY_TOO_LARGE', async () => {
      const res = await h.post(h.tokens.tenant1, { sql: 'select $1::text as x', params: ['x'.repeat(2 * 1024 * 1024)] });
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('BODY_TOO_LARGE');
    });

    it('a text/plain body → 415', async () => {
      const res = await fetch(`${h.url}/data`, { method: 'POST', headers: { 'content-type': 'text/plain', authorization: `Bearer ${h.tokens.tenant1}` }, body: JSON.stringify(SELECT) });
      expect(res.status).toBe(415);
    });
  });

  describe('routes', () => {
    it('an unknown route → 404 NOT_FOUND in the error shape', async () => {
      const res = await fetch(`${h.url}/nope`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    });

    it('GET /data is not a route', async () => {
      const res = await fetch(`${h.url}/data`, { headers: { authorization: `Bearer ${h.tokens.tenant1}` } });
      expect([404, 405]).toContain(res.status);
    });

    it('/healthz → 200', async () => {
      const res = await fetch(`${h.url}/healthz`);
      expect(res.status).toBe(200);
    });

    it('/readyz → 200 with a reachable database', async () => {
      const res = await fetch(`${h.url}/readyz`);
      expect(res.status).toBe(200);
    });
  });

  describe('claims and roles (403)', () => {
    it('a token without tenant_id → 403 CLAIM_MISSING, never an unfiltered result', async () => {
      const res = await h.post(h.tokens.noTenant, SELECT);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('CLAIM_MISSING');
      expect(res.text).not.toMatch(/T1 |T2 /);
    });

    it('an unknown role → 403 ROLE_NOT_ALLOWED', async () => {
      const res = await h.post(h.tokens.unknownRole, SELECT);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('ROLE_NOT_ALLOWED');
    });

    it('the same query answers each tenant with its own rows', async () => {
      const [a, b] = await Promise.all([h.post(h.tokens.tenant1, SELECT), h.post(h.tokens.tenant2, SELECT)]);
      expect(a.body.rows.map((r: { name: string }) => r.name)).toEqual(['T1 Alice', 'T1 Carol', 'T1 Erin']);
      expect(b.body.rows.map((r: { name: string }) => r.name)).toEqual(['T2 Bob', 'T2 Dan', 'T2 Fay']);
    });

    it('"all" answers arrays and "execute" answers objects, with rowCount and truncated', async () => {
      const all = await h.post(h.tokens.tenant1, { ...SELECT, method: 'all' });
      expect(all.body).toEqual({ rows: [[1, 1, 'T1 Alice'], [3, 1, 'T1 Carol'], [5, 1, 'T1 Erin']], rowCount: 3, truncated: false });
      const exec = await h.post(h.tokens.tenant1, SELECT);
      expect(exec.body.rows[0]).toEqual({ id: 1, tenant_id: 1, name: 'T1 Alice' });
    });
  });
});

describe.skipIf(!run)('maxRows', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ limits: { maxRows: 2 } });
  }, 60_000);
  afterAll(async () => {
    await h?.teardown();
  }, 30_000);

  it('truncates to exactly maxRows and says so', async () => {
    const res = await h.post(h.tokens.tenant1, SELECT);
    expect(res.status).toBe(200);
    expect(res.body.truncated).toBe(true);
    expect(res.body.rows).toHaveLength(2);
  });

  it('does not flag a result that fits', async () => {
    const res = await h.post(h.tokens.tenant1, { ...SELECT, sql: `${SELECT.sql} limit 2` });
    expect(res.body).toMatchObject({ truncated: false });
    expect(res.body.rows).toHaveLength(2);
  });
});

describe.skipIf(!run)('readiness with an unreachable database', () => {
  let s: Sluice;
  beforeAll(async () => {
    s = await startSluice('public', { connection: { url: 'postgres://postgres@127.0.0.1:1/test', connectionTimeoutMs: 1000 } });
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  }, 30_000);

  it('/readyz → 503 DATABASE_UNAVAILABLE, /healthz still 200', async () => {
    const ready = await fetch(`${s.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { error: { code: string } }).error.code).toBe('DATABASE_UNAVAILABLE');
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });

  it('a query → 503, not 500', async () => {
    const res = await post(s.url, (await makeTokens()).tenant1, SELECT);
    expect(res.status).toBe(503);
  });
});
