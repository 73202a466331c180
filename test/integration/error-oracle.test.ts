/**
 * Error oracles past the fence (issue 11, finding 6): an error raised while the fast form evaluates
 * the caller's expression on another tenant's row (before the row filter removed it) must not
 * reach the caller. Whatever the class of the error, tenant 1's answer must be identical whether or
 * not tenant 2 has a matching row: here tenant 2 has (or has not) a customer 'T2SECRET-bob1', and
 * tenant 1 asks "is there a row like 'T2SECRET-bob1%' on which <error-raising expression> fails?".
 *
 * Found: Postgres answered 400 sqlstate 54000 (program_limit_exceeded, array_fill) when the row
 * existed and 200 {"n":0} when not, because only INVALID_INPUT (classes 22, 21) went to the fenced
 * re-run; errors raised by functions and triggers (2F/38/39/P0) became a 500 without it. Now each
 * driver's error mapping marks every error that can depend on the rows evaluated (fail closed:
 * only classes known to be row-independent are not), and run-job re-runs those fenced.
 */
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/engine.js';
import { startSqliteEngine, type SqliteEngine } from '../helpers/dialect-engine.js';
import { createMysqlFixture, type MysqlFixture } from '../helpers/mysql-fixture.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { describeIfMysql, describeIfPg } from '../helpers/services.js';
import { post } from '../helpers/sluice-harness.js';
import { memberPermissions, testConfig } from '../helpers/test-config.js';
import { makeTokens, TEST_JWT_SECRET, type TestTokens } from '../helpers/tokens.js';

interface Answer {
  status: number;
  rows?: unknown;
  rowCount?: unknown;
  code?: unknown;
  sqlstate?: unknown;
}

async function answer(url: string, token: string, sql: string, method = 'all'): Promise<Answer> {
  const res = await post(url, token, { sql, params: [], method });
  if (res.status >= 500) throw new Error(`a 5xx is a bug: ${res.status} ${res.text}`);
  if (res.status === 200) return { status: 200, rows: res.body.rows, rowCount: res.body.rowCount };
  return { status: res.status, code: res.body?.error?.code, sqlstate: res.body?.error?.sqlstate };
}

async function listen(config: Record<string, unknown>): Promise<{ engine: Engine; url: string }> {
  const engine = createEngine(config, { logger: false });
  const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
  return { engine, url };
}

/** Tenant 1's answer with tenant 2's secret row absent and present: they must be the same. */
async function bothWays(secret: { add(): Promise<void>; remove(): Promise<void> }, ask: () => Promise<Answer>): Promise<Answer> {
  await secret.remove();
  const without = await ask();
  await secret.add();
  try {
    const withRow = await ask();
    expect(withRow, 'the answer must not depend on whether tenant 2 has the row').toEqual(without);
    return withRow;
  } finally {
    await secret.remove();
  }
}

