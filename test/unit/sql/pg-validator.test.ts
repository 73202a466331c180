import { beforeAll, describe, expect, it } from 'vitest';
import { createValidator, loadSqlParsers } from '../../../src/sql/create-validator.js';
import { bindParams } from '../../../src/sql/bind-params.js';
import { validatorConfig } from './fixture-config.js';
import { boundRefusal } from './preset-with-check.js';
import { refusalCode } from './refusal-code.js';

beforeAll(async () => {
  await loadSqlParsers();
});

function check(sql: string, role = 'member', limits = {}, typings?: string[]) {
  return createValidator(validatorConfig(limits), 'main').check({ sql, role, ...(typings && { typings }) });
}

function refusal(sql: string, role = 'member', limits = {}): string {
  return refusalCode(() => check(sql, role, limits), sql);
}

describe('postgres validator: rewrites', () => {
  it('turns every base table into a filtered view of its permitted columns', () => {
    const c = check('select * from customers c join orders o on o.customer_id = c.id');
    expect(c.sql).toContain('FROM app.customers AS sluice_t WHERE sluice_t.tenant_id = $1');
    expect(c.sql).toContain('AS c');
    expect(c.sql).not.toContain('secret_note');
    expect(c.claimParams).toEqual([
      { kind: 'claim', ref: 'tenant_id' },
      { kind: 'claim', ref: 'tenant_id' },
      { kind: 'literal', value: 'deleted' },
    ]);
    expect(c.tables.sort()).toEqual(['app.customers', 'app.orders']);
    expect(c.kind).toBe('select');
    expect(c.readOnly).toBe(true);
  });

  it('numbers gateway params after the client params', () => {
    const c = check('select id from customers where id = $1 and name = $2');
    expect(c.clientParamCount).toBe(2);
    expect(c.sql).toContain('sluice_t.tenant_id = $3');
    expect(bindParams(c, [1, 'x'], { tenant_id: 7 })).toEqual([1, 'x', 7]);
  });

  it('refuses to bind when the token lacks a claim the filter needs', () => {
    const c = check('select id from customers');
    expect(() => bindParams(c, [], {})).toThrowError(expect.objectContaining({ code: 'CLAIM_MISSING' }));
    expect(() => bindParams(c, [], { tenant_id: null })).toThrowError(expect.objectContaining({ code: 'CLAIM_MISSING' }));
    expect(() => bindParams(c, [], { tenant_id: { nested: 1 } })).toThrowError(expect.objectContaining({ code: 'CLAIM_MISSING' }));
    expect(() => bindParams(c, [1], { tenant_id: 1 })).toThrowError(expect.objectContaining({ code: 'PARAM_COUNT_MISMATCH' }));
  });

  it('caps rows on the outermost select', () => {
    expect(check('select id from customers').sql).toMatch(/LIMIT 101$/);
    expect(check('select id from customers limit 5').sql).toMatch(/LIMIT 5$/);
    expect(check('select id from customers limit 500').sql).toMatch(/LIMIT LEAST\(500, 101\)$/);
    expect(check('select id from customers limit $1').sql).toMatch(/LIMIT LEAST\(\$1, 101\)$/);
    expect(check('select id from customers limit all').sql).toMatch(/LIMIT 101$/);
  });

  it('honours Drizzle typings with casts on the placeholders', () => {
    const c = check('select id from customers where name = $1 and email = $2', 'member', {}, ['json', 'none']);
    expect(c.sql).toContain('name = CAST($1 AS pg_catalog.json)');
    expect(c.sql).toContain('email = $2');
    expect(() => check('select id from customers where id = $1', 'member', {}, ['bogus'])).toThrowError(
      expect.objectContaining({ code: 'INVALID_TYPING' }),
    );
  });

  it('replaces DEFAULT in a preset column with the preset and appends missing presets', () => {
    const drizzle = check('insert into "customers" ("id", "tenant_id", "name", "email") values (default, default, $1, $2) returning "id"');
    expect(drizzle.sql).toBe('INSERT INTO app.customers (id, tenant_id, name, email) VALUES (DEFAULT, $3, $1, $2) RETURNING id');
    const plain = check('insert into customers (name) values ($1), ($2)');
    expect(plain.sql).toBe('INSERT INTO app.customers (name, tenant_id) VALUES ($1, $3), ($2, $4)');
  });

  it('adds the row filter to UPDATE, DELETE and ON CONFLICT DO UPDATE', () => {
    expect(check('update customers set name = $1 where id = $2').sql).toBe(
      'UPDATE app.customers SET name = $1 WHERE id = $2 AND customers.tenant_id = $3',
    );
    expect(check('delete from customers as c').sql).toBe('DELETE FROM app.customers AS c WHERE c.tenant_id = $1');
    expect(check('insert into customers (name) values ($1) on conflict (id) do update set name = excluded.name').sql).toContain(
      'DO UPDATE SET name = excluded.name WHERE customers.tenant_id = $3',
    );
  });

  it('builds a fenced fallback that applies row filters before the caller\'s predicates', () => {
    const sel = check('select id from customers where 1 / (id - 42) = 1');
    expect(sel.sql).not.toContain('OFFSET');
    expect(sel.fallbackSql).toContain('WHERE sluice_t.tenant_id = $1 OFFSET 0 ) AS customers');
    const upd = check('update customers set name = $1 where id = $2');
    expect(upd.fallbackSql).toBe(
      'UPDATE app.customers SET name = $1 WHERE customers.tenant_id = $3 AND CASE WHEN customers.tenant_id = $3 THEN id = $2 ELSE false END',
    );
    // ON CONFLICT's WHERE runs on one existing row that may be another tenant's: always guarded.
    const upsert = check('insert into customers (name) values ($1) on conflict (id) do update set name = $2 where customers.name <> $2');
    expect(upsert.sql).toContain('WHERE customers.tenant_id = $4 AND CASE WHEN customers.tenant_id = $4 THEN customers.name <> $2 ELSE false END');
    expect(check('insert into customers (name) values ($1)').fallbackSql).toBeUndefined();
  });

  it('accepts UPDATE/DELETE whose own WHERE is an AND chain (the filter is spliced in flat)', () => {
    expect(check("delete from customers where id = 1 and name = 'a'").sql).toBe("DELETE FROM app.customers WHERE id = 1 AND name = 'a' AND customers.tenant_id = $1");
    expect(check("update customers set name = 'x' where id = 1 and name = 'y'").sql).toContain("WHERE id = 1 AND name = 'y' AND customers.tenant_id = $1");
    const using = check('delete from customers using orders o where o.customer_id = customers.id and o.total > 5 returning customers.id');
    expect(using.sql).toContain('WHERE o.customer_id = customers.id AND o.total > 5 AND customers.tenant_id = $3');
    // An OR must stay grouped under the filter.
    expect(check("delete from customers where id = 1 or name = 'a'").sql).toContain("WHERE (id = 1 OR name = 'a') AND customers.tenant_id = $1");
  });

  it('accepts explicitly grouped ANDs that the deparser prints without parentheses', () => {
    expect(check("select id from customers where id = 1 and (name = 'a' and email = 'b')").kind).toBe('select');
  });

  it('expands RETURNING * to readable columns only', () => {
    expect(check('delete from customers returning *').sql).toBe(
      'DELETE FROM app.customers WHERE customers.tenant_id = $1 RETURNING customers.id, customers.tenant_id, customers.name, customers.email',
    );
  });

  it('keeps a CTE that shadows a table name pointing at the rewritten table', () => {
    const c = check('with customers as (select * from customers) select * from customers');
    expect(c.sql).toContain('WITH customers AS (SELECT * FROM ( SELECT sluice_t.id');
  });

  it('serves repeated statements from the cache', () => {
    const v = createValidator(validatorConfig(), 'main');
    const a = v.check({ sql: 'select id from customers', role: 'member' });
    expect(v.lastWasCacheHit()).toBe(false);
    const b = v.check({ sql: 'select id from customers', role: 'member' });
    expect(v.lastWasCacheHit()).toBe(true);
    expect(b).toBe(a);
  });
});

