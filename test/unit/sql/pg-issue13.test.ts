/**
 * Issue 13 on Postgres: schema-qualified column references after the table → view rewrite
 * (group 3), GROUP BY a primary key of a table the role sees whole (group 8), OVERRIDING SYSTEM
 * VALUE and data-modifying CTEs (group 14).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createValidator, loadSqlParsers } from '../../../src/sql/create-validator.js';
import { validatorConfig } from './fixture-config.js';
import { refusalCode } from './refusal-code.js';

beforeAll(async () => {
  await loadSqlParsers();
});

function config() {
  const base = validatorConfig();
  const everything = { select: { columns: '*' }, insert: { columns: '*' }, update: { columns: '*' }, delete: {} } as const;
  return { ...base, permissions: { ...base.permissions, owner: { main: { customers: everything, orders: everything, 'other.customers': { select: { columns: '*', filter: { tenant_id: '$claims.tenant_id' } } } } } } };
}

function check(sql: string, role = 'member') {
  return createValidator(config() as never, 'main').check({ sql, role });
}

function refusal(sql: string, role = 'member'): string {
  return refusalCode(() => check(sql, role), sql);
}

describe('schema-qualified column references (group 3)', () => {
  it('become references to the view, which keeps the table name as its alias', () => {
    const c = check('select "name" from "app"."customers" group by "app"."customers"."name" order by "app"."customers"."name"');
    expect(c.sql).toContain(') AS customers GROUP BY customers.name ORDER BY customers.name');
    expect(c.sql).not.toContain('app.customers.name');
    expect(check('select app.customers.* from app.customers').sql).toMatch(/^SELECT customers\.\* FROM/);
    const join = check('select app.customers.name, other.things.id from app.customers join other.things on other.things.id = app.customers.id');
    expect(join.sql).toContain('ON things.id = customers.id');
  });

  it('reach an outer view from a subquery when nothing inner has that name', () => {
    expect(check('select (select app.customers.name from orders) from app.customers').sql).toContain('(SELECT customers.name FROM (');
  });

  it('keep the permission checks: a hidden column stays hidden', () => {
    expect(refusal('select app.customers.secret_note from customers')).toBe('COLUMN_NOT_ALLOWED');
    expect(refusal('update customers set name = $1 where app.customers.secret_note = $2')).toBe('COLUMN_NOT_ALLOWED');
    expect(refusal('delete from customers returning app.customers.secret_note')).toBe('COLUMN_NOT_ALLOWED');
  });

  it('stay as written on a DML target, which is the real table', () => {
    const c = check('update customers set name = $1 where app.customers.name = $2 returning app.customers.id');
    expect(c.sql).toContain('WHERE app.customers.name = $2');
    expect(c.sql).toContain('RETURNING app.customers.id');
  });

  it('are refused when another item of the same name would capture them', () => {
    expect(refusal('select 1 from app.customers where exists (select 1 from orders customers where app.customers.id = customers.id)')).toBe('CONSTRUCT_NOT_ALLOWED');
    expect(refusal('update customers set name = $1 where exists (select 1 from orders customers where app.customers.email = $2)')).toBe('CONSTRUCT_NOT_ALLOWED');
    expect(refusal('select * from app.customers, customers')).toBe('CONSTRUCT_NOT_ALLOWED');
    expect(refusal('select app.customers.id from app.customers, other.customers', 'owner')).toBe('CONSTRUCT_NOT_ALLOWED');
    // Aliased, the two are told apart, and other.customers is a view (its rows are filtered).
    const c = check('select a.id, o.id from app.customers a join other.customers o on o.id = a.id', 'owner');
    expect(c.sql).toContain('FROM app.customers AS a JOIN ( SELECT sluice_t.* FROM other.customers AS sluice_t WHERE sluice_t.tenant_id = $1 ) AS o');
  });

  it('are left alone when they name no relation (an aliased table is known only by its alias)', () => {
    expect(check('select 1 from app.customers c where app.customers.id = 1').sql).toContain('WHERE app.customers.id = 1');
    expect(refusal('delete from customers c where app.customers.id = 1')).toBe('COLUMN_NOT_ALLOWED');
    expect(refusal('select app.x.customers.id from customers')).toBe('CONSTRUCT_NOT_ALLOWED');
  });
});

describe('tables the role sees whole (group 8)', () => {
  it('stay tables (schema pinned), so GROUP BY the primary key may select other columns', () => {
    const c = check('select customers.id, customers.name, count(orders.id) from customers left join orders on orders.customer_id = customers.id group by customers.id', 'owner');
    expect(c.sql).toBe('SELECT customers.id, customers.name, count(orders.id) FROM app.customers LEFT JOIN app.orders ON orders.customer_id = customers.id GROUP BY customers.id LIMIT 101');
    expect(c.fallbackSql).toBeUndefined();
    expect(check('select c.i from only customers c (i)', 'owner').sql).toBe('SELECT c.i FROM ONLY app.customers AS c(i) LIMIT 101');
  });

  it('keep ONLY (the parser writes it as an absent `inh`), on views and DML targets too', () => {
    expect(check('select id from only customers').sql).toContain('FROM ONLY app.customers AS sluice_t');
    expect(check('delete from only customers where id = $1').sql).toMatch(/^DELETE FROM ONLY app\.customers WHERE/);
    expect(check('select id from customers').sql).not.toContain('ONLY');
  });

  it('do not show system columns, as a view would not', () => {
    for (const col of ['ctid', 'xmin', 'xmax', 'cmin', 'cmax', 'tableoid']) {
      expect(refusal(`select ${col} from customers`, 'owner')).toBe('COLUMN_NOT_ALLOWED');
      expect(refusal(`select c.${col} from customers c`, 'owner')).toBe('COLUMN_NOT_ALLOWED');
    }
  });

  it('a filtered or narrowed table is still a view', () => {
    expect(check('select id from customers group by id').sql).toContain('FROM app.customers AS sluice_t WHERE');
    expect(check('select id, name from customers', 'reader').sql).toContain('SELECT sluice_t.id, sluice_t.name FROM app.customers AS sluice_t');
  });
});

describe('OVERRIDING SYSTEM VALUE (group 14)', () => {
  it('is accepted for columns the role may insert', () => {
    expect(check('insert into customers (id, name) overriding system value values ($1, $2)', 'owner').sql).toBe(
      'INSERT INTO app.customers (id, name) OVERRIDING SYSTEM VALUE VALUES ($1, $2)',
    );
    expect(refusal('insert into customers (id, name) overriding system value values ($1, $2)')).toBe('COLUMN_NOT_ALLOWED');
  });

  it('keeps presets; OVERRIDING USER VALUE (which would let a sequence replace them) stays refused', () => {
    expect(check('insert into customers (name) overriding system value values ($1)').sql).toBe('INSERT INTO app.customers (name, tenant_id) OVERRIDING SYSTEM VALUE VALUES ($1, $2)');
    expect(refusal('insert into customers (name) overriding user value values ($1)')).toBe('CONSTRUCT_NOT_ALLOWED');
  });
});

describe('data-modifying CTEs (group 14)', () => {
  it('rewrite the nested write exactly as a top-level one, and make the statement a write', () => {
    const c = check('with d as (delete from customers where id = $1 returning *) select * from d');
    expect(c.sql).toBe(
      'WITH d AS (DELETE FROM app.customers WHERE id = $1 AND customers.tenant_id = $2 RETURNING customers.id, customers.tenant_id, customers.name, customers.email) SELECT * FROM d LIMIT 101',
    );
    expect(c.fallbackSql).toContain('CASE WHEN customers.tenant_id = $2 THEN id = $1 ELSE false END');
    expect(c.kind).toBe('select');
    expect(c.readOnly).toBe(false);
    const top = check('delete from customers where id = $1 returning *');
    expect(c.sql).toContain(top.sql.replace('$1 AND', '$1 AND').slice('DELETE'.length, -1).slice(0, 40));
  });

  it('apply presets, WITH CHECK and the update filter inside the CTE', () => {
    const ins = check('with i as (insert into customers (name, tenant_id) values ($1, $2) returning id) select * from i');
    expect(ins.sql).toContain('INSERT INTO app.customers (name, tenant_id) VALUES ($1, $2) RETURNING id');
    expect(ins.presetChecks).toHaveLength(1);
    expect(check('with i as (insert into customers (name) values ($1) returning id) select * from i').sql).toContain('(name, tenant_id) VALUES ($1, $2)');
    expect(check('with u as (update customers set name = $1 returning id) select count(*) from u').sql).toContain('UPDATE app.customers SET name = $1 WHERE customers.tenant_id = $2 RETURNING id');
  });

  it('feed a top-level write', () => {
    const c = check('with u as (update customers set name = $1 returning id) insert into orders (customer_id, total) select id, 1 from u');
    expect(c.kind).toBe('insert');
    expect(c.sql).toContain('SELECT sluice_s.*, $3 FROM ( SELECT id, 1 FROM u ) AS sluice_s');
  });

  it.each([
    ['with d as (delete from customers returning secret_note) select * from d', 'COLUMN_NOT_ALLOWED'],
    ['with d as (delete from orders returning id) select * from d', 'OPERATION_NOT_ALLOWED'],
    ['with u as (update customers set tenant_id = tenant_id + 1 returning id) select * from u', 'PRESET_COLUMN'],
    ['with u as (update customers set secret_note = $1 returning id) select * from u', 'COLUMN_NOT_ALLOWED'],
    ['with i as (insert into customers (secret_note) values ($1) returning id) select * from i', 'COLUMN_NOT_ALLOWED'],
    ['with d as (delete from customers returning customers) select * from d', 'COLUMN_NOT_ALLOWED'],
    ['select * from (with d as (delete from customers returning id) select * from d) s', 'STATEMENT_NOT_ALLOWED'],
    ['select (with d as (delete from customers returning id) select count(*) from d)', 'STATEMENT_NOT_ALLOWED'],
    ['with recursive d as (delete from customers returning id) select * from d', 'STATEMENT_NOT_ALLOWED'],
    ['with a as (with d as (delete from customers returning id) select * from d) select * from a', 'STATEMENT_NOT_ALLOWED'],
    ['with u as (update customers set name = $1 returning id) insert into customers (name) with d as (delete from customers returning id) select $2 from d', 'STATEMENT_NOT_ALLOWED'],
    ['with u as (merge into customers using orders on true when matched then delete) select 1', 'STATEMENT_NOT_ALLOWED'],
  ])('%s → %s', (sql, code) => {
    expect(refusal(sql)).toBe(code);
  });
});
