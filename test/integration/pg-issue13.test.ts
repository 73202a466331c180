/**
 * Issue 13 on Postgres, through `/data` against real Postgres as tenant 1 of the two-tenant
 * fixture (filtered views, so the rewrite is the one under test): schema-qualified column
 * references, data-modifying CTEs (the nested write is filtered, preset and checked like a
 * top-level one, and runs outside the read-only transaction), OVERRIDING SYSTEM VALUE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePostgres } from '../helpers/skip.js';
import { startHarness, type Harness } from '../helpers/sluice-harness.js';

const run = await requirePostgres();

describe.skipIf(!run)('Postgres: issue 13 groups 3 and 14 through the gateway', () => {
  let h: Harness;
  const as1 = (sql: string, params: unknown[] = []) => h.post(h.tokens.tenant1, { sql, params, method: 'all' }) // rows as arrays, as pg-proxy's `all`;

  beforeAll(async () => {
    h = await startHarness();
  }, 60_000);

  afterAll(async () => {
    await h?.teardown();
  }, 60_000);

  it('answers schema-qualified column references from the caller\'s view', async () => {
    const s = h.schema;
    const res = await as1(`select "${s}"."customers"."name" from "${s}"."customers" where "${s}"."customers"."id" < $1 group by "${s}"."customers"."name" order by "${s}"."customers"."name"`, [10]);
    expect(res.status).toBe(200);
    expect(res.body.rows).toEqual([['T1 Alice'], ['T1 Carol'], ['T1 Erin']]);
    const joined = await as1(`select ${s}.orders.id, ${s}.customers.name from ${s}.orders join ${s}.customers on ${s}.customers.id = ${s}.orders.customer_id order by ${s}.orders.id`);
    expect(joined.status).toBe(200);
    expect(joined.body.rows).toEqual([[1, 'T1 Alice'], [3, 'T1 Carol'], [5, 'T1 Alice']]);
    const hidden = await as1(`select ${s}.customers.secret_note from ${s}.customers`);
    expect(hidden.status).toBe(403);
    expect(hidden.body.error.code).toBe('COLUMN_NOT_ALLOWED');
  });

  it('filters the write inside a data-modifying CTE and commits it', async () => {
    const before = await h.fixture.dumpProtected();
    const other = await as1('with d as (delete from customers where id = $1 returning id) select count(*)::int as n from d', [6]);
    expect(other.status).toBe(200);
    expect(other.body.rows).toEqual([[0]]);
    const renamed = await as1("with u as (update customers set name = name || '!' where id in (1, 2) returning id, name) select * from u order by id");
    expect(renamed.status).toBe(200);
    expect(renamed.body.rows).toEqual([[1, 'T1 Alice!']]);
    const stored = await h.fixture.admin.query(`select name from ${h.schema}.customers where id = 1`);
    expect(stored.rows).toEqual([{ name: 'T1 Alice!' }]);
    const inserted = await as1('with i as (insert into customers (name, email) values ($1, $2) returning *) select * from i', ['T1 New', 'new@t1.example']);
    expect(inserted.status).toBe(200);
    expect(inserted.body.rows).toEqual([[101, 1, 'T1 New', 'new@t1.example']]);
    const preset = await as1('with i as (insert into customers (name, tenant_id) values ($1, $2) returning id) select * from i', ['T1 Not', 2]);
    expect(preset.status).toBe(403);
    expect(preset.body.error.code).toBe('PRESET_COLUMN');
    expect(await h.fixture.dumpProtected()).toBe(before);
  });

  it('accepts OVERRIDING SYSTEM VALUE for columns the role may insert', async () => {
    const res = await as1('insert into orders (customer_id, total) overriding system value values ($1, $2) returning customer_id, tenant_id', [3, 5]);
    expect(res.status).toBe(200);
    expect(res.body.rows).toEqual([[3, 1]]);
  });
});
