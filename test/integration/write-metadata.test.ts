/**
 * Write metadata describes only the caller's statement (issue 11, finding 1): through the real
 * gateway, two tenants share ONE database connection (one worker thread, one connection), so
 * whatever a connection remembers of tenant 2's statements is there when tenant 1's runs.
 *
 * Found: SQLite `run` answered the connection's lastInsertRowid for every statement — tenant 2
 * inserts row n, tenant 1 updates (or deletes nothing) and reads `lastInsertRowid: n`. MySQL:
 * an INSERT … ON DUPLICATE KEY UPDATE answered the id of the last row it touched, which can be
 * another tenant's row it collided with and (guarded by the tenant IF()) left alone.
 *
 * What stays inherent (docs/security.md, known limits): counts say that a statement met a row with
 * that unique key — as a unique violation does for a plain INSERT.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDialectEngine, startSqliteEngine, type DialectEngine, type SqliteEngine } from '../helpers/dialect-engine.js';
import { createMysqlFixture, type MysqlFixture } from '../helpers/mysql-fixture.js';
import { describeIfMysql, describeIfPg } from '../helpers/services.js';
import { post, startHarness, type Harness } from '../helpers/sluice-harness.js';
import type { TestTokens } from '../helpers/tokens.js';

const SQLITE_FIXTURE = `
CREATE TABLE customers (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL, name TEXT NOT NULL, email TEXT UNIQUE, secret_note TEXT);
INSERT INTO customers (id, tenant_id, name, email) VALUES (1, 1, 'T1 Alice', 'alice@t1.example'), (2, 2, 'T2 Bob', 'bob@t2.example');
`;

describe('write metadata describes only the caller\'s statement: SQLite run, one shared connection', () => {
  let gw: SqliteEngine;
  let url: string;
  let tokens: TestTokens;
  const run = async (token: string, sql: string, params: unknown[] = []): Promise<unknown> => {
    const res = await post(url, token, { sql, params, method: 'run' });
    expect(res.status, res.text).toBe(200);
    return res.body.rows;
  };
  /** Tenant 2 inserts a row on the shared connection; its rowid is what a leak would show. */
  const tenant2Inserts = async (): Promise<number> => {
    const r = (await run(tokens.tenant2, 'insert into customers (name) values (?)', ['T2 new'])) as { lastInsertRowid: number };
    expect(r.lastInsertRowid).toBeGreaterThan(2);
    return r.lastInsertRowid;
  };

  beforeAll(async () => {
    // One worker thread with one connection: every request of both tenants runs on the same session.
    gw = await startSqliteEngine(SQLITE_FIXTURE);
    ({ url, tokens } = gw);
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
  }, 30_000);

  it('an UPDATE, a DELETE of nothing and an UPDATE of another tenant\'s row carry no insert id', async () => {
    await tenant2Inserts();
    expect(await run(tokens.tenant1, "update customers set name = 'T1 Alice' where id = 1")).toEqual({ changes: 1, lastInsertRowid: null });
    await tenant2Inserts();
    expect(await run(tokens.tenant1, 'delete from customers where id = ?', [999])).toEqual({ changes: 0, lastInsertRowid: null });
    const t2 = await tenant2Inserts();
    expect(await run(tokens.tenant1, "update customers set name = 'x' where id = ?", [t2])).toEqual({ changes: 0, lastInsertRowid: null });
  });

  it('an INSERT that inserted nothing carries no insert id: OR IGNORE, ON CONFLICT DO NOTHING, an upsert that updated, INSERT … SELECT of no rows', async () => {
    await tenant2Inserts();
    expect(await run(tokens.tenant1, "insert or ignore into customers (name, email) values ('x', 'bob@t2.example')")).toEqual({ changes: 0, lastInsertRowid: null });
    await tenant2Inserts();
    expect(await run(tokens.tenant1, "insert into customers (name, email) values ('x', 'bob@t2.example') on conflict do nothing")).toEqual({ changes: 0, lastInsertRowid: null });
    await tenant2Inserts();
    // Another tenant's row under the key: the guarded DO UPDATE leaves it alone.
    expect(await run(tokens.tenant1, "insert into customers (name, email) values ('x', 'bob@t2.example') on conflict (email) do update set name = excluded.name")).toEqual({
      changes: 0,
      lastInsertRowid: null,
    });
    await tenant2Inserts();
    // Its own row under the key: updated, not inserted.
    expect(await run(tokens.tenant1, "insert into customers (name, email) values ('T1 Alice', 'alice@t1.example') on conflict (email) do update set name = excluded.name")).toEqual({
      changes: 1,
      lastInsertRowid: null,
    });
    await tenant2Inserts();
    expect(await run(tokens.tenant1, 'insert into customers (name, email) select name, email from customers where id < 0')).toEqual({ changes: 0, lastInsertRowid: null });
  });

  it('an INSERT that inserted carries the id of its own last row (RETURNING too)', async () => {
    await tenant2Inserts();
    const own = (await run(tokens.tenant1, "insert into customers (name, email) values ('T1 a', null), ('T1 b', null)")) as { changes: number; lastInsertRowid: number };
    expect(own.changes).toBe(2);
    const raw = new Database(gw.file, { readonly: true });
    try {
      expect(raw.prepare('select tenant_id, name from customers where id = ?').get(own.lastInsertRowid)).toEqual({ tenant_id: 1, name: 'T1 b' });
    } finally {
      raw.close();
    }
    await tenant2Inserts();
    const returning = (await run(tokens.tenant1, "insert into customers (name) values ('T1 c') returning id")) as { changes: number; lastInsertRowid: number };
    expect(returning.changes).toBe(1);
    const read = await post(url, tokens.tenant1, { sql: 'select name from customers where id = ?', params: [returning.lastInsertRowid], method: 'all' });
    expect(read.body.rows).toEqual([['T1 c']]);
  });

  it('in a batch, each statement reports its own insert (the run result object itself)', async () => {
    await tenant2Inserts();
    const res = await post(url, tokens.tenant1, {
      batch: [
        { sql: "update customers set name = 'T1 Alice' where id = 1", method: 'run' },
        { sql: "insert into customers (name) values ('T1 batch')", method: 'run' },
        { sql: "update customers set name = 'T1 Alice' where id = 1", method: 'run' },
        { sql: "insert or ignore into customers (name, email) values ('x', 'alice@t1.example')", method: 'run' },
      ],
    });
    expect(res.status, res.text).toBe(200);
    const [first, inserted, updated, ignored] = res.body.results as Array<{ changes: number; lastInsertRowid: number | null }>;
    expect(first).toEqual({ changes: 1, lastInsertRowid: null });
    expect(inserted!.changes).toBe(1);
    expect(inserted!.lastInsertRowid).toBeGreaterThan(2);
    expect(updated).toEqual({ changes: 1, lastInsertRowid: null });
    expect(ignored).toEqual({ changes: 0, lastInsertRowid: null });
  });
});

