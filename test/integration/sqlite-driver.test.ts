/**
 * SQLite-specific guarantees of the better-sqlite3 driver (the shared ones are in
 * test/conformance/driver.conformance.test.ts): a runaway statement is really stopped (its process
 * is killed, the CPU goes idle, nothing committed is lost), the engine-level wall, and the
 * sqlite-proxy method shapes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecuteRequest } from '../../src/drivers/driver.js';
import { runSqliteAdminSql } from '../../src/drivers/sqlite/sqlite-admin.js';
import { createSqliteDriver, type SqliteDriver } from '../../src/drivers/sqlite/sqlite-driver.js';
import { failure } from '../helpers/sluice-failure.js';
import { statTicks } from '../helpers/proc-stat.js';

/** A statement timeout far below a process start-up (Node under tsx: ~0.5–4 s), far above the statements run with it. */
const SHORT_MS = 250;
const RUNAWAY = 'with recursive r(n) as (select 1 union all select n + 1 from r where n < 10000000000) select count(*) from r';

let job = 0;
function req(sql: string, o: Partial<ExecuteRequest> = {}): ExecuteRequest {
  return { jobId: `j${++job}`, sql, params: [], method: 'all', claims: {}, timeoutMs: 10_000, maxRows: 1000, maxResponseBytes: 1 << 20, readOnly: true, ...o };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** utime + stime of a process, in clock ticks (Linux); the process must still be there. */
function cpuTicks(pid: number): number {
  const ticks = statTicks(`/proc/${pid}/stat`);
  if (ticks === undefined) throw new Error(`process ${pid} is gone`);
  return ticks;
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('sqlite driver', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-sqlite-'));
  const file = join(dir, 'app.db');
  let driver: SqliteDriver;

  beforeAll(async () => {
    runSqliteAdminSql(
      file,
      `create table customers (id integer primary key, tenant_id integer not null, name text not null, flag integer);
       create table orders (id integer primary key, tenant_id integer not null, customer_id integer references customers(id), total numeric);
       create table secrets (id integer primary key, value text);
       create view tenant_one as select id, name from customers where tenant_id = 1;
       insert into customers (tenant_id, name) values (1, 'ann'), (2, 'bob');
       insert into secrets (value) values ('s3cret');`,
    );
    driver = createSqliteDriver({ dialect: 'sqlite', file, schema: 'main', max: 1, busyTimeoutMs: 1000 }, () => undefined);
    await driver.execute(req('select 1', { tables: [] }));
  }, 30_000);

  afterAll(async () => {
    await driver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('runaway statements', () => {
    it('answers QUERY_TIMEOUT at the deadline, kills the process (CPU idle again) and loses nothing', async () => {
      await driver.execute(req('insert into customers (tenant_id, name) values (1, ?)', { params: ['kept'], method: 'run', readOnly: false, tables: ['customers'] }));
      const before = driver.processId()!;
      expect(alive(before)).toBe(true);
      const started = performance.now();
      const running = failure(driver.execute(req(RUNAWAY, { timeoutMs: 1200, tables: [] })));
      // While it runs, its process burns CPU: the measure below can tell spinning from idle.
      await sleep(300);
      const spinStart = cpuTicks(before);
      await sleep(500);
      expect(cpuTicks(before) - spinStart).toBeGreaterThan(25);
      const err = await running;
      const elapsed = performance.now() - started;
      expect(err.code).toBe('QUERY_TIMEOUT');
      expect(err.status).toBe(408);
      expect(elapsed).toBeGreaterThanOrEqual(1150);
      expect(elapsed).toBeLessThan(4000);
      // The process that ran it is gone: nothing is spinning on its behalf any more.
      expect(await waitFor(() => !alive(before), 3000)).toBe(true);
      // Its replacement is idle: a statement still spinning would burn ~100 ticks (1 s) in this
      // window; start-up leftovers (module compilation, GC) are a few.
      const after = await (async () => {
        await waitFor(() => driver.processId() !== undefined, 3000);
        return driver.processId()!;
      })();
      expect(after).not.toBe(before);
      await driver.execute(req('select 1', { tables: [] }));
      await sleep(300);
      const t0 = cpuTicks(after);
      await sleep(1000);
      expect(cpuTicks(after) - t0).toBeLessThan(30);
      // The next statement works, and what was committed before is still there.
      const r = await driver.execute(req('select name from customers where name = ?', { params: ['kept'], tables: ['customers'] }));
      expect(r.rows).toEqual([['kept']]);
    });

    it('a write killed mid-transaction leaves no trace and no lock', async () => {
      const write = `insert into orders (tenant_id, total) select 1, n from (${RUNAWAY.replace('select count(*) from r', 'select n from r')})`;
      const err = await failure(driver.execute(req(write, { timeoutMs: 400, method: 'run', readOnly: false, tables: ['orders'] })));
      expect(err.code).toBe('QUERY_TIMEOUT');
      const probe = new Database(file, { timeout: 0 });
      try {
        expect(probe.prepare('select count(*) as n from orders').get()).toEqual({ n: 0 });
        probe.prepare('begin immediate').run();
        probe.prepare('rollback').run();
        expect(probe.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        probe.close();
      }
    });
  });

  describe('engine-level wall', () => {
    it('refuses a statement checked as a read that writes, before it runs', async () => {
      const err = await failure(driver.execute(req('update customers set name = ? where id = 1', { params: ['x'], readOnly: true, tables: ['customers'] })));
      expect(err.code).toBe('STATEMENT_NOT_ALLOWED');
      const r = await driver.execute(req('select name from customers where id = 1', { tables: ['customers'] }));
      expect(r.rows).toEqual([['ann']]);
    });

    it.each([
      ['another table', 'select c.name, s.value from customers c, secrets s', ['customers']],
      ['the schema table', 'select sql from sqlite_schema', ['customers']],
      ['a table reached through a subquery', 'select name from customers where exists (select 1 from secrets)', ['customers']],
      ['a virtual table (table-valued function)', "select value from json_each('[1,2]')", []],
    ])('refuses a program that opens %s the validator did not check', async (_name, sql, tables) => {
      const err = await failure(driver.execute(req(sql, { tables })));
      expect(err.code).toBe('TABLE_NOT_ALLOWED');
      expect(err.message).not.toContain('secrets');
    });

    it('allows what SQLite opens by itself: indexes, foreign-key parents, a checked view\'s tables', async () => {
      const ins = await driver.execute(req('insert into orders (tenant_id, customer_id, total) values (1, 1, 5)', { method: 'run', readOnly: false, tables: ['orders'] }));
      expect(ins.rowCount).toBe(1);
      const view = await driver.execute(req('select name from tenant_one order by id', { tables: ['main.tenant_one'] }));
      expect(view.rows[0]).toEqual(['ann']);
      await driver.execute(req('delete from orders where tenant_id = 1', { method: 'run', readOnly: false, tables: ['orders'] }));
    });

    it('refuses more than one statement in one string', async () => {
      const err = await failure(driver.execute(req('select 1; select 2', { tables: [] })));
      expect(err.code).toBe('STATEMENT_NOT_ALLOWED');
    });
  });

  describe('sqlite-proxy shapes and values', () => {
    it('get → one flat row, or [] when there is none; values → row arrays', async () => {
      const one = await driver.execute(req('select id, name from customers where id = ?', { params: [1], method: 'get', tables: ['customers'] }));
      expect(one.rows).toEqual([1, 'ann']);
      const none = await driver.execute(req('select id, name from customers where id = ?', { params: [-1], method: 'get', tables: ['customers'] }));
      expect(none.rows).toEqual([]);
      const values = await driver.execute(req('select id from customers where id <= 2 order by id', { method: 'values', tables: ['customers'] }));
      expect(values.rows).toEqual([[1], [2]]);
    });

    it('binds booleans as 0/1 and refuses object parameters', async () => {
      await driver.execute(req('update customers set flag = ? where id = 2', { params: [true], method: 'run', readOnly: false, tables: ['customers'] }));
      const r = await driver.execute(req('select flag from customers where id = 2', { tables: ['customers'] }));
      expect(r.rows).toEqual([[1]]);
      const err = await failure(driver.execute(req('select ?', { params: [{ a: 1 }], tables: [] })));
      expect(err.code).toBe('INVALID_INPUT');
    });

    it('maps errors without echoing SQLite\'s text', async () => {
      const err = await failure(driver.execute(req('insert into customers (tenant_id) values (1)', { method: 'run', readOnly: false, tables: ['customers'] })));
      expect(err.code).toBe('NOT_NULL_VIOLATION');
      const fk = await failure(driver.execute(req('insert into orders (tenant_id, customer_id, total) values (1, 999, 1)', { method: 'run', readOnly: false, tables: ['orders'] })));
      expect(fk.code).toBe('FOREIGN_KEY_VIOLATION');
    });
  });

  it('process start-up has its own bound: a short statement timeout still gets a cold process, and after a kill its replacement', async () => {
    // Starting Node (here under tsx) takes far longer than SHORT_MS; the deadline must count only the statement.
    const cold = createSqliteDriver({ dialect: 'sqlite', file, schema: 'main', max: 1, busyTimeoutMs: 100 }, () => undefined);
    try {
      expect(cold.processId()).toBeUndefined();
      const first = await cold.execute(req('select name from customers where id = 1', { timeoutMs: SHORT_MS, tables: ['customers'] }));
      expect(first.rows).toEqual([['ann']]);
      const pid = cold.processId()!;
      // A runaway statement killed at its deadline; the next short statement waits for the replacement, not on its own clock.
      const killed = await failure(cold.execute(req(RUNAWAY, { timeoutMs: SHORT_MS, tables: [] })));
      expect(killed.code).toBe('QUERY_TIMEOUT');
      const after = await cold.execute(req('select name from customers where id = 2', { timeoutMs: SHORT_MS, tables: ['customers'] }));
      expect(after.rows).toEqual([['bob']]);
      expect(cold.processId()).not.toBe(pid);
    } finally {
      await cold.close();
    }
  }, 30_000);

  it('a cancel while the process is still starting answers CLIENT_CLOSED without waiting for it', async () => {
    const cold = createSqliteDriver({ dialect: 'sqlite', file, schema: 'main', max: 1, busyTimeoutMs: 100 }, () => undefined);
    try {
      const r = req('select 1', { timeoutMs: SHORT_MS, tables: [] });
      const waiting = failure(cold.execute(r));
      const t0 = performance.now();
      await cold.cancel(r.jobId);
      expect((await waiting).code).toBe('CLIENT_CLOSED');
      expect(performance.now() - t0).toBeLessThan(500);
      // The start-up goes on for the next caller.
      expect((await cold.execute(req('select 2', { timeoutMs: SHORT_MS, tables: [] }))).rows).toEqual([[2]]);
    } finally {
      await cold.close();
    }
  }, 30_000);

  it('a missing database file → DATABASE_UNAVAILABLE (503), never a silently created empty file', async () => {
    const missing = createSqliteDriver({ dialect: 'sqlite', file: join(dir, 'nope.db'), schema: 'main', max: 1, busyTimeoutMs: 100 }, () => undefined);
    try {
      const err = await failure(missing.execute(req('select 1', { tables: [] })));
      expect(err.code).toBe('DATABASE_UNAVAILABLE');
      expect(err.status).toBe(503);
    } finally {
      await missing.close();
    }
  });
});
