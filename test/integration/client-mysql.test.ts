/**
 * @sluice/client's mysql-proxy callback and batch() against the real gateway on MariaDB, as
 * tenant 1: reads, writes ($returningId from the statement's own insert id), the error on
 * err.cause, truncation of a `[rows, fields]` read, and a one-transaction batch.
 */
import { randomBytes } from 'node:crypto';
import { asc, eq, sql } from 'drizzle-orm';
import { int, mysqlTable, serial, varchar, decimal } from 'drizzle-orm/mysql-core';
import { drizzle } from 'drizzle-orm/mysql-proxy';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SluiceError, batch, mysqlProxy, sluiceError, type SluiceClientOptions } from '../../packages/client/src/index.js';
import { MYSQL_URL, describeIfMysql } from '../helpers/services.js';
import { startGateway, type Sluice } from '../helpers/sluice-harness.js';
import { makeTokens, type TestTokens } from '../helpers/tokens.js';

const customers = mysqlTable('customers', {
  id: serial('id').primaryKey(),
  tenantId: int('tenant_id'),
  name: varchar('name', { length: 100 }).notNull(),
  email: varchar('email', { length: 100 }),
});
const orders = mysqlTable('orders', {
  id: serial('id').primaryKey(),
  tenantId: int('tenant_id'),
  customerId: int('customer_id').notNull(),
  total: decimal('total', { precision: 10, scale: 2 }).notNull(),
});
const schema = { customers, orders };

const FIXTURE = (db: string): string[] => [
  `CREATE TABLE ${db}.customers (id INT AUTO_INCREMENT PRIMARY KEY, tenant_id INT NOT NULL, name VARCHAR(100) NOT NULL, email VARCHAR(100) UNIQUE, secret_note TEXT)`,
  `CREATE TABLE ${db}.orders (id INT AUTO_INCREMENT PRIMARY KEY, tenant_id INT NOT NULL, customer_id INT NOT NULL, total DECIMAL(10,2) NOT NULL,
     FOREIGN KEY (customer_id) REFERENCES ${db}.customers(id))`,
  `INSERT INTO ${db}.customers (id, tenant_id, name, email, secret_note) VALUES
     (1, 1, 'T1 Alice', 'alice@t1.example', 'SECRET-1'), (2, 2, 'T2 Bob', 'bob@t2.example', 'SECRET-2'), (3, 1, 'T1 Carol', NULL, NULL)`,
  `INSERT INTO ${db}.orders (id, tenant_id, customer_id, total) VALUES (1, 1, 1, 10.50), (2, 2, 2, 2000.00), (3, 1, 3, 20.00)`,
];

function permissions(): Record<string, unknown> {
  const own = { tenant_id: '$claims.tenant_id' };
  return {
    member: {
      main: {
        customers: {
          select: { columns: ['id', 'tenant_id', 'name', 'email'], filter: own },
          insert: { columns: ['name', 'email'], set: own },
          update: { columns: ['name', 'email'], filter: own },
          delete: { filter: own },
        },
        orders: { select: { columns: '*', filter: own }, insert: { columns: ['customer_id', 'total'], set: own } },
      },
    },
  };
}

