/**
 * @sluice/client's pg-proxy callback and batch() against the real gateway on Postgres, as tenant 1:
 * reads, writes, truncation, 401 refresh, 429/503 retries for reads only, the error on err.cause,
 * timeout/abort, `connection`, and one-transaction batches mapped as Drizzle maps them.
 */
import { asc, eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/pg-proxy';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SluiceError, batch, pgProxy, sluiceError, type SluiceClientOptions } from '../../packages/client/src/index.js';
import { createEngine } from '../../src/engine.js';
import { clientSchema, customers, customersWithSecret, orders } from '../helpers/drizzle-schema.js';
import { startHarness, startSluice, type Harness, type Sluice } from '../helpers/sluice-harness.js';
import { requirePostgres } from '../helpers/skip.js';
import { testConfig } from '../helpers/test-config.js';
import { signToken } from '../helpers/tokens.js';

const run = await requirePostgres();

/** A fetch that records every answer's status, for counting attempts. */
function countingFetch(): { fetch: typeof fetch; statuses: number[] } {
  const statuses: number[] = [];
  return {
    statuses,
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      statuses.push(res.status);
      return res;
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

/** A slow read that keeps tenant 1's only slot busy for a while. */
const SLOW = 'select count(*)::int as n from generate_series(1, 4000000)';

describe.skipIf(!run)('@sluice/client with drizzle-orm/pg-proxy', () => {
  let h: Harness;
  let seedDump: string;
  const db = (o: Partial<SluiceClientOptions> = {}) => drizzle(pgProxy({ url: h.url, token: h.tokens.tenant1, ...o }), { schema: clientSchema });

  beforeAll(async () => {
    h = await startHarness();
    seedDump = await h.fixture.dumpProtected();
  }, 60_000);

  afterAll(async () => {
    await h?.teardown();
  }, 30_000);

  afterEach(async () => {
    expect(await h.fixture.dumpProtected()).toBe(seedDump);
  });

  it('reads only tenant 1, mapped by Drizzle (Date, numeric, relations)', async () => {
    const d = db();
    expect(await d.select({ id: customers.id }).from(customers).orderBy(asc(customers.id))).toEqual([{ id: 1 }, { id: 3 }, { id: 5 }]);
    const [order] = await d.select().from(orders).where(eq(orders.id, 1));
    expect(order?.createdAt).toBeInstanceOf(Date);
    expect(order?.total).toBe('10.50');
    const tree = await d.query.customers.findFirst({ where: eq(customers.id, 1), with: { orders: { orderBy: [asc(orders.id)] } } });
    expect(tree?.orders.map((o) => o.id)).toEqual([1, 5]);
  });

  it('writes: insert returning, update, delete', async () => {
    const d = db();
    const [row] = await d.insert(customers).values({ name: 'client-pg', email: 'client-pg@t1.example' }).returning();
    expect(row).toMatchObject({ tenantId: 1, name: 'client-pg' });
    const updated = await d.update(customers).set({ name: 'client-pg2' }).where(eq(customers.id, row!.id)).returning({ name: customers.name });
    expect(updated).toEqual([{ name: 'client-pg2' }]);
    await d.delete(customers).where(eq(customers.id, row!.id));
    expect(await d.select().from(customers).where(eq(customers.id, row!.id))).toEqual([]);
  });

  it('a refusal is a SluiceError on err.cause, found by sluiceError(err)', async () => {
    const err = await rejection(db().select().from(customersWithSecret));
    expect(err).not.toBeInstanceOf(SluiceError); // Drizzle wraps it ...
    expect((err as { cause?: unknown }).cause).toBeInstanceOf(SluiceError); // ... with ours as the cause
    const e = sluiceError(err)!;
    // A hidden column looks like one that does not exist.
    expect(e.code).toBe('UNDEFINED_COLUMN');
    expect(e.status).toBe(400);
    expect(e.message).not.toContain('SECRET');
    expect(sluiceError(new Error('other'))).toBeUndefined();
  });

  it('a database error carries its sqlstate', async () => {
    const e = sluiceError(await rejection(db().insert(orders).values({ customerId: 999_999, total: '1.00' })))!;
    expect(e).toMatchObject({ code: 'FOREIGN_KEY_VIOLATION', status: 409, sqlstate: '23503' });
  });

  it('a string token answered 401 is not retried', async () => {
    const { fetch, statuses } = countingFetch();
    const e = sluiceError(await rejection(db({ token: h.tokens.expired, fetch }).select().from(customers)))!;
    expect(e).toMatchObject({ code: 'TOKEN_EXPIRED', status: 401 });
    expect(statuses).toEqual([401]);
  });

  it('a token function is asked once more with refresh: true after a 401, for reads and writes', async () => {
    const calls: boolean[] = [];
    const token = async ({ refresh }: { refresh: boolean }): Promise<string> => {
      calls.push(refresh);
      return refresh ? h.tokens.tenant1 : h.tokens.expired;
    };
    const { fetch, statuses } = countingFetch();
    const d = db({ token, fetch });
    expect(await d.select({ id: customers.id }).from(customers).where(eq(customers.id, 3))).toEqual([{ id: 3 }]);
    expect(calls).toEqual([false, true]);
    expect(statuses).toEqual([401, 200]);
    const [row] = await d.insert(customers).values({ name: 'refreshed' }).returning({ id: customers.id });
    expect(statuses).toEqual([401, 200, 401, 200]);
    await h.fixture.admin.query(`delete from ${h.schema}.customers where id = $1`, [row!.id]);
  });

  it('a refreshed token that is refused again is thrown, not retried forever', async () => {
    const { fetch, statuses } = countingFetch();
    const e = sluiceError(await rejection(db({ token: async () => h.tokens.wrongSecret, fetch }).select().from(customers)))!;
    expect(e).toMatchObject({ code: 'TOKEN_INVALID', status: 401 });
    expect(statuses).toEqual([401, 401]);
  });

  it('`connection` is sent with every request', async () => {
    expect(await db({ connection: 'main' }).select({ id: customers.id }).from(customers).where(eq(customers.id, 1))).toEqual([{ id: 1 }]);
    expect(sluiceError(await rejection(db({ connection: 'nope' }).select().from(customers)))).toMatchObject({ code: 'UNKNOWN_CONNECTION', status: 400 });
  });

  it('timeoutMs ends a slow call with TIMEOUT; an aborted signal with ABORTED', async () => {
    const slow = db({ timeoutMs: 50 }).execute(sql.raw(SLOW));
    expect(sluiceError(await rejection(slow))).toMatchObject({ code: 'TIMEOUT', status: 0 });
    const controller = new AbortController();
    controller.abort();
    expect(sluiceError(await rejection(db({ signal: controller.signal }).select().from(customers)))).toMatchObject({ code: 'ABORTED', status: 0 });
  });

  describe('batch(db, [...])', () => {
    it('sends one /data batch and maps each result as Drizzle would', async () => {
      const { fetch, statuses } = countingFetch();
      const d = db({ fetch });
      const [inserted, list, one, tree, raw] = await batch(d, [
        d.insert(customers).values({ name: 'batch-a' }).returning({ id: customers.id, name: customers.name }),
        d.select().from(orders).where(eq(orders.id, 1)),
        d.query.customers.findFirst({ where: eq(customers.id, 3) }),
        d.query.customers.findMany({ where: eq(customers.id, 1), with: { orders: true } }),
        d.execute(sql`select 1 as one`),
      ]);
      expect(statuses).toEqual([200]);
      expect(inserted).toEqual([{ id: expect.any(Number), name: 'batch-a' }]);
      expect(list[0]?.createdAt).toBeInstanceOf(Date);
      expect(list[0]?.createdAt?.toISOString()).toBe('2024-01-02T03:04:05.000Z');
      expect(one).toEqual({ id: 3, tenantId: 1, name: 'T1 Carol', email: 'carol@t1.example' });
      expect(tree[0]?.orders.map((o) => o.id).sort()).toEqual([1, 5]);
      expect(tree[0]?.orders[0]?.createdAt).toBeInstanceOf(Date);
      expect(raw).toEqual([{ one: 1 }]);
      await h.fixture.admin.query(`delete from ${h.schema}.customers where id = $1`, [inserted[0]!.id]);
    });

    it('is one transaction: a failing statement undoes the ones before it', async () => {
      const d = db();
      const err = await rejection(
        batch(d, [d.insert(customers).values({ name: 'batch-rolled-back' }), d.insert(orders).values({ customerId: 999_999, total: '1.00' })]),
      );
      expect(sluiceError(err)).toMatchObject({ code: 'FOREIGN_KEY_VIOLATION', status: 409 });
      const { rows } = await h.fixture.admin.query(`select 1 from ${h.schema}.customers where name = 'batch-rolled-back'`);
      expect(rows).toEqual([]);
    });

    it('refuses queries of a database not built on the client', async () => {
      const plain = drizzle(async () => ({ rows: [] }));
      const err = await rejection(batch(plain, [plain.select().from(customers)]));
      expect(sluiceError(err)).toMatchObject({ code: 'NOT_A_SLUICE_QUERY' });
    });
  });

  describe('truncated answers (limits.maxRows 2)', () => {
    let capped: Sluice;
    const cappedDb = (o: Partial<SluiceClientOptions> = {}) => drizzle(pgProxy({ url: capped.url, token: h.tokens.tenant1, ...o }), { schema: clientSchema });

    beforeAll(async () => {
      capped = await startSluice(h.schema, { limits: { maxRows: 2 } });
    }, 60_000);
    afterAll(async () => {
      await capped?.close();
    });

    it("'throw' (the default) refuses the cut result", async () => {
      const e = sluiceError(await rejection(cappedDb().select().from(customers)))!;
      expect(e.code).toBe('TRUNCATED');
      expect(e.message).toContain('2 rows');
    });

    it("'warn' returns the rows it got and warns", async () => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      try {
        expect(await cappedDb({ onTruncated: 'warn' }).select().from(customers)).toHaveLength(2);
        expect(warn).toHaveBeenCalledTimes(1);
        expect(String(warn.mock.calls[0]?.[0])).toContain('cut the result at 2 rows');
      } finally {
        warn.mockRestore();
      }
    });

    it("'ignore' and a function; a batch with a cut read throws too", async () => {
      expect(await cappedDb({ onTruncated: 'ignore' }).select().from(customers)).toHaveLength(2);
      const seen: unknown[] = [];
      await cappedDb({ onTruncated: (info) => seen.push(info) }).select({ id: customers.id }).from(customers);
      expect(seen).toEqual([{ sql: expect.stringContaining('select'), rows: 2 }]);
      const d = cappedDb();
      expect(sluiceError(await rejection(batch(d, [d.select().from(orders).where(eq(orders.id, 1)), d.select().from(customers)])))?.code).toBe('TRUNCATED');
    });
  });

  describe('429/503: reads are retried honouring Retry-After, writes never', () => {
    let gw: Sluice;
    const config = (tenants: Record<string, unknown>): Record<string, unknown> => ({ ...testConfig(h.schema), tenants });

    async function listen(raw: Record<string, unknown>): Promise<Sluice> {
      const engine = createEngine(raw, { logger: false });
      const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
      return { engine, url, close: () => engine.close() };
    }

    afterEach(async () => {
      await gw?.close();
    });

    it('503 TENANT_MAINTENANCE (Retry-After: 1): a read is sent retries + 1 times, a write once', async () => {
      gw = await listen(config({ default: { connection: 'main' }, routes: { '1': { connection: 'main', status: 'maintenance' } }, maintenanceRetryAfter: 1 }));
      const reads = countingFetch();
      const started = Date.now();
      const d = drizzle(pgProxy({ url: gw.url, token: h.tokens.tenant1, retries: 1, fetch: reads.fetch }), { schema: clientSchema });
      const e = sluiceError(await rejection(d.select().from(customers)))!;
      expect(e).toMatchObject({ code: 'TENANT_MAINTENANCE', status: 503, retryAfter: 1 });
      expect(reads.statuses).toEqual([503, 503]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);

      const writes = countingFetch();
      const w = drizzle(pgProxy({ url: gw.url, token: h.tokens.tenant1, retries: 3, fetch: writes.fetch }), { schema: clientSchema });
      expect(sluiceError(await rejection(w.insert(customers).values({ name: 'never' }).returning()))).toMatchObject({ code: 'TENANT_MAINTENANCE' });
      expect(sluiceError(await rejection(w.execute(sql`update customers set name = 'x' where id = 1`)))).toMatchObject({ code: 'TENANT_MAINTENANCE' });
      expect(sluiceError(await rejection(batch(w, [w.select().from(customers), w.delete(customers).where(eq(customers.id, 1))])))).toMatchObject({ code: 'TENANT_MAINTENANCE' });
      expect(writes.statuses).toEqual([503, 503, 503]);

      // A Retry-After beyond maxRetryDelayMs is not waited for.
      const impatient = countingFetch();
      const i = drizzle(pgProxy({ url: gw.url, token: h.tokens.tenant1, maxRetryDelayMs: 500, fetch: impatient.fetch }));
      expect(sluiceError(await rejection(i.select().from(customers)))).toMatchObject({ code: 'TENANT_MAINTENANCE' });
      expect(impatient.statuses).toEqual([503]);
    });

    it('429 TENANT_BUSY: a read waits and succeeds; a write fails at once', async () => {
      // One slot in all: caps are work-conserving (a lone tenant may borrow idle slots), so the
      // tenant's cap bites only once the slow read holds the only slot.
      gw = await listen({ ...testConfig(h.schema, { workers: { threads: 1 }, connection: { max: 1 } }), tenants: { default: { connection: 'main' }, maxConcurrent: 1, maxWaiting: 0 } });
      const token = await signToken({ sub: 'client-busy', role: 'member', tenant_id: 1 });
      const busy = async (): Promise<void> => {
        const res = await fetch(`${gw.url}/data`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ sql: SLOW, method: 'execute' }),
        });
        expect(res.status).toBe(200);
      };
      /** Until a probe read is refused 429: the slow read holds the slot (a fixed sleep would race a loaded machine). */
      const untilBusy = async (): Promise<void> => {
        for (let i = 0; i < 100; i++) {
          const res = await fetch(`${gw.url}/data`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ sql: 'select 1 as one', method: 'all' }),
          });
          await res.text();
          if (res.status === 429) return;
          await new Promise((r) => setTimeout(r, 20));
        }
        throw new Error('the slow read never held the slot');
      };

      const writes = countingFetch();
      const w = drizzle(pgProxy({ url: gw.url, token, fetch: writes.fetch }), { schema: clientSchema });
      const slowWrite = busy();
      await untilBusy();
      const e = sluiceError(await rejection(w.insert(customers).values({ name: 'never' })))!;
      expect(e).toMatchObject({ code: 'TENANT_BUSY', status: 429, retryAfter: 1 });
      expect(writes.statuses).toEqual([429]);
      await slowWrite;

      const reads = countingFetch();
      const d = drizzle(pgProxy({ url: gw.url, token, retries: 5, fetch: reads.fetch }), { schema: clientSchema });
      const slowRead = busy();
      await untilBusy();
      expect(await d.select({ id: customers.id }).from(customers).where(eq(customers.id, 1))).toEqual([{ id: 1 }]);
      expect(reads.statuses[0]).toBe(429);
      expect(reads.statuses.at(-1)).toBe(200);
      await slowRead;
    });
  });
});
