/**
 * Session sanitization, verified rather than assumed, on every dialect that has sessions. Each
 * driver gets a pool of ONE connection (injected, so the test can lease it too), runs many varied
 * leases — reads, writes, batches, failed statements, server timeouts, cancels, different tenants
 * and claims, per-tenant dbRole on Postgres — and after every lease the test leases that very
 * session itself and inspects it: the session id must be the one before (unless the lease was one
 * that must destroy its connection, a cancel) and nothing a lease did may be left on it.
 *
 * Postgres keeps every piece of tenant state transaction-local (pg-lease.ts), so the check is that
 * no role, setting, transaction, prepared statement, cursor, temp table, advisory lock or LISTEN
 * survives. MariaDB resets the session on release (COM_RESET_CONNECTION, mysql-lease.ts); there
 * the leases also dirty the session on purpose (user variables, SET SESSION, a temporary table, a
 * prepared statement, a user lock, an open transaction) — statements the validator refuses, run
 * here straight through the driver — to prove the reset really clears what it is said to clear.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MysqlConnectionConfig, PostgresConnectionConfig } from '../../src/config/types.js';
import type { Driver, ExecuteBatchRequest, ExecuteRequest } from '../../src/drivers/driver.js';
import { createMysqlDriver } from '../../src/drivers/mysql/mysql-driver.js';
import { createMysqlPool } from '../../src/drivers/mysql/mysql-pools.js';
import { createPgDriver, DEFAULT_PREPARED_STATEMENTS, pgLeasePoolOptions } from '../../src/drivers/pg/pg-driver.js';
import { contextStep } from '../../src/drivers/pg/pg-lease.js';
import { createPgPool } from '../../src/drivers/pg/pg-pools.js';
import { MYSQL_URL, PG_URL, createTestSchema, describeIfMysql, describeIfPg } from '../helpers/services.js';
import { failure } from '../helpers/sluice-failure.js';

const log = (): void => undefined;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Three rounds of every scenario, each in a different order, with the timeouts and cancels inside: ~10 s per dialect. */
const ROUNDS = 3;
/** Long enough for a warm lease to have sent its statement, so the cancel hits it running. */
const CANCEL_AFTER_MS = 300;
const SUITE_TIMEOUT_MS = 60_000;

function req(sql: string, o: Partial<ExecuteRequest> = {}): ExecuteRequest {
  return { jobId: randomUUID(), sql, params: [], method: 'all', claims: { tenant_id: 1 }, timeoutMs: 5000, maxRows: 100, maxResponseBytes: 1 << 20, readOnly: true, ...o };
}

function batch(statements: ExecuteBatchRequest['statements'], o: Partial<ExecuteBatchRequest> = {}): ExecuteBatchRequest {
  return { jobId: randomUUID(), statements, claims: { tenant_id: 1 }, timeoutMs: 5000, maxRows: 100, maxResponseBytes: 1 << 20, readOnly: false, ...o };
}

async function fails(p: Promise<unknown>, code?: string): Promise<void> {
  const e = await failure(p, 'expected the lease to fail');
  if (code !== undefined) expect(e.code).toBe(code);
}

interface Scenario {
  name: string;
  /** false: the driver must destroy the connection (the next inspection sees a new session). */
  keepsSession: boolean;
  run(): Promise<void>;
}

/**
 * The two batches both dialects run alike: `insert` adds a (tenant_id, body) row, `selectBody`
 * reads a body back by value. Their SQL differs only in placeholders.
 */
function batchScenarios(driver: Driver, insert: string, selectBody: string, body: () => string): Scenario[] {
  return [
    {
      name: 'a batch (write, then read)',
      keepsSession: true,
      async run() {
        const b = body();
        const r = await driver.executeBatch(batch([
          { sql: insert, params: [1, b], method: 'execute' },
          { sql: selectBody, params: [b], method: 'all' },
        ]));
        expect(r.results[1]!.rows).toEqual([[b]]);
      },
    },
    {
      name: 'a batch that fails half way (unique violation)',
      keepsSession: true,
      async run() {
        const b = body();
        await fails(driver.executeBatch(batch([{ sql: insert, params: [1, b], method: 'execute' }, { sql: insert, params: [1, b], method: 'execute' }])), 'UNIQUE_VIOLATION');
      },
    },
  ];
}

