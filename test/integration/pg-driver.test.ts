/**
 * The pg driver against a real Postgres: timeouts and cancels stop work on the server, errors are
 * sanitized, and nothing a lease does survives it on the pooled session.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresConnectionConfig } from '../../src/config/types.js';
import type { Driver, ExecuteRequest } from '../../src/drivers/driver.js';
import { cancelBackend } from '../../src/drivers/pg/pg-cancel.js';
import { createPgDriver, DEFAULT_PREPARED_STATEMENTS } from '../../src/drivers/pg/pg-driver.js';
import { createPgPool } from '../../src/drivers/pg/pg-pools.js';
import { SluiceError } from '../../src/errors.js';
import { createTestSchema, describeIfPg, PG_URL } from '../helpers/services.js';

const TEST_ROLE = 'sluice_test_role';
const logs: { msg: string; details: Record<string, unknown> }[] = [];
const log = (msg: string, details: Record<string, unknown>): void => void logs.push({ msg, details });

function connConfig(over: Partial<PostgresConnectionConfig> = {}): PostgresConnectionConfig {
  return { dialect: 'postgres', url: PG_URL, max: 2, schema: 'public', idleTimeoutMs: 0, connectionTimeoutMs: 2000, ...over };
}

function request(sql: string, over: Partial<ExecuteRequest> = {}): ExecuteRequest {
  return { jobId: randomUUID(), sql, params: [], method: 'all', claims: { tenant_id: 1 }, timeoutMs: 5000, maxRows: 100, maxResponseBytes: 1 << 20, readOnly: false, ...over };
}

async function caught(p: Promise<unknown>): Promise<SluiceError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SluiceError) return e;
    throw e;
  }
  throw new Error('expected a SluiceError');
}

/** A driver over a max=1 pool the test can also lease, to look at the very session leases ran on. */
function singleSessionDriver(over: Partial<PostgresConnectionConfig> = {}): { driver: Driver; pool: pg.Pool; pids: number[]; queries: { n: number } } {
  const conn = connConfig({ max: 1, ...over });
  const pool = createPgPool(conn, { max: 1, applicationName: 'sluice', idleTimeoutMs: 0 }, log);
  const pids: number[] = [];
  const queries = { n: 0 };
  pool.on('connect', (client) => {
    pids.push((client as unknown as { processID: number }).processID);
    const original = client.query.bind(client) as (...a: unknown[]) => unknown;
    (client as unknown as { query: (...a: unknown[]) => unknown }).query = (...args: unknown[]) => {
      queries.n++;
      return original(...args);
    };
  });
  return { driver: createPgDriver(conn, log, { pool }), pool, pids, queries };
}

