/**
 * Queue mode carries several /data requests in one BullMQ job (at most 32): each request keeps
 * its own deadline, cancel and outcome. One request's timeout, cancel, error or withdrawal never
 * changes what its batch-mates get, nor when; the per-tenant caps still hold in front of Redis.
 * Real Postgres, real Redis (own prefix, removed afterwards), real piscina pool and BullMQ worker.
 */
import { randomUUID } from 'node:crypto';
import { QueueEvents } from 'bullmq';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import type { SluiceConfig } from '../../src/config/types.js';
import type { QueryOutcome } from '../../src/pool/messages.js';
import { createPiscinaWorkerPool } from '../../src/pool/piscina-pool.js';
import { createBullmqQueue } from '../../src/queue/bullmq/bullmq-queue.js';
import { queueNameFor } from '../../src/queue/bullmq/names.js';
import { createQueueWorker } from '../../src/queue/bullmq/queue-worker.js';
import { createRedisContext } from '../../src/queue/bullmq/redis-context.js';
import { createFairQueue } from '../../src/queue/fair-queue.js';
import { defaultFairnessPolicy } from '../../src/queue/fairness-policy.js';
import type { JobQueue } from '../../src/queue/job-queue.js';
import { createTestSchema, describeIfPg, describeIfRedis, dropRedisPrefix, PG_URL, REDIS_URL } from '../helpers/services.js';
import { testConfig } from '../helpers/test-config.js';
import { activePgSleeps, queryJob } from '../helpers/query-job.js';