describe('postgres validator: refusals', () => {
  it.each([
    ['select 1; select 2', 'STATEMENT_NOT_ALLOWED'],
    ['create table x (id int)', 'STATEMENT_NOT_ALLOWED'],
    ['copy customers to stdout', 'STATEMENT_NOT_ALLOWED'],
    ['set role postgres', 'STATEMENT_NOT_ALLOWED'],
    ['begin', 'STATEMENT_NOT_ALLOWED'],
    ['explain select 1', 'STATEMENT_NOT_ALLOWED'],
    ['select * from secrets', 'TABLE_NOT_ALLOWED'],
    ['select * from pg_catalog.pg_authid', 'TABLE_NOT_ALLOWED'],
    ['select * from information_schema.tables', 'TABLE_NOT_ALLOWED'],
    ['select * from public.customers', 'TABLE_NOT_ALLOWED'],
    ['select pg_sleep(10)', 'FUNCTION_NOT_ALLOWED'],
    ['select current_setting($1)', 'FUNCTION_NOT_ALLOWED'],
    ['select pg_catalog.set_config($1, $2, false)', 'FUNCTION_NOT_ALLOWED'],
    ['select current_user', 'FUNCTION_NOT_ALLOWED'],
    ['select "LOWER"(name) from customers', 'FUNCTION_NOT_ALLOWED'],
    ['select public.lower(name) from customers', 'FUNCTION_NOT_ALLOWED'],
    ['select 1 operator(pg_catalog.=) 1', 'FUNCTION_NOT_ALLOWED'],
    ["select 'pg_authid'::regclass", 'TYPE_NOT_ALLOWED'],
    ["select $1::pg_catalog.regproc", 'TYPE_NOT_ALLOWED'],
    ['select * into newtable from customers', 'CONSTRUCT_NOT_ALLOWED'],
    ['select * from customers for update', 'CONSTRUCT_NOT_ALLOWED'],
    ['select * from (with d as (delete from customers returning *) select * from d) s', 'STATEMENT_NOT_ALLOWED'],
    ['insert into customers (secret_note) values ($1)', 'COLUMN_NOT_ALLOWED'],
    ['insert into customers values ($1)', 'CONSTRUCT_NOT_ALLOWED'],
    ['update customers set secret_note = $1', 'COLUMN_NOT_ALLOWED'],
    ['insert into customers (name, tenant_id) values ($1, $2 + 0)', 'PRESET_COLUMN'],
    ['insert into customers (name, tenant_id) values ($1, (select 1))', 'PRESET_COLUMN'],
    ['update customers set tenant_id = tenant_id', 'PRESET_COLUMN'],
    ['update customers set tenant_id = default', 'PRESET_COLUMN'],
    ['insert into customers (name) values ($1) on conflict (id) do update set tenant_id = excluded.id', 'PRESET_COLUMN'],
    ['update customers set name = secret_note', 'COLUMN_NOT_ALLOWED'],
    ['update customers set name = $1 where secret_note = $2', 'COLUMN_NOT_ALLOWED'],
    ['update customers c set name = $1 where exists (select 1 from orders o where o.id = c.secret_note::int)', 'COLUMN_NOT_ALLOWED'],
    ['update customers set name = $1 where exists (select 1 from orders where secret_note is null)', 'COLUMN_NOT_ALLOWED'],
    ['delete from customers where secret_note like $1', 'COLUMN_NOT_ALLOWED'],
    ['delete from customers returning secret_note', 'COLUMN_NOT_ALLOWED'],
    ['delete from customers returning customers', 'COLUMN_NOT_ALLOWED'],
    ['delete from customers returning row_to_json(customers.*)', 'COLUMN_NOT_ALLOWED'],
    ['delete from customers returning (customers).secret_note', 'COLUMN_NOT_ALLOWED'],
    ['update customers set name = $1 returning old.secret_note', 'COLUMN_NOT_ALLOWED'],
    ['delete from customers where ctid = $1', 'COLUMN_NOT_ALLOWED'],
    ['delete from orders', 'OPERATION_NOT_ALLOWED'],
    ['update orders set total = 1', 'OPERATION_NOT_ALLOWED'],
    ['insert into customers (name) values ($1) on conflict (id) do update set name = customers.secret_note', 'COLUMN_NOT_ALLOWED'],
    ['insert into orders (customer_id) values ($1) on conflict (id) do update set total = 1', 'OPERATION_NOT_ALLOWED'],
    ['select * from customers where id in (select id from customers where id in (select id from customers where id in (select id from customers where id in (select id from customers where id in (select 1)))))', 'RELATION_DEPTH_EXCEEDED'],
    ['select 1 from customers where ' + 'not ('.repeat(10) + 'true' + ')'.repeat(10), 'FILTER_NESTING_EXCEEDED'],
    ['select * from customers where ' + '1 + '.repeat(400) + '1 = 2', 'FILTER_NESTING_EXCEEDED'],
    ['select * from tablesample', 'SQL_PARSE_ERROR'],
    ['select * from customers tablesample system (10)', 'CONSTRUCT_NOT_ALLOWED'],
    ['select c.secret_note from customers c', 'COLUMN_NOT_ALLOWED'],
    ['select 1 from orders o where exists (select 1 from customers where customers.secret_note = o.status)', 'COLUMN_NOT_ALLOWED'],
    ['select xmlelement(name a)', 'CONSTRUCT_NOT_ALLOWED'],
    ['select', 'TABLE_NOT_ALLOWED'],
  ])('%s → %s', (sql, code) => {
    if (code === 'TABLE_NOT_ALLOWED' && sql === 'select') {
      // `select` alone is valid Postgres (zero columns, one row): allowed, harmless.
      expect(check(sql).sql).toBe('SELECT LIMIT 101');
      return;
    }
    expect(refusal(sql)).toBe(code);
  });

  it('refuses a role without permissions on the connection', () => {
    expect(refusal('select 1', 'nobody')).toBe('ROLE_NOT_ALLOWED');
  });

  it('refuses DML reads of the target when the role cannot select it at all', () => {
    expect(refusal('delete from customers where id = 1 returning id', 'reader')).toBe('OPERATION_NOT_ALLOWED');
  });

  it('refuses SQL longer than the limit before parsing', () => {
    expect(refusal('select 1 ' + ' '.repeat(200), 'member', { maxSqlLength: 100 })).toBe('SQL_TOO_LONG');
  });
});