/** The failing leases both dialects run alike, on `table`; `sleepSql(s)` sleeps s seconds on the server. */
function failingScenarios(driver: Driver, table: string, sleepSql: (seconds: number) => string): Scenario[] {
  return [
    { name: 'a syntax error', keepsSession: true, run: () => fails(driver.execute(req('selec 1')), 'INVALID_SQL') },
    {
      name: 'a write in a read-only lease',
      keepsSession: true,
      run: () => fails(driver.execute(req(`update ${table} set body = body where id = 0`, { readOnly: true })), 'STATEMENT_NOT_ALLOWED'),
    },
    { name: 'a server-side timeout', keepsSession: true, run: () => fails(driver.execute(req(sleepSql(3), { timeoutMs: 250 })), 'QUERY_TIMEOUT') },
    {
      name: 'a cancel (the connection is destroyed)',
      keepsSession: false,
      async run() {
        const r = req(sleepSql(5), { timeoutMs: 10_000, claims: { tenant_id: 2 } });
        const running = fails(driver.execute(r), 'CLIENT_CLOSED');
        await sleep(CANCEL_AFTER_MS);
        await driver.cancel(r.jobId);
        await running;
      },
    },
  ];
}

/** Run every scenario ROUNDS times in rotated orders; inspect the session after each lease. */
async function exercise(scenarios: Scenario[], inspect: () => Promise<{ id: number }>): Promise<number> {
  let { id } = await inspect();
  let leases = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Forwards, backwards, then starting half way: each scenario follows a different one each round.
    const half = Math.floor(scenarios.length / 2);
    const order = round === 1 ? [...scenarios].reverse() : round === 2 ? [...scenarios.slice(half), ...scenarios.slice(0, half)] : scenarios;
    for (const s of order) {
      await s.run();
      leases++;
      const seen = await inspect();
      if (s.keepsSession) expect(seen.id, `${s.name}: the lease must have run on, and returned, the same session`).toBe(id);
      else expect(seen.id, `${s.name}: the connection must have been destroyed`).not.toBe(id);
      id = seen.id;
    }
  }
  return leases;
}