describeIfPg('error oracles past the fence: Postgres', () => {
  let fx: PgFixture;
  let gw: { engine: Engine; url: string };
  let tokens: TestTokens;
  let secret: { add(): Promise<void>; remove(): Promise<void> };
  let fn: (name: string) => string = (name) => name;
  const t1 = (sql: string): (() => Promise<Answer>) => () => answer(gw.url, tokens.tenant1, sql.replace(/\b(raise(?:_42p01|_23505)?)\(/g, (_m, f: string) => `${fn(f)}(`));
  const count = (predicate: string): string => `select count(*)::int as n from customers c where c.name like 'T2SECRET-bob1%' and ${predicate}`;

  beforeAll(async () => {
    fx = await createPgFixture();
    const s = fx.schema;
    // Functions may not be schema-qualified (only pg_catalog), and the rewriter qualifies tables, not
    // functions: they live in public under names of this suite's own. `cost 1`: as cheap as the
    // tenant filter, so the planner may keep the client's predicate first.
    await fx.admin.query(`
      create function public.${s}_raise(i int) returns boolean language plpgsql cost 1 as $$
        begin if i > 0 then raise exception 'boom'; end if; return true; end $$;
      create function public.${s}_raise_42p01(i int) returns boolean language plpgsql cost 1 as $$
        begin if i > 0 then raise exception using errcode = '42P01', message = 'relation "x" does not exist'; end if; return true; end $$;
      create function public.${s}_raise_23505(i int) returns boolean language plpgsql cost 1 as $$
        begin if i > 0 then raise exception using errcode = '23505'; end if; return true; end $$`);
    fn = (name) => `${s}_${name}`;
    gw = await listen({ ...testConfig(s, { workers: { threads: 1 }, connection: { max: 1 } }), sql: { allowFunctions: [fn('raise'), fn('raise_42p01'), fn('raise_23505')] } });
    tokens = await makeTokens();
    secret = {
      add: async () => void (await fx.admin.query(`insert into ${s}.customers (id, tenant_id, name, email) values (50, 2, 'T2SECRET-bob1', '%2147483647s'), (51, 2, 'T2SECRET-bob1b', '[2147483647:2147483647]={1}')`)),
      remove: async () => void (await fx.admin.query(`delete from ${s}.customers where id in (50, 51)`)),
    };
  }, 60_000);

  afterAll(async () => {
    await gw?.engine.close();
    if (fx) for (const f of ['raise', 'raise_42p01', 'raise_23505']) await fx.admin.query(`drop function if exists public.${fn(f)}(int)`);
    await fx?.drop();
  }, 30_000);

  it('class 54 (program limit): the finding\'s array_fill query and a cast that exceeds an array bound', async () => {
    // array_fill is refused as a value amplifier by now; whatever the answer, it must not vary.
    await bothWays(secret, t1(count('array_fill(1, array[c.id], array[2147483647]) is not null')));
    // (format(c.email, '') would tie with the tenant filter and raise 54000 on tenant 2's row
    // '%2147483647s'; the validator refuses a format string that is not a literal.)
    await bothWays(secret, t1(count("format(c.email, '') is not null")));
    for (const pred of [`('[2147483647:2147483647]={' || c.id || '}')::int[] is not null`, 'c.email::int[] is not null']) {
      expect(await bothWays(secret, t1(count(pred))), pred).toEqual({ status: 200, rows: [[0]], rowCount: 1 });
    }
  });

  it('class 22 (data exception) and 21 (cardinality) stay fenced', async () => {
    expect(await bothWays(secret, t1(count('1 / (c.id - c.id) = 1')))).toEqual({ status: 200, rows: [[0]], rowCount: 1 });
    expect(await bothWays(secret, t1(count('(select x from (values (1), (2)) v(x) where c.id > 0) = 1')))).toEqual({ status: 200, rows: [[0]], rowCount: 1 });
  });

  it('class P0 (PL/pgSQL RAISE): fenced, and a 4xx ROUTINE_ERROR on the tenant\'s own rows', async () => {
    expect(await bothWays(secret, t1(count('raise(c.id)')))).toEqual({ status: 200, rows: [[0]], rowCount: 1 });
    // On a row the tenant may see, the function's error is the answer: a 400, never a 500.
    expect(await t1("select id from customers c where c.name = 'T1 Alice' and raise(1)")()).toEqual({ status: 400, code: 'ROUTINE_ERROR', sqlstate: 'P0001' });
  });

  it('an error raised inside a function counts whatever its SQLSTATE (42P01, 23505)', async () => {
    expect(await bothWays(secret, t1(count('raise_42p01(c.id)')))).toEqual({ status: 200, rows: [[0]], rowCount: 1 });
    expect(await bothWays(secret, t1(count('raise_23505(c.id)')))).toEqual({ status: 200, rows: [[0]], rowCount: 1 });
  });

  it('UPDATE … WHERE and DELETE … WHERE: the same answer with or without the row, and tenant 2\'s row untouched', async () => {
    for (const pred of [`('[2147483647:2147483647]={' || c.id || '}')::int[] is not null`, 'raise(c.id)', '1 / (c.id - c.id) = 1']) {
      const upd = await bothWays(secret, t1(`update customers c set name = c.name where c.name like 'T2SECRET-bob1%' and ${pred}`));
      expect(upd, pred).toEqual({ status: 200, rows: [], rowCount: 0 });
      const del = await bothWays(secret, t1(`delete from customers c where c.name like 'T2SECRET-bob1%' and ${pred}`));
      expect(del, pred).toEqual({ status: 200, rows: [], rowCount: 0 });
    }
  });

  it('in a batch (which runs the fenced form directly)', async () => {
    const ask = async (): Promise<Answer> => {
      const res = await post(gw.url, tokens.tenant1, { batch: [{ sql: count(`${fn('raise')}(c.id)`), method: 'all' }, { sql: count(`('[2147483647:2147483647]={' || c.id || '}')::int[] is not null`), method: 'all' }] });
      if (res.status >= 500) throw new Error(res.text);
      return { status: res.status, rows: (res.body.results as Array<{ rows: unknown }> | undefined)?.map((r) => r.rows) };
    };
    expect(await bothWays(secret, ask)).toEqual({ status: 200, rows: [[[0]], [[0]]] });
  });

  it('in an async job (/jobs runs the same worker path)', async () => {
    const ask = async (): Promise<Answer> => {
      const sub = await fetch(`${gw.url}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.tenant1}` },
        body: JSON.stringify({ sql: count(`${fn('raise')}(c.id)`), params: [], method: 'all' }),
      });
      const { id } = (await sub.json()) as { id: string };
      for (let i = 0; i < 200; i++) {
        const res = await fetch(`${gw.url}/jobs/${id}/result`, { headers: { authorization: `Bearer ${tokens.tenant1}` } });
        const body = (await res.json()) as { rows?: unknown; error?: { code: string } };
        if (body.error?.code !== 'JOB_NOT_FINISHED') return { status: res.status, rows: body.rows, code: body.error?.code };
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('the job did not finish');
    };
    expect(await bothWays(secret, ask)).toMatchObject({ rows: [[0]] });
  });
});