describeIfPg('pg driver', () => {
  let admin: pg.Pool;
  let schema: string;
  let dropSchema: () => Promise<void>;
  let driver: Driver;

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: PG_URL, max: 3, application_name: 'sluice-test-admin' });
    ({ schema, drop: dropSchema } = await createTestSchema(admin));
    await admin.query(`
      create table ${schema}.customers (id serial primary key, tenant_id int not null, email text not null unique, created timestamptz not null default now(), big int8 default 9007199254740993, doc jsonb default '{"a":1}');
      insert into ${schema}.customers (tenant_id, email) values (1, 'one@a.example'), (2, 'secret-two@b.example');
      do $$ begin create role ${TEST_ROLE} nologin; exception when duplicate_object then null; end $$;
      grant ${TEST_ROLE} to postgres;
      grant usage on schema ${schema} to ${TEST_ROLE};
      grant select on ${schema}.customers to ${TEST_ROLE};`);
    driver = createPgDriver(connConfig(), log);
  });

  afterAll(async () => {
    await driver?.close();
    await dropSchema?.();
    await admin?.end();
  });

  it('returns arrays for all, objects for execute, with Drizzle-style types', async () => {
    const sql = `select id, created, big, doc, date '2024-01-02' as d, interval '1 day' as i, 1.50::numeric as n from ${schema}.customers where tenant_id = $1`;
    const all = await driver.execute(request(sql, { params: [1] }));
    expect(all.rows).toHaveLength(1);
    const [id, created, big, doc, d, i, n] = all.rows[0] as unknown[];
    expect(id).toBe(1);
    expect(typeof created).toBe('string');
    expect(big).toBe('9007199254740993');
    expect(doc).toEqual({ a: 1 });
    expect([d, i, n]).toEqual(['2024-01-02', '1 day', '1.50']);
    const exec = await driver.execute(request(`select id, email from ${schema}.customers where id = $1`, { params: [1], method: 'execute' }));
    expect(exec.rows).toEqual([{ id: 1, email: 'one@a.example' }]);
    expect(exec.rowCount).toBe(1);
    // The global parsers are untouched: other code in the process still gets Dates.
    expect(pg.types.getTypeParser(1184)('2024-01-02 00:00:00+00')).toBeInstanceOf(Date);
  });

  it('truncates to maxRows', async () => {
    const r = await driver.execute(request('select g from generate_series(1, 6) g', { maxRows: 5 }));
    expect(r.rows).toHaveLength(5);
    expect(r.truncated).toBe(true);
    expect(r.rowCount).toBe(5);
  });

  it('refuses multiple statements even without params', async () => {
    const e = await caught(driver.execute(request('select 1; select 2')));
    expect(e.code).toBe('INVALID_SQL');
  });

  it('times out on the server with 408 and leaves the backend idle', async () => {
    const { driver: d, pids } = singleSessionDriver();
    try {
      const started = Date.now();
      const e = await caught(d.execute(request('select pg_sleep(10)', { timeoutMs: 300 })));
      expect(e.code).toBe('QUERY_TIMEOUT');
      expect(e.status).toBe(408);
      expect(e.sqlstate).toBe('57014');
      expect(Date.now() - started).toBeLessThan(2000);
      const { rows } = await admin.query('select state, xact_start from pg_stat_activity where pid = $1', [pids[0]]);
      expect(rows).toEqual([{ state: 'idle', xact_start: null }]);
      // The same session serves the next lease.
      expect((await d.execute(request('select 1'))).rows).toEqual([[1]]);
      expect(pids).toHaveLength(1);
    } finally {
      await d.close();
    }
  });

  it('cancel(jobId) stops the statement on the server and reports CLIENT_CLOSED', async () => {
    const req = request('select pg_sleep(10)', { timeoutMs: 20000 });
    const started = Date.now();
    const running = caught(driver.execute(req));
    // Wait until the statement is actually running on the server.
    for (let i = 0; i < 100; i++) {
      const { rows } = await admin.query("select 1 from pg_stat_activity where application_name = 'sluice' and query = 'select pg_sleep(10)' and state = 'active'");
      if (rows.length > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await driver.cancel(req.jobId);
    const e = await running;
    expect(e.code).toBe('CLIENT_CLOSED');
    expect(Date.now() - started).toBeLessThan(3000);
    const { rows } = await admin.query("select 1 from pg_stat_activity where application_name = 'sluice' and query = 'select pg_sleep(10)' and state = 'active'");
    expect(rows).toEqual([]);
    await driver.cancel('not-running'); // no-op
  });

  it('a unique violation is 409 without the other row in the message', async () => {
    const e = await caught(driver.execute(request(`insert into ${schema}.customers (tenant_id, email) values ($1, $2)`, { params: [1, 'secret-two@b.example'], method: 'execute' })));
    expect(e.code).toBe('UNIQUE_VIOLATION');
    expect(e.status).toBe(409);
    expect(e.sqlstate).toBe('23505');
    expect(e.message).toBe('unique constraint "customers_email_key" violated');
    expect(JSON.stringify(e.toBody())).not.toContain('secret-two');
  });

  it('maps other database errors to stable codes', async () => {
    const cases: [string, unknown[], string][] = [
      [`insert into ${schema}.customers (tenant_id) values ($1)`, [1], 'NOT_NULL_VIOLATION'],
      [`select nope from ${schema}.customers`, [], 'UNDEFINED_COLUMN'],
      [`select * from ${schema}.nope`, [], 'UNDEFINED_OBJECT'],
      ['select 1/0', [], 'INVALID_INPUT'],
      [`select * from ${schema}.customers where id = $1`, ['secret-value'], 'INVALID_INPUT'],
    ];
    for (const [sql, params, code] of cases) {
      const e = await caught(driver.execute(request(sql, { params })));
      expect(e.code, sql).toBe(code);
      expect(e.message).not.toContain('secret-value');
    }
  });

  it('a write in a read-only lease is STATEMENT_NOT_ALLOWED', async () => {
    const e = await caught(driver.execute(request(`delete from ${schema}.customers`, { readOnly: true })));
    expect(e.code).toBe('STATEMENT_NOT_ALLOWED');
    expect(e.sqlstate).toBe('25006');
  });

  // preparedStatements 0: nothing is prepared at all. The default: only sluice's own named
  // statements stay, and each is the TEXT of a statement a lease sent (no value of any tenant).
  it.each([0, DEFAULT_PREPARED_STATEMENTS])('keeps tenants apart on one pooled session (max=1, dbRole, preparedStatements %i)', async (preparedStatements) => {
    const { driver: d, pool, pids, queries } = singleSessionDriver({ dbRole: TEST_ROLE, preparedStatements });
    try {
      for (const tenant of [1, 2, 1, 2]) {
        const before = queries.n;
        const seen = await d.execute(
          request(`select current_setting('request.jwt.claims', true)::json->>'tenant_id', current_user::text, current_setting('statement_timeout'), email from ${schema}.customers where tenant_id = $1`, {
            params: [tenant],
            claims: { tenant_id: tenant },
            timeoutMs: 1234,
          }),
        );
        expect(queries.n - before).toBe(1); // one pipelined round trip per lease: see pg-lease.ts
        const [claim, user, timeout] = seen.rows[0] as string[];
        expect([claim, user]).toEqual([String(tenant), TEST_ROLE]);
        // The budget minus the time spent getting a connection.
        expect(Number.parseInt(timeout!, 10)).toBeGreaterThan(1000);
        expect(Number.parseInt(timeout!, 10)).toBeLessThanOrEqual(1234);

        // Between leases, the session the next tenant will get:
        const client = await pool.connect();
        try {
          const { rows } = await client.query(`select current_setting('request.jwt.claims', true) as claims, current_user::text as "user", current_setting('statement_timeout') as timeout,
              txid_current_if_assigned() as xid, (select count(*)::int from pg_prepared_statements) as prepared,
              (select count(*)::int from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.oid = pg_my_temp_schema()) as temp`);
          expect(rows[0].claims ?? '').toBe('');
          // The context step and the statement, prepared once for all four leases.
          expect(rows[0]).toMatchObject({ user: 'postgres', timeout: '0', xid: null, prepared: preparedStatements === 0 ? 0 : 2, temp: 0 });
          const { rows: kept } = await client.query('select name, statement, from_sql from pg_prepared_statements');
          for (const k of kept) {
            expect(k.name).toMatch(/^sluice_[0-9a-z]+$/);
            expect(k.from_sql).toBe(false);
            expect(k.statement.startsWith('select set_config(') || k.statement.includes(`from ${schema}.customers where tenant_id = $1`)).toBe(true);
            expect(k.statement).not.toMatch(/tenant_id"?\s*:|"tenant_id":\s*\d|sluice_test_role/);
          }
        } finally {
          client.release();
        }
        const { rows: activity } = await admin.query('select state, xact_start from pg_stat_activity where pid = $1', [pids[0]]);
        expect(activity).toEqual([{ state: 'idle', xact_start: null }]);
      }
      expect(pids).toHaveLength(1);
    } finally {
      await d.close();
    }
  });

  it('rolls back a failed lease and reuses the session', async () => {
    const { driver: d, pids } = singleSessionDriver();
    try {
      await caught(d.execute(request(`insert into ${schema}.customers (tenant_id, email) values (1, 'one@a.example')`, { method: 'execute' })));
      const r = await d.execute(request(`select count(*)::int from ${schema}.customers`));
      expect(r.rows).toEqual([[2]]);
      expect(pids).toHaveLength(1);
    } finally {
      await d.close();
    }
  });

  it('an unreachable database is DATABASE_UNAVAILABLE quickly, not a hang', async () => {
    const down = createPgDriver(connConfig({ url: 'postgres://postgres@127.0.0.1:1/test', connectionTimeoutMs: 1000 }), log);
    try {
      const started = Date.now();
      const e = await caught(down.execute(request('select 1')));
      expect(e.code).toBe('DATABASE_UNAVAILABLE');
      expect(e.status).toBe(503);
      expect(e.retryAfter).toBeGreaterThan(0);
      expect(e.message).not.toContain('127.0.0.1');
      expect(Date.now() - started).toBeLessThan(1500);
      await expect(down.ping()).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    } finally {
      await down.close();
    }
  });

  it('a server that stops answering hits the client-side backstop, not a hang', async () => {
    // A TCP proxy that swallows the server's replies once the client has sent a pg_sleep.
    const target = new URL(PG_URL);
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 5432), target.hostname);
      let frozen = false;
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
      }
      client.on('data', (d) => {
        if (d.includes('pg_sleep(')) frozen = true;
        upstream.write(d);
      });
      upstream.on('data', (d) => void (frozen || client.write(d)));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const port = (proxy.address() as net.AddressInfo).port;
    const url = new URL(PG_URL);
    url.host = `127.0.0.1:${port}`;
    const d = createPgDriver(connConfig({ url: url.toString(), max: 1 }), log);
    try {
      const started = Date.now();
      const e = await caught(d.execute(request('select pg_sleep(10)', { timeoutMs: 200 })));
      expect(e.code).toBe('QUERY_TIMEOUT');
      expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
      expect(Date.now() - started).toBeLessThan(4000);
      // The hung client was destroyed, not returned: the next lease gets a fresh session.
      expect((await d.execute(request('select 1'))).rows).toEqual([[1]]);
    } finally {
      await d.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => proxy.close(r));
    }
  });

  it('a busy pool queues leases instead of failing them as "cannot connect"', async () => {
    const d = createPgDriver(connConfig({ max: 1, connectionTimeoutMs: 100 }), log);
    try {
      const slow = (): Promise<unknown> => d.execute(request('select pg_sleep(0.3)'));
      const results = await Promise.allSettled([slow(), slow()]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
      // A wait longer than the statement's budget is a timeout, and a cancel ends the wait at once.
      const blocker = d.execute(request('select pg_sleep(0.5)'));
      expect((await caught(d.execute(request('select 1', { timeoutMs: 100 })))).code).toBe('QUERY_TIMEOUT');
      const waiting = request('select 1');
      const waited = caught(d.execute(waiting));
      await d.cancel(waiting.jobId);
      expect((await waited).code).toBe('CLIENT_CLOSED');
      await blocker;
    } finally {
      await d.close();
    }
  });

  it('a cancel that Postgres drops (backend between messages) is repeated until the statement stops', async () => {
    // Postgres ignores a cancel while the backend waits for the next message; an idle-in-transaction
    // session is in exactly that state, so the first cancel below is dropped for sure.
    const client = await admin.connect();
    try {
      await client.query('begin');
      const pid = (client as unknown as { processID: number }).processID;
      const work = (async () => {
        await new Promise((r) => setTimeout(r, 60));
        return client.query('select pg_sleep(10)');
      })();
      work.catch(() => undefined);
      const started = Date.now();
      await cancelBackend(admin, pid, work, log);
      await expect(work).rejects.toMatchObject({ code: '57014' });
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await client.query('rollback').catch(() => undefined);
      client.release();
    }
  });

  describe('named prepared statements (preparedStatements)', () => {
    const preparedOn = async (pool: pg.Pool): Promise<string[]> => {
      const client = await pool.connect();
      try {
        const { rows } = await client.query<{ statement: string }>('select statement from pg_prepared_statements order by statement');
        return rows.map((r) => r.statement);
      } finally {
        client.release();
      }
    };

    it('keeps at most preparedStatements per connection: the least recently used is deallocated', async () => {
      const { driver: d, pool, pids } = singleSessionDriver({ preparedStatements: 3 });
      try {
        const texts = [1, 2, 3, 4].map((n) => `select ${n} as n, count(*)::int from ${schema}.customers where tenant_id = $1`);
        for (const t of texts) expect((await d.execute(request(t, { params: [1] }))).rows).toEqual([[Number(t.split(' ')[1]), 1]]);
        // The context step (used every lease) and the two most recent statements; 1 and 2 were closed.
        const kept = await preparedOn(pool);
        expect(kept).toHaveLength(3);
        expect(kept.filter((k) => k.startsWith('select set_config('))).toHaveLength(1);
        expect(kept).toEqual(expect.arrayContaining([texts[2], texts[3]]));
        // Used again: parsed afresh, the right answer.
        expect((await d.execute(request(texts[0]!, { params: [2] }))).rows).toEqual([[1, 1]]);
        expect(await preparedOn(pool)).toHaveLength(3);
        expect(pids).toHaveLength(1);
      } finally {
        await d.close();
      }
    });

    it("a statement deallocated behind the driver's back, or whose result type changed, is parsed again", async () => {
      const { driver: d, pool, pids } = singleSessionDriver();
      const table = `${schema}.prep_${randomUUID().slice(0, 8)}`;
      await admin.query(`create table ${table} (id int primary key, tenant_id int not null); insert into ${table} values (1, 1)`);
      try {
        const sql = `select * from ${table} where tenant_id = $1`;
        expect((await d.execute(request(sql, { params: [1], method: 'execute' }))).rows).toEqual([{ id: 1, tenant_id: 1 }]);
        const client = await pool.connect();
        await client.query('deallocate all');
        client.release();
        expect((await d.execute(request(sql, { params: [1], method: 'execute' }))).rows).toEqual([{ id: 1, tenant_id: 1 }]);
        // "cached plan must not change result type": retried with the statement parsed afresh.
        await admin.query(`alter table ${table} add column note text default 'n'`);
        expect((await d.execute(request(sql, { params: [1], method: 'execute' }))).rows).toEqual([{ id: 1, tenant_id: 1, note: 'n' }]);
        expect(pids).toHaveLength(1);
        expect((await preparedOn(pool)).filter((k) => k === sql)).toHaveLength(1);
      } finally {
        await d.close();
        await admin.query(`drop table ${table}`);
      }
    });

    it('a pipeline that fails half way leaves no statement the driver does not know of, and the next lease runs clean', async () => {
      const { driver: d, pool, pids } = singleSessionDriver({ dbRole: 'sluice_no_such_role_{tenant_id}' });
      try {
        // The context step fails (no such role): the statement after it is never parsed.
        await caught(d.execute(request(`select 7 from ${schema}.customers where tenant_id = $1`, { params: [1] })));
        expect(await preparedOn(pool)).toEqual(expect.not.arrayContaining([expect.stringContaining('select 7')]));
      } finally {
        await d.close();
      }
      const { driver: ok, pool: okPool } = singleSessionDriver();
      try {
        // A batch whose second statement fails at execution: the first stays usable, the rest is retried cleanly.
        const good = `select count(*)::int from ${schema}.customers where tenant_id = $1`;
        const bad = 'select 1/0';
        await caught(ok.executeBatch({ jobId: randomUUID(), statements: [{ sql: good, params: [1], method: 'all' }, { sql: bad, params: [], method: 'all' }], claims: {}, timeoutMs: 5000, maxRows: 10, maxResponseBytes: 1 << 20, readOnly: true }));
        for (let i = 0; i < 3; i++) expect((await ok.execute(request(good, { params: [1] }))).rows).toEqual([[1]]);
        await caught(ok.execute(request(bad)));
        await caught(ok.execute(request(bad)));
        expect((await ok.execute(request(good, { params: [2] }))).rows).toEqual([[1]]);
        for (const k of await preparedOn(okPool)) expect(k === good || k === bad || k.startsWith('select set_config(')).toBe(true);
      } finally {
        await ok.close();
      }
      expect(pids).toHaveLength(1);
    });
  });

  it('ping answers', async () => {
    await expect(driver.ping()).resolves.toBeUndefined();
  });
});
