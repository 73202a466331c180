/**
 * Redis going away in queue mode, on a private redis-server (port 6390) this test starts, kills
 * and restarts — never the shared one. /readyz says so, /data fails fast with 503
 * QUEUE_UNAVAILABLE (in-flight requests too), and everything recovers by itself.
 * Also: backpressure with 20× more clients than connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/engine.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { describeIfPg, describeIfRedis, dropRedisPrefix, redisAvailable, REDIS_URL } from '../helpers/services.js';
import { post } from '../helpers/sluice-harness.js';
import { testConfig } from '../helpers/test-config.js';
import { makeTokens, type TestTokens } from '../helpers/tokens.js';

const PORT = 6390;
const PRIVATE_URL = `redis://127.0.0.1:${PORT}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function startRedis(): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await redisAvailable(PRIVATE_URL, 200)); i++) await sleep(50);
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

describeIfRedis('queue mode failures', () => {
  describeIfPg('Redis outage', () => {
    let fixture: PgFixture;
    let redis: ChildProcess;
    let engine: Engine;
    let url: string;
    let tokens: TestTokens;
    const SELECT = { sql: 'select name from customers order by id', method: 'execute' };

    beforeAll(async () => {
      fixture = await createPgFixture();
      redis = await startRedis();
      const config = { ...testConfig(fixture.schema, { queue: { redis: PRIVATE_URL, prefix: 'outage' } }), sql: { allowFunctions: ['pg_sleep'] } };
      engine = createEngine(config, { logger: false });
      ({ url } = await engine.listen({ host: '127.0.0.1', port: 0 }));
      tokens = await makeTokens();
    }, 30_000);

    afterAll(async () => {
      await engine?.close();
      if (redis && redis.exitCode === null && redis.signalCode === null) await stopRedis(redis);
      await fixture?.drop();
    });

    it('503 fast while Redis is down, /readyz says so, and it recovers by itself', async () => {
      expect((await post(url, tokens.tenant1, SELECT)).status).toBe(200);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);

      const inFlight = post(url, tokens.tenant1, { sql: 'select pg_sleep(2)::text as s', method: 'execute' });
      await sleep(300);
      await stopRedis(redis);
      const started = Date.now();
      const lost = await inFlight;
      expect(lost.status).toBe(503);
      expect(lost.body.error.code).toBe('QUEUE_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(1500);

      const t = Date.now();
      const down = await post(url, tokens.tenant1, SELECT);
      expect(Date.now() - t).toBeLessThan(1000);
      expect(down.status).toBe(503);
      expect(down.body.error.code).toBe('QUEUE_UNAVAILABLE');
      expect(down.headers.get('retry-after')).toBe('1');
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { connections: Record<string, unknown> }).connections['queue:redis']).toEqual({ ok: false });

      redis = await startRedis();
      let back = await post(url, tokens.tenant1, SELECT);
      for (let i = 0; i < 100 && back.status !== 200; i++) {
        await sleep(100);
        back = await post(url, tokens.tenant1, SELECT);
      }
      expect(back.status).toBe(200);
      expect(back.body.rows.map((r: { name: string }) => r.name)).toEqual(['T1 Alice', 'T1 Carol', 'T1 Erin']);
      let readyAgain = 0;
      for (let i = 0; i < 100 && readyAgain !== 200; i++) {
        readyAgain = (await fetch(`${url}/readyz`)).status;
        if (readyAgain !== 200) await sleep(100);
      }
      expect(readyAgain).toBe(200);
    }, 60_000);

    it('closes in bounded time while Redis is down', async () => {
      await stopRedis(redis);
      await sleep(200);
      const started = Date.now();
      await engine.close();
      expect(Date.now() - started).toBeLessThan(12_000);
    }, 30_000);
  });

  describeIfPg('backpressure', () => {
    let fixture: PgFixture;
    let engine: Engine;
    let url: string;
    let tokens: TestTokens;
    const prefix = `test-${randomUUID()}`;

    beforeAll(async () => {
      fixture = await createPgFixture();
      // 1 thread × 2 connections = 2 statements at once; 40 clients; at most 10 may wait.
      const config = {
        ...testConfig(fixture.schema, { workers: { threads: 1 }, connection: { max: 2 }, queue: { redis: REDIS_URL, prefix, maxWaiting: 10 } }),
        sql: { allowFunctions: ['pg_sleep'] },
      };
      engine = createEngine(config, { logger: false });
      ({ url } = await engine.listen({ host: '127.0.0.1', port: 0 }));
      tokens = await makeTokens();
    }, 30_000);

    afterAll(async () => {
      await engine?.close();
      await fixture?.drop();
      await dropRedisPrefix(prefix);
    });

    it('20× more clients than connections: only 200s and 503 OVERLOADED, every 200 correct', async () => {
      const q = { sql: 'select id, name, pg_sleep(0.02)::text as s from customers where id = $1', params: [0], method: 'execute' };
      const expected: Record<number, string> = { 1: 'T1 Alice', 3: 'T1 Carol', 5: 'T1 Erin' };
      const statuses = new Map<string, number>();
      const wrong: unknown[] = [];
      const client = async (n: number): Promise<void> => {
        for (let i = 0; i < 5; i++) {
          const id = [1, 3, 5][(n + i) % 3]!;
          const r = await post(url, n % 2 === 0 ? tokens.tenant1 : tokens.tenant2, { ...q, params: [id] });
          const key = r.status === 200 ? '200' : `${r.status} ${r.body?.error?.code}`;
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
          if (r.status === 200) {
            const want = n % 2 === 0 ? [{ id, name: expected[id], s: '' }] : [];
            if (JSON.stringify(r.body.rows) !== JSON.stringify(want)) wrong.push({ n, id, rows: r.body.rows });
          } else if (r.status === 503) {
            expect(r.headers.get('retry-after')).toBe('1');
          }
        }
      };
      await Promise.all(Array.from({ length: 40 }, (_, n) => client(n)));
      expect(wrong).toEqual([]);
      expect([...statuses.keys()].filter((k) => k !== '200' && k !== '503 OVERLOADED')).toEqual([]);
      expect(statuses.get('200') ?? 0).toBeGreaterThan(0);
      expect(statuses.get('503 OVERLOADED') ?? 0).toBeGreaterThan(0);
    }, 60_000);
  });
});
