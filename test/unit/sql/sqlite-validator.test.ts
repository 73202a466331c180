import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../../src/errors.js';
import { bindParams } from '../../../src/sql/bind-params.js';
import { createValidator } from '../../../src/sql/create-validator.js';
import type { CheckedStatement } from '../../../src/sql/validator.js';
import { questionMarkPresetSuite } from './preset-with-check.js';
import { dialectConfig, fixtureSql, loadDialectAttacks, rowLeaks, TENANT1, UNTOUCHABLE_SQL } from '../../fixtures/drizzle-dialect-config.js';
import { drizzleSqliteCorpus } from '../../fixtures/drizzle-sqlite-corpus.js';
import { SQLITE_CST } from '../../helpers/sqlite-parser.js';

const validator = createValidator(dialectConfig('sqlite'), 'main');
const check = (sql: string, role = 'member'): CheckedStatement => validator.check({ sql, role });

/** Refused when checked, or (a preset value that is not the caller's) when bound as tenant 1. */
function refusal(sql: string, role = 'member', params: unknown[] = []): string {
  try {
    bindParams(check(sql, role), params, TENANT1);
  } catch (e) {
    expect(e).toBeInstanceOf(SluiceError);
    return (e as SluiceError).code;
  }
  throw new Error(`expected a refusal for: ${sql}`);
}

function freshDb(): Database.Database {
  const db = new Database(':memory:');
  for (const s of fixtureSql('sqlite')) db.exec(s);
  return db;
}

/** Run a checked statement as tenant 1; rows as objects. */
function run(db: Database.Database, checked: CheckedStatement, params: unknown[] = []): Record<string, unknown>[] {
  const stmt = db.prepare(checked.sql);
  const bound = bindParams(checked, params, TENANT1);
  if (stmt.reader) return stmt.all(...bound) as Record<string, unknown>[];
  stmt.run(...bound);
  return [];
}

const untouchable = (db: Database.Database): string => JSON.stringify(UNTOUCHABLE_SQL.map((s) => db.prepare(s).all()));

