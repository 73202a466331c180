/**
 * One suite, every JobQueue: the in-process queue and the BullMQ queue (front + worker on a real
 * Redis, per-suite prefix `test-<uuid>`), both over a real piscina pool and Postgres. The same
 * job must give the same outcome whichever queue carried it.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import type { SluiceConfig } from '../../src/config/types.js';
import type { QueryJob, QueryOutcome } from '../../src/pool/messages.js';
import { createPiscinaWorkerPool } from '../../src/pool/piscina-pool.js';
import type { WorkerPool } from '../../src/pool/worker-pool.js';
import { createBullmqQueue } from '../../src/queue/bullmq/bullmq-queue.js';
import { createQueueWorker } from '../../src/queue/bullmq/queue-worker.js';
import { createRedisContext } from '../../src/queue/bullmq/redis-context.js';
import { createFairQueue } from '../../src/queue/fair-queue.js';
import { defaultFairnessPolicy } from '../../src/queue/fairness-policy.js';
import { createInProcessQueue } from '../../src/queue/in-process-queue.js';
import type { JobQueue } from '../../src/queue/job-queue.js';
import { createTestSchema, describeIfPg, describeIfRedis, PG_URL, REDIS_URL } from '../helpers/services.js';
import { testConfig } from '../helpers/test-config.js';
import { activePgSleeps, queryJob } from '../helpers/query-job.js';

interface Impl {
  queue: JobQueue;
  close(): Promise<void>;
}

type Factory = (config: SluiceConfig) => Promise<Impl>;

async function inProcess(config: SluiceConfig): Promise<Impl> {
  const pool = createPiscinaWorkerPool(config);
  const queue = createInProcessQueue(config, pool);
  return { queue, close: async () => (await queue.close(), await pool.close()) };
}

async function bullmq(config: SluiceConfig): Promise<Impl> {
  const pool: WorkerPool = createPiscinaWorkerPool(config);
  const ctx = createRedisContext(config);
  const queue = createBullmqQueue(ctx);
  const worker = createQueueWorker(config, pool);
  await Promise.all([ctx.ready(), worker.ready()]);
  return {
    queue,
    async close() {
      await queue.close();
      await worker.close();
      await pool.close();
      // Leave nothing of this test's prefix in the shared Redis.
      await ctx.queue('main').obliterate({ force: true });
      await ctx.close();
    },
  };
}

/**
 * Either queue behind the per-tenant fair queue with the default policy: every job of this suite
 * is in one tenant line (no tenant) capped at half the capacity, so the cases also exercise the
 * line (waiting, expiry, abort, close) and not only the hand-on.
 */
function fair(factory: Factory): Factory {
  return async (config) => {
    const impl = await factory(config);
    const queue = createFairQueue(impl.queue, defaultFairnessPolicy(config), config);
    // The fair queue's close closes the inner queue; closing it twice is harmless (both are idempotent).
    return { queue, close: async () => (await queue.close(), await impl.close()) };
  };
}

function withAppName(url: string, name: string): string {
  const u = new URL(url);
  u.searchParams.set('application_name', name);
  return u.toString();
}

