/**
 * Straight-line reads on the worker thread (issue 12, sqlite-bounded.ts): a key lookup is served
 * by the thread's own read-only connection without the process hop — shown by freezing the SQLite
 * process (SIGSTOP): the lookup still answers, while anything that can loop still goes to the
 * process, times out there and gets it killed. The engine wall and the read-only connection apply
 * on the thread as in the process, and a locked file sends the read to the process (which waits
 * for the lock under its deadline) instead of failing it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecuteRequest } from '../../src/drivers/driver.js';
import { runSqliteAdminSql } from '../../src/drivers/sqlite/sqlite-admin.js';
import { createSqliteDriver, type SqliteDriver } from '../../src/drivers/sqlite/sqlite-driver.js';
import { createSqliteThreadReader } from '../../src/drivers/sqlite/sqlite-engine.js';
import { processAlive } from '../helpers/proc-stat.js';
import { failure } from '../helpers/sluice-failure.js';

let job = 0;
function req(sql: string, o: Partial<ExecuteRequest> = {}): ExecuteRequest {
  return { jobId: `t${++job}`, sql, params: [], method: 'all', claims: {}, timeoutMs: 10_000, maxRows: 1000, maxResponseBytes: 1 << 20, readOnly: true, tables: ['customers'], ...o };
}

const alive = processAlive;
const dir = mkdtempSync(join(tmpdir(), 'sluice-sqlite-thread-'));

/** A database file `name` in this suite's folder, set up by `sql`, and a driver on it. */
function fileAndDriver(name: string, sql: string): { file: string; driver: SqliteDriver } {
  const file = join(dir, name);
  runSqliteAdminSql(file, sql);
  return { file, driver: createSqliteDriver({ dialect: 'sqlite', file, schema: 'main', max: 1, busyTimeoutMs: 1000 }, () => undefined) };
}

