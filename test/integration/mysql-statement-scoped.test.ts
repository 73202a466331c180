/**
 * `contextVariables: false` on MariaDB: a lone statement goes in one round trip, its settings scoped
 * to it with `SET STATEMENT … FOR` (mysql-lease.ts, statementScopedSql). What must hold there as on
 * the two-round-trip path: the context step's settings in force for the statement (pinned sql_mode,
 * UTC, read-only for a read, the time limit), a time limit the server enforces (408, the statement
 * gone from the processlist), a write committed by itself, nothing left on the session afterwards,
 * no @sluice_* variables — and a session whose sql_mode would parse the text otherwise
 * (NO_BACKSLASH_ESCAPES, ANSI_QUOTES), or whose autocommit is off, never runs the statement so:
 * the guard refuses it before it runs and the statement takes the SET path.
 */
import { randomBytes } from 'node:crypto';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectionSchema } from '../../src/config/connection-schema.js';
import type { MysqlConnectionConfig } from '../../src/config/types.js';
import type { Driver, ExecuteRequest } from '../../src/drivers/driver.js';
import { createMysqlDriver } from '../../src/drivers/mysql/mysql-driver.js';
import { parseNeutral, SQL_MODE, statementScopedSql } from '../../src/drivers/mysql/mysql-lease.js';
import { createMysqlPool } from '../../src/drivers/mysql/mysql-pools.js';
import { createMysqlFixture, type MysqlFixture } from '../helpers/mysql-fixture.js';
import { describeIfMysql } from '../helpers/services.js';
import { failure } from '../helpers/sluice-failure.js';
import { waitUntil } from '../helpers/wait-until.js';

let job = 0;
function req(sql: string, o: Partial<ExecuteRequest> = {}): ExecuteRequest {
  return { jobId: `s${++job}`, sql, params: [], method: 'all', claims: { tenant_id: 1 }, timeoutMs: 10_000, maxRows: 1000, maxResponseBytes: 1 << 20, readOnly: true, ...o };
}

/** SET SESSION statements this session ran since its last reset: 0 when the read came in one round trip. */
const SET_COUNT = "(select variable_value from information_schema.session_status where variable_name = 'COM_SET_OPTION')";

it('contextVariables: accepted as a boolean, absent unless given', () => {
  const url = 'mysql://u@db:3306/app';
  expect(connectionSchema.parse({ url })).not.toHaveProperty('contextVariables');
  expect(connectionSchema.parse({ url, contextVariables: false })).toMatchObject({ contextVariables: false });
  expect(() => connectionSchema.parse({ url, contextVariables: 'no' })).toThrow();
});

it('only a sql_mode that parses statement text as SQL_MODE does is trusted for a one-round-trip read', () => {
  expect(parseNeutral('')).toBe(true);
  expect(parseNeutral(SQL_MODE)).toBe(true);
  expect(parseNeutral('STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION')).toBe(true);
  for (const m of ['ANSI_QUOTES', 'NO_BACKSLASH_ESCAPES', 'PIPES_AS_CONCAT', 'IGNORE_SPACE,STRICT_TRANS_TABLES', 'ORACLE', 'EMPTY_STRING_IS_NULL', 'REAL_AS_FLOAT', "STRICT_TRANS_TABLES' or '"]) {
    expect(parseNeutral(m), m).toBe(false);
    expect(() => statementScopedSql('select 1', m, 1000, { timeout: () => 'max_statement_time = 1', readOnly: 'tx_read_only = 1' }, true)).toThrow();
  }
});

