/**
 * One suite, every Driver: pg (Postgres), mysql2 (MariaDB) and better-sqlite3 (SQLite, in its own
 * process). Each target is a real database; a target whose service is missing is skipped locally
 * and fails under CI=true (test/helpers/services.ts).
 *
 * Each driver gets ONE connection, so "the next lease" always reuses the session the previous one
 * ran on: that is what makes the session-isolation cases meaningful.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Driver, ExecuteRequest } from '../../src/drivers/driver.js';
import { createMysqlDriver } from '../../src/drivers/mysql/mysql-driver.js';
import { createMysqlPool } from '../../src/drivers/mysql/mysql-pools.js';
import { createPgDriver } from '../../src/drivers/pg/pg-driver.js';
import { createPgPool } from '../../src/drivers/pg/pg-pools.js';
import { runSqliteAdminSql } from '../../src/drivers/sqlite/sqlite-admin.js';
import { createSqliteDriver } from '../../src/drivers/sqlite/sqlite-driver.js';
import { jsonBytes } from '../../src/drivers/common/response-budget.js';
import { SluiceError } from '../../src/errors.js';
import { METHODS_BY_DIALECT, createDriver } from '../../src/pool/create-driver.js';
import type { QueryMethod } from '../../src/pool/messages.js';
import { MYSQL_URL, PG_URL, describeIfMysql, describeIfPg } from '../helpers/services.js';
import { failure as sharedFailure } from '../helpers/sluice-failure.js';

const log = (): void => undefined;

interface Target {
  driver: Driver;
  /** The table under test, as the driver's SQL must name it. */
  table: string;
  /** The dialect's placeholder for the i-th (1-based) parameter. */
  p(i: number): string;
  /** Runs until killed. */
  runaway: string;
  /** The method a plain write uses in that dialect's Drizzle proxy driver. */
  writeMethod: QueryMethod;
  /** What a single-row insert returns, checked per dialect. */
  expectInsert(result: { rows: unknown[]; rowCount: number | null }): void;
  /** The insert id a write result reports (absent: the dialect reports none, Postgres). */
  insertIdOf?(result: { rows: unknown[] }): unknown;
  /** insertIdOf() of a statement that inserted nothing. */
  noInsertId?: unknown;
  /** A read that streams rows until it is stopped, its one column named `marker`. */
  endless(marker: string): string;
  /** A read of one value: the bytes 01 02 ff. */
  binary: string;
  /** Binds `{ type: 'Buffer', data }` (a Buffer's JSON form) as binary (Postgres: JSON parameters are json). */
  binaryParams: boolean;
  /** Statements running on the server whose text contains `marker` (SQLite: none can outlive its step). */
  running(marker: string): Promise<number>;
  /** Whatever tenant/transaction state the session the driver leases is left with. */
  sessionState(): Promise<Record<string, unknown>>;
  /** sessionState() of a session no lease has touched. */
  cleanState: Record<string, unknown>;
  teardown(): Promise<void>;
}

const SEED = [
  [1, 'ann@one.example'],
  [2, 'bob@two.example'],
] as const;

let job = 0;
function req(t: Target, sql: string, o: Partial<ExecuteRequest> = {}): ExecuteRequest {
  return { jobId: `job-${++job}`, sql, params: [], method: 'all', claims: { tenant_id: 1, role: 'member' }, timeoutMs: 10_000, maxRows: 1000, maxResponseBytes: 1 << 20, readOnly: true, ...o };
}

const failure = (p: Promise<unknown>): Promise<SluiceError> => sharedFailure(p, 'expected the driver to fail');