describe('sqlite: straight-line reads on the worker thread', () => {
  let driver: SqliteDriver;

  beforeAll(async () => {
    ({ driver } = fileAndDriver(
      'app.db',
      `create table customers (id integer primary key, tenant_id integer not null, name text not null);
       create table secrets (id integer primary key, value text);
       insert into customers (tenant_id, name) values (1, 'ann'), (2, 'bob');
       insert into secrets (value) values ('s3cret');`,
    ));
    await driver.execute(req('select id from customers where id = ?', { params: [1] }));
  }, 30_000);

  afterAll(async () => {
    await driver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a key lookup answers while the SQLite process is frozen; a scan still goes to the process, times out and gets it killed', async () => {
    const pid = driver.processId()!;
    expect(alive(pid)).toBe(true);
    process.kill(pid, 'SIGSTOP');
    try {
      const r = await driver.execute(req('select id, name from customers where id = ? and tenant_id = ?', { params: [1, 1], timeoutMs: 2000 }));
      expect(r.rows).toEqual([[1, 'ann']]);
      const scan = await failure(driver.execute(req('select id, name from customers where tenant_id = ?', { params: [1], timeoutMs: 500 })));
      expect(scan.code).toBe('QUERY_TIMEOUT');
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGCONT');
    }
    // SIGKILL ends a stopped process too: the frozen one is gone, a new one serves.
    await expect.poll(() => alive(pid), { timeout: 3000 }).toBe(false);
    const after = await driver.execute(req('select id from customers where tenant_id = ? order by id', { params: [2] }));
    expect(after.rows).toEqual([[2]]);
  });

  it('sees what a write committed a moment before', async () => {
    const w = await driver.execute(req('insert into customers (tenant_id, name) values (1, ?)', { params: ['cy'], method: 'run', readOnly: false }));
    const id = (w.rows as { lastInsertRowid: number }[])[0]!.lastInsertRowid;
    const r = await driver.execute(req('select name from customers where id = ?', { params: [id], method: 'get' }));
    expect(r.rows).toEqual(['cy']);
  });

  it('the engine wall and the read-only connection apply on the thread as in the process', async () => {
    const other = await failure(driver.execute(req('select value from secrets where id = ?', { params: [1] })));
    expect(other.code).toBe('TABLE_NOT_ALLOWED');
    const write = await failure(driver.execute(req('update customers set name = ? where id = ?', { params: ['x', 1] })));
    expect(write.code).toBe('STATEMENT_NOT_ALLOWED');
    const r = await driver.execute(req('select name from customers where id = ?', { params: [1] }));
    expect(r.rows).toEqual([['ann']]);
  });

  it('a schema change re-classifies: a lookup by a dropped unique index, or any read after ANALYZE (STAT4), goes to the process', async () => {
    const { file: file2, driver: d } = fileAndDriver(
      'schema.db',
      `create table customers (id integer primary key, tenant_id integer not null, name text not null, email text unique); insert into customers (tenant_id, name, email) values (1, 'ann', 'a@x');`,
    );
    const byEmail = (timeoutMs: number) => d.execute(req('select id from customers where email = ?', { params: ['a@x'], timeoutMs }));
    const byId = (timeoutMs: number) => d.execute(req('select id from customers where id = ?', { params: [1], timeoutMs }));
    /** Runs `fn` with the SQLite process frozen: only what runs on the thread can answer. */
    async function frozen<T>(fn: () => Promise<T>): Promise<T> {
      const pid = d.processId()!;
      process.kill(pid, 'SIGSTOP');
      try {
        return await fn();
      } finally {
        if (alive(pid)) process.kill(pid, 'SIGCONT');
      }
    }
    try {
      expect((await byEmail(5000)).rows).toEqual([[1]]);
      expect((await frozen(() => byEmail(2000))).rows).toEqual([[1]]);
      // Dropping the unique index turns the lookup into a scan.
      runSqliteAdminSql(file2, `create table customers2 (id integer primary key, tenant_id integer not null, name text not null, email text);
        insert into customers2 select * from customers; drop table customers; alter table customers2 rename to customers;`);
      expect((await byEmail(5000)).rows).toEqual([[1]]);
      expect((await frozen(() => failure(byEmail(500)))).code).toBe('QUERY_TIMEOUT');
      expect((await byId(5000)).rows).toEqual([[1]]);
      expect((await frozen(() => byId(2000))).rows).toEqual([[1]]);
      // With sqlite_stat4, a new bound value may recompile a statement into another plan: nothing on the thread.
      runSqliteAdminSql(file2, 'create index customers_name on customers(name); analyze;');
      expect((await byId(5000)).rows).toEqual([[1]]);
      expect((await frozen(() => failure(byId(500)))).code).toBe('QUERY_TIMEOUT');
    } finally {
      await d.close();
    }
  });

  it('a locked file is no error on the thread: the read goes to the process, which waits for the lock', () => {
    const lockedFile = join(dir, 'locked.db');
    runSqliteAdminSql(lockedFile, `create table customers (id integer primary key, name text); insert into customers (name) values ('ann');`);
    const holder = new Database(lockedFile, { timeout: 0 });
    const reader = createSqliteThreadReader({ file: lockedFile, busyTimeoutMs: 0 });
    const work = { statements: [{ sql: 'select name from customers where id = ?', params: [1], method: 'all' as const, tables: ['customers'] }], readOnly: true, maxRows: 10, maxResponseBytes: 1 << 20 };
    try {
      holder.pragma('locking_mode = EXCLUSIVE');
      holder.exec('begin exclusive');
      holder.exec("insert into customers (name) values ('bob')");
      expect(reader.tryExec(work)).toBeUndefined();
      holder.exec('commit');
      holder.close();
      expect(reader.tryExec(work)).toEqual([{ rows: [['ann']], rowCount: 1, truncated: false }]);
      // A write is never run on the thread.
      expect(reader.tryExec({ ...work, readOnly: false })).toBeUndefined();
    } finally {
      if (holder.open) holder.close();
      reader.close();
    }
  });
});