describeIfMysql('one-round-trip statements (MariaDB, contextVariables: false)', () => {
  let fx: MysqlFixture;
  let pool: mysql.Pool;
  let driver: Driver;
  const marker = `scoped_${randomBytes(4).toString('hex')}`;
  let globals: { sql_mode: string; max_statement_time: string; time_zone: string };

  beforeAll(async () => {
    fx = await createMysqlFixture();
    const [[g]] = (await fx.admin.query('select @@global.sql_mode as sql_mode, @@global.max_statement_time as max_statement_time, @@global.time_zone as time_zone')) as unknown as [[typeof globals]];
    globals = g;
    const conn: MysqlConnectionConfig = {
      dialect: 'mysql', url: fx.url, max: 1, schema: fx.database, idleTimeoutMs: 0, connectionTimeoutMs: 5000, tenantClaim: 'tenant_id', contextVariables: false,
    };
    // One connection: every lease and every inspection gets the same session.
    pool = createMysqlPool(conn, 1, () => undefined);
    driver = createMysqlDriver(conn, () => undefined, { pool });
    // The first lease of a fresh connection takes the SET path (mysql2's IGNORE_SPACE until a reset).
    await driver.execute(req('select 1'));
  });

  afterAll(async () => {
    await driver?.close();
    await fx?.drop();
  });

  /** The session as the next lease finds it, leased without the driver. */
  async function session(): Promise<Record<string, unknown>> {
    const c = await pool.getConnection();
    try {
      const [[s]] = (await c.query(`select (select count(*) from information_schema.user_variables) as user_variables,
          @@session.sql_mode as sql_mode, @@session.max_statement_time as max_statement_time, @@session.time_zone as time_zone,
          @@session.tx_read_only as ro, @@in_transaction as in_tx`)) as unknown as [[Record<string, unknown>]];
      return { ...s, user_variables: Number(s.user_variables), ro: Number(s.ro), in_tx: Number(s.in_tx) };
    } finally {
      c.release();
    }
  }

  it('runs the read in one round trip with the context settings in force, and no session variables', async () => {
    const r = await driver.execute(req(`select name, ${SET_COUNT}, @@session.sql_mode, @@session.time_zone, @@session.tx_read_only, @sluice_tenant_id, @sluice_claims from customers where tenant_id = ? order by id`, { params: [1] }));
    expect(r.rows).toEqual([
      ['T1 Alice', '0', SQL_MODE, '+00:00', 1, null, null],
      ['T1 Carol', '0', SQL_MODE, '+00:00', 1, null, null],
      ['T1 Erin', '0', SQL_MODE, '+00:00', 1, null, null],
    ]);
    expect(await session()).toEqual({ user_variables: 0, sql_mode: globals.sql_mode, max_statement_time: globals.max_statement_time, time_zone: globals.time_zone, ro: 0, in_tx: 0 });
  });

  it('refuses a write in a read as the SET path does', async () => {
    const refused = await failure(driver.execute(req("update customers set name = 'x' where id = 0")));
    expect(refused.code).toBe('STATEMENT_NOT_ALLOWED');
    expect(await fx.count(`select count(*) as n from ${fx.database}.customers where name = 'x'`)).toBe(0);
  });

  it('a session whose sql_mode parses text otherwise never runs the read in it', async () => {
    for (const mode of ['NO_BACKSLASH_ESCAPES', 'ANSI_QUOTES']) {
      const c = await pool.getConnection();
      await c.query(`set session sql_mode = '${mode}'`);
      c.release();
      // mysql2 escapes the quote as \' — under NO_BACKSLASH_ESCAPES that would end the string and
      // run the rest as SQL; under ANSI_QUOTES "x" would be a column.
      const r = await driver.execute(req(`select ?, "x", ${SET_COUNT}`, { params: ["a\\' or 1=1 -- "] }));
      // The guard refused the statement-scoped form; the read ran after the context SET (the
      // second SET on this session since its reset, after the test's own).
      expect(r.rows, mode).toEqual([["a\\' or 1=1 -- ", 'x', '2']]);
      expect((await session()).sql_mode, mode).toBe(globals.sql_mode);
      // The reset put the session back in the global mode: one round trip again.
      expect((await driver.execute(req(`select ${SET_COUNT}`))).rows, mode).toEqual([['0']]);
    }
  });

  it('the server stops a read at its time limit: 408, and the statement is gone from the processlist', async () => {
    const err = await failure(driver.execute(req(`select sleep(30), '${marker}'`, { timeoutMs: 400 })));
    expect(err.code).toBe('QUERY_TIMEOUT');
    await waitUntil('the statement gone from the processlist', async () => (await fx.sessions(`%${marker}%`)).filter((s) => !String(s.info).includes('processlist')).length === 0, 3000);
    expect(await session()).toMatchObject({ max_statement_time: globals.max_statement_time, ro: 0, in_tx: 0 });
    expect((await driver.execute(req(`select ${SET_COUNT}`))).rows).toEqual([['0']]);
  });

  /** A write that records how many SET statements its session had run (0: it came in one round trip). */
  const recordSets = (tag: string): ExecuteRequest =>
    req(`insert into order_items (tenant_id, sku, qty) select 1, ?, variable_value from information_schema.session_status where variable_name = 'COM_SET_OPTION'`, {
      params: [tag], method: 'execute', readOnly: false,
    });
  const recorded = (tag: string): Promise<number> => fx.count(`select qty as n from ${fx.database}.order_items where sku = ?`, [tag]);

  it('runs a write in one round trip, committed when answered, with its insert id', async () => {
    const w = await driver.execute(recordSets(`${marker}-w1`));
    expect(w.rowCount).toBe(1);
    expect(Number((w.rows[0] as { insertId: number }).insertId)).toBeGreaterThanOrEqual(101);
    expect(await recorded(`${marker}-w1`)).toBe(0);
    const again = await driver.execute(req('insert into customers (tenant_id, name) values (1, ?)', { params: [`${marker}-c`], method: 'execute', readOnly: false }));
    expect(Number((again.rows[0] as { insertId: number }).insertId)).toBeGreaterThanOrEqual(101);
    expect(await fx.count(`select count(*) as n from ${fx.database}.customers where name = ?`, [`${marker}-c`])).toBe(1);
    expect(await session()).toEqual({ user_variables: 0, sql_mode: globals.sql_mode, max_statement_time: globals.max_statement_time, time_zone: globals.time_zone, ro: 0, in_tx: 0 });
  });

  it('a session with autocommit off never runs the write so: it takes the SET path, which commits it', async () => {
    const c = await pool.getConnection();
    await c.query('set session autocommit = 0');
    c.release();
    await driver.execute(recordSets(`${marker}-w2`));
    // The test's own SET and the context step's: the guard refused the one-round-trip form.
    expect(await recorded(`${marker}-w2`)).toBe(2);
    await driver.execute(recordSets(`${marker}-w3`));
    expect(await recorded(`${marker}-w3`)).toBe(0);
  });

  it('the server stops a write at its time limit: 408, nothing written', async () => {
    const err = await failure(driver.execute(req(`update customers set name = concat(name, sleep(30), '${marker}') where id = 1`, { method: 'execute', readOnly: false, timeoutMs: 400 })));
    expect(err.code).toBe('QUERY_TIMEOUT');
    await waitUntil('the write gone from the processlist', async () => (await fx.sessions(`%${marker}%`)).filter((s) => !String(s.info).includes('processlist')).length === 0, 3000);
    expect(await fx.count(`select count(*) as n from ${fx.database}.customers where id = 1 and name = 'T1 Alice'`)).toBe(1);
  });

  it('a read cut at maxResponseBytes is still stopped and reported truncated', async () => {
    const r = await driver.execute(req('select repeat(\'x\', 1000) from customers a, customers b, customers c', { maxResponseBytes: 4000 }));
    expect(r.truncated).toBe(true);
    expect(r.rows.length).toBeLessThan(5);
    expect((await driver.execute(req('select count(*) from customers where id <= 6'))).rows).toEqual([[6]]);
  });
});