describeIfMysql('error oracles past the fence: MariaDB/MySQL', () => {
  let fx: MysqlFixture;
  let gw: { engine: Engine; url: string };
  let tokens: TestTokens;
  let secret: { add(): Promise<void>; remove(): Promise<void> };
  const t1 = (sql: string, method = 'all'): (() => Promise<Answer>) => () => answer(gw.url, tokens.tenant1, sql, method);
  const count = (predicate: string): string => `select count(*) as n from customers c where c.name like 'T2SECRET-bob1%' and ${predicate}`;

  beforeAll(async () => {
    fx = await createMysqlFixture();
    const db = await mysql.createConnection({ uri: fx.url, multipleStatements: true });
    try {
      await db.query(`CREATE FUNCTION raise_if(b BOOLEAN) RETURNS INT DETERMINISTIC BEGIN IF b THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'; END IF; RETURN 1; END`);
      await db.query(`CREATE FUNCTION raise_dup_if(b BOOLEAN) RETURNS INT DETERMINISTIC BEGIN IF b THEN SIGNAL SQLSTATE '45000' SET MYSQL_ERRNO = 1062, MESSAGE_TEXT = 'dup'; END IF; RETURN 1; END`);
    } finally {
      await db.end();
    }
    gw = await listen({
      server: { host: '127.0.0.1', port: 0 },
      auth: { jwt: { secret: TEST_JWT_SECRET, algorithms: ['HS256'] } },
      connections: { main: { url: fx.url, max: 1 } },
      limits: { rateLimitPerUser: 0, rateLimitPerIP: 0 },
      workers: { threads: 1 },
      logging: { level: 'silent' },
      sql: { allowFunctions: ['raise_if', 'raise_dup_if'] },
      permissions: memberPermissions(),
    });
    tokens = await makeTokens();
    secret = {
      add: async () => void (await fx.admin.query(`INSERT INTO ${fx.database}.customers (id, tenant_id, name, email) VALUES (50, 2, 'T2SECRET-bob1', 'secret@t2.example')`)),
      remove: async () => void (await fx.admin.query(`DELETE FROM ${fx.database}.customers WHERE id = 50`)),
    };
  }, 60_000);

  afterAll(async () => {
    await gw?.engine.close();
    await fx?.drop();
  }, 30_000);

  it('out of range (1690) and SIGNAL (1644, sqlstate 45000) on another tenant\'s row', async () => {
    expect(await bothWays(secret, t1(count('exp(c.id * 1000) > 0')))).toEqual({ status: 200, rows: [[0]], rowCount: 1 });
    expect(await bothWays(secret, t1(count('raise_if(c.id > 0) = 1')))).toEqual({ status: 200, rows: [[0]], rowCount: 1 });
    // A SIGNAL that borrows a row-independent errno, with its own SQLSTATE class 45.
    expect(await bothWays(secret, t1(count('raise_dup_if(c.id > 0) = 1')))).toEqual({ status: 200, rows: [[0]], rowCount: 1 });
  });

  it('SIGNAL on the tenant\'s own row is a 4xx ROUTINE_ERROR, never a 500', async () => {
    expect(await answer(gw.url, tokens.tenant1, "select id from customers c where c.name = 'T1 Alice' and raise_if(true) = 1")).toEqual({ status: 400, code: 'ROUTINE_ERROR', sqlstate: '45000' });
  });

  it('UPDATE … WHERE and DELETE … WHERE', async () => {
    for (const pred of ['exp(c.id * 1000) > 0', 'raise_if(c.id > 0) = 1']) {
      const p = pred.replaceAll('c.', '');
      const upd = await bothWays(secret, t1(`update customers set name = name where name like 'T2SECRET-bob1%' and ${p}`, 'execute'));
      expect(upd, pred).toEqual({ status: 200, rows: [{ insertId: 0, affectedRows: 0, changedRows: 0 }], rowCount: 0 });
      const del = await bothWays(secret, t1(`delete from customers where name like 'T2SECRET-bob1%' and ${p}`, 'execute'));
      expect(del, pred).toEqual({ status: 200, rows: [{ insertId: 0, affectedRows: 0, changedRows: 0 }], rowCount: 0 });
    }
  });
});