const code = (o: QueryOutcome): string | undefined => (o.ok ? undefined : o.error.code);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describeIfPg('queue mode: several requests per BullMQ job', () => {
  describeIfRedis('batching', () => {
    let admin: pg.Pool;
    let schema: string;
    let drop: () => Promise<void>;
    let appName: string;
    const prefixes: string[] = [];
    const closers: Array<() => Promise<void>> = [];

    beforeAll(async () => {
      admin = new pg.Pool({ connectionString: PG_URL, max: 2, application_name: 'sluice-test-admin' });
      ({ schema, drop } = await createTestSchema(admin));
      await admin.query(`
        create table ${schema}.customers (id serial primary key, tenant_id int not null, name text not null, email text not null unique);
        insert into ${schema}.customers (tenant_id, name, email) values (1, 'ann', 'a@one.example'), (2, 'bob', 'b@two.example'), (1, 'cy', 'c@one.example');`);
      appName = `sluice_${schema}`;
    });

    afterAll(async () => {
      for (const close of closers) await close().catch(() => undefined);
      for (const p of prefixes) await dropRedisPrefix(p);
      await drop?.();
      await admin?.end();
    });

    function configFor(over: { threads?: number; max?: number; tenants?: Record<string, unknown> } = {}): SluiceConfig {
      const prefix = `test-${randomUUID()}`;
      prefixes.push(prefix);
      const u = new URL(PG_URL);
      u.searchParams.set('application_name', appName);
      return parseConfig({
        ...testConfig(schema, {
          workers: { threads: over.threads ?? 1 },
          connection: { url: u.toString(), max: over.max ?? 4 },
          queue: { redis: REDIS_URL, prefix, lockDurationMs: 5000 },
        }),
        sql: { allowFunctions: ['pg_sleep'] },
        ...(over.tenants && { tenants: over.tenants }),
      });
    }

    /** Front + worker on one Redis prefix; `added()` counts the BullMQ jobs added to the queue. */
    async function start(config: SluiceConfig, fair = false): Promise<{ queue: JobQueue; added(): number }> {
      const pool = createPiscinaWorkerPool(config);
      const ctx = createRedisContext(config);
      const inner = createBullmqQueue(ctx);
      const queue = fair ? createFairQueue(inner, defaultFairnessPolicy(config, config.tenants ?? {}), config) : inner;
      const worker = createQueueWorker(config, pool);
      const events = new QueueEvents(queueNameFor('main'), { connection: { url: REDIS_URL }, prefix: config.queue.prefix });
      let added = 0;
      events.on('added', () => added++);
      await Promise.all([ctx.ready(), worker.ready(), events.waitUntilReady()]);
      closers.push(async () => {
        await queue.close();
        await worker.close();
        await pool.close();
        await events.close();
        await ctx.close();
      });
      return { queue, added: () => added };
    }

    const job = queryJob;
    const activeSleeps = (): Promise<number> => activePgSleeps(admin, appName);

    async function timed(p: Promise<QueryOutcome>, t0: number): Promise<{ o: QueryOutcome; ms: number }> {
      const o = await p;
      return { o, ms: Date.now() - t0 };
    }

    it("one job carries a burst; a mate's timeout, cancel and error leave the others' answers and timing alone", async () => {
      const { queue, added } = await start(configFor({ max: 6 }));
      // Warm the worker thread and wait for the warm-up job's events to be counted.
      expect(code(await queue.submit(job('select 1 as one')))).toBeUndefined();
      await sleep(300);
      const before = added();
      const abort = new AbortController();
      const t0 = Date.now();
      // Submitted in one tick: they ride in one BullMQ job.
      const slow = timed(queue.submit(job('select pg_sleep(5)', { deadline: Date.now() + 1500 })), t0);
      const cancelled = timed(queue.submit(job('select pg_sleep(5)'), abort.signal), t0);
      const refused = timed(queue.submit(job('delete from orders')), t0);
      const failing = timed(queue.submit(job('select 1 / (id - id) as boom from customers')), t0);
      const fast = [1, 3, 1].map((id) => timed(queue.submit(job('select id, name from customers where id = $1', { params: [id] })), t0));
      setTimeout(() => abort.abort(), 300);

      const answers = await Promise.all(fast);
      for (const [i, a] of answers.entries()) {
        expect(a.o).toMatchObject({ ok: true, result: { rows: [[[1, 3, 1][i], i === 1 ? 'cy' : 'ann']] } });
        // Not held back by the 5 s sleeps in the same job.
        expect(a.ms).toBeLessThan(1500);
      }
      expect(code((await refused).o)).toBe('OPERATION_NOT_ALLOWED');
      expect(code((await failing).o)).toBe('INVALID_INPUT'); // its own error (division by zero)
      const c = await cancelled;
      expect(code(c.o)).toBe('CLIENT_CLOSED');
      const s = await slow;
      expect(code(s.o)).toBe('QUERY_TIMEOUT');
      expect(s.ms).toBeLessThan(4000);
      // Both sleeps were stopped on the server, not left running.
      for (let i = 0; i < 100 && (await activeSleeps()) > 0; i++) await sleep(50);
      expect(await activeSleeps()).toBe(0);
      await sleep(300);
      expect(added() - before).toBe(1);
    });

    it('a mate withdrawn before its job started gets OVERLOADED and never runs; the others run', async () => {
      // One slot: a blocker holds it while the burst's job waits in Redis.
      const { queue } = await start(configFor({ max: 1 }));
      expect(code(await queue.submit(job('select 1 as one')))).toBeUndefined();
      const blocker = queue.submit(job('select pg_sleep(1)'));
      await sleep(200);
      // Its deadline passes while it waits: withdrawn (wait timer = min(maxWaitMs, deadline)).
      const early = queue.submit(job("insert into customers (name, email) values ('never', 'never@one.example') returning id", { deadline: Date.now() + 400 }));
      const mate = queue.submit(job('select name from customers where id = $1', { params: [3] }));
      expect(code(await early)).toBe('OVERLOADED');
      expect(await mate).toMatchObject({ ok: true, result: { rows: [['cy']] } });
      expect(code(await blocker)).toBeUndefined();
      const rows = (await admin.query(`select count(*)::int as n from ${schema}.customers where email = 'never@one.example'`)).rows[0].n;
      expect(rows).toBe(0);
    });

    it('tenant caps still hold in front of the batches: a flooding tenant never delays another beyond its cap', async () => {
      // Two slots; each tenant may have one job in Redis at a time.
      const config = configFor({ max: 2, tenants: { maxConcurrent: 1 } });
      const { queue } = await start(config, true);
      expect(code(await queue.submit(job('select 1 as one', { tenant: 'warm' })))).toBeUndefined();
      const order: string[] = [];
      const flood = Array.from({ length: 6 }, (_, i) =>
        queue.submit(job('select pg_sleep(0.3)', { tenant: 'noisy', claims: { sub: 'n', tenant_id: 2 } })).then((o) => {
          order.push(`noisy${i}`);
          return o;
        }),
      );
      await sleep(100);
      // Never more than the noisy tenant's cap on the server at once.
      expect(await activeSleeps()).toBeLessThanOrEqual(1);
      const quiet = await queue.submit(job('select name from customers where id = $1', { params: [1], tenant: 'quiet' })).then((o) => {
        order.push('quiet');
        return o;
      });
      expect(quiet).toMatchObject({ ok: true, result: { rows: [['ann']] } });
      expect(await activeSleeps()).toBeLessThanOrEqual(1);
      for (const o of await Promise.all(flood)) expect(code(o)).toBeUndefined();
      // The quiet tenant did not wait behind the flood: at most the one noisy job in flight was ahead.
      expect(order.indexOf('quiet')).toBeLessThanOrEqual(1);
    });
  });
});