function conformance(name: string, describeIf: typeof describe, setup: () => Promise<Target>): void {
  describeIf(`driver conformance: ${name}`, () => {
    let t: Target;
    beforeAll(async () => {
      t = await setup();
      // Warm up (connects; SQLite starts its process) outside any timed case.
      await t.driver.execute(req(t, `select count(*) from ${t.table}`));
    }, 30_000);
    afterAll(async () => {
      await t?.teardown();
    });

    it('all → positional row arrays; execute → row objects', async () => {
      const sql = `select tenant_id, email from ${t.table} where id <= 2 order by id`;
      const all = await t.driver.execute(req(t, sql));
      expect(all.rows).toEqual(SEED.map(([tenant, email]) => [tenant, email]));
      expect(all.rowCount).toBe(2);
      expect(all.truncated).toBe(false);
      const objects = await t.driver.execute(req(t, sql, { method: 'execute' }));
      expect(objects.rows).toEqual(SEED.map(([tenant_id, email]) => ({ tenant_id, email })));
    });

    it('binds parameters', async () => {
      const r = await t.driver.execute(req(t, `select email from ${t.table} where tenant_id = ${t.p(1)} and email <> ${t.p(2)}`, { params: [2, 'x'] }));
      expect(r.rows).toEqual([['bob@two.example']]);
    });

    it('a write reports its result in the shape the Drizzle proxy driver reads', async () => {
      const r = await t.driver.execute(
        req(t, `insert into ${t.table} (tenant_id, email) values (${t.p(1)}, ${t.p(2)})`, { params: [1, `w-${randomBytes(4).toString('hex')}@one.example`], method: t.writeMethod, readOnly: false }),
      );
      t.expectInsert(r);
    });

    it('write metadata describes only the statement: no insert id after another statement\'s insert on the same connection', async () => {
      if (!t.insertIdOf) return;
      const email = `m-${randomBytes(4).toString('hex')}@one.example`;
      const inserted = await t.driver.execute(req(t, `insert into ${t.table} (tenant_id, email) values (${t.p(1)}, ${t.p(2)})`, { params: [2, email], method: t.writeMethod, readOnly: false }));
      expect(t.insertIdOf(inserted)).not.toEqual(t.noInsertId);
      // The same (only) connection, the next statements: an update, a delete of nothing, an insert of nothing.
      const updated = await t.driver.execute(req(t, `update ${t.table} set tenant_id = tenant_id where id = 1`, { method: t.writeMethod, readOnly: false }));
      expect(updated.rowCount).toBe(1);
      expect(t.insertIdOf(updated)).toEqual(t.noInsertId);
      const deleted = await t.driver.execute(req(t, `delete from ${t.table} where id < 0`, { method: t.writeMethod, readOnly: false }));
      expect(deleted.rowCount).toBe(0);
      expect(t.insertIdOf(deleted)).toEqual(t.noInsertId);
      const none = await t.driver.execute(
        req(t, `insert into ${t.table} (tenant_id, email) select tenant_id, email from ${t.table} where id < 0`, { method: t.writeMethod, readOnly: false }),
      );
      expect(none.rowCount).toBe(0);
      expect(t.insertIdOf(none)).toEqual(t.noInsertId);
    });

    it('binary values come back as the JSON form of a Node Buffer', async () => {
      const r = await t.driver.execute(req(t, t.binary));
      expect(r.rows).toEqual([[{ type: 'Buffer', data: [1, 2, 255] }]]);
      expect(JSON.parse(JSON.stringify(r.rows))).toEqual(r.rows);
      if (!t.binaryParams) return;
      const echo = await t.driver.execute(req(t, `select ${t.p(1)}`, { params: [{ type: 'Buffer', data: [0, 128, 255] }] }));
      expect(echo.rows).toEqual([[{ type: 'Buffer', data: [0, 128, 255] }]]);
      const err = await failure(t.driver.execute(req(t, `select ${t.p(1)}`, { params: [{ type: 'Buffer', data: [256] }] })));
      expect(err.code).toBe('INVALID_INPUT');
    });

    it('maxResponseBytes: a read keeps the rows that fit, says truncated, and stops on the server', async () => {
      const marker = `m_${randomBytes(4).toString('hex')}`;
      // The statement never ends by itself: only the cap can have stopped it (a timeout would be an error).
      const r = await t.driver.execute(req(t, t.endless(marker), { maxRows: 10_000_000, maxResponseBytes: 2000, timeoutMs: 20_000 }));
      expect(r.truncated).toBe(true);
      expect(r.rows.length).toBeGreaterThan(10);
      expect(r.rowCount).toBe(r.rows.length);
      expect(r.rows.reduce((n: number, row) => n + jsonBytes(row) + 1, 0)).toBeLessThanOrEqual(2000);
      expect(await t.running(marker)).toBe(0);
      const next = await t.driver.execute(req(t, `select count(*) from ${t.table}`));
      expect(next.rows).toHaveLength(1);
    });

    it('maxResponseBytes: a read whose first row does not fit keeps nothing (the worker then refuses it)', async () => {
      const r = await t.driver.execute(req(t, `select email from ${t.table} order by id`, { maxResponseBytes: 5 }));
      expect(r).toMatchObject({ rows: [], truncated: true });
    });

    it('maxResponseBytes: a write is never stopped half-way: it commits whole, its rows beyond the cap dropped', async () => {
      const tag = randomBytes(4).toString('hex');
      const emails = [1, 2, 3].map((i) => `w${i}-${tag}@one.example`);
      const r = await t.driver.execute(
        req(t, `insert into ${t.table} (tenant_id, email) values (1, ${t.p(1)}), (1, ${t.p(2)}), (1, ${t.p(3)}) returning email`, {
          params: emails,
          readOnly: false,
          maxResponseBytes: jsonBytes([emails[0]]) + 1,
        }),
      );
      expect(r).toMatchObject({ rows: [[emails[0]]], rowCount: 3, truncated: true });
      const stored = await t.driver.execute(req(t, `select count(*) from ${t.table} where email like ${t.p(1)}`, { params: [`%-${tag}@one.example`] }));
      expect(Number((stored.rows[0] as unknown[])[0])).toBe(3);
    });

    it('maxResponseBytes: one budget for a whole batch', async () => {
      const one = `select email from ${t.table} where id = 1`;
      const rowSize = jsonBytes([SEED[0][1]]) + 1;
      const batch = (maxResponseBytes: number, readOnly: boolean) =>
        t.driver.executeBatch({
          jobId: `job-${++job}`,
          claims: { tenant_id: 1 },
          timeoutMs: 10_000,
          maxRows: 100,
          maxResponseBytes,
          readOnly,
          statements: [one, one, one].map((sql) => ({ sql, params: [], method: 'all' as const })),
        });
      const fits = await batch(3 * rowSize, true);
      expect(fits.results.map((x) => [x.rows.length, x.truncated])).toEqual([[1, false], [1, false], [1, false]]);
      // A read batch stops where the budget runs out; the statements after it do not run.
      const cut = await batch(2 * rowSize, true);
      expect(cut.results.map((x) => [x.rows.length, x.truncated])).toEqual([[1, false], [1, false], [0, true]]);
      // A batch that writes runs every statement; only rows are dropped.
      const written = await batch(rowSize, false);
      expect(written.results.map((x) => [x.rows.length, x.truncated])).toEqual([[1, false], [0, true], [0, true]]);
    });

    it('cuts results at maxRows and says so', async () => {
      const r = await t.driver.execute(req(t, `select id from ${t.table} order by id`, { maxRows: 1 }));
      expect(r.rows).toHaveLength(1);
      expect(r.truncated).toBe(true);
    });

    it('a statement that outlives its timeout → QUERY_TIMEOUT, and the connection works after', async () => {
      const started = performance.now();
      const err = await failure(t.driver.execute(req(t, t.runaway, { timeoutMs: 400 })));
      expect(err.code).toBe('QUERY_TIMEOUT');
      expect(err.status).toBe(408);
      // Generous: the point is "stopped near the deadline", not a benchmark (the backstop adds 2 s).
      expect(performance.now() - started).toBeLessThan(400 + 5000);
      const next = await t.driver.execute(req(t, `select count(*) from ${t.table}`));
      expect(next.rows).toHaveLength(1);
    });

    it('cancel(jobId) stops the running statement → CLIENT_CLOSED, and the connection works after', async () => {
      const r = req(t, t.runaway, { timeoutMs: 15_000 });
      const running = failure(t.driver.execute(r));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = performance.now();
      await t.driver.cancel(r.jobId);
      const err = await running;
      expect(err.code).toBe('CLIENT_CLOSED');
      expect(performance.now() - started).toBeLessThan(5000);
      const next = await t.driver.execute(req(t, `select count(*) from ${t.table}`));
      expect(next.rows).toHaveLength(1);
    });

    it('a request waiting for the busy connection times out on its own budget (backpressure)', async () => {
      const hog = req(t, t.runaway, { timeoutMs: 15_000 });
      const hogging = failure(t.driver.execute(hog));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const err = await failure(t.driver.execute(req(t, `select 1`, { timeoutMs: 300 })));
      expect(err.code).toBe('QUERY_TIMEOUT');
      await t.driver.cancel(hog.jobId);
      expect((await hogging).code).toBe('CLIENT_CLOSED');
    });

    it('a duplicate key → UNIQUE_VIOLATION (409) without the other row\'s key in the message', async () => {
      const err = await failure(
        t.driver.execute(req(t, `insert into ${t.table} (tenant_id, email) values (${t.p(1)}, ${t.p(2)})`, { params: [1, 'bob@two.example'], method: t.writeMethod, readOnly: false })),
      );
      expect(err.code).toBe('UNIQUE_VIOLATION');
      expect(err.status).toBe(409);
      expect(JSON.stringify(err.toBody())).not.toContain('bob@two');
      expect(err.message).not.toContain('bob@two');
    });

    it('a write in a read-only lease is refused', async () => {
      const err = await failure(t.driver.execute(req(t, `delete from ${t.table} where id = ${t.p(1)}`, { params: [1], method: t.writeMethod, readOnly: true })));
      expect(err.code).toBe('STATEMENT_NOT_ALLOWED');
      const still = await t.driver.execute(req(t, `select id from ${t.table} where id = 1`));
      expect(still.rows).toHaveLength(1);
    });

    it('a batch is all-or-nothing', async () => {
      const email = `batch-${randomBytes(4).toString('hex')}@one.example`;
      const insert = `insert into ${t.table} (tenant_id, email) values (${t.p(1)}, ${t.p(2)})`;
      const err = await failure(
        t.driver.executeBatch({
          jobId: `job-${++job}`,
          claims: { tenant_id: 1 },
          timeoutMs: 10_000,
          maxRows: 100,
          maxResponseBytes: 1 << 20,
          readOnly: false,
          statements: [
            { sql: insert, params: [1, email], method: t.writeMethod },
            { sql: insert, params: [1, 'bob@two.example'], method: t.writeMethod },
          ],
        }),
      );
      expect(err.code).toBe('UNIQUE_VIOLATION');
      const r = await t.driver.execute(req(t, `select id from ${t.table} where email = ${t.p(1)}`, { params: [email] }));
      expect(r.rows).toEqual([]);
      const ok = await t.driver.executeBatch({
        jobId: `job-${++job}`,
        claims: { tenant_id: 1 },
        timeoutMs: 10_000,
        maxRows: 100,
        maxResponseBytes: 1 << 20,
        readOnly: false,
        statements: [
          { sql: insert, params: [1, email], method: t.writeMethod },
          { sql: `select email from ${t.table} where email = ${t.p(1)}`, params: [email], method: 'all' },
        ],
      });
      expect(ok.results[1]!.rows).toEqual([[email]]);
    });

    it('leaves no tenant context and no open transaction on the session, whatever the outcome', async () => {
      expect(await t.sessionState()).toEqual(t.cleanState);
      await t.driver.execute(req(t, `select count(*) from ${t.table}`, { claims: { tenant_id: 42, role: 'x' } }));
      expect(await t.sessionState()).toEqual(t.cleanState);
      await failure(t.driver.execute(req(t, `select * from no_such_table_here`, { claims: { tenant_id: 43 } })));
      expect(await t.sessionState()).toEqual(t.cleanState);
      await failure(t.driver.execute(req(t, t.runaway, { claims: { tenant_id: 44 }, timeoutMs: 300 })));
      expect(await t.sessionState()).toEqual(t.cleanState);
    });
  });
}