describe('postgres validator: presets with WITH CHECK semantics', () => {
  const T1 = { tenant_id: 1 };
  const presetRefusal = (sql: string, params: unknown[], claims: Record<string, unknown> = T1): string => boundRefusal((q) => check(q), sql, params, claims);

  it('accepts a param equal to the preset and binds the preset value itself', () => {
    const c = check('insert into customers (name, tenant_id) values ($1, $2)');
    expect(c.sql).toBe('INSERT INTO app.customers (name, tenant_id) VALUES ($1, $2)');
    expect(c.presetChecks).toEqual([{ sent: { kind: 'client', index: 1 }, preset: { kind: 'claim', ref: 'tenant_id' }, column: 'app.customers.tenant_id' }]);
    expect(bindParams(c, ['x', 1], T1)).toEqual(['x', 1]);
    // '1' is the canonical text of 1: accepted, and the claim's own value is what is bound.
    expect(bindParams(c, ['x', '1'], T1)).toEqual(['x', 1]);
  });

  it.each([[2], ['2'], ['01'], ['1.0'], [' 1'], [true], [null], [[1]], [{ v: 1 }]])('refuses %j for a preset of 1', (value) => {
    expect(presetRefusal('insert into customers (name, tenant_id) values ($1, $2)', ['x', value])).toBe('PRESET_COLUMN');
  });

  it('checks every row of a multi-row insert', () => {
    const sql = 'insert into customers (name, tenant_id) values ($1, $2), ($3, $4)';
    expect(bindParams(check(sql), ['a', 1, 'b', 1], T1)).toEqual(['a', 1, 'b', 1]);
    expect(presetRefusal(sql, ['a', 1, 'b', 2])).toBe('PRESET_COLUMN');
  });

  it('replaces a literal with the preset placeholder and checks it when bound', () => {
    const c = check('insert into customers (name, tenant_id) values ($1, 1)');
    expect(c.sql).toBe('INSERT INTO app.customers (name, tenant_id) VALUES ($1, $2)');
    expect(bindParams(c, ['x'], T1)).toEqual(['x', 1]);
    expect(presetRefusal('insert into customers (name, tenant_id) values ($1, 1)', ['x'], { tenant_id: 2 })).toBe('PRESET_COLUMN');
    expect(presetRefusal("insert into customers (name, tenant_id) values ($1, '2'::int)", ['x'])).toBe('PRESET_COLUMN');
  });

  it('compares bigint-sized ids as exact text', () => {
    const c = check('insert into customers (name, tenant_id) values ($1, $2)');
    const big = { tenant_id: '9007199254740993' };
    expect(bindParams(c, ['x', '9007199254740993'], big)).toEqual(['x', '9007199254740993']);
    expect(presetRefusal('insert into customers (name, tenant_id) values ($1, $2)', ['x', 9007199254740992], big)).toBe('PRESET_COLUMN');
    expect(presetRefusal('insert into customers (name, tenant_id) values ($1, $2)', ['x', '9007199254740992'], big)).toBe('PRESET_COLUMN');
  });

  it('UPDATE SET and ON CONFLICT DO UPDATE SET accept only the preset value', () => {
    const u = check('update customers set tenant_id = $1, name = $2');
    expect(u.sql).toContain('SET tenant_id = $1, name = $2');
    expect(bindParams(u, [1, 'n'], T1)).toEqual([1, 'n', 1]);
    expect(presetRefusal('update customers set tenant_id = $1, name = $2', [2, 'n'])).toBe('PRESET_COLUMN');
    expect(presetRefusal('update customers set tenant_id = 2', [])).toBe('PRESET_COLUMN');
    const up = check('insert into customers (name, tenant_id) values ($1, $2) on conflict (id) do update set tenant_id = $2, name = excluded.name');
    expect(bindParams(up, ['x', 1], T1)).toEqual(['x', 1, 1]);
    expect(presetRefusal('insert into customers (name, tenant_id) values ($1, $2) on conflict (id) do update set tenant_id = $2', ['x', 3])).toBe('PRESET_COLUMN');
    const ex = check('insert into customers (name) values ($1) on conflict (id) do update set tenant_id = excluded.tenant_id');
    expect(ex.sql).toContain('SET tenant_id = excluded.tenant_id');
    expect(ex.presetChecks).toBeUndefined();
  });

  it('INSERT … SELECT still may not name a preset column', () => {
    expect(refusal('insert into customers (name, tenant_id) select name, tenant_id from customers')).toBe('PRESET_COLUMN');
  });
});