describe('sqlite validator: rewrites', () => {
  it('turns each table into a filtered view of its permitted columns, quoted with double quotes', () => {
    const c = check('select * from customers c where c.id = ?');
    expect(c.sql).toBe(
      'SELECT * FROM (SELECT "sluice_t"."id", "sluice_t"."tenant_id", "sluice_t"."name", "sluice_t"."email" FROM "main"."customers" AS "sluice_t" WHERE ("sluice_t"."tenant_id" = ?)) AS "c" WHERE ("c"."id" = ?) LIMIT 101',
    );
    expect(c.paramOrder).toEqual([{ kind: 'gateway', index: 0 }, { kind: 'client', index: 0 }]);
    expect(bindParams(c, [5], TENANT1)).toEqual([1, 5]);
    expect(c.readOnly).toBe(true);
    expect(c.tables).toEqual(['main.customers']);
  });

  it('caps rows: literal limits are lowered, a LIMIT ? is clamped at bind time', () => {
    expect(check('select id from customers limit 5').sql).toMatch(/LIMIT 5$/);
    expect(check('select id from customers limit 500').sql).toMatch(/LIMIT 101$/);
    const p = check('select id from customers limit ? offset ?');
    expect(p.sql).toMatch(/LIMIT \? OFFSET \?$/);
    expect(bindParams(p, [1_000_000, 3], TENANT1)).toEqual([1, 101, 3]);
    expect(() => bindParams(p, [-1, 0], TENANT1)).toThrowError(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(check('select id from customers union select id from orders').sql).toMatch(/LIMIT 101$/);
  });

  it('writes presets, drops NULLs Drizzle sends for columns the role may not write, and filters writes', () => {
    const ins = check('insert into "customers" ("id", "tenant_id", "name", "email") values (null, null, ?, null) returning "id", "name"');
    expect(ins.sql).toBe('INSERT INTO "main"."customers" ("id", "tenant_id", "name", "email") VALUES (NULL, ?, ?, NULL) RETURNING "id", "name"');
    expect(bindParams(ins, ['x'], TENANT1)).toEqual([1, 'x']);
    expect(ins.readOnly).toBe(false);
    const upd = check('update customers set name = ? where id = ? returning *');
    expect(upd.sql).toBe(
      'UPDATE "main"."customers" SET "name" = ? WHERE (("customers"."tenant_id" = ?) AND (("customers"."tenant_id" = ?) AND ("id" = ?))) RETURNING "customers"."id", "customers"."tenant_id", "customers"."name", "customers"."email"',
    );
    // The fenced fallback binds the same params: the caller's predicate only on the caller's rows.
    expect(upd.fallbackSql).toBe(
      'UPDATE "main"."customers" SET "name" = ? WHERE (("customers"."tenant_id" = ?) AND CASE WHEN ("customers"."tenant_id" = ?) THEN ("id" = ?) ELSE FALSE END) RETURNING "customers"."id", "customers"."tenant_id", "customers"."name", "customers"."email"',
    );
    expect(bindParams(upd, ['n', 7], TENANT1)).toEqual(['n', 1, 1, 7]);
    expect(check('delete from orders').sql).toBe('DELETE FROM "main"."orders" WHERE ("orders"."tenant_id" = ?)');
  });

  it('rewrites INSERT … SELECT like a read and appends the presets around it', () => {
    const c = check("insert into orders (customer_id, total, status) select id, 1, 'copy' from customers where tenant_id = 2 or 1 = 1");
    expect(c.sql).toMatch(/^INSERT INTO "main"."orders" \("customer_id", "total", "status", "tenant_id"\) SELECT "sluice_s".\*, \? FROM \(SELECT "id" AS "sluice_s_1", 1 AS "sluice_s_2", 'copy' AS "sluice_s_3" FROM \(SELECT .* FROM "main"."customers" AS "sluice_t" WHERE/);
    const db = freshDb();
    const before = untouchable(db);
    run(db, c);
    expect(db.prepare("SELECT tenant_id, customer_id FROM orders WHERE status = 'copy' ORDER BY customer_id").all()).toEqual([
      { tenant_id: 1, customer_id: 1 },
      { tenant_id: 1, customer_id: 3 },
      { tenant_id: 1, customer_id: 5 },
    ]);
    expect(untouchable(db)).toBe(before);
    db.close();
    expect(check('insert into customers (name) select name from customers').fallbackSql).toContain('LIMIT -1 OFFSET 0');
  });

  it('binds a claim array as JSON for `in` filters', () => {
    const c = check('select * from teams');
    expect(c.sql).toContain('("sluice_t"."id" IN (SELECT "value" FROM json_each(?)))');
    expect(bindParams(c, [], TENANT1)).toEqual(['[1,3]']);
  });

  it('refuses what the role may not do', () => {
    expect(refusal('select * from customers', 'nobody')).toBe('ROLE_NOT_ALLOWED');
    expect(refusal('delete from customers', 'reader')).toBe('OPERATION_NOT_ALLOWED');
    expect(refusal('select email from customers', 'reader')).toBe('COLUMN_NOT_ALLOWED');
    expect(refusal('select id from customers where', 'member')).toBe('SQL_PARSE_ERROR');
  });

  it('caches checked statements and refusals', () => {
    const v = createValidator(dialectConfig('sqlite'), 'main');
    v.check({ sql: 'select id from customers', role: 'member' });
    expect(v.lastWasCacheHit()).toBe(false);
    v.check({ sql: 'select id from customers', role: 'member' });
    expect(v.lastWasCacheHit()).toBe(true);
  });
});

describe('sqlite validator: attack corpus', () => {
  const corpus = loadDialectAttacks('sqlite', 'main');

  it('has entries for every blocked category', () => {
    const categories = new Set(corpus.map((e) => e.category));
    for (const c of ['multi-statement', 'statement', 'catalog', 'function', 'literal', 'cross-tenant', 'write', 'upsert']) expect(categories).toContain(c);
  });

  for (const entry of corpus) {
    it(`${entry.category}: ${entry.name}`, () => {
      if (entry.expect === 'refused') {
        const code = refusal(entry.sql, 'member', entry.params ?? []);
        if (entry.code) expect(code).toBe(entry.code);
        return;
      }
      let checked: CheckedStatement;
      try {
        checked = check(entry.sql);
      } catch (e) {
        expect(e).toBeInstanceOf(SluiceError); // a refusal is safe too
        return;
      }
      const db = freshDb();
      const before = untouchable(db);
      let rows: Record<string, unknown>[];
      try {
        rows = run(db, checked, entry.params ?? []);
      } catch (e) {
        // A database error is safe as long as nothing leaked or changed.
        rows = [];
        expect(String(e)).not.toMatch(/t2|secret/i);
      }
      expect(rowLeaks(rows)).toEqual([]);
      if (entry.rows !== undefined) expect(rows).toHaveLength(entry.rows);
      expect(untouchable(db)).toBe(before);
      db.close();
    });
  }
});

describe('sqlite validator: what Drizzle sqlite-proxy sends', async () => {
  const corpus = await drizzleSqliteCorpus();

  it('parses, checks and round-trips every statement, upserts included', () => {
    for (const s of corpus) expect(() => check(s.sql), s.name).not.toThrow();
    expect(corpus.filter((s) => /on conflict/.test(s.sql))).toHaveLength(5);
    expect(corpus.length).toBeGreaterThanOrEqual(35);
  });

  for (const s of corpus) {
    it(`runs: ${s.name} (${s.method})`, () => {
      const db = freshDb();
      const before = untouchable(db);
      const checked = check(s.sql);
      const rows = run(db, checked, s.params);
      expect(rowLeaks(rows)).toEqual([]);
      if (s.name === 'select all') expect(rows).toHaveLength(3);
      if (s.name === 'rq with many') expect(rows.map((r) => JSON.parse(r.orders as string).length)).toEqual([2, 0, 0]);
      if (s.name === 'insert on conflict do update excluded setWhere') expect(rows).toEqual([{ id: 1, name: 'a' }, { id: 7, name: 'n' }]);
      expect(untouchable(db)).toBe(before);
      db.close();
    });
  }
});

describe('sqlite validator: fenced fallback (no error oracle on other tenants\' rows)', () => {
  // Raises "malformed JSON" on tenant 2's rows only.
  const boom = (t: string): string => `json_extract(iif(${t}tenant_id = 2, 'x', '1'), '$') = 1`;
  const cases: [string, number][] = [
    [`select id from customers where ${boom('')}`, 3],
    [`select c.id from customers c join orders o on o.customer_id = c.id and ${boom('o.')}`, 2],
    [`select id from customers c where exists (select 1 from orders o where o.customer_id = c.id and ${boom('o.')})`, 1],
    [`update customers set email = email where ${boom('')}`, 3],
    [`delete from customers where ${boom('')}`, 3],
  ];
  for (const [sql, expected] of cases) {
    it(`evaluates the caller's predicate only on the caller's rows: ${sql.slice(0, 40)}…`, () => {
      const c = check(sql);
      expect(c.fallbackSql).toBeDefined();
      const db = freshDb();
      const before = untouchable(db);
      const stmt = db.prepare(c.fallbackSql!);
      const bound = bindParams(c, [], TENANT1);
      const n = stmt.reader ? stmt.all(...bound).length : stmt.run(...bound).changes;
      expect(n).toBe(expected);
      expect(untouchable(db)).toBe(before);
      db.close();
    });
  }

  it('keeps every view out of the query around it: LIMIT -1 OFFSET 0, never flattened', () => {
    const c = check('select c.id from customers c join orders o on o.customer_id = c.id where c.id = ?');
    expect(c.fallbackSql!.match(/LIMIT -1 OFFSET 0\)/g)).toHaveLength(2);
    const db = freshDb();
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${c.fallbackSql!}`).all(...bindParams(c, [1], TENANT1)) as { detail: string }[]).map((r) => r.detail);
    expect(plan.filter((d) => /^(CO-ROUTINE|MATERIALIZE) [co]$/.test(d))).toHaveLength(2);
    db.close();
  });

  it('has no fallback when nothing is filtered', () => {
    expect(check('select id, name from customers', 'reader').fallbackSql).toBeUndefined();
    expect(check('insert into customers (name) values (?)').fallbackSql).toBeUndefined();
  });
});

describe('sqlite validator: upserts', () => {
  const upsert = (set: string, where = ''): string => `insert into customers (id, name) values (?, 'x') on conflict (id) do update set ${set}${where}`;

  it('prints the clause itself: target unqualified, the row filter guarding the caller predicate', () => {
    const c = check('insert into "customers" ("id", "tenant_id", "name", "email") values (?, null, ?, null) on conflict ("customers"."id") do update set "name" = ? where "customers"."name" <> excluded."name" returning "id"');
    expect(c.sql).toBe(
      'INSERT INTO "main"."customers" ("id", "tenant_id", "name", "email") VALUES (?, ?, ?, NULL) ON CONFLICT ("id") DO UPDATE SET "name" = ? ' +
        'WHERE (("customers"."tenant_id" = ?) AND CASE WHEN ("customers"."tenant_id" = ?) THEN ("customers"."name" <> "excluded"."name") ELSE FALSE END) RETURNING "id"',
    );
    expect(bindParams(c, [1, 'a', 'b'], TENANT1)).toEqual([1, 1, 'a', 'b', 1, 1]);
    expect(check('insert into customers (id, name) values (1, ?) on conflict do nothing').sql).toBe(
      'INSERT INTO "main"."customers" ("id", "name", "tenant_id") VALUES (1, ?, ?) ON CONFLICT DO NOTHING',
    );
  });

  it('updates the caller\'s conflicting row and leaves another tenant\'s row alone', () => {
    const db = freshDb();
    const before = untouchable(db);
    const sql = `${upsert('name = excluded.name')} returning id, name`;
    expect(run(db, check(sql), [1])).toEqual([{ id: 1, name: 'x' }]);
    expect(run(db, check(sql), [2])).toEqual([]);
    expect(untouchable(db)).toBe(before);
    db.close();
  });

  it('never evaluates the caller\'s SET values or WHERE on another tenant\'s row (no error oracle)', () => {
    // json_extract on a name that is not JSON raises "malformed JSON": on the caller's own row only.
    for (const c of [check(upsert("name = json_extract(customers.name, '$')")), check(upsert("name = 'y'", " where json_extract(customers.name, '$') = 1"))]) {
      const db = freshDb();
      const before = untouchable(db);
      expect(() => run(db, c, [2])).not.toThrow();
      expect(() => run(db, c, [1])).toThrow(/malformed JSON/);
      expect(untouchable(db)).toBe(before);
      db.close();
    }
  });

  it('refuses a role that may insert but not update, and DO UPDATE without SET', () => {
    // sql-parser-cst reads the whole statement with SQLite's own grammar, which has no DO UPDATE without SET.
    expect(refusal('insert into customers (id, name) values (1, \'x\') on conflict (id) do update')).toBe(SQLITE_CST ? 'SQL_PARSE_ERROR' : 'CONSTRUCT_NOT_ALLOWED');
    const config = dialectConfig('sqlite');
    delete config.permissions.member!.main!.customers!.update;
    const v = createValidator(config, 'main');
    expect(v.check({ sql: 'insert into customers (id, name) values (1, ?) on conflict do nothing', role: 'member' }).kind).toBe('insert');
    expect(() => v.check({ sql: upsert('name = 1'), role: 'member' })).toThrowError(expect.objectContaining({ code: 'OPERATION_NOT_ALLOWED' }));
  });
});

questionMarkPresetSuite('sqlite', (sql) => check(sql), (sql) => refusal(sql), TENANT1);
