/**
 * Drizzle's mysql-proxy driver through the real HTTP gateway on MariaDB, as tenant 1: the query
 * shapes Drizzle emits are accepted, return only tenant 1's rows, and leave tenant 2's rows
 * untouched. A fresh database per run.
 */
import { randomBytes } from 'node:crypto';
import { asc, eq, sql } from 'drizzle-orm';
import { drizzle, type MySqlRemoteDatabase } from 'drizzle-orm/mysql-proxy';
import { relations } from 'drizzle-orm';
import { bigint, date, datetime, decimal, int, mysqlTable, serial, varchar } from 'drizzle-orm/mysql-core';
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/engine.js';
import { MYSQL_URL, describeIfMysql } from '../helpers/services.js';
import { post } from '../helpers/sluice-harness.js';
import { memberPermissions } from '../helpers/test-config.js';
import { TEST_JWT_SECRET, makeTokens, type TestTokens } from '../helpers/tokens.js';

const customers = mysqlTable('customers', {
  id: serial('id').primaryKey(),
  tenantId: int('tenant_id'),
  name: varchar('name', { length: 100 }).notNull(),
  email: varchar('email', { length: 100 }),
});
/** customers as an app declares it when the column is NOT NULL: Drizzle then sends tenantId itself. */
const customersNotNull = mysqlTable('customers', {
  id: serial('id').primaryKey(),
  tenantId: int('tenant_id').notNull(),
  name: varchar('name', { length: 100 }).notNull(),
  email: varchar('email', { length: 100 }),
});
const orders = mysqlTable('orders', {
  id: serial('id').primaryKey(),
  tenantId: int('tenant_id'),
  customerId: int('customer_id').notNull(),
  total: decimal('total', { precision: 10, scale: 2 }).notNull(),
  status: varchar('status', { length: 20 }),
});

const ledger = mysqlTable('ledger', {
  id: serial('id').primaryKey(),
  amount: bigint('amount', { mode: 'number' }),
  huge: bigint('huge', { mode: 'bigint' }),
  day: date('day', { mode: 'date' }),
  at: datetime('at', { mode: 'date', fsp: 3 }),
});

const FIXTURE = [
  `CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, tenant_id INT NOT NULL, name VARCHAR(100) NOT NULL, email VARCHAR(100) UNIQUE, secret_note TEXT)`,
  `CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, tenant_id INT NOT NULL, customer_id INT NOT NULL, total DECIMAL(10,2) NOT NULL,
     status VARCHAR(20) NOT NULL DEFAULT 'open', FOREIGN KEY (customer_id) REFERENCES customers(id))`,
  `CREATE TABLE order_items (id INT AUTO_INCREMENT PRIMARY KEY, tenant_id INT NOT NULL, order_id INT, sku VARCHAR(40), qty INT)`,
  `CREATE TABLE audit_secrets (id INT AUTO_INCREMENT PRIMARY KEY, tenant_id INT, token TEXT)`,
  `INSERT INTO customers (id, tenant_id, name, email, secret_note) VALUES
     (1, 1, 'T1 Alice', 'alice@t1.example', 'SECRET-T1-alice'), (2, 2, 'T2 Bob', 'bob@t2.example', 'SECRET-T2-bob'),
     (3, 1, 'T1 Carol', 'carol@t1.example', 'SECRET-T1-carol'), (4, 2, 'T2 Dan', 'dan@t2.example', 'SECRET-T2-dan')`,
  `INSERT INTO orders (id, tenant_id, customer_id, total, status) VALUES (1, 1, 1, 10.50, 'open'), (2, 2, 2, 2000.00, 'T2-shipped'), (3, 1, 3, 20.00, 'shipped')`,
  `INSERT INTO audit_secrets (tenant_id, token) VALUES (2, 'SECRET-AUDIT-T2')`,
  `CREATE TABLE ledger (id INT AUTO_INCREMENT PRIMARY KEY, tenant_id INT NOT NULL, amount BIGINT, huge BIGINT, day DATE, at DATETIME(3))`,
];

/** memberPermissions plus `ledger`, the tenant's own rows. */
function permissions(): Record<string, unknown> {
  const p = memberPermissions() as { member: { main: Record<string, unknown> } };
  const own = { tenant_id: '$claims.tenant_id' };
  p.member.main.ledger = { select: { columns: '*', filter: own }, insert: { columns: ['amount', 'huge', 'day', 'at'], set: own } };
  return p;
}