describe('postgres validator: reference checks (foreign keys against the caller\'s view)', () => {
  const withReferences = () => {
    const config = validatorConfig();
    const orders = config.permissions.member!.main!.orders!;
    orders.references = { customer_id: { table: 'customers', column: 'id' } };
    orders.update = { columns: ['customer_id', 'total'], filter: { tenant_id: '$claims.tenant_id' } };
    return createValidator(config, 'main');
  };
  const refCheck = (sql: string) => withReferences().check({ sql, role: 'member' });
  const refRefusal = (sql: string): string => refusalCode(() => refCheck(sql), sql);

  it('wraps a written reference in an EXISTS over the referenced table as the caller sees it', () => {
    const c = refCheck('insert into orders (customer_id, total) values ($1, $2)');
    expect(c.sql).toMatch(
      /^INSERT INTO app\.orders \(customer_id, total, tenant_id\) VALUES \(CASE WHEN CAST\(CASE WHEN EXISTS \(SELECT 1 FROM app\.customers AS sluice_ref WHERE \(sluice_ref\.id = \$1 AND sluice_ref\.tenant_id = \$3\)\) OR \$1 IS NULL THEN 'true' ELSE 'sluice_reference_[0-9a-f]{24} app\.orders\.customer_id' END AS boolean\) THEN \$1 END, \$2, \$4\)$/,
    );
    expect(c.claimParams).toEqual([{ kind: 'claim', ref: 'tenant_id' }, { kind: 'claim', ref: 'tenant_id' }]);
  });

  it('checks every row, UPDATE SET and ON CONFLICT DO UPDATE SET; leaves DEFAULT, NULL and excluded.<col> alone', () => {
    expect(refCheck('insert into orders (customer_id, total) values ($1, 1), ($2, 2)').sql.match(/EXISTS/g)).toHaveLength(2);
    expect(refCheck('insert into orders (customer_id, total) values (7, 1)').sql).toContain('(sluice_ref.id = 7 AND');
    expect(refCheck('insert into orders (customer_id, total) values (null, 1)').sql).not.toContain('EXISTS');
    expect(refCheck('insert into orders (customer_id, total) values (default, 1)').sql).not.toContain('EXISTS');
    expect(refCheck('update orders set customer_id = $1::int where id = $2').sql).toContain('(sluice_ref.id = CAST($1 AS int) AND sluice_ref.tenant_id = $3)');
    expect(refCheck('update orders set total = $1').sql).not.toContain('EXISTS');
    const upsert = refCheck('insert into orders (customer_id, total) values ($1, 1) on conflict (id) do update set customer_id = excluded.customer_id, total = 2');
    expect(upsert.sql.match(/EXISTS/g)).toHaveLength(1);
    expect(refCheck('insert into orders (customer_id, total) values ($1, 1) on conflict (id) do update set customer_id = $2').sql.match(/EXISTS/g)).toHaveLength(2);
  });

  it.each([
    ['insert into orders (customer_id, total) values ($1 + 0, 1)', 'CONSTRUCT_NOT_ALLOWED'],
    ['insert into orders (customer_id, total) values ((select max(id) from customers), 1)', 'CONSTRUCT_NOT_ALLOWED'],
    ['insert into orders (customer_id, total) values (random()::int, 1)', 'CONSTRUCT_NOT_ALLOWED'],
    ['insert into orders (customer_id, total) select id, 1 from customers', 'CONSTRUCT_NOT_ALLOWED'],
    ['update orders set customer_id = customer_id + 1', 'CONSTRUCT_NOT_ALLOWED'],
    ['insert into orders (customer_id, total) values ($1, 1) on conflict (id) do update set customer_id = excluded.total', 'CONSTRUCT_NOT_ALLOWED'],
  ])('%s → %s (a checked value must be a parameter or literal)', (sql, code) => {
    expect(refRefusal(sql)).toBe(code);
  });

  it('without `references`, nothing changes', () => {
    expect(check('insert into orders (customer_id, total) values ($1, $2)').sql).toBe('INSERT INTO app.orders (customer_id, total, tenant_id) VALUES ($1, $2, $3)');
  });
});