conformance('pg', describeIfPg, async () => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
  await admin.query(`create schema ${schema}; create table ${schema}.items (id serial primary key, tenant_id int not null, email text unique)`);
  await admin.query(`insert into ${schema}.items (tenant_id, email) values ($1, $2), ($3, $4)`, SEED.flat());
  const conn = { dialect: 'postgres' as const, url: PG_URL, max: 1, schema, idleTimeoutMs: 0, connectionTimeoutMs: 5000 };
  const pool = createPgPool(conn, { max: 1, applicationName: 'sluice', idleTimeoutMs: 0 }, log);
  const driver = createPgDriver(conn, log, { pool });
  return {
    driver,
    table: `${schema}.items`,
    p: (i) => `$${i}`,
    runaway: 'select pg_sleep(30)',
    writeMethod: 'execute',
    expectInsert: (r) => {
      expect(r.rowCount).toBe(1);
      expect(r.rows).toEqual([]);
    },
    // In the select list: a set-returning function in FROM is materialized before its first row.
    endless: (marker) => `select generate_series(1::bigint, 9000000000000000000) as ${marker}`,
    binary: "select '\\x0102ff'::bytea",
    binaryParams: false,
    async running(marker) {
      const { rows } = await admin.query("select count(*)::int as n from pg_stat_activity where state = 'active' and query like $1 and pid <> pg_backend_pid()", [`%${marker}%`]);
      return (rows[0] as { n: number }).n;
    },
    async sessionState() {
      const { rows } = await pool.query(
        "select coalesce(current_setting('request.jwt.claims', true), '') as claims, current_setting('transaction_read_only') as ro, pg_current_xact_id_if_assigned() is null as no_xact",
      );
      return rows[0] as Record<string, unknown>;
    },
    cleanState: { claims: '', ro: 'off', no_xact: true },
    async teardown() {
      await driver.close();
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    },
  };
});