async function rejection(p: PromiseLike<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describeIfMysql('@sluice/client with drizzle-orm/mysql-proxy (MariaDB)', () => {
  const database = `t_${randomBytes(6).toString('hex')}`;
  let admin: mysql.Connection;
  let gw: Sluice;
  let capped: Sluice;
  let tokens: TestTokens;
  const db = (o: Partial<SluiceClientOptions> = {}) => drizzle(mysqlProxy({ url: gw.url, token: tokens.tenant1, ...o }), { schema });
  const tenant2Rows = async (): Promise<unknown> => (await admin.query(`select * from ${database}.customers where tenant_id = 2`))[0];

  beforeAll(async () => {
    admin = await mysql.createConnection({ uri: MYSQL_URL });
    await admin.query(`create database ${database}`);
    for (const stmt of FIXTURE(database)) await admin.query(stmt);
    const u = new URL(MYSQL_URL);
    u.pathname = `/${database}`;
    gw = await startGateway({ url: u.toString(), max: 2 }, { permissions: permissions() });
    capped = await startGateway({ url: u.toString(), max: 2 }, { permissions: permissions(), limits: { maxRows: 1 } });
    tokens = await makeTokens();
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    await capped?.close();
    await admin?.query(`drop database if exists ${database}`);
    await admin?.end();
  }, 30_000);

  // Relational queries are left out: Drizzle's mysql-proxy emits LATERAL, which MariaDB lacks
  // (drizzle-mysql.test.ts covers that answer).
  it('reads only tenant 1, with a join and raw execute', async () => {
    const d = db();
    expect(await d.select({ id: customers.id }).from(customers).orderBy(asc(customers.id))).toEqual([{ id: 1 }, { id: 3 }]);
    const joined = await d.select({ id: customers.id, total: orders.total }).from(customers).innerJoin(orders, eq(orders.customerId, customers.id)).orderBy(asc(customers.id));
    expect(joined).toEqual([
      { id: 1, total: '10.50' },
      { id: 3, total: '20.00' },
    ]);
    const [rows] = (await d.execute(sql`select count(*) as n from customers`)) as unknown as [Array<{ n: number }>];
    expect(Number(rows[0]?.n)).toBe(2);
  });

  it('writes: insert with $returningId, update, delete', async () => {
    const d = db();
    const [{ id }] = (await d.insert(customers).values({ name: 'client-my' }).$returningId()) as [{ id: number }];
    expect(id).toBeGreaterThan(3);
    await d.update(customers).set({ name: 'client-my2' }).where(eq(customers.id, id));
    expect(await d.select({ name: customers.name, tenantId: customers.tenantId }).from(customers).where(eq(customers.id, id))).toEqual([{ name: 'client-my2', tenantId: 1 }]);
    await d.delete(customers).where(eq(customers.id, id));
    expect(await d.select().from(customers).where(eq(customers.id, id))).toEqual([]);
    expect(await tenant2Rows()).toHaveLength(1);
  });

  it('a refusal is a SluiceError on err.cause', async () => {
    const err = await rejection(db().execute(sql`select token from audit_secrets`));
    expect((err as { cause?: unknown }).cause ?? err).toBeInstanceOf(SluiceError);
    expect(sluiceError(err)?.status).toBeGreaterThanOrEqual(400);
    const fk = sluiceError(await rejection(db().insert(orders).values({ customerId: 999_999, total: '1.00' })))!;
    expect(fk).toMatchObject({ code: 'FOREIGN_KEY_VIOLATION', status: 409, sqlstate: '23000' });
  });

  it('batch(db, [...]): one transaction, results mapped by Drizzle', async () => {
    const d = db();
    const [inserted, list, one] = await batch(d, [
      d.insert(customers).values({ name: 'batch-my', email: 'batch-my@t1.example' }).$returningId(),
      d.select({ id: orders.id, total: orders.total }).from(orders).orderBy(asc(orders.id)),
      d.select({ id: customers.id, name: customers.name, email: customers.email }).from(customers).where(eq(customers.id, 3)),
    ]);
    expect(inserted).toEqual([{ id: expect.any(Number) }]);
    expect(list).toEqual([
      { id: 1, total: '10.50' },
      { id: 3, total: '20.00' },
    ]);
    expect(one).toEqual([{ id: 3, name: 'T1 Carol', email: null }]);
    await admin.query(`delete from ${database}.customers where id = ?`, [inserted[0]!.id]);

    const err = await rejection(batch(d, [d.insert(customers).values({ name: 'rolled-back' }), d.insert(orders).values({ customerId: 999_999, total: '1.00' })]));
    expect(sluiceError(err)?.code).toBe('FOREIGN_KEY_VIOLATION');
    const [left] = await admin.query(`select id from ${database}.customers where name = 'rolled-back'`);
    expect(left).toEqual([]);
  });

  it('a cut read throws TRUNCATED by default; warn/ignore return the rows that came', async () => {
    const c = (o: Partial<SluiceClientOptions> = {}) => drizzle(mysqlProxy({ url: capped.url, token: tokens.tenant1, ...o }), { schema });
    const e = sluiceError(await rejection(c().select().from(customers)))!;
    expect(e).toMatchObject({ code: 'TRUNCATED', status: 0 });
    expect(e.message).toContain('at 1 rows');
    expect(await c({ onTruncated: 'ignore' }).select({ id: customers.id }).from(customers).orderBy(asc(customers.id))).toEqual([{ id: 1 }]);
  });
});