const code = (o: QueryOutcome): string | undefined => (o.ok ? undefined : o.error.code);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function conformance(name: string, factory: Factory, redisPrefix: () => Record<string, unknown>): void {
  describeIfPg(`JobQueue conformance: ${name}`, () => {
    let admin: pg.Pool;
    let schema: string;
    let drop: () => Promise<void>;
    let appName: string;
    let configFor: (over?: { queue?: Record<string, unknown>; max?: number; threads?: number }) => SluiceConfig;
    const impls: Impl[] = [];

    const start = async (over?: Parameters<typeof configFor>[0]): Promise<JobQueue> => {
      const impl = await factory(configFor(over));
      impls.push(impl);
      return impl.queue;
    };
    const activeSleeps = (): Promise<number> => activePgSleeps(admin, appName);
    const job = queryJob;

    beforeAll(async () => {
      admin = new pg.Pool({ connectionString: PG_URL, max: 2, application_name: 'sluice-test-admin' });
      ({ schema, drop } = await createTestSchema(admin));
      await admin.query(`
        create table ${schema}.customers (id serial primary key, tenant_id int not null, name text not null, email text not null unique, secret_note text);
        create table ${schema}.orders (id int primary key, tenant_id int not null, customer_id int, total numeric);
        create table ${schema}.order_items (id int primary key, tenant_id int not null, order_id int, sku text, qty int);
        insert into ${schema}.customers (tenant_id, name, email, secret_note) values (1, 'ann', 'a@one.example', null), (2, 'bob', 'b@two.example', 'hidden'), (1, 'cy', 'c@one.example', null);`);
      appName = `sluice_${schema}`;
      configFor = (over = {}) =>
        parseConfig({
          ...testConfig(schema, {
            workers: { threads: over.threads ?? 1 },
            connection: { url: withAppName(PG_URL, appName), max: over.max ?? 2 },
            queue: { ...redisPrefix(), lockDurationMs: 5000, ...over.queue },
          }),
          sql: { allowFunctions: ['pg_sleep'] },
        });
    });

    afterAll(async () => {
      await Promise.allSettled(impls.map((i) => i.close()));
      await drop?.();
      await admin?.end();
    });

    it('answers a tenant-filtered select with exactly the caller rows', async () => {
      const q = await start();
      const o = await q.submit(job('select id, name from customers order by id'));
      expect(o).toMatchObject({ ok: true, result: { rows: [[1, 'ann'], [3, 'cy']], rowCount: 2, truncated: false } });
      const objects = await q.submit(job('select name from customers where id = $1', { params: [3], method: 'execute' }));
      expect(objects.ok && objects.result.rows).toEqual([{ name: 'cy' }]);
    });

    it('passes refusals through as outcomes (403 from the validator, 400 unknown connection)', async () => {
      const q = await start();
      expect(code(await q.submit(job('delete from orders')))).toBe('OPERATION_NOT_ALLOWED');
      expect(code(await q.submit(job('select 1', { connection: 'nope' })))).toBe('UNKNOWN_CONNECTION');
    });

    it('a batch runs in one transaction: all statements, or none', async () => {
      const q = await start();
      const ok = await q.submit(
        job('', {
          batch: [
            { sql: 'insert into customers (name, email) values ($1, $2) returning name', params: ['dee', `d-${schema}@x`], method: 'all' },
            { sql: 'select count(*)::int from customers', params: [], method: 'all' },
          ],
        }),
      );
      expect(ok).toMatchObject({ ok: true, result: { results: [{ rows: [['dee']] }, { rows: [[3]] }] } });
      const failed = await q.submit(
        job('', {
          batch: [
            { sql: 'insert into customers (name, email) values ($1, $2)', params: ['eve', `e-${schema}@x`], method: 'all' },
            { sql: 'insert into customers (name, email) values ($1, $2)', params: ['dup', `d-${schema}@x`], method: 'all' },
          ],
        }),
      );
      expect(code(failed)).toBe('UNIQUE_VIOLATION');
      const eve = await admin.query(`select count(*)::int as n from ${schema}.customers where name = 'eve'`);
      expect(eve.rows[0].n).toBe(0);
      // A refused statement refuses the whole batch before anything runs.
      expect(code(await q.submit(job('', { batch: [{ sql: 'select 1', params: [], method: 'all' }, { sql: 'drop table customers', params: [], method: 'all' }] })))).toBe(
        'STATEMENT_NOT_ALLOWED',
      );
    });

    it('sheds load past maxWaiting with OVERLOADED + retryAfter; every accepted job answers correctly', async () => {
      const q = await start({ queue: { maxWaiting: 1 }, max: 1 });
      const outcomes = await Promise.all(Array.from({ length: 6 }, () => q.submit(job('select pg_sleep(0.2), 7'))));
      const overloaded = outcomes.filter((o) => code(o) === 'OVERLOADED');
      expect(overloaded.length).toBeGreaterThan(0);
      for (const o of overloaded) expect(!o.ok && o.error.retryAfter).toBeGreaterThanOrEqual(1);
      for (const o of outcomes.filter((x) => code(x) !== 'OVERLOADED')) expect(o.ok && o.result.rows[0]).toEqual(['', 7]);
    });

    it('a job not started within maxWaitMs gets OVERLOADED and never runs', async () => {
      const q = await start({ queue: { maxWaitMs: 300 }, max: 1 });
      const blocker = q.submit(job('select pg_sleep(1.2)'));
      await sleep(100);
      const marker = `late-${randomUUID().slice(0, 8)}`;
      const late = await q.submit(job('insert into customers (name, email) values ($1, $2)', { params: [marker, `${marker}@x`] }));
      expect(code(late)).toBe('OVERLOADED');
      expect((await blocker).ok).toBe(true);
      await sleep(300);
      expect((await admin.query(`select count(*)::int as n from ${schema}.customers where name = $1`, [marker])).rows[0].n).toBe(0);
    });

    it('abort while running → CLIENT_CLOSED and the statement is cancelled on the server', async () => {
      const q = await start();
      const ac = new AbortController();
      const running = q.submit(job('select pg_sleep(5)'), ac.signal);
      for (let i = 0; i < 200 && (await activeSleeps()) === 0; i++) await sleep(25);
      expect(await activeSleeps()).toBe(1);
      ac.abort();
      expect(code(await running)).toBe('CLIENT_CLOSED');
      for (let i = 0; i < 100 && (await activeSleeps()) > 0; i++) await sleep(25);
      expect(await activeSleeps()).toBe(0);
    });

    it('abort while waiting → CLIENT_CLOSED and it never runs', async () => {
      const q = await start({ max: 1 });
      const blocker = q.submit(job('select pg_sleep(0.8)'));
      await sleep(100);
      const ac = new AbortController();
      const marker = `gone-${randomUUID().slice(0, 8)}`;
      const waiting = q.submit(job('insert into customers (name, email) values ($1, $2)', { params: [marker, `${marker}@x`] }), ac.signal);
      await sleep(50);
      ac.abort();
      expect(code(await waiting)).toBe('CLIENT_CLOSED');
      expect((await blocker).ok).toBe(true);
      await sleep(300);
      expect((await admin.query(`select count(*)::int as n from ${schema}.customers where name = $1`, [marker])).rows[0].n).toBe(0);
    });

    it('the request deadline bounds the statement: QUERY_TIMEOUT, cancelled on the server', async () => {
      const q = await start();
      const started = Date.now();
      const o = await q.submit(job('select pg_sleep(3)', { deadline: Date.now() + 400 }));
      expect(code(o)).toBe('QUERY_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(2500);
      for (let i = 0; i < 100 && (await activeSleeps()) > 0; i++) await sleep(25);
      expect(await activeSleeps()).toBe(0);
    });

    it('close: running jobs finish, waiting ones and new ones get SHUTTING_DOWN', async () => {
      const impl = await factory(configFor({ max: 1 }));
      const running = impl.queue.submit(job('select pg_sleep(0.5), 1'));
      await sleep(150);
      const waiting = impl.queue.submit(job('select 2'));
      await sleep(50);
      const closing = impl.close();
      expect(code(await waiting)).toBe('SHUTTING_DOWN');
      expect(code(await impl.queue.submit(job('select 3')))).toBe('SHUTTING_DOWN');
      const r = await running;
      expect(r.ok && r.result.rows[0]).toEqual(['', 1]);
      await closing;
    });
  });
}

conformance('in-process', inProcess, () => ({}));
conformance('fair queue over in-process', fair(inProcess), () => ({}));

describeIfRedis('with Redis', () => {
  // A fresh prefix per queue started: no test ever sees another test's jobs or workers.
  conformance('bullmq', bullmq, () => ({ redis: REDIS_URL, prefix: `test-${randomUUID()}` }));
  conformance('fair queue over bullmq', fair(bullmq), () => ({ redis: REDIS_URL, prefix: `test-${randomUUID()}` }));
});

describe('suite wiring', () => {
  it('runs over both implementations, bare and behind the fair queue', () => {
    expect([inProcess, bullmq, fair(inProcess), fair(bullmq)]).toHaveLength(4);
  });
});
