/**
 * MySQL/MariaDB-specific guarantees of the mysql2 driver (shared ones: the conformance suite):
 * the tenant context as session variables that database-side functions and views can read (a
 * second wall), claim values that survive any quoting, server-side limits on writes, sanitized
 * errors.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MysqlConnectionConfig } from '../../src/config/types.js';
import type { Driver, ExecuteRequest } from '../../src/drivers/driver.js';
import { createMysqlDriver } from '../../src/drivers/mysql/mysql-driver.js';
import { createMysqlPool } from '../../src/drivers/mysql/mysql-pools.js';
import { MYSQL_URL, describeIfMysql } from '../helpers/services.js';
import { failure } from '../helpers/sluice-failure.js';

let job = 0;
function req(sql: string, o: Partial<ExecuteRequest> = {}): ExecuteRequest {
  return { jobId: `m${++job}`, sql, params: [], method: 'all', claims: { tenant_id: 1 }, timeoutMs: 10_000, maxRows: 1000, maxResponseBytes: 1 << 20, readOnly: true, ...o };
}

describeIfMysql('mysql2 driver (MariaDB)', () => {
  const suffix = randomBytes(5).toString('hex');
  const t = `cust_${suffix}`;
  const o = `ord_${suffix}`;
  const fn = `tenant_${suffix}`;
  const view = `mine_${suffix}`;
  let admin: mysql.Connection;
  let driver: Driver;

  beforeAll(async () => {
    admin = await mysql.createConnection({ uri: MYSQL_URL });
    await admin.query(`create table ${t} (id int auto_increment primary key, tenant_id int not null, email varchar(40) not null unique)`);
    await admin.query(`create table ${o} (id int auto_increment primary key, customer_id int not null, foreign key (customer_id) references ${t}(id))`);
    await admin.query(`insert into ${t} (tenant_id, email) values (1, 'ann@one.example'), (2, 'bob@two.example')`);
    // What a team isolating tenants in the database would write: views cannot read user variables
    // directly, a function can.
    await admin.query(`create function ${fn}() returns varchar(64) deterministic no sql return @sluice_tenant_id`);
    await admin.query(`create view ${view} as select id, email from ${t} where tenant_id = ${fn}()`);
    const database = new URL(MYSQL_URL).pathname.slice(1);
    const conn: MysqlConnectionConfig = { dialect: 'mysql', url: MYSQL_URL, max: 2, schema: database, idleTimeoutMs: 0, connectionTimeoutMs: 5000, tenantClaim: 'org.tenant' };
    driver = createMysqlDriver(conn, () => undefined);
  });

  afterAll(async () => {
    await driver?.close();
    await admin?.query(`drop view if exists ${view}`);
    await admin?.query(`drop function if exists ${fn}`);
    await admin?.query(`drop table if exists ${o}`);
    await admin?.query(`drop table if exists ${t}`);
    await admin?.end();
  });

  it('binds the tenant (from tenantClaim) as @sluice_tenant_id for the lease: a view keyed on it shows only that tenant', async () => {
    const one = await driver.execute(req(`select email from ${view} order by id`, { claims: { org: { tenant: 1 } } }));
    expect(one.rows).toEqual([['ann@one.example']]);
    const two = await driver.execute(req(`select email from ${view} order by id`, { claims: { org: { tenant: 2 } } }));
    expect(two.rows).toEqual([['bob@two.example']]);
    const none = await driver.execute(req(`select email from ${view} order by id`, { claims: { sub: 'no-tenant' } }));
    expect(none.rows).toEqual([]);
  });

  it('reads a namespaced tenantClaim whole (the one claim lookup) and refuses a token that spells it two ways', async () => {
    const database = new URL(MYSQL_URL).pathname.slice(1);
    const ns = 'https://app.example/tenant';
    const nsDriver = createMysqlDriver({ dialect: 'mysql', url: MYSQL_URL, max: 1, schema: database, idleTimeoutMs: 0, connectionTimeoutMs: 5000, tenantClaim: ns }, () => undefined);
    try {
      const ambiguous = await failure(nsDriver.execute(req(`select email from ${view} order by id`, { claims: { [ns]: 2, 'https://app': { 'example/tenant': 1 } } })));
      expect(ambiguous.code).toBe('CLAIM_AMBIGUOUS');
      // Refused before a connection was leased: the fresh pool has not opened one.
      expect(nsDriver.stats()).toMatchObject({ open: 0, active: 0 });
      const two = await nsDriver.execute(req(`select email from ${view} order by id`, { claims: { [ns]: 2 } }));
      expect(two.rows).toEqual([['bob@two.example']]);
      expect(nsDriver.stats().open).toBe(1);
    } finally {
      await nsDriver.close();
    }
  });

  it('binds all claims as @sluice_claims JSON, intact whatever quotes or backslashes they hold', async () => {
    const name = `o'brien \\ "x" \\' ; -- ${'\u00e9'}`;
    const r = await driver.execute(req(`select json_unquote(json_extract(@sluice_claims, '$.name')) as n`, { claims: { name, org: { tenant: 1 } } }));
    expect(r.rows).toEqual([[name]]);
  });

  it('enforces the time limit on writes too (MariaDB max_statement_time) and rolls them back', async () => {
    const err = await failure(driver.execute(req(`update ${t} set email = concat(email, sleep(5)) where id = 1`, { method: 'execute', readOnly: false, timeoutMs: 400 })));
    expect(err.code).toBe('QUERY_TIMEOUT');
    const [rows] = await admin.query(`select email from ${t} where id = 1`);
    expect(rows).toEqual([{ email: 'ann@one.example' }]);
  });

  it.each([
    ['a foreign key', () => `insert into ${o} (customer_id) values (424242)`, 'FOREIGN_KEY_VIOLATION', '424242'],
    ['a duplicate key', () => `insert into ${t} (tenant_id, email) values (1, 'bob@two.example')`, 'UNIQUE_VIOLATION', 'bob@two'],
    ['a too-long value', () => `insert into ${t} (tenant_id, email) values (1, '${'z'.repeat(60)}')`, 'INVALID_INPUT', 'zzzz'],
    ['a missing column value', () => `insert into ${t} (tenant_id) values (1)`, 'NOT_NULL_VIOLATION', 'Field'],
  ])('maps %s without echoing the server text', async (_name, sql, code, secret) => {
    const err = await failure(driver.execute(req(sql(), { method: 'execute', readOnly: false })));
    expect(err.code).toBe(code);
    expect(JSON.stringify(err.toBody())).not.toContain(secret);
  });

  it('a lone read runs read-only without an explicit transaction, and the flag does not outlive the lease', async () => {
    // One connection, so the write below gets the very session the reads ran on.
    const database = new URL(MYSQL_URL).pathname.slice(1);
    const one = createMysqlDriver({ dialect: 'mysql', url: MYSQL_URL, max: 1, schema: database, idleTimeoutMs: 0, connectionTimeoutMs: 5000, tenantClaim: 'tenant_id' }, () => undefined);
    try {
      const seen = await one.execute(req('select @@session.tx_read_only, @@in_transaction', { readOnly: true }));
      expect((seen.rows[0] as unknown[]).map(Number)).toEqual([1, 0]);
      const refused = await failure(one.execute(req(`update ${t} set email = email where id = 0`, { readOnly: true })));
      expect(refused.code).toBe('STATEMENT_NOT_ALLOWED');
      const after = await one.execute(req('select @@session.tx_read_only', { readOnly: false }));
      expect((after.rows[0] as unknown[]).map(Number)).toEqual([0]);
      const write = await one.execute(req(`update ${t} set email = email where id = 0`, { method: 'execute', readOnly: false }));
      expect(write.rowCount).toBe(0);
    } finally {
      await one.close();
    }
  });

  it('a lone write is its own autocommit transaction: committed when answered, even on a session whose autocommit was off', async () => {
    const database = new URL(MYSQL_URL).pathname.slice(1);
    const conn: MysqlConnectionConfig = { dialect: 'mysql', url: MYSQL_URL, max: 1, schema: database, idleTimeoutMs: 0, connectionTimeoutMs: 5000, tenantClaim: 'tenant_id' };
    const pool = createMysqlPool(conn, 1, () => undefined);
    const one = createMysqlDriver(conn, () => undefined, { pool });
    try {
      // A server (or session) default of autocommit = 0 must not leave the write uncommitted for the reset to roll back.
      const c = await pool.getConnection();
      await c.query('SET SESSION autocommit = 0');
      c.release();
      const email = `w-${randomBytes(4).toString('hex')}@one.example`;
      const w = await one.execute(req(`insert into ${t} (tenant_id, email) values (1, ?)`, { params: [email], method: 'execute', readOnly: false }));
      expect((w.rows[0] as { affectedRows: number }).affectedRows).toBe(1);
      const [rows] = await admin.query(`select count(*) as n from ${t} where email = ?`, [email]);
      expect(rows).toEqual([{ n: 1 }]);
      const seen = await one.execute(req('select @@in_transaction, @@autocommit', { readOnly: false }));
      expect((seen.rows[0] as unknown[]).map(Number)).toEqual([0, 1]);
    } finally {
      await one.close();
    }
  });

  it('refuses object and array parameters (mysql2 would expand them into SQL)', async () => {
    const err = await failure(driver.execute(req(`select email from ${t} where id = ?`, { params: [{ tenant_id: 2 }] })));
    expect(err.code).toBe('INVALID_INPUT');
  });

  it('refuses several statements in one string', async () => {
    const err = await failure(driver.execute(req(`select 1; select 2`)));
    expect(err.code).toBe('INVALID_SQL');
  });
});