describe('error oracles past the fence: SQLite', () => {
  let gw: SqliteEngine;
  let secret: { add(): Promise<void>; remove(): Promise<void> };
  const t1 = (sql: string, method = 'all'): (() => Promise<Answer>) => () => answer(gw.url, gw.tokens.tenant1, sql, method);
  const count = (predicate: string): string => `select count(*) as n from customers c where c.name like 'T2SECRET-bob1%' and ${predicate}`;

  beforeAll(async () => {
    gw = await startSqliteEngine(`
      CREATE TABLE customers (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL, name TEXT NOT NULL, email TEXT, secret_note TEXT);
      INSERT INTO customers (id, tenant_id, name, email) VALUES (1, 1, 'T1 Alice', '{"a":1}'), (2, 2, 'T2 Bob', 'bob@t2.example');`);
    const direct = (sql: string): Promise<void> => {
      const db = new Database(gw.file);
      try {
        db.pragma('busy_timeout = 5000');
        db.exec(sql);
      } finally {
        db.close();
      }
      return Promise.resolve();
    };
    secret = {
      add: () => direct("INSERT INTO customers (id, tenant_id, name, email) VALUES (50, 2, 'T2SECRET-bob1', 'not json')"),
      remove: () => direct('DELETE FROM customers WHERE id = 50'),
    };
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
  }, 30_000);

  it('integer overflow, malformed JSON and an error of a JSON function (all raised while stepping)', async () => {
    for (const pred of ['abs(-2147483648 * 2147483648 * 2 * (c.id / c.id)) > 0', 'json(c.email) is not null', 'json_object(c.id) is not null', "json_extract('{}', c.name) is null"]) {
      expect(await bothWays(secret, t1(count(pred))), pred).toEqual({ status: 200, rows: [[0]], rowCount: 1 });
    }
  });

  it('UPDATE … WHERE and DELETE … WHERE (run)', async () => {
    for (const pred of ['abs(-2147483648 * 2147483648 * 2 * (c.id / c.id)) > 0', 'json_object(c.id) is not null']) {
      const upd = await bothWays(secret, t1(`update customers set name = name where name like 'T2SECRET-bob1%' and ${pred.replaceAll('c.', '')}`, 'run'));
      expect(upd, pred).toEqual({ status: 200, rows: { changes: 0, lastInsertRowid: null }, rowCount: 0 });
      const del = await bothWays(secret, t1(`delete from customers where name like 'T2SECRET-bob1%' and ${pred.replaceAll('c.', '')}`, 'run'));
      expect(del, pred).toEqual({ status: 200, rows: { changes: 0, lastInsertRowid: null }, rowCount: 0 });
    }
  });
});
