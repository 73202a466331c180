/**
 * /jobs and batch over HTTP, in both modes: in-process (jobs in memory) and queue mode (serve with
 * Redis: BullMQ front + worker in one process). Same assertions for both.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/engine.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { describeIfPg, describeIfRedis, dropRedisPrefix, REDIS_URL } from '../helpers/services.js';
import { testConfig } from '../helpers/test-config.js';
import { makeTokens, signToken, type TestTokens } from '../helpers/tokens.js';

interface Res {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

async function call(url: string, method: string, path: string, token: string, body?: unknown): Promise<Res> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const SELECT = { sql: 'select name from customers order by id', method: 'execute' };

function suite(mode: string, queue: () => { redis?: string; prefix?: string }): void {
  describeIfPg(`/jobs and batch (${mode})`, () => {
    let fixture: PgFixture;
    let engine: Engine;
    let url: string;
    let tokens: TestTokens;
    let sameTenantOtherUser: string;
    let prefix: string | undefined;

    async function waitDone(id: string, token = tokens.tenant1): Promise<Res> {
      for (let i = 0; i < 200; i++) {
        const r = await call(url, 'GET', `/jobs/${id}`, token);
        if (r.status !== 200 || !['queued', 'running'].includes(r.body.state)) return r;
        await sleep(25);
      }
      throw new Error(`job ${id} did not finish`);
    }

    beforeAll(async () => {
      fixture = await createPgFixture();
      const q = queue();
      prefix = q.prefix;
      const config = { ...testConfig(fixture.schema, { queue: { resultTtlMs: 1500, ...q } }), sql: { allowFunctions: ['pg_sleep'] } };
      engine = createEngine(config, { logger: false });
      ({ url } = await engine.listen({ host: '127.0.0.1', port: 0 }));
      tokens = await makeTokens();
      sameTenantOtherUser = await signToken({ sub: `other-${randomUUID()}`, role: 'member', tenant_id: 1 });
    });

    afterAll(async () => {
      await engine?.close();
      await fixture?.drop();
      if (prefix !== undefined) await dropRedisPrefix(prefix);
    });

    it('POST /data with a batch answers one result per statement', async () => {
      const r = await call(url, 'POST', '/data', tokens.tenant1, { batch: [SELECT, { sql: 'select count(*)::int from customers', method: 'all' }] });
      expect(r.status).toBe(200);
      expect(r.body.results[0].rows.map((x: { name: string }) => x.name)).toEqual(['T1 Alice', 'T1 Carol', 'T1 Erin']);
      expect(r.body.results[1].rows).toEqual([[3]]);
    });

    it('a failing batch leaves nothing behind (all or nothing)', async () => {
      const marker = `batch-${randomUUID().slice(0, 8)}`;
      const r = await call(url, 'POST', '/data', tokens.tenant1, {
        batch: [
          { sql: 'insert into customers (name, email) values ($1, $2)', params: [marker, `${marker}@x`] },
          { sql: 'insert into customers (name, email) values ($1, $2)', params: [marker, `${marker}@x`] },
        ],
      });
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('UNIQUE_VIOLATION');
      const left = await fixture.admin.query(`select count(*)::int as n from ${fixture.schema}.customers where name = $1`, [marker]);
      expect(left.rows[0].n).toBe(0);
    });

    it('refuses a body with both sql and batch, or an empty batch', async () => {
      expect((await call(url, 'POST', '/data', tokens.tenant1, { sql: 'select 1', batch: [SELECT] })).body.error.code).toBe('BAD_REQUEST');
      expect((await call(url, 'POST', '/data', tokens.tenant1, { batch: [] })).body.error.code).toBe('BAD_REQUEST');
    });

    it('POST /jobs → 202, then state and result equal to what /data answers', async () => {
      const sub = await call(url, 'POST', '/jobs', tokens.tenant1, SELECT);
      expect(sub.status).toBe(202);
      expect(sub.body).toEqual({ id: expect.stringMatching(/^j_[A-Za-z0-9_-]{24}$/), state: 'queued', href: `/jobs/${sub.body.id}` });
      expect((await waitDone(sub.body.id)).body).toMatchObject({ id: sub.body.id, state: 'completed' });
      const result = await call(url, 'GET', `/jobs/${sub.body.id}/result`, tokens.tenant1);
      const direct = await call(url, 'POST', '/data', tokens.tenant1, SELECT);
      expect(result.status).toBe(200);
      expect(result.body).toEqual(direct.body);
    });

    it('streams the result as ndjson and csv', async () => {
      const sub = await call(url, 'POST', '/jobs', tokens.tenant1, { sql: 'select id, name from customers where id <= 3 order by id', method: 'execute' });
      await waitDone(sub.body.id);
      const nd = await call(url, 'GET', `/jobs/${sub.body.id}/result?format=ndjson`, tokens.tenant1);
      expect(nd.headers.get('content-type')).toContain('application/x-ndjson');
      expect(nd.text.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
        { id: 1, name: 'T1 Alice' },
        { id: 3, name: 'T1 Carol' },
      ]);
      const csv = await call(url, 'GET', `/jobs/${sub.body.id}/result?format=csv`, tokens.tenant1);
      expect(csv.headers.get('content-type')).toContain('text/csv');
      expect(csv.text).toBe('id,name\r\n1,T1 Alice\r\n3,T1 Carol\r\n');
      expect((await call(url, 'GET', `/jobs/${sub.body.id}/result?format=xml`, tokens.tenant1)).status).toBe(400);
    });

    it('another tenant or another user of the same tenant gets 404, for reads and cancels', async () => {
      const sub = await call(url, 'POST', '/jobs', tokens.tenant1, SELECT);
      await waitDone(sub.body.id);
      for (const token of [tokens.tenant2, sameTenantOtherUser]) {
        for (const [method, path] of [['GET', `/jobs/${sub.body.id}`], ['GET', `/jobs/${sub.body.id}/result`], ['DELETE', `/jobs/${sub.body.id}`]] as const) {
          const r = await call(url, method, path, token);
          expect(r.status, `${method} ${path}`).toBe(404);
          expect(r.body.error.code).toBe('JOB_NOT_FOUND');
        }
      }
      expect((await call(url, 'GET', '/jobs/j_AAAAAAAAAAAAAAAAAAAAAAAA', tokens.tenant1)).status).toBe(404);
      expect((await call(url, 'GET', `/jobs/${sub.body.id}`, tokens.tenant1)).body.state).toBe('completed');
    });

    it('a refused statement makes a failed job whose result is the refusal', async () => {
      const sub = await call(url, 'POST', '/jobs', tokens.tenant1, { sql: 'select * from audit_secrets' });
      const done = await waitDone(sub.body.id);
      expect(done.body).toMatchObject({ state: 'failed', error: { code: 'TABLE_NOT_ALLOWED' } });
      const r = await call(url, 'GET', `/jobs/${sub.body.id}/result`, tokens.tenant1);
      expect(r.status).toBe(403);
    });

    it('a batch job runs all statements; its result is json only', async () => {
      const sub = await call(url, 'POST', '/jobs', tokens.tenant1, { batch: [SELECT, { sql: 'select 1' }] });
      await waitDone(sub.body.id);
      const r = await call(url, 'GET', `/jobs/${sub.body.id}/result`, tokens.tenant1);
      expect(r.body.results).toHaveLength(2);
      expect(r.body.results[1].rows).toEqual([[1]]);
      expect((await call(url, 'GET', `/jobs/${sub.body.id}/result?format=csv`, tokens.tenant1)).status).toBe(400);
    });

    it('DELETE cancels a running job on the server; its result is then unavailable', async () => {
      const sub = await call(url, 'POST', '/jobs', tokens.tenant1, { sql: 'select pg_sleep(5)' });
      const running = async (): Promise<number> =>
        (await fixture.admin.query("select count(*)::int as n from pg_stat_activity where state = 'active' and query like '%pg_sleep(5)%' and application_name = 'sluice'")).rows[0].n;
      for (let i = 0; i < 200 && (await running()) === 0; i++) await sleep(25);
      const early = await call(url, 'GET', `/jobs/${sub.body.id}/result`, tokens.tenant1);
      expect(early.status).toBe(409);
      expect(early.body.error.code).toBe('JOB_NOT_FINISHED');
      const del = await call(url, 'DELETE', `/jobs/${sub.body.id}`, tokens.tenant1);
      expect(del.status).toBe(200);
      expect(del.body.state).toBe('cancelled');
      for (let i = 0; i < 100 && (await running()) > 0; i++) await sleep(25);
      expect(await running()).toBe(0);
      expect((await call(url, 'GET', `/jobs/${sub.body.id}`, tokens.tenant1)).body.state).toBe('cancelled');
    });

    it('finished jobs expire after resultTtlMs', async () => {
      const sub = await call(url, 'POST', '/jobs', tokens.tenant1, SELECT);
      await waitDone(sub.body.id);
      expect((await call(url, 'GET', `/jobs/${sub.body.id}`, tokens.tenant1)).status).toBe(200);
      await sleep(1700);
      expect((await call(url, 'GET', `/jobs/${sub.body.id}`, tokens.tenant1)).status).toBe(404);
    });

    it('jobs need a token like /data', async () => {
      const res = await fetch(`${url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(SELECT) });
      expect(res.status).toBe(401);
    });
  });
}

suite('in-process', () => ({}));
describeIfRedis('queue mode', () => {
  suite('redis', () => ({ redis: REDIS_URL, prefix: `test-${randomUUID()}` }));
});