conformance('mysql2 (MariaDB)', describeIfMysql, async () => {
  const table = `items_${randomBytes(6).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: MYSQL_URL });
  await admin.query(`create table ${table} (id int auto_increment primary key, tenant_id int not null, email varchar(190) unique)`);
  await admin.query(`insert into ${table} (tenant_id, email) values (?, ?), (?, ?)`, SEED.flat());
  const database = new URL(MYSQL_URL).pathname.slice(1);
  const conn = { dialect: 'mysql' as const, url: MYSQL_URL, max: 1, schema: database, idleTimeoutMs: 0, connectionTimeoutMs: 5000, tenantClaim: 'tenant_id' };
  const pool = createMysqlPool(conn, 1, log);
  const driver = createMysqlDriver(conn, log, { pool });
  const [[globals]] = (await admin.query('select @@global.max_statement_time as m, @@global.sql_mode as s')) as unknown as [[{ m: unknown; s: unknown }]];
  return {
    driver,
    table,
    p: () => '?',
    runaway: 'select sleep(30)',
    writeMethod: 'execute',
    expectInsert: (r) => {
      expect(r.rowCount).toBe(1);
      expect(r.rows).toEqual([{ insertId: expect.any(Number), affectedRows: 1, changedRows: 0 }]);
      expect((r.rows[0] as { insertId: number }).insertId).toBeGreaterThan(2);
    },
    insertIdOf: (r) => (r.rows[0] as { insertId: unknown }).insertId,
    noInsertId: 0,
    endless: (marker) => `select seq as ${marker} from seq_1_to_9000000000000000000`,
    binary: "select x'0102ff'",
    binaryParams: true,
    async running(marker) {
      const [rows] = (await admin.query("select count(*) as n from information_schema.processlist where command = 'Query' and info like ? and id <> connection_id()", [
        `%${marker}%`,
      ])) as unknown as [[{ n: number }]];
      return Number(rows[0].n);
    },
    async sessionState() {
      const [rows] = await pool.query(
        "select @sluice_tenant_id as tenant, @sluice_claims as claims, if(@@in_transaction, 'open', 'none') as tx, @@session.max_statement_time as m, @@session.sql_mode as s",
      );
      return (rows as Record<string, unknown>[])[0]!;
    },
    cleanState: { tenant: null, claims: null, tx: 'none', m: globals.m, s: globals.s },
    async teardown() {
      await driver.close();
      await admin.query(`drop table if exists ${table}`);
      await admin.end();
    },
  };
});

conformance('better-sqlite3 (process)', describe, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-conf-'));
  const file = join(dir, 'c.db');
  runSqliteAdminSql(file, 'create table items (id integer primary key, tenant_id integer not null, email text unique)');
  const seed = new Database(file);
  seed.prepare('insert into items (tenant_id, email) values (?, ?), (?, ?)').run(...SEED.flat());
  seed.close();
  const driver = createSqliteDriver({ dialect: 'sqlite', file, schema: 'main', max: 1, busyTimeoutMs: 1000 }, log);
  return {
    driver,
    table: 'items',
    p: () => '?',
    runaway: 'with recursive r(n) as (select 1 union all select n + 1 from r where n < 10000000000) select count(*) from r',
    writeMethod: 'run',
    expectInsert: (r) => {
      expect(r.rowCount).toBe(1);
      const result = r.rows[0] as { changes: number; lastInsertRowid: number };
      expect(result.changes).toBe(1);
      expect(result.lastInsertRowid).toBeGreaterThan(2);
    },
    insertIdOf: (r) => (r.rows[0] as { lastInsertRowid: unknown }).lastInsertRowid,
    noInsertId: null,
    endless: (marker) => `with recursive r(n) as (select 1 union all select n + 1 from r) select n as ${marker} from r`,
    binary: "select x'0102ff'",
    binaryParams: true,
    // Its statement runs inside the SQLite process's own step loop, which the cap leaves.
    running: async () => 0,
    // No session variables exist in SQLite; what must not survive a lease is a transaction (and
    // with it the write lock): a fresh connection must be able to take the write lock at once.
    async sessionState() {
      const probe = new Database(file, { timeout: 0 });
      try {
        probe.prepare('begin immediate').run();
        probe.prepare('rollback').run();
        return { writeLockFree: true };
      } catch (e) {
        return { writeLockFree: false, err: String(e) };
      } finally {
        probe.close();
      }
    },
    cleanState: { writeLockFree: true },
    async teardown() {
      await driver.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('methods per dialect (createDriver)', () => {
  const conns = {
    postgres: { dialect: 'postgres' as const, url: PG_URL, max: 1, schema: 'public', idleTimeoutMs: 0, connectionTimeoutMs: 1000 },
    mysql: { dialect: 'mysql' as const, url: MYSQL_URL, max: 1, schema: 'test', idleTimeoutMs: 0, connectionTimeoutMs: 1000, tenantClaim: 'tenant_id' },
    sqlite: { dialect: 'sqlite' as const, file: join(tmpdir(), 'sluice-never-opened.db'), schema: 'main' as const, max: 1 as const, busyTimeoutMs: 100 },
  };

  it.each([
    ['postgres', 'get'],
    ['postgres', 'run'],
    ['postgres', 'values'],
    ['mysql', 'get'],
    ['mysql', 'run'],
    ['mysql', 'values'],
  ] as const)('%s refuses method %s with METHOD_NOT_SUPPORTED (400) before touching the database', async (dialect, method) => {
    const driver = createDriver(conns[dialect], log);
    try {
      const err = await failure(driver.execute({ jobId: 'm', sql: 'select 1', params: [], method, claims: {}, timeoutMs: 1000, maxRows: 10, maxResponseBytes: 1 << 20, readOnly: true }));
      expect(err.code).toBe('METHOD_NOT_SUPPORTED');
      expect(err.status).toBe(400);
      const batch = await failure(
        driver.executeBatch({ jobId: 'b', claims: {}, timeoutMs: 1000, maxRows: 10, maxResponseBytes: 1 << 20, readOnly: true, statements: [{ sql: 'select 1', params: [], method }] }),
      );
      expect(batch.code).toBe('METHOD_NOT_SUPPORTED');
    } finally {
      await driver.close();
    }
  });

  it('every dialect serves all and execute; SQLite also values, get and run', () => {
    expect([...METHODS_BY_DIALECT.postgres].sort()).toEqual(['all', 'execute']);
    expect([...METHODS_BY_DIALECT.mysql].sort()).toEqual(['all', 'execute']);
    expect([...METHODS_BY_DIALECT.sqlite].sort()).toEqual(['all', 'execute', 'get', 'run', 'values']);
  });
});