interface MysqlHeader {
  insertId: number | string;
  affectedRows: number;
  changedRows: number;
}

describeIfMysql('write metadata describes only the caller\'s statement: MySQL execute, one shared connection', () => {
  let fx: MysqlFixture;
  let gw: DialectEngine;
  let url: string;
  let tokens: TestTokens;
  const execute = async (token: string, sql: string, params: unknown[] = []): Promise<MysqlHeader> => {
    const res = await post(url, token, { sql, params, method: 'execute' });
    expect(res.status, res.text).toBe(200);
    expect(res.body.rows).toHaveLength(1);
    return res.body.rows[0] as MysqlHeader;
  };
  const tenant2Inserts = async (): Promise<number> => {
    const h = await execute(tokens.tenant2, 'insert into customers (name) values (?)', ['T2 new']);
    expect(Number(h.insertId)).toBeGreaterThan(100);
    return Number(h.insertId);
  };

  beforeAll(async () => {
    fx = await createMysqlFixture();
    gw = await startDialectEngine({ url: fx.url, max: 1 });
    ({ url, tokens } = gw);
  }, 60_000);

  afterAll(async () => {
    await gw?.engine.close();
    await fx?.drop();
  }, 30_000);

  it('an upsert that collides with another tenant\'s row reports no id of that row', async () => {
    await tenant2Inserts();
    // Tenant 1's own row changes first, then the statement meets tenant 2's bob (id 2) and, guarded,
    // leaves it alone. The server's OK packet names the last row touched: 2.
    const h = await execute(tokens.tenant1, "insert into customers (name, email) values ('T1 Alice 2', 'alice@t1.example'), ('x', 'bob@t2.example') on duplicate key update name = values(name)");
    expect(h.insertId).toBe(0);
    expect(h).toEqual({ insertId: 0, affectedRows: 3, changedRows: 0 });
    expect(await fx.count(`select count(*) as n from ${fx.database}.customers where id = 2 and name = 'T2 Bob' and tenant_id = 2`)).toBe(1);
  });

  it('an upsert reports the id it generated, and only that', async () => {
    await tenant2Inserts();
    const h = await execute(tokens.tenant1, "insert into customers (name, email) values ('T1 new upsert', 'new-upsert@t1.example') on duplicate key update name = values(name)");
    expect(h.affectedRows).toBe(1);
    expect(await fx.count(`select count(*) as n from ${fx.database}.customers where id = ? and tenant_id = 1 and email = ?`, [h.insertId, 'new-upsert@t1.example'])).toBe(1);
    // The same again: now an update of its own row, nothing generated: that row's id, as mysql2 reports it.
    await tenant2Inserts();
    const again = await execute(tokens.tenant1, "insert into customers (name, email) values ('T1 new upsert 2', 'new-upsert@t1.example') on duplicate key update name = values(name)");
    expect(again).toEqual({ insertId: h.insertId, affectedRows: 2, changedRows: 0 });
  });

  it('in a batch, an upsert does not report an earlier statement\'s id', async () => {
    const res = await post(url, tokens.tenant1, {
      batch: [
        { sql: "insert into customers (name) values ('T1 batch')", method: 'execute' },
        { sql: "insert into customers (name, email) values ('x', 'bob@t2.example') on duplicate key update name = values(name)", method: 'execute' },
      ],
    });
    expect(res.status, res.text).toBe(200);
    const [inserted, upsert] = (res.body.results as Array<{ rows: MysqlHeader[] }>).map((r) => r.rows[0]!);
    expect(Number(inserted!.insertId)).toBeGreaterThan(100);
    expect(upsert).toEqual({ insertId: 0, affectedRows: 1, changedRows: 0 });
  });

  it('UPDATE, DELETE of nothing, INSERT IGNORE of a duplicate and INSERT … SELECT of no rows report no id', async () => {
    await tenant2Inserts();
    expect(await execute(tokens.tenant1, "update customers set name = 'T1 Carol' where id = 3")).toEqual({ insertId: 0, affectedRows: 1, changedRows: 0 });
    expect(await execute(tokens.tenant1, "update customers set name = 'T1 Carol!' where id = 3")).toEqual({ insertId: 0, affectedRows: 1, changedRows: 1 });
    await tenant2Inserts();
    expect(await execute(tokens.tenant1, 'delete from customers where id = ?', [999])).toEqual({ insertId: 0, affectedRows: 0, changedRows: 0 });
    await tenant2Inserts();
    expect(await execute(tokens.tenant1, "insert ignore into customers (name, email) values ('x', 'bob@t2.example')")).toEqual({ insertId: 0, affectedRows: 0, changedRows: 0 });
    await tenant2Inserts();
    expect(await execute(tokens.tenant1, 'insert into customers (name, email) select name, email from customers where id < 0')).toEqual({ insertId: 0, affectedRows: 0, changedRows: 0 });
  });

  it('the header is insertId, affectedRows and changedRows only: no info text, warnings or server status', async () => {
    const res = await post(url, tokens.tenant1, { sql: "insert ignore into customers (name, email) values ('a', 'bob@t2.example'), ('b', null)", method: 'execute' });
    expect(Object.keys(res.body.rows[0]).sort()).toEqual(['affectedRows', 'changedRows', 'insertId']);
    expect(res.text).not.toMatch(/Duplicates|warning|serverStatus|info/i);
  });
});