// Postgres runs twice: without named prepared statements (nothing may be prepared at all) and
// with the driver's default, where sluice's own named statements stay on the session (pg-prepared.ts):
// each must be the TEXT of a statement a lease sent (claims, role and values are bound, never in
// the text), under sluice's names, never one a statement created (from_sql).
for (const preparedStatements of [0, DEFAULT_PREPARED_STATEMENTS]) describeIfPg(`session sanitization: pg (preparedStatements ${preparedStatements})`, () => {
  const tag = randomBytes(4).toString('hex');
  const roles = [1, 2].map((t) => `sluice_san_${tag}_${t}`);
  let admin: pg.Pool;
  let schema: string;
  let drop: () => Promise<void>;
  let pool: pg.Pool;
  let driver: Driver;
  const sent = new Set<string>();
  let mostPrepared = 0;

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: PG_URL, max: 2, application_name: 'sluice-test-admin' });
    ({ schema, drop } = await createTestSchema(admin));
    await admin.query(`create table ${schema}.notes (id serial primary key, tenant_id int not null, body text not null unique)`);
    for (const r of roles) {
      await admin.query(`create role ${r} nologin`);
      await admin.query(`grant ${r} to current_user`);
      await admin.query(`grant usage on schema ${schema} to ${r}; grant select on ${schema}.notes to ${r}`);
    }
    // Tenant 1 may write, tenant 2 may only read: a tenant-2 write fails on permissions.
    await admin.query(`grant insert, update on ${schema}.notes to ${roles[0]}; grant usage on sequence ${schema}.notes_id_seq to ${roles[0]}`);
    const conn: PostgresConnectionConfig = {
      dialect: 'postgres', url: PG_URL, max: 1, schema, idleTimeoutMs: 0, connectionTimeoutMs: 5000, dbRole: `sluice_san_${tag}_{tenant_id}`, preparedStatements,
    };
    pool = createPgPool(conn, pgLeasePoolOptions(conn), log);
    const inner = createPgDriver(conn, log, { pool });
    // Every text a lease may have prepared: the context step's shapes and what the scenarios sent.
    for (const readOnly of [true, false]) for (const role of [undefined, 'r']) sent.add(contextStep({ claims: {}, timeoutMs: 1, readOnly }, role).text);
    driver = {
      ...inner,
      execute: (r) => (sent.add(r.sql), inner.execute(r)),
      executeBatch: (b) => (b.statements.forEach((st) => sent.add(st.sql)), inner.executeBatch(b)),
    };
  });

  afterAll(async () => {
    await driver?.close();
    await drop?.();
    for (const r of roles) await admin?.query(`drop role if exists ${r}`);
    await admin?.end();
  });

  /** The pool's one session: no transaction open on it, and nothing any lease left behind. */
  async function inspect(): Promise<{ id: number }> {
    const client = await pool.connect();
    try {
      const pid = (client as unknown as { processID: number }).processID;
      // From outside first: our own query below would itself start a transaction.
      const { rows: activity } = await admin.query('select state, xact_start, backend_xid from pg_stat_activity where pid = $1', [pid]);
      expect(activity).toEqual([{ state: 'idle', xact_start: null, backend_xid: null }]);
      const { rows } = await client.query(`select
          pg_backend_pid() as id,
          session_user::text as login, current_user::text as "user", current_setting('role') as role,
          coalesce(current_setting('request.jwt.claims', true), '') as claims,
          coalesce(current_setting('sluice.tenant', true), '') as sluice_tenant,
          current_setting('statement_timeout') = (select reset_val from pg_settings where name = 'statement_timeout') as timeout_default,
          current_setting('default_transaction_read_only') as default_ro,
          current_setting('transaction_read_only') as ro,
          (select count(*)::int from pg_settings where source = 'session') as session_settings,
          (select count(*)::int from pg_prepared_statements) as prepared,
          (select count(*)::int from pg_cursors) as cursors,
          (select count(*)::int from pg_listening_channels()) as listening,
          (select count(*)::int from pg_class where relnamespace = pg_my_temp_schema()) as temp_tables,
          (select count(*)::int from pg_locks where pid = pg_backend_pid() and locktype = 'advisory') as advisory_locks`);
      const { id, login, prepared, ...state } = rows[0] as { id: number; login: string; prepared: number } & Record<string, unknown>;
      expect(state).toEqual({
        user: login, role: 'none', claims: '', sluice_tenant: '', timeout_default: true, default_ro: 'off', ro: 'off',
        session_settings: 0, cursors: 0, listening: 0, temp_tables: 0, advisory_locks: 0,
      });
      if (preparedStatements === 0) expect(prepared).toBe(0);
      const { rows: kept } = await client.query<{ name: string; statement: string; from_sql: boolean }>('select name, statement, from_sql from pg_prepared_statements');
      expect(kept).toHaveLength(prepared);
      expect(prepared).toBeLessThanOrEqual(preparedStatements);
      for (const k of kept) {
        expect(k.name).toMatch(/^sluice_[0-9a-z]+$/);
        expect(k.from_sql).toBe(false);
        expect(sent.has(k.statement), `prepared statement not sent by any lease: ${k.statement}`).toBe(true);
      }
      mostPrepared = Math.max(mostPrepared, prepared);
      return { id };
    } finally {
      client.release();
    }
  }

  it('leaves nothing on the session, whatever the lease did', { timeout: SUITE_TIMEOUT_MS }, async () => {
    const t = `${schema}.notes`;
    const body = (): string => `n-${randomBytes(6).toString('hex')}`;
    const scenarios: Scenario[] = [
      {
        name: 'read as tenant 1, with its role and claims in force',
        keepsSession: true,
        async run() {
          const r = await driver.execute(req(`select current_user::text, current_setting('request.jwt.claims', true)::json->>'sub'`, { claims: { tenant_id: 1, sub: 'u1' } }));
          expect(r.rows[0]).toEqual([roles[0], 'u1']);
        },
      },
      {
        name: 'read as tenant 2 with the statement tenant 1 ran (prepared by then), its own role and claims in force',
        keepsSession: true,
        async run() {
          const r = await driver.execute(req(`select current_user::text, current_setting('request.jwt.claims', true)::json->>'sub'`, { claims: { tenant_id: 2, sub: 'u2' } }));
          expect(r.rows[0]).toEqual([roles[1], 'u2']);
        },
      },
      {
        name: 'read as tenant 2 with nested claims',
        keepsSession: true,
        async run() {
          const r = await driver.execute(req(`select current_user::text, count(*)::int from ${t}`, { claims: { tenant_id: 2, org: { id: 'o2', tags: ['a', "b'c"] } }, method: 'execute' }));
          expect((r.rows[0] as { current_user: string }).current_user).toBe(roles[1]);
        },
      },
      {
        name: 'write as tenant 1',
        keepsSession: true,
        async run() {
          const r = await driver.execute(req(`insert into ${t} (tenant_id, body) values ($1, $2)`, { params: [1, body()], readOnly: false, method: 'execute' }));
          expect(r.rowCount).toBe(1);
        },
      },
      {
        name: 'write as tenant 2, refused by the database (permission)',
        keepsSession: true,
        run: () => fails(driver.execute(req(`insert into ${t} (tenant_id, body) values ($1, $2)`, { params: [2, body()], claims: { tenant_id: 2 }, readOnly: false, method: 'execute' })), 'DATABASE_PERMISSION_DENIED'),
      },
      {
        name: 'a tenant whose role does not exist',
        keepsSession: true,
        run: () => fails(driver.execute(req(`select 1`, { claims: { tenant_id: 3 } }))),
      },
      ...batchScenarios(driver, `insert into ${t} (tenant_id, body) values ($1, $2)`, `select body from ${t} where body = $1`, body),
      {
        name: 'a read-only batch',
        keepsSession: true,
        async run() {
          const r = await driver.executeBatch(batch([{ sql: `select count(*)::int from ${t}`, params: [], method: 'all' }, { sql: 'select 2', params: [], method: 'all' }], { readOnly: true, claims: { tenant_id: 2 } }));
          expect(r.results[1]!.rows).toEqual([[2]]);
        },
      },
      {
        name: 'a transaction-local custom setting set by the statement',
        keepsSession: true,
        async run() {
          const r = await driver.execute(req(`select set_config('sluice.tenant', $1, true)`, { params: ['leak?'] }));
          expect(r.rows).toEqual([['leak?']]);
        },
      },
      { name: 'a data error', keepsSession: true, run: () => fails(driver.execute(req('select 1/0')), 'INVALID_INPUT') },
      ...failingScenarios(driver, t, (seconds) => `select pg_sleep(${seconds})`),
      {
        name: 'a truncated read',
        keepsSession: true,
        async run() {
          const r = await driver.execute(req('select g from generate_series(1, 5) g', { maxRows: 2 }));
          expect(r.truncated).toBe(true);
        },
      },
    ];
    const leases = await exercise(scenarios, inspect);
    expect(leases).toBe(scenarios.length * ROUNDS);
    // The default did keep statements between leases: what was inspected above is the real case.
    if (preparedStatements > 0) expect(mostPrepared).toBeGreaterThan(2);
  });
});

