/**
 * @sluice/client's sqlite-proxy callbacks (single and batch) against the real gateway on a SQLite
 * file, as tenant 1: reads, `get`, writes (`run`), db.batch() in one transaction, the error on
 * err.cause, truncation.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { asc, eq } from 'drizzle-orm';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { drizzle } from 'drizzle-orm/sqlite-proxy';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SluiceError, sluiceError, sqliteProxy, type SluiceClientOptions } from '../../packages/client/src/index.js';
import { runSqliteAdminSql } from '../../src/drivers/sqlite/sqlite-admin.js';
import { startGateway, type Sluice } from '../helpers/sluice-harness.js';
import { makeTokens, type TestTokens } from '../helpers/tokens.js';

const customers = sqliteTable('customers', {
  id: integer('id').primaryKey(),
  tenantId: integer('tenant_id'),
  name: text('name').notNull(),
  email: text('email'),
});
const orders = sqliteTable('orders', {
  id: integer('id').primaryKey(),
  tenantId: integer('tenant_id'),
  customerId: integer('customer_id').notNull(),
  total: text('total').notNull(),
});
const schema = { customers, orders };

const FIXTURE = `
PRAGMA foreign_keys = ON;
CREATE TABLE customers (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL, name TEXT NOT NULL, email TEXT UNIQUE, secret_note TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL, customer_id INTEGER NOT NULL REFERENCES customers(id), total TEXT NOT NULL);
INSERT INTO customers (id, tenant_id, name, email, secret_note) VALUES
  (1, 1, 'T1 Alice', 'alice@t1.example', 'SECRET-1'), (2, 2, 'T2 Bob', 'bob@t2.example', 'SECRET-2'), (3, 1, 'T1 Carol', NULL, NULL);
INSERT INTO orders (id, tenant_id, customer_id, total) VALUES (1, 1, 1, '10.50'), (2, 2, 2, '2000.00'), (3, 1, 3, '20.00');
`;

function permissions(): Record<string, unknown> {
  const own = { tenant_id: '$claims.tenant_id' };
  return {
    member: {
      main: {
        customers: {
          select: { columns: ['id', 'tenant_id', 'name', 'email'], filter: own },
          insert: { columns: ['id', 'name', 'email'], set: own },
          update: { columns: ['name', 'email'], filter: own },
          delete: { filter: own },
        },
        orders: { select: { columns: '*', filter: own }, insert: { columns: ['id', 'customer_id', 'total'], set: own } },
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

describe('@sluice/client with drizzle-orm/sqlite-proxy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-client-sqlite-'));
  const file = join(dir, 'app.db');
  let gw: Sluice;
  let capped: Sluice;
  let tokens: TestTokens;
  const connect = (url: string, o: Partial<SluiceClientOptions> = {}) => {
    const cb = sqliteProxy({ url, token: tokens.tenant1, ...o });
    return drizzle(cb, cb.batch, { schema });
  };
  const db = (o: Partial<SluiceClientOptions> = {}) => connect(gw.url, o);
  const names = (): unknown[] => {
    const raw = new Database(file, { readonly: true });
    try {
      return raw.prepare('select name from customers order by id').all();
    } finally {
      raw.close();
    }
  };

  beforeAll(async () => {
    runSqliteAdminSql(file, FIXTURE);
    gw = await startGateway(file, { permissions: permissions() });
    capped = await startGateway(file, { permissions: permissions(), limits: { maxRows: 1 } });
    tokens = await makeTokens();
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    await capped?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('reads (all, get, values) see only tenant 1', async () => {
    const d = db();
    expect(await d.select({ id: customers.id }).from(customers).orderBy(asc(customers.id))).toEqual([{ id: 1 }, { id: 3 }]);
    expect(await d.select({ name: customers.name }).from(customers).where(eq(customers.id, 3)).get()).toEqual({ name: 'T1 Carol' });
    expect(await d.select({ name: customers.name }).from(customers).where(eq(customers.id, 2)).get()).toBeUndefined();
    expect(await d.select({ id: orders.id }).from(orders).orderBy(asc(orders.id)).values()).toEqual([[1], [3]]);
  });

  it('writes: insert (run) with returning, update, delete', async () => {
    const d = db();
    // sqlite-proxy's run() hands back the callback's `{ rows }`: here better-sqlite3's run result.
    const res = await d.insert(customers).values({ id: 10, name: 'client-lite' }).run();
    expect(res.rows).toMatchObject({ changes: 1, lastInsertRowid: 10 });
    expect(await d.update(customers).set({ name: 'client-lite2' }).where(eq(customers.id, 10)).returning({ name: customers.name })).toEqual([{ name: 'client-lite2' }]);
    await d.delete(customers).where(eq(customers.id, 10));
    expect(names()).toEqual([{ name: 'T1 Alice' }, { name: 'T2 Bob' }, { name: 'T1 Carol' }]);
  });

  it('db.batch() through the batch callback: one transaction', async () => {
    const d = db();
    const [ins, list, one] = await d.batch([
      d.insert(customers).values({ id: 11, name: 'batch-lite' }),
      d.select({ id: customers.id }).from(customers).orderBy(asc(customers.id)),
      d.query.customers.findFirst({ where: eq(customers.id, 11), columns: { name: true } }),
    ]);
    expect(ins).toMatchObject({ changes: 1, lastInsertRowid: 11 });
    expect(list).toEqual([{ id: 1 }, { id: 3 }, { id: 11 }]);
    expect(one).toEqual({ name: 'batch-lite' });
    await d.delete(customers).where(eq(customers.id, 11));

    const err = await rejection(d.batch([d.insert(customers).values({ id: 12, name: 'rolled-back' }), d.insert(customers).values({ id: 1, name: 'dup' })]));
    expect(err).toBeInstanceOf(SluiceError);
    expect(sluiceError(err)).toMatchObject({ status: 409 });
    expect(names()).toEqual([{ name: 'T1 Alice' }, { name: 'T2 Bob' }, { name: 'T1 Carol' }]);
  });

  it('a refusal is a SluiceError on err.cause', async () => {
    const err = await rejection(db().insert(orders).values({ id: 20, customerId: 999, total: '1' }));
    expect((err as { cause?: unknown }).cause).toBeInstanceOf(SluiceError);
    expect(sluiceError(err)).toMatchObject({ code: 'FOREIGN_KEY_VIOLATION', status: 409 });
  });

  it('a cut read throws TRUNCATED by default, in a batch too; warn returns what came', async () => {
    const c = connect(capped.url);
    expect(sluiceError(await rejection(c.select().from(customers)))).toMatchObject({ code: 'TRUNCATED', status: 0 });
    expect(sluiceError(await rejection(c.batch([c.select().from(orders), c.select().from(customers).where(eq(customers.id, 1))])))?.code).toBe('TRUNCATED');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      expect(await connect(capped.url, { onTruncated: 'warn' }).select({ id: customers.id }).from(customers).orderBy(asc(customers.id))).toEqual([{ id: 1 }]);
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });
});