describeIfPg('write metadata describes only the caller\'s statement: Postgres, one shared connection', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ connection: { max: 1 }, workers: { threads: 1 } });
  }, 60_000);

  afterAll(async () => {
    await h?.teardown();
  }, 30_000);

  it('counts are the command tag\'s for the caller\'s own rows; nothing else is answered', async () => {
    await h.post(h.tokens.tenant2, { sql: "insert into customers (name) values ('T2 new')", method: 'execute' });
    // Tenant 2's key: the guarded DO UPDATE leaves the row alone and counts nothing.
    const upsert = await h.post(h.tokens.tenant1, { sql: "insert into customers (name, email) values ('x', 'bob@t2.example') on conflict (email) do update set name = excluded.name", method: 'execute' });
    expect(upsert.body).toEqual({ rows: [], rowCount: 0, truncated: false });
    const none = await h.post(h.tokens.tenant1, { sql: "update customers set name = 'x' where id = 2", method: 'execute' });
    expect(none.body).toEqual({ rows: [], rowCount: 0, truncated: false });
    const own = await h.post(h.tokens.tenant1, { sql: "update customers set name = name where tenant_id = 1", method: 'execute' });
    expect(own.body).toEqual({ rows: [], rowCount: 3, truncated: false });
    const { rows } = await h.fixture.admin.query(`select name from ${h.schema}.customers where id = 2`);
    expect(rows).toEqual([{ name: 'T2 Bob' }]);
  });
});
