/**
 * Drizzle's pg-proxy driver through sluice, as tenant 1: every query shape Drizzle emits must be
 * accepted, return only tenant 1's rows, and leave tenant 2's rows untouched.
 */
import { and, asc, desc, eq, gt, sql } from 'drizzle-orm';
import { integer, pgTable, serial, text } from 'drizzle-orm/pg-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { customers, customersWithSecret, orderItems, orders } from '../helpers/drizzle-schema.js';
import { startHarness, type ClientDb, type Harness } from '../helpers/sluice-harness.js';
import { PG_TEST_URL, requirePostgres } from '../helpers/skip.js';

const run = await requirePostgres();

/** customers as an app declares it when the column is NOT NULL: Drizzle then sends tenantId itself. */
const customersNotNull = pgTable('customers', {
  id: serial('id').primaryKey(),
  tenantId: integer('tenant_id').notNull(),
  name: text('name').notNull(),
  email: text('email'),
});

/** Drizzle wraps the callback's error in DrizzleQueryError; the gateway's answer is its cause. */
async function refusal(query: PromiseLike<unknown>): Promise<{ status?: number; code?: string; message: string }> {
  try {
    await query;
  } catch (e) {
    const inner = (e as { cause?: unknown }).cause ?? e;
    return inner as { status?: number; code?: string; message: string };
  }
  throw new Error('expected the gateway to refuse the query');
}

