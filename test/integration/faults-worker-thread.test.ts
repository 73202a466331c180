/**
 * Issue 6, fault injection: a piscina worker thread is terminated while it runs statements
 * (in-process mode; piscina's `threads` array, exposed by the test's own composition of the
 * gateway). The statements are slow the legitimate way: the test holds the locks they need.
 *
 * Promised: the requests that were on the thread answer a clean 503 WORKER_LOST (their fate on
 * the server is unknown: a write is never re-run), requests still waiting in the queue run on the
 * replacement thread and succeed, the pool is whole again, a write is applied at most once, and
 * the orphaned database sessions go away once they can.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { NAMES, T1_NAMES, T2_NAMES } from '../helpers/fault-load.js';
import { blockedBackends, gatewayBackends, holdLock } from '../helpers/pg-backends.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { startInProcessGateway, type InProcessGateway } from '../helpers/in-process-gateway.js';
import { describeIfPg, PG_URL } from '../helpers/services.js';
import { post } from '../helpers/sluice-harness.js';
import { testConfig } from '../helpers/test-config.js';
import { makeTokens, type TestTokens } from '../helpers/tokens.js';
import { waitUntil } from '../helpers/wait-until.js';

describeIfPg('faults: a worker thread killed mid-job (in-process mode)', () => {
  let fixture: PgFixture;
  let gw: InProcessGateway;
  let tokens: TestTokens;
  const count = async (sql: string, params: unknown[]): Promise<number> => (await fixture.admin.query(sql, params)).rows[0].n;

  beforeAll(async () => {
    fixture = await createPgFixture();
    // One thread × 2 connections: two statements on the thread, everything else waits in the queue.
    gw = await startInProcessGateway(testConfig(fixture.schema, { workers: { threads: 1 }, connection: { max: 2 }, limits: { queryTimeout: 10_000 } }));
    tokens = await makeTokens();
  }, 30_000);

  afterAll(async () => {
    await gw?.close();
    await fixture?.drop();
  });

  it('jobs on the thread: 503 WORKER_LOST; queued jobs: served by the replacement; the write at most once', async () => {
    const { schema } = fixture;
    const marker = `thr-${randomBytes(4).toString('hex')}`;
    const lock = await holdLock(PG_URL, [`select id from ${schema}.customers where id = 1 for update`, `lock table ${schema}.order_items in access exclusive mode`]);
    let orphans: number[] = [];
    try {
      const write = post(gw.url, tokens.tenant1, { sql: 'update customers set name = $1 where id = 1', params: [marker] });
      const read = post(gw.url, tokens.tenant1, { sql: 'select sku from order_items order by id', method: 'execute' });
      orphans = (
        await waitUntil('both statements blocked on the locks', async () => {
          const b = await blockedBackends(fixture.admin, schema, '%');
          return b.length === 2 && b;
        })
      ).map((b) => b.pid);
      // The thread's two slots are taken: these wait in the in-process queue.
      const queued = [tokens.tenant1, tokens.tenant2, tokens.tenant1].map((t) => post(gw.url, t, NAMES));
      await waitUntil('three requests queued', async () => gw.queue.stats().waiting === 3);

      const victim = gw.pool.threads[0]!;
      await victim.terminate();

      for (const r of await Promise.all([write, read])) {
        expect({ status: r.status, code: r.body?.error?.code }).toEqual({ status: 503, code: 'WORKER_LOST' });
      }
      const served = await Promise.all(queued);
      expect(served.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(served.map((r) => r.body.rows.map((x: { name: string }) => x.name))).toEqual([T1_NAMES, T2_NAMES, T1_NAMES]);
      expect(gw.pool.threads).toHaveLength(1);
      expect(gw.pool.threads[0]).not.toBe(victim);
    } finally {
      await lock.release();
    }

    // The killed thread's sessions may have been mid-transaction: once the lock is gone they end
    // (the client side is closed), whatever their statement did.
    await waitUntil('the orphaned sessions to end', async () => {
      const left = new Set((await gatewayBackends(fixture.admin, schema)).map((b) => b.pid));
      return orphans.every((pid) => !left.has(pid));
    });
    // WORKER_LOST means "may or may not have run": never twice.
    const applied = await count(`select count(*)::int as n from ${schema}.customers where name = $1`, [marker]);
    expect(applied).toBeLessThanOrEqual(1);

    // Later requests are served; a write answered 200 is applied exactly once.
    const again = await post(gw.url, tokens.tenant1, { sql: 'update customers set name = name || $1 where id = 3', params: ['!'] });
    expect(again.status).toBe(200);
    expect(again.body.rowCount).toBe(1);
    expect((await fixture.admin.query(`select name from ${schema}.customers where id = 3`)).rows[0].name).toBe('T1 Carol!');
    const items = await post(gw.url, tokens.tenant1, { sql: 'select sku from order_items order by id', method: 'execute' });
    expect(items.status).toBe(200);
    expect(items.body.rows.map((r: { sku: string }) => r.sku)).toEqual(['T1-SKU-A', 'T1-SKU-B', 'T1-SKU-C', 'T1-SKU-A']);
    console.log(`faults-worker-thread: the write answered WORKER_LOST was applied ${applied} time(s)`);
  }, 30_000);
});