describeIfMysql('session sanitization: mysql2 (MariaDB)', () => {
  const tag = randomBytes(4).toString('hex');
  const table = `notes_${tag}`;
  const lockName = `sluice_san_${tag}`;
  let admin: mysql.Connection;
  let pool: mysql.Pool;
  let driver: Driver;
  let globals: { sql_mode: string; max_statement_time: string; time_zone: string; tx_isolation: string; role: string | null };
  /** A session no lease has touched: mysql2's CLIENT_IGNORE_SPACE flag adds IGNORE_SPACE until the first reset. */
  let freshSqlMode: string;

  beforeAll(async () => {
    admin = await mysql.createConnection({ uri: MYSQL_URL });
    await admin.query(`create table ${table} (id int auto_increment primary key, tenant_id int not null, body varchar(20) not null unique)`);
    const [[g]] = (await admin.query(
      'select @@global.sql_mode as sql_mode, @@global.max_statement_time as max_statement_time, @@global.time_zone as time_zone, @@global.tx_isolation as tx_isolation, current_role() as role',
    )) as unknown as [[typeof globals]];
    globals = g;
    const database = new URL(MYSQL_URL).pathname.slice(1);
    const conn: MysqlConnectionConfig = { dialect: 'mysql', url: MYSQL_URL, max: 1, schema: database, idleTimeoutMs: 0, connectionTimeoutMs: 5000, tenantClaim: 'tenant_id' };
    const probe = createMysqlPool(conn, 1, log);
    freshSqlMode = String(((await probe.query('select @@session.sql_mode as m')) as unknown as [[{ m: string }]])[0][0].m);
    await probe.end();
    pool = createMysqlPool(conn, 1, log);
    driver = createMysqlDriver(conn, log, { pool });
  });

  afterAll(async () => {
    await driver?.close();
    await admin?.query(`drop table if exists ${table}`);
    await admin?.end();
  });

  async function errorCodeOf(c: mysql.PoolConnection, sql: string): Promise<string> {
    try {
      await c.query(sql);
      return 'ok';
    } catch (e) {
      return String((e as { code?: string }).code);
    }
  }

  /** The pool's one session, leased without the driver (so without a reset in between). */
  async function inspect(): Promise<{ id: number }> {
    const c = await pool.getConnection();
    try {
      const [[s]] = (await c.query(`select connection_id() as id,
          (select count(*) from information_schema.user_variables) as user_variables,
          @sluice_tenant_id as tenant, @sluice_claims as claims,
          @@session.tx_read_only as ro, @@in_transaction as in_tx, @@session.autocommit as autocommit,
          @@session.sql_mode as sql_mode, @@session.max_statement_time as max_statement_time,
          @@session.time_zone as time_zone, @@session.tx_isolation as tx_isolation, current_role() as role,
          is_used_lock(?) as user_lock`, [lockName])) as unknown as [[Record<string, unknown>]];
      const { id, ...state } = s;
      // BIGINT comes back as a string from the driver's pool (bigNumberStrings).
      for (const k of ['user_variables', 'ro', 'in_tx', 'autocommit']) state[k] = Number(state[k]);
      // The server default after a reset, or what a fresh connection starts with — never a lease's.
      expect([globals.sql_mode, freshSqlMode]).toContain(state.sql_mode);
      expect(state).toEqual({
        user_variables: 0, tenant: null, claims: null, ro: 0, in_tx: 0, autocommit: 1,
        sql_mode: state.sql_mode, max_statement_time: globals.max_statement_time, time_zone: globals.time_zone, tx_isolation: globals.tx_isolation,
        role: globals.role, user_lock: null,
      });
      // Session counters restart at each COM_RESET_CONNECTION: whatever a lease prepared or created
      // after the last reset would still be counted here.
      const [status] = (await c.query(
        `select variable_name as k, variable_value as v from information_schema.session_status where variable_name in
          ('COM_STMT_PREPARE', 'COM_PREPARE_SQL', 'COM_STMT_CLOSE', 'COM_DEALLOC_SQL', 'COM_CREATE_TEMPORARY_TABLE', 'COM_DROP_TEMPORARY_TABLE')`,
      )) as unknown as [{ k: string; v: string }[]];
      const n = (k: string): number => Number(status.find((r) => r.k.toUpperCase() === k)?.v ?? Number.NaN);
      expect(n('COM_STMT_PREPARE') + n('COM_PREPARE_SQL') - n('COM_STMT_CLOSE') - n('COM_DEALLOC_SQL'), 'open prepared statements').toBe(0);
      expect(n('COM_CREATE_TEMPORARY_TABLE') - n('COM_DROP_TEMPORARY_TABLE'), 'temporary tables').toBe(0);
      // And the very objects the dirtying leases create are gone.
      expect(await errorCodeOf(c, `select 1 from tmp_${tag}`)).toBe('ER_NO_SUCH_TABLE');
      expect(await errorCodeOf(c, `execute stmt_${tag}`)).toBe('ER_UNKNOWN_STMT_HANDLER');
      return { id: Number(id) };
    } finally {
      c.release();
    }
  }

  it('leaves nothing on the session, whatever the lease did', { timeout: SUITE_TIMEOUT_MS }, async () => {
    const body = (): string => `n-${randomBytes(6).toString('hex')}`;
    const insert = `insert into ${table} (tenant_id, body) values (?, ?)`;
    const scenarios: Scenario[] = [
      {
        name: 'read as tenant 1, with its context in force',
        keepsSession: true,
        async run() {
          const r = await driver.execute(req('select @sluice_tenant_id, @@session.tx_read_only', { claims: { tenant_id: 1, sub: 'u1' } }));
          expect((r.rows[0] as unknown[]).map(String)).toEqual(['1', '1']);
        },
      },
      {
        name: 'read as tenant 2 with nested claims',
        keepsSession: true,
        async run() {
          const r = await driver.execute(req(`select json_value(@sluice_claims, '$.org.id'), count(*) from ${table}`, { claims: { tenant_id: 2, org: { id: "o'2" } } }));
          expect((r.rows[0] as unknown[])[0]).toBe("o'2");
        },
      },
      {
        name: 'write',
        keepsSession: true,
        async run() {
          const r = await driver.execute(req(insert, { params: [1, body()], readOnly: false, method: 'execute' }));
          expect(r.rowCount).toBe(1);
        },
      },
      ...batchScenarios(driver, insert, `select body from ${table} where body = ?`, body),
      {
        name: 'a read-only batch',
        keepsSession: true,
        async run() {
          const r = await driver.executeBatch(batch([{ sql: `select count(*) from ${table}`, params: [], method: 'all' }, { sql: 'select 2', params: [], method: 'all' }], { readOnly: true }));
          expect(r.results[1]!.rows).toEqual([[2]]);
        },
      },
      { name: 'a data error', keepsSession: true, run: () => fails(driver.execute(req(insert, { params: [1, 'x'.repeat(40)], readOnly: false, method: 'execute' })), 'INVALID_INPUT') },
      ...failingScenarios(driver, table, (seconds) => `select sleep(${seconds})`),
      // What the validator never lets through, run straight through the driver: the reset must clear it.
      {
        name: 'user variables and SET SESSION',
        keepsSession: true,
        async run() {
          await driver.execute(req("set @sluice_tenant_id = 99, @leak = 'x', session sql_mode = 'ANSI_QUOTES', session time_zone = '+05:00', session tx_isolation = 'SERIALIZABLE'", { readOnly: false, method: 'execute' }));
        },
      },
      {
        name: 'a temporary table, a prepared statement and a user lock',
        keepsSession: true,
        async run() {
          await driver.executeBatch(batch([
            { sql: `create temporary table tmp_${tag} (a int)`, params: [], method: 'execute' },
            { sql: `prepare stmt_${tag} from 'select 1'`, params: [], method: 'execute' },
            { sql: `select get_lock('${lockName}', 0)`, params: [], method: 'all' },
          ]));
        },
      },
      {
        name: 'a transaction left open and autocommit off',
        keepsSession: true,
        async run() {
          // A read-only batch gets no COMMIT (the reset ends its transaction): left open, autocommit off.
          await driver.executeBatch(batch([{ sql: 'set autocommit = 0', params: [], method: 'execute' }, { sql: `select count(*) from ${table}`, params: [], method: 'all' }], { readOnly: true }));
        },
      },
    ];
    const leases = await exercise(scenarios, inspect);
    expect(leases).toBe(scenarios.length * ROUNDS);
  });
});
