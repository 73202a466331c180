import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../../src/errors.js';
import { bindParams } from '../../../src/sql/bind-params.js';
import { createValidator } from '../../../src/sql/create-validator.js';
import type { CheckedStatement } from '../../../src/sql/validator.js';
import { dialectConfig, fixtureSql, loadDialectAttacks, rowLeaks, TENANT1, UNTOUCHABLE_SQL } from '../../fixtures/drizzle-dialect-config.js';
import { drizzleSqliteCorpus } from '../../fixtures/drizzle-sqlite-corpus.js';

const validator = createValidator(dialectConfig('sqlite'), 'main');
const check = (sql: string, role = 'member'): CheckedStatement => validator.check({ sql, role });

function refusal(sql: string, role = 'member'): string {
  try {
    check(sql, role);
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
      'UPDATE "main"."customers" SET "name" = ? WHERE (("id" = ?) AND ("customers"."tenant_id" = ?)) RETURNING "customers"."id", "customers"."tenant_id", "customers"."name", "customers"."email"',
    );
    expect(check('delete from orders').sql).toBe('DELETE FROM "main"."orders" WHERE ("orders"."tenant_id" = ?)');
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
    for (const c of ['multi-statement', 'statement', 'catalog', 'function', 'literal', 'cross-tenant', 'write']) expect(categories).toContain(c);
  });

  for (const entry of corpus) {
    it(`${entry.category}: ${entry.name}`, () => {
      if (entry.expect === 'refused') {
        const code = refusal(entry.sql);
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
  // node-sql-parser's SQLite grammar has no upsert: these are refused (see docs/security.md).
  const unsupported = new Set(['insert on conflict do update', 'insert on conflict do nothing']);

  it('parses, checks and round-trips every statement but the upserts', () => {
    const refused = corpus.filter((s) => {
      try {
        check(s.sql);
        return false;
      } catch (e) {
        expect((e as SluiceError).code).toBe('SQL_PARSE_ERROR');
        return true;
      }
    });
    expect(refused.map((s) => s.name).sort()).toEqual([...unsupported].sort());
    expect(corpus.length - refused.length).toBeGreaterThanOrEqual(30);
  });

  for (const s of corpus.filter((x) => !unsupported.has(x.name))) {
    it(`runs: ${s.name} (${s.method})`, () => {
      const db = freshDb();
      const before = untouchable(db);
      const checked = check(s.sql);
      const rows = run(db, checked, s.params);
      expect(rowLeaks(rows)).toEqual([]);
      if (s.name === 'select all') expect(rows).toHaveLength(3);
      if (s.name === 'rq with many') expect(rows.map((r) => JSON.parse(r.orders as string).length)).toEqual([2, 0, 0]);
      expect(untouchable(db)).toBe(before);
      db.close();
    });
  }
});