const customersRelations = relations(customers, ({ many }) => ({ orders: many(orders) }));
const ordersRelations = relations(orders, ({ one }) => ({ customer: one(customers, { fields: [orders.customerId], references: [customers.id] }) }));
const schema = { customers, orders, customersRelations, ordersRelations };

type Db = MySqlRemoteDatabase<typeof schema>;

function client(url: string, token: string): Db {
  return drizzle(async (sqlText, params, method) => {
    const res = await post(url, token, { sql: sqlText, params, method });
    if (res.status !== 200) {
      const err = new Error(`sluice ${res.status} ${res.body?.error?.code ?? ''}: ${res.body?.error?.message ?? res.text}`) as Error & { status?: number; code?: string };
      err.status = res.status;
      err.code = res.body?.error?.code;
      throw err;
    }
    // As README "Using it from Drizzle".
    return { rows: res.body.rows as any[] };
  }, { schema });
}

async function refusal(query: PromiseLike<unknown>): Promise<{ status?: number; code?: string; message: string }> {
  try {
    await query;
  } catch (e) {
    return ((e as { cause?: unknown }).cause ?? e) as { status?: number; code?: string; message: string };
  }
  throw new Error('expected the gateway to refuse the query');
}

describeIfMysql('Drizzle mysql-proxy through sluice (MariaDB)', () => {
  const database = `t_${randomBytes(6).toString('hex')}`;
  const dbUrl = (() => {
    const u = new URL(MYSQL_URL);
    u.pathname = `/${database}`;
    return u.toString();
  })();
  let admin: mysql.Connection;
  let engine: Engine;
  let url: string;
  let tokens: TestTokens;
  let db: Db;
  let seedDump: string;
  const protectedDump = async (): Promise<string> => {
    const [a] = await admin.query(`select * from ${database}.customers where tenant_id = 2 or secret_note is not null order by id`);
    const [b] = await admin.query(`select * from ${database}.orders where tenant_id = 2 order by id`);
    const [c] = await admin.query(`select * from ${database}.audit_secrets`);
    return JSON.stringify([a, b, c]);
  };

  beforeAll(async () => {
    admin = await mysql.createConnection({ uri: MYSQL_URL });
    await admin.query(`create database ${database}`);
    for (const stmt of FIXTURE) await admin.query(stmt.replaceAll('TABLE ', `TABLE ${database}.`).replaceAll('INTO ', `INTO ${database}.`).replace('REFERENCES customers', `REFERENCES ${database}.customers`));
    engine = createEngine(
      {
        server: { host: '127.0.0.1', port: 0 },
        auth: { jwt: { secret: TEST_JWT_SECRET, algorithms: ['HS256'] } },
        connections: { main: { url: dbUrl, max: 2 } },
        limits: { rateLimitPerUser: 0, rateLimitPerIP: 0 },
        workers: { threads: 2 },
        logging: { level: 'silent' },
        permissions: permissions(),
      },
      { logger: false },
    );
    ({ url } = await engine.listen({ host: '127.0.0.1', port: 0 }));
    tokens = await makeTokens();
    db = client(url, tokens.tenant1);
    seedDump = await protectedDump();
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    await admin?.query(`drop database if exists ${database}`);
    await admin?.end();
  }, 30_000);

  afterEach(async () => {
    expect(await protectedDump()).toBe(seedDump);
  });

  it('select (all → positional rows) sees only tenant 1', async () => {
    const rows = await db.select().from(customers).orderBy(asc(customers.id));
    expect(rows).toEqual([
      { id: 1, tenantId: 1, name: 'T1 Alice', email: 'alice@t1.example' },
      { id: 3, tenantId: 1, name: 'T1 Carol', email: 'carol@t1.example' },
    ]);
    expect(await db.select().from(customers).where(eq(customers.id, 2))).toEqual([]);
  });

  it('joins, with DECIMAL as a string', async () => {
    const rows = await db
      .select({ name: customers.name, total: orders.total })
      .from(orders)
      .innerJoin(customers, eq(customers.id, orders.customerId))
      .orderBy(asc(orders.id));
    expect(rows).toEqual([
      { name: 'T1 Alice', total: '10.50' },
      { name: 'T1 Carol', total: '20.00' },
    ]);
  });

  // Drizzle's mysql-proxy always emits relational queries with LEFT JOIN LATERAL (its driver has no
  // planetscale mode), which MySQL 8.0.14+ runs and MariaDB does not have: the gateway accepts the
  // statement and MariaDB's syntax error comes back as a clean 400, never a 500.
  it('relational queries: accepted by the gateway; MariaDB has no LATERAL → 400 INVALID_SQL', async () => {
    const [[version]] = (await admin.query('select version() as v')) as unknown as [[{ v: string }]];
    const query = db.query.customers.findMany({ orderBy: [asc(customers.id)], with: { orders: true } });
    if (!/mariadb/i.test(version.v)) {
      const rows = await query;
      expect(rows.map((c) => [c.id, c.orders.map((o) => o.id)])).toEqual([
        [1, [1]],
        [3, [3]],
      ]);
      return;
    }
    const err = await refusal(query);
    expect(err.status).toBe(400);
    expect(err.code).toBe('INVALID_SQL');
  });

  it('insert with $returningId() (execute → rows[0].insertId), update and delete', async () => {
    const ids = await db.insert(customers).values({ name: 'T1 New', email: 'new@t1.example' }).$returningId();
    expect(ids).toHaveLength(1);
    const id = ids[0]!.id;
    expect(id).toBeGreaterThan(4);
    expect(await db.select({ tenantId: customers.tenantId }).from(customers).where(eq(customers.id, id))).toEqual([{ tenantId: 1 }]);
    await db.update(customers).set({ name: 'T1 Renamed' }).where(eq(customers.id, id));
    expect(await db.select({ name: customers.name }).from(customers).where(eq(customers.id, id))).toEqual([{ name: 'T1 Renamed' }]);
    // Another tenant's rows are invisible to update and delete.
    const [upd] = (await db.update(customers).set({ name: 'hacked' }).where(eq(customers.id, 2))) as unknown as [{ affectedRows: number }];
    expect(upd.affectedRows).toBe(0);
    await db.delete(customers).where(eq(customers.id, 4));
    await db.delete(customers).where(eq(customers.id, id));
    expect(await db.select().from(customers).where(eq(customers.id, id))).toEqual([]);
  });

  it("a notNull tenantId (presets with WITH CHECK): the caller's own tenant is accepted, another is 403 PRESET_COLUMN", async () => {
    const [{ id }] = (await db.insert(customersNotNull).values({ tenantId: 1, name: 'T1 Strict', email: 'strict@t1.example' }).$returningId()) as [{ id: number }];
    expect(await db.select({ tenantId: customersNotNull.tenantId }).from(customersNotNull).where(eq(customersNotNull.id, id))).toEqual([{ tenantId: 1 }]);
    await db.insert(customersNotNull).values([{ tenantId: 1, name: 'T1 Strict A' }, { tenantId: 1, name: 'T1 Strict B' }]);
    expect(await refusal(db.insert(customersNotNull).values({ tenantId: 2, name: 'x' }))).toMatchObject({ status: 403, code: 'PRESET_COLUMN' });
    expect(await refusal(db.insert(customersNotNull).values([{ tenantId: 1, name: 'a' }, { tenantId: 2, name: 'b' }]))).toMatchObject({ status: 403, code: 'PRESET_COLUMN' });
    await db
      .insert(customersNotNull)
      .values({ tenantId: 1, name: 'T1 Strict 2', email: 'strict@t1.example' })
      .onDuplicateKeyUpdate({ set: { tenantId: 1, name: 'T1 Strict 2' } });
    expect(await db.select({ name: customersNotNull.name, tenantId: customersNotNull.tenantId }).from(customersNotNull).where(eq(customersNotNull.id, id))).toEqual([{ name: 'T1 Strict 2', tenantId: 1 }]);
    const upsertOther = db
      .insert(customersNotNull)
      .values({ tenantId: 1, name: 'x', email: 'strict@t1.example' })
      .onDuplicateKeyUpdate({ set: { tenantId: 2 } });
    expect(await refusal(upsertOther)).toMatchObject({ status: 403, code: 'PRESET_COLUMN' });
    // An upsert colliding with tenant 2's unique email leaves that row alone.
    await db
      .insert(customersNotNull)
      .values({ tenantId: 1, name: 'T1 Thief', email: 'bob@t2.example' })
      .onDuplicateKeyUpdate({ set: { tenantId: 1, name: 'pwned' } });
    await db.update(customersNotNull).set({ tenantId: 1, name: 'T1 Strict 3' }).where(eq(customersNotNull.id, id));
    expect(await db.select({ name: customersNotNull.name }).from(customersNotNull).where(eq(customersNotNull.id, id))).toEqual([{ name: 'T1 Strict 3' }]);
    expect(await refusal(db.update(customersNotNull).set({ tenantId: 2 }).where(eq(customersNotNull.id, id)))).toMatchObject({ status: 403, code: 'PRESET_COLUMN' });
    await db.delete(customersNotNull).where(sql`${customersNotNull.name} like 'T1 Strict%'`);
  });

  it('a duplicate key is 409 and never names the other tenant\'s value', async () => {
    const err = await refusal(db.insert(customers).values({ name: 'T1 Dup', email: 'bob@t2.example' }));
    expect(err.status).toBe(409);
    expect(err.code).toBe('UNIQUE_VIOLATION');
    expect(err.message).not.toContain('bob@t2');
  });

  it('refuses hidden columns, other tables, system schemas and methods MySQL does not serve', async () => {
    expect((await refusal(db.execute(sql`select secret_note from customers`))).status).toBe(403);
    expect((await refusal(db.execute(sql`select * from audit_secrets`))).status).toBe(403);
    expect((await refusal(db.execute(sql`select * from information_schema.tables`))).status).toBe(403);
    const raw = await post(url, tokens.tenant1, { sql: 'select id from customers', method: 'get' });
    expect(raw.status).toBe(400);
    expect(raw.body.error.code).toBe('METHOD_NOT_SUPPORTED');
  });

  it("tenant 2's token, on the same pools right after tenant 1, sees only tenant 2's rows", async () => {
    const db2 = client(url, tokens.tenant2);
    const rows = await db2.select({ id: customers.id }).from(customers).orderBy(asc(customers.id));
    expect(rows).toEqual([{ id: 2 }, { id: 4 }]);
  });
  it('db.execute() of a read answers [rows, fields] as mysql2 does; $count() works', async () => {
    const [rows, fields] = (await db.execute(sql`select id, name from customers order by id`)) as unknown as [unknown[], Array<{ name: string }>];
    expect(rows).toEqual([
      { id: 1, name: 'T1 Alice' },
      { id: 3, name: 'T1 Carol' },
    ]);
    expect(fields.map((f) => f.name)).toEqual(['id', 'name']);
    // Column descriptions only: not the database or the tables behind the rewritten statement.
    expect(JSON.stringify(fields)).not.toContain(database);
    expect(await db.$count(customers)).toBe(2);
    expect(await db.$count(customers, eq(customers.name, 'T1 Carol'))).toBe(1);
  });

  it('a write answers [{ insertId, affectedRows, changedRows }]', async () => {
    const [changed] = (await db.update(customers).set({ name: 'T1 Carol!' }).where(eq(customers.id, 3))) as unknown as [Record<string, unknown>];
    expect(changed).toEqual({ insertId: 0, affectedRows: 1, changedRows: 1 });
    const [same] = (await db.update(customers).set({ name: 'T1 Carol!' }).where(eq(customers.id, 3))) as unknown as [Record<string, unknown>];
    expect(same).toEqual({ insertId: 0, affectedRows: 1, changedRows: 0 });
    await db.update(customers).set({ name: 'T1 Carol' }).where(eq(customers.id, 3));
  });

  it('BIGINT is a number while exact and a string beyond 2^53 (mysql2 supportBigNumbers); Date parameters are written as mysql2 writes them', async () => {
    const [[values]] = (await db.execute(sql`select count(*) as n, 9007199254740993 as big from customers`)) as unknown as [[Record<string, unknown>]];
    expect(values).toEqual({ n: 2, big: '9007199254740993' });
    const day = new Date('2024-05-06T00:00:00.000Z');
    const at = new Date('2024-05-06T07:08:09.123Z');
    // date({ mode: 'date' }) hands Drizzle's callback the Date itself; over JSON it is its ISO text,
    // which MariaDB refuses for DATE/DATETIME: the gateway sends it as mysql2 would ('2024-05-06 07:08:09.123').
    await db.insert(ledger).values({ amount: 42, day, at });
    // A bigint-mode value is a BigInt, which JSON cannot carry as a parameter: written here directly.
    await admin.query(`update ${database}.ledger set huge = 4611686018427387904`);
    expect(await db.select().from(ledger)).toEqual([{ id: 1, amount: 42, huge: 2n ** 62n, day, at }]);
    const [[echo]] = (await db.execute(sql`select ${at} as d`)) as unknown as [[Record<string, unknown>]];
    expect(echo).toEqual({ d: '2024-05-06 07:08:09.123' });
    expect(await client(url, tokens.tenant2).select().from(ledger)).toEqual([]);
  });
});
