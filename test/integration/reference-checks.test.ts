/**
 * Issue 11 finding 11 (foreign keys across tenants) on a real Postgres: with `references`, tenant 1
 * cannot attach an order to tenant 2's customer, and the answer is the same 409 whether the id is
 * another tenant's or does not exist — ids of other tenants cannot be probed. Without it (the
 * `plain` role), the database's own foreign key accepts the other tenant's id: what the docs warn of.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/engine.js';
import { post } from '../helpers/sluice-harness.js';
import { PG_TEST_URL, requirePostgres } from '../helpers/skip.js';
import { signToken, TEST_JWT_SECRET } from '../helpers/tokens.js';

const run = await requirePostgres();
const SCHEMA = `sluice_fk_${randomBytes(5).toString('hex')}`;

const FIXTURE = [
  `CREATE SCHEMA ${SCHEMA}`,
  `CREATE TABLE ${SCHEMA}.customers (id int PRIMARY KEY, tenant_id int NOT NULL, name text NOT NULL)`,
  `CREATE TABLE ${SCHEMA}.orders (id serial PRIMARY KEY, tenant_id int NOT NULL, customer_id int REFERENCES ${SCHEMA}.customers(id), note text)`,
  `INSERT INTO ${SCHEMA}.customers VALUES (1, 1, 'T1 Alice'), (2, 2, 'T2 Bob'), (3, 1, 'T1 Carol')`,
  `INSERT INTO ${SCHEMA}.orders (id, tenant_id, customer_id, note) VALUES (100, 1, 1, 'T1 order'), (200, 2, 2, 'T2 order')`,
  `SELECT setval('${SCHEMA}.orders_id_seq', 1000)`,
];

function permissions(): Record<string, unknown> {
  const own = { tenant_id: '$claims.tenant_id' };
  const tables = (references: boolean) => ({
    customers: { select: { columns: ['id', 'name'], filter: own } },
    orders: {
      select: { columns: '*', filter: own },
      insert: { columns: ['id', 'customer_id', 'note'], set: own },
      update: { columns: ['customer_id', 'note'], filter: own },
      ...(references && { references: { customer_id: { table: 'customers', column: 'id' } } }),
    },
  });
  return { member: { main: tables(true) }, plain: { main: tables(false) } };
}

describe.skipIf(!run)('reference checks: foreign keys against the caller\'s view (Postgres)', () => {
  let admin: pg.Client;
  let engine: Engine;
  let url: string;
  let t1: string;
  let plain: string;
  const send = (sql: string, params: unknown[] = [], token = t1) => post(url, token, { sql, params, method: 'execute' });
  const tenant2Orders = async () => (await admin.query(`select * from ${SCHEMA}.orders where tenant_id = 2 or customer_id = 2 order by id`)).rows;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: PG_TEST_URL });
    await admin.connect();
    for (const s of FIXTURE) await admin.query(s);
    engine = createEngine(
      {
        server: { host: '127.0.0.1', port: 0 },
        auth: { jwt: { secret: TEST_JWT_SECRET, algorithms: ['HS256'] } },
        connections: { main: { url: PG_TEST_URL, max: 2, schema: SCHEMA } },
        limits: { rateLimitPerUser: 0, rateLimitPerIP: 0 },
        workers: { threads: 1 },
        logging: { level: 'silent' },
        permissions: permissions(),
      },
      { logger: false },
    );
    ({ url } = await engine.listen({ host: '127.0.0.1', port: 0 }));
    t1 = await signToken({ sub: 'u1', role: 'member', tenant_id: 1 });
    plain = await signToken({ sub: 'u1', role: 'plain', tenant_id: 1 });
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    await admin?.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await admin?.end();
  }, 30_000);

  it('a visible customer (param, literal, NULL, several rows) is accepted', async () => {
    const res = await send('insert into orders (customer_id, note) values ($1, $2), (3, $2), (null, $2) returning customer_id, tenant_id', [1, 'ok']);
    expect(res.status, res.text).toBe(200);
    expect(res.body.rows).toEqual([{ customer_id: 1, tenant_id: 1 }, { customer_id: 3, tenant_id: 1 }, { customer_id: null, tenant_id: 1 }]);
  });

  it("another tenant's customer and a missing one get the same 409, and nothing is written", async () => {
    const before = await tenant2Orders();
    const other = await send('insert into orders (customer_id, note) values ($1, $2)', [2, 'probe']);
    const missing = await send('insert into orders (customer_id, note) values ($1, $2)', [999, 'probe']);
    expect(other.status, other.text).toBe(409);
    expect(other.body.error.code).toBe('FOREIGN_KEY_VIOLATION');
    expect(missing.status).toBe(409);
    // Same code, same message: the answer does not tell "another tenant's" from "does not exist".
    expect({ code: missing.body.error.code, message: missing.body.error.message }).toEqual({ code: other.body.error.code, message: other.body.error.message });
    expect(other.body.error.message).toBe('schema_placeholder.orders.customer_id: the referenced row does not exist or is not visible to the caller'.replace('schema_placeholder', SCHEMA));
    expect(other.text).not.toMatch(/sluice_reference_/);
    expect((await send('insert into orders (customer_id, note) values (2, $1)', ['literal'])).status).toBe(409);
    // One bad row refuses the statement.
    expect((await send('insert into orders (customer_id, note) values ($1, $3), ($2, $3)', [1, 2, 'mixed'])).status).toBe(409);
    expect((await admin.query(`select count(*)::int as n from ${SCHEMA}.orders where note in ('probe', 'literal', 'mixed')`)).rows).toEqual([{ n: 0 }]);
    expect(await tenant2Orders()).toEqual(before);
  });

  it('UPDATE SET and ON CONFLICT DO UPDATE SET are checked too', async () => {
    expect((await send('update orders set customer_id = $1 where id = 100 returning customer_id', [3])).body.rows).toEqual([{ customer_id: 3 }]);
    const moved = await send('update orders set customer_id = $1 where id = 100', [2]);
    expect(moved.status, moved.text).toBe(409);
    expect(moved.body.error.code).toBe('FOREIGN_KEY_VIOLATION');
    const upsert = await send('insert into orders (id, customer_id, note) values (100, $1, $2) on conflict (id) do update set customer_id = $3', [1, 'u', 2]);
    expect(upsert.status, upsert.text).toBe(409);
    const viaExcluded = await send('insert into orders (id, customer_id, note) values (100, $1, $2) on conflict (id) do update set customer_id = excluded.customer_id returning customer_id', [1, 'u']);
    expect(viaExcluded.body.rows).toEqual([{ customer_id: 1 }]);
    expect((await admin.query(`select customer_id from ${SCHEMA}.orders where id = 100`)).rows).toEqual([{ customer_id: 1 }]);
  });

  it('a batch with a refused reference rolls back as a whole', async () => {
    const res = await post(url, t1, {
      batch: [
        { sql: 'insert into orders (customer_id, note) values ($1, $2)', params: [1, 'batch'], method: 'execute' },
        { sql: 'insert into orders (customer_id, note) values ($1, $2)', params: [2, 'batch'], method: 'execute' },
      ],
    });
    expect(res.status, res.text).toBe(409);
    expect(res.body.error.code).toBe('FOREIGN_KEY_VIOLATION');
    expect((await admin.query(`select count(*)::int as n from ${SCHEMA}.orders where note = 'batch'`)).rows).toEqual([{ n: 0 }]);
  });

  it('a computed value cannot be checked and is refused', async () => {
    const res = await send('insert into orders (customer_id, note) values ($1 + 0, $2)', [1, 'x']);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('CONSTRUCT_NOT_ALLOWED');
  });

  it('without `references`, the foreign key alone lets tenant 1 point at tenant 2\'s customer (the finding)', async () => {
    const res = await send('insert into orders (customer_id, note) values ($1, $2) returning customer_id', [2, 'plain'], plain);
    expect(res.status, res.text).toBe(200);
    const missing = await send('insert into orders (customer_id, note) values ($1, $2)', [999, 'plain'], plain);
    expect(missing.status).toBe(409);
    await admin.query(`delete from ${SCHEMA}.orders where note = 'plain'`);
  });
});