describe.skipIf(!run)('Drizzle pg-proxy through sluice', () => {
  let h: Harness;
  let db: ClientDb;
  let seedDump: string;

  beforeAll(async () => {
    h = await startHarness();
    db = h.db(h.tokens.tenant1);
    seedDump = await h.fixture.dumpProtected();
  }, 60_000);

  afterAll(async () => {
    await h?.teardown();
  }, 30_000);

  // Every case, reads and writes alike, must leave tenant 2's data and every hidden value as seeded.
  afterEach(async () => {
    expect(await h.fixture.dumpProtected()).toBe(seedDump);
  });

  describe('select', () => {
    it('where / orderBy / limit see only tenant 1', async () => {
      const rows = await db.select().from(customers).where(gt(customers.id, 0)).orderBy(desc(customers.id)).limit(2);
      expect(rows).toEqual([
        { id: 5, tenantId: 1, name: 'T1 Erin', email: 'erin@t1.example' },
        { id: 3, tenantId: 1, name: 'T1 Carol', email: 'carol@t1.example' },
      ]);
    });

    it("cannot find tenant 2's row by its id", async () => {
      expect(await db.select().from(customers).where(eq(customers.id, 2))).toEqual([]);
    });

    it('a full scan returns exactly the tenant 1 seed rows', async () => {
      const rows = await db.select({ id: customers.id, name: customers.name }).from(customers).orderBy(asc(customers.id));
      expect(rows).toEqual([
        { id: 1, name: 'T1 Alice' },
        { id: 3, name: 'T1 Carol' },
        { id: 5, name: 'T1 Erin' },
      ]);
    });

    it('round-trips timestamptz as Date and numeric as string', async () => {
      const [row] = await db.select().from(orders).where(eq(orders.id, 1));
      expect(row?.createdAt).toBeInstanceOf(Date);
      expect(row?.createdAt?.toISOString()).toBe('2024-01-02T03:04:05.000Z');
      expect(row?.total).toBe('10.50');
    });

    it('filters by a Date parameter (typing "timestamp")', async () => {
      const rows = await db
        .select({ id: orders.id })
        .from(orders)
        .where(eq(orders.createdAt, new Date('2024-02-01T12:00:00Z')));
      expect(rows).toEqual([{ id: 3 }]);
    });
  });

  describe('joins', () => {
    it('innerJoin pairs tenant 1 customers with tenant 1 orders only', async () => {
      const rows = await db
        .select({ name: customers.name, total: orders.total, tenant: orders.tenantId })
        .from(customers)
        .innerJoin(orders, eq(orders.customerId, customers.id))
        .orderBy(asc(orders.id));
      expect(rows).toEqual([
        { name: 'T1 Alice', total: '10.50', tenant: 1 },
        { name: 'T1 Carol', total: '20.00', tenant: 1 },
        { name: 'T1 Alice', total: '30.25', tenant: 1 },
      ]);
    });

    it('leftJoin keeps customers without orders and never pulls tenant 2 orders', async () => {
      const rows = await db
        .select({ id: customers.id, orderId: orders.id })
        .from(customers)
        .leftJoin(orders, eq(orders.customerId, customers.id))
        .orderBy(asc(customers.id), asc(orders.id));
      expect(rows).toEqual([
        { id: 1, orderId: 1 },
        { id: 1, orderId: 5 },
        { id: 3, orderId: 3 },
        { id: 5, orderId: null },
      ]);
    });

    it("a join on tenant 2's foreign keys finds nothing", async () => {
      const rows = await db.select({ id: orders.id }).from(orders).innerJoin(customers, eq(orders.customerId, customers.id)).where(eq(orders.customerId, 2));
      expect(rows).toEqual([]);
    });
  });

  describe('relational queries', () => {
    it('findMany with nested `with` builds the tenant 1 tree', async () => {
      const rows = await db.query.customers.findMany({
        orderBy: [asc(customers.id)],
        with: { orders: { orderBy: [asc(orders.id)], with: { orderItems: { orderBy: [asc(orderItems.id)] } } } },
      });
      expect(rows.map((c) => c.name)).toEqual(['T1 Alice', 'T1 Carol', 'T1 Erin']);
      const alice = rows[0]!;
      expect(alice.orders.map((o) => o.id)).toEqual([1, 5]);
      expect(alice.orders[0]!.orderItems.map((i) => i.sku)).toEqual(['T1-SKU-A', 'T1-SKU-B']);
      expect(alice.orders[0]!.createdAt).toBeInstanceOf(Date);
      expect(rows[2]!.orders).toEqual([]);
      expect(JSON.stringify(rows)).not.toMatch(/T2|SECRET/);
    });

    it('findFirst with a `one` relation and a where', async () => {
      const order = await db.query.orders.findFirst({ where: eq(orders.id, 3), with: { customer: true } });
      expect(order?.customer).toEqual({ id: 3, tenantId: 1, name: 'T1 Carol', email: 'carol@t1.example' });
    });

    it("findFirst on tenant 2's order id returns undefined", async () => {
      expect(await db.query.orders.findFirst({ where: eq(orders.id, 2), with: { customer: true } })).toBeUndefined();
    });
  });

  describe('hidden columns', () => {
    it('declaring secret_note in the client schema and selecting it is refused', async () => {
      const err = await refusal(db.select().from(customersWithSecret));
      expect([400, 403]).toContain(err.status);
      expect(err.message).not.toContain('SECRET');
    });

    it('selecting only secret_note is refused', async () => {
      const err = await refusal(db.select({ s: customersWithSecret.secretNote }).from(customersWithSecret));
      expect([400, 403]).toContain(err.status);
    });
  });

  describe('writes', () => {
    it('insert … returning sets the tenant from the token (id and tenant_id sent as DEFAULT)', async () => {
      const [row] = await db.insert(customers).values({ name: 'T1 New', email: 'new@t1.example' }).returning();
      expect(row).toMatchObject({ tenantId: 1, name: 'T1 New', email: 'new@t1.example' });
      expect(row!.id).toBeGreaterThan(100);
      const { rows } = await h.fixture.admin.query(`select tenant_id, secret_note from ${h.schema}.customers where id = $1`, [row!.id]);
      expect(rows).toEqual([{ tenant_id: 1, secret_note: null }]);
    });

    it('insert into orders with decimal typing and server-side defaults', async () => {
      const [row] = await db.insert(orders).values({ customerId: 3, total: '12.34' }).returning();
      expect(row).toMatchObject({ tenantId: 1, customerId: 3, total: '12.34', status: 'open' });
      expect(row!.createdAt).toBeInstanceOf(Date);
    });

    it('a duplicate email answers 409 UNIQUE_VIOLATION', async () => {
      const err = await refusal(db.insert(customers).values({ name: 'dup', email: 'alice@t1.example' }));
      expect(err).toMatchObject({ status: 409, code: 'UNIQUE_VIOLATION' });
    });

    it('update … returning changes only tenant 1 rows', async () => {
      const rows = await db.update(customers).set({ name: 'T1 Carol Updated' }).where(eq(customers.id, 3)).returning({ id: customers.id, name: customers.name });
      expect(rows).toEqual([{ id: 3, name: 'T1 Carol Updated' }]);
    });

    it("update of tenant 2's id changes nothing", async () => {
      const rows = await db.update(customers).set({ name: 'pwned' }).where(eq(customers.id, 2)).returning();
      expect(rows).toEqual([]);
    });

    it('an unfiltered update touches only tenant 1', async () => {
      const rows = await db.update(customers).set({ email: sql`lower(${customers.email})` }).returning({ tenantId: customers.tenantId });
      expect(rows.length).toBeGreaterThanOrEqual(3);
      expect(rows.every((r) => r.tenantId === 1)).toBe(true);
    });

    it("delete … returning removes only tenant 1's row", async () => {
      const [created] = await db.insert(customers).values({ name: 'T1 Doomed', email: null }).returning({ id: customers.id });
      const rows = await db.delete(customers).where(eq(customers.id, created!.id)).returning({ id: customers.id });
      expect(rows).toEqual([{ id: created!.id }]);
    });

    it("delete of tenant 2's id deletes nothing", async () => {
      expect(await db.delete(customers).where(and(eq(customers.id, 4))).returning()).toEqual([]);
    });

    it('a notNull tenantId (presets with WITH CHECK): the caller\'s own tenant is accepted, another is 403 PRESET_COLUMN', async () => {
      const [row] = await db.insert(customersNotNull).values({ tenantId: 1, name: 'T1 Strict', email: 'strict@t1.example' }).returning();
      expect(row).toMatchObject({ tenantId: 1, name: 'T1 Strict' });
      const rows = await db.insert(customersNotNull).values([{ tenantId: 1, name: 'T1 Strict A' }, { tenantId: 1, name: 'T1 Strict B' }]).returning({ tenantId: customersNotNull.tenantId });
      expect(rows).toEqual([{ tenantId: 1 }, { tenantId: 1 }]);
      expect(await refusal(db.insert(customersNotNull).values({ tenantId: 2, name: 'x' }))).toMatchObject({ status: 403, code: 'PRESET_COLUMN' });
      // One wrong row refuses the whole statement.
      expect(await refusal(db.insert(customersNotNull).values([{ tenantId: 1, name: 'a' }, { tenantId: 2, name: 'b' }]))).toMatchObject({ status: 403, code: 'PRESET_COLUMN' });
      // Upsert: the insert and the DO UPDATE SET both carry tenantId.
      const [up] = await db
        .insert(customersNotNull)
        .values({ tenantId: 1, name: 'T1 Strict 2', email: 'strict@t1.example' })
        .onConflictDoUpdate({ target: customersNotNull.email, set: { tenantId: 1, name: 'T1 Strict 2' } })
        .returning();
      expect(up).toMatchObject({ id: row!.id, tenantId: 1, name: 'T1 Strict 2' });
      const upsertOther = db
        .insert(customersNotNull)
        .values({ tenantId: 1, name: 'x', email: 'strict@t1.example' })
        .onConflictDoUpdate({ target: customersNotNull.email, set: { tenantId: 2 } });
      expect(await refusal(upsertOther)).toMatchObject({ status: 403, code: 'PRESET_COLUMN' });
      // An upsert colliding with tenant 2's unique email leaves that row alone.
      const onOther = await db
        .insert(customersNotNull)
        .values({ tenantId: 1, name: 'T1 Thief', email: 'bob@t2.example' })
        .onConflictDoUpdate({ target: customersNotNull.email, set: { tenantId: 1, name: 'pwned' } })
        .returning();
      expect(onOther).toEqual([]);
      // UPDATE … SET tenantId: only to the caller's own tenant.
      expect(await db.update(customersNotNull).set({ tenantId: 1, name: 'T1 Strict 3' }).where(eq(customersNotNull.id, row!.id)).returning({ tenantId: customersNotNull.tenantId })).toEqual([{ tenantId: 1 }]);
      expect(await refusal(db.update(customersNotNull).set({ tenantId: 2 }).where(eq(customersNotNull.id, row!.id)))).toMatchObject({ status: 403, code: 'PRESET_COLUMN' });
      await db.delete(customersNotNull).where(sql`${customersNotNull.name} like 'T1 Strict%'`);
    });

    it('inserting a preset column is refused', async () => {
      const err = await refusal(db.insert(customers).values({ name: 'x', tenantId: 2 }));
      expect(err).toMatchObject({ status: 403, code: 'PRESET_COLUMN' });
    });

    it('writing a table the role may only read is refused', async () => {
      const err = await refusal(db.update(orders).set({ total: '0.00' }));
      expect(err).toMatchObject({ status: 403, code: 'OPERATION_NOT_ALLOWED' });
    });
  });

  describe('raw db.execute', () => {
    it('runs a templated select with params and returns objects', async () => {
      const rows = await db.execute(sql`select ${customers.id}, ${customers.name} from ${customers} where ${customers.id} between ${1} and ${5} order by ${customers.id}`);
      expect(rows).toEqual([
        { id: 1, name: expect.stringMatching(/^T1 /) },
        { id: 3, name: expect.stringMatching(/^T1 /) },
        { id: 5, name: expect.stringMatching(/^T1 /) },
      ]);
    });

    it('aggregates only tenant 1 rows', async () => {
      const rows = await db.execute(sql`select count(*)::int as n, sum(total)::text as s from orders where id <= 5`);
      expect(rows).toEqual([{ n: 3, s: '60.75' }]);
    });
  });
});

describe.skipIf(!run)('Drizzle pg-proxy: Date parameters under a non-UTC session time zone', () => {
  let h: Harness;
  beforeAll(async () => {
    // The server's zone must not shift a Date: Drizzle sends toISOString() with its "Z".
    const url = new URL(PG_TEST_URL);
    url.searchParams.set('options', '-c TimeZone=America/New_York');
    h = await startHarness({ connection: { url: url.toString() } });
  }, 60_000);
  afterAll(async () => {
    await h?.teardown();
  }, 30_000);

  it('filters a timestamptz column by a Date and reads it back unchanged', async () => {
    const db = h.db(h.tokens.tenant1);
    const at = new Date('2024-02-01T12:00:00Z');
    expect(await db.select({ id: orders.id, createdAt: orders.createdAt }).from(orders).where(eq(orders.createdAt, at))).toEqual([{ id: 3, createdAt: at }]);
  });
});
