/**
 * The whole worker path against a real Postgres: piscina threads → validator → pg driver.
 * Each suite gets its own schema and its own application_name, so activity checks never see
 * another suite's sessions.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import type { SluiceConfig } from '../../src/config/types.js';
import type { QueryJob, QueryOutcome } from '../../src/pool/messages.js';
import { createPiscinaWorkerPool, type PiscinaWorkerPool } from '../../src/pool/piscina-pool.js';
import { testConfig } from '../helpers/test-config.js';
import { createTestSchema, describeIfPg, PG_URL } from '../helpers/services.js';

function withAppName(url: string, name: string): string {
  const u = new URL(url);
  u.searchParams.set('application_name', name);
  return u.toString();
}

function job(sql: string, over: Partial<QueryJob> = {}): QueryJob {
  return { id: randomUUID(), connection: 'main', role: 'member', claims: { tenant_id: 1 }, sql, params: [], method: 'all', deadline: Date.now() + 20_000, ...over };
}

function errorCode(o: QueryOutcome): string | undefined {
  return o.ok ? undefined : o.error.code;
}

describeIfPg('worker pool (piscina + validator + pg)', () => {
  let admin: pg.Pool;
  let schema: string;
  let dropSchema: () => Promise<void>;
  let appName: string;
  let config: SluiceConfig;
  let pool: PiscinaWorkerPool;

  const activeSleeps = async (): Promise<number> =>
    (await admin.query("select count(*)::int as n from pg_stat_activity where application_name = $1 and state = 'active' and query like '%pg_sleep%'", [appName])).rows[0].n;

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: PG_URL, max: 2, application_name: 'sluice-test-admin' });
    ({ schema, drop: dropSchema } = await createTestSchema(admin));
    await admin.query(`
      create table ${schema}.customers (id int primary key, tenant_id int not null, name text not null, email text not null unique, secret_note text);
      create table ${schema}.orders (id int primary key, tenant_id int not null, customer_id int, total numeric);
      create table ${schema}.order_items (id int primary key, tenant_id int not null, order_id int, sku text, qty int);
      insert into ${schema}.customers values (1, 1, '5', 'a@one.example', null), (2, 2, 'not-a-number', 'b@two.example', 'hidden');`);
    appName = `sluice_${schema}`;
    const raw = testConfig(schema, { workers: { threads: 2 }, limits: { queryTimeout: 1000 }, connection: { url: withAppName(PG_URL, appName), max: 3 } });
    config = parseConfig({ ...raw, sql: { allowFunctions: ['pg_sleep'] } });
    pool = createPiscinaWorkerPool(config);
  });

  afterAll(async () => {
    await pool?.close();
    await dropSchema?.();
    await admin?.end();
  });

  it('runs a checked statement and filters by tenant', async () => {
    const o = await pool.run(job('select id, name from customers order by id'));
    expect(o).toMatchObject({ ok: true, result: { rows: [[1, '5']], kind: 'select', truncated: false, tables: [`${schema}.customers`] } });
    const again = await pool.run(job('select id, name from customers order by id', { method: 'execute' }));
    expect(again.ok && again.result.rows).toEqual([{ id: 1, name: '5' }]);
    expect(pool.capacity('main')).toBe(6);
    expect(pool.capacity('nope')).toBe(0);
  });

  it('returns validator refusals as outcomes', async () => {
    // Hidden columns are simply not there for the role: the database reports them as undefined.
    const hidden = await pool.run(job('select secret_note from customers'));
    expect(['COLUMN_NOT_ALLOWED', 'UNDEFINED_COLUMN']).toContain(errorCode(hidden));
    expect(JSON.stringify(hidden)).not.toContain('hidden');
    expect(errorCode(await pool.run(job('drop table customers')))).toBe('STATEMENT_NOT_ALLOWED');
    expect(errorCode(await pool.run(job('select 1', { role: 'nobody' })))).toBe('ROLE_NOT_ALLOWED');
    expect(errorCode(await pool.run(job('select id from customers where id = $1')))).toBe('PARAM_COUNT_MISMATCH');
    expect(errorCode(await pool.run(job('select id from customers', { claims: {} })))).toBe('CLAIM_MISSING');
  });

  it("a data error on another tenant's row is not an oracle (fenced fallback)", async () => {
    const o = await pool.run(job('select id from customers where name::int = 5'));
    expect(o.ok && o.result.rows).toEqual([[1]]);
  });

  it('a job past its deadline never runs', async () => {
    expect(errorCode(await pool.run(job('select 1', { deadline: Date.now() - 1 })))).toBe('QUERY_TIMEOUT');
  });

  it('limits.queryTimeout cancels on the server with QUERY_TIMEOUT', async () => {
    const started = Date.now();
    const o = await pool.run(job('select pg_sleep(5)'));
    expect(o).toMatchObject({ ok: false, error: { code: 'QUERY_TIMEOUT', sqlstate: '57014' } });
    expect(Date.now() - started).toBeLessThan(2500);
    expect(await activeSleeps()).toBe(0);
  });

  it('cancel(jobId) reaches the thread and stops the statement', async () => {
    const j = job('select pg_sleep(5)', { deadline: Date.now() + 20_000 });
    const slow = parseConfig({ ...testConfig(schema, { workers: { threads: 1 }, connection: { url: withAppName(PG_URL, appName), max: 2 } }), sql: { allowFunctions: ['pg_sleep'] } });
    const p = createPiscinaWorkerPool(slow);
    try {
      const running = p.run(j);
      for (let i = 0; i < 200 && (await activeSleeps()) === 0; i++) await new Promise((r) => setTimeout(r, 25));
      const started = Date.now();
      p.cancel(j.id);
      expect(errorCode(await running)).toBe('CLIENT_CLOSED');
      expect(Date.now() - started).toBeLessThan(1500);
      expect(await activeSleeps()).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('runs statements concurrently across threads', async () => {
    const started = Date.now();
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => pool.run(job('select pg_sleep(0.3)'))));
    for (const o of outcomes) expect(o.ok).toBe(true);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('a crashed thread fails its tasks with WORKER_LOST (503, never 500) and is replaced', async () => {
    const one = parseConfig({ ...testConfig(schema, { workers: { threads: 1 }, connection: { url: withAppName(PG_URL, appName), max: 2 } }), sql: { allowFunctions: ['pg_sleep'] } });
    const p = createPiscinaWorkerPool(one);
    try {
      expect((await p.run(job('select 1'))).ok).toBe(true);
      const a = p.run(job('select pg_sleep(0.8)'));
      const b = p.run(job('select pg_sleep(0.8)'));
      for (let i = 0; i < 200 && (await activeSleeps()) < 2; i++) await new Promise((r) => setTimeout(r, 25));
      const victim = p.threads[0]!;
      await victim.terminate();
      expect(errorCode(await a)).toBe('WORKER_LOST');
      expect(errorCode(await b)).toBe('WORKER_LOST');
      const after = await p.run(job('select 1'));
      expect(after.ok).toBe(true);
      expect(p.threads).toHaveLength(1);
      expect(p.threads[0]).not.toBe(victim);
    } finally {
      await p.close();
    }
  });

  it('ping reports each connection', async () => {
    expect(await pool.ping()).toEqual({ main: { ok: true } });
  });

  it('close() ends every database session it opened', async () => {
    const cfg = parseConfig(testConfig(schema, { workers: { threads: 2 }, connection: { url: withAppName(PG_URL, `${appName}_close`), max: 2 } }));
    const p = createPiscinaWorkerPool(cfg);
    await Promise.all([p.run(job('select 1')), p.run(job('select 1')), p.ping()]);
    await p.close();
    await p.close(); // idempotent
    expect(errorCode(await p.run(job('select 1')))).toBe('SHUTTING_DOWN');
    let left = -1;
    for (let i = 0; i < 40 && left !== 0; i++) {
      left = (await admin.query('select count(*)::int as n from pg_stat_activity where application_name = $1', [`${appName}_close`])).rows[0].n;
      if (left !== 0) await new Promise((r) => setTimeout(r, 25));
    }
    expect(left).toBe(0);
  });
});
