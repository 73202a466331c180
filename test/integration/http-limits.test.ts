/**
 * Limits enforced against a real database: statement timeout, queue backpressure, per-user rate
 * limit, and cancellation on the server when the client goes away.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/sluice-harness.js';
import { requirePostgres } from '../helpers/skip.js';

const run = await requirePostgres();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

describe.skipIf(!run)('queryTimeout', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ limits: { queryTimeout: 500 } });
  }, 60_000);
  afterAll(async () => {
    await h?.teardown();
  }, 30_000);

  it('a long query → 408 QUERY_TIMEOUT with sqlstate 57014, promptly', async () => {
    const started = Date.now();
    const res = await h.post(h.tokens.tenant1, { sql: 'select count(*) from generate_series(1, 100000000)' });
    expect(res.status, res.text).toBe(408);
    expect(res.body.error).toMatchObject({ code: 'QUERY_TIMEOUT', sqlstate: '57014' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('the connection is usable again afterwards', async () => {
    const res = await h.post(h.tokens.tenant1, { sql: 'select count(*)::int as n from customers', method: 'execute' });
    expect(res.body).toMatchObject({ rows: [{ n: 3 }] });
  });
});

describe.skipIf(!run)('backpressure', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ connection: { max: 1 }, workers: { threads: 1 }, queue: { maxWaiting: 2 } });
  }, 60_000);
  afterAll(async () => {
    await h?.teardown();
  }, 30_000);

  it('20 concurrent slow requests: only 200 or 503 OVERLOADED + Retry-After, some of each', async () => {
    const slow = { sql: 'select count(*)::int as n from generate_series(1, 3000000)', method: 'execute' };
    const answers = await Promise.all(Array.from({ length: 20 }, () => h.post(h.tokens.tenant1, slow)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.every((s) => s === 200 || s === 503), statuses.join(',')).toBe(true);
    const ok = answers.filter((a) => a.status === 200);
    const overloaded = answers.filter((a) => a.status === 503);
    expect(ok.length).toBeGreaterThan(0);
    expect(overloaded.length).toBeGreaterThan(0);
    for (const a of ok) expect(a.body.rows).toEqual([{ n: 3000000 }]);
    for (const a of overloaded) {
      expect(a.body.error.code).toBe('OVERLOADED');
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
  });
});

describe.skipIf(!run)('rate limit per user', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ limits: { rateLimitPerUser: 3 } });
  }, 60_000);
  afterAll(async () => {
    await h?.teardown();
  }, 30_000);

  it('the 4th request in a minute → 429 RATE_LIMITED + Retry-After; another user is unaffected', async () => {
    const q = { sql: 'select 1 as one', method: 'execute' };
    for (let i = 0; i < 3; i++) expect((await h.post(h.tokens.tenant1, q)).status).toBe(200);
    const limited = await h.post(h.tokens.tenant1, q);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await h.post(h.tokens.tenant2, q)).status).toBe(200);
  });
});

describe.skipIf(!run)('client disconnect', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  }, 60_000);
  afterAll(async () => {
    await h?.teardown();
  }, 30_000);

  it('aborting the request cancels the running query on the server', async () => {
    const marker = 300_000_000 + Math.floor(Math.random() * 1_000_000);
    const running = async () => {
      const { rows } = await h.fixture.admin.query(
        `select pid from pg_stat_activity where application_name = 'sluice' and state = 'active' and query like $1`,
        [`%${marker}%`],
      );
      return rows.length;
    };
    const controller = new AbortController();
    const pending = h.post(h.tokens.tenant1, { sql: `select count(*) from generate_series(1, ${marker})` }, { signal: controller.signal }).catch((e: unknown) => e);
    // First prove the query is visible as sluice's, so "gone" below means cancelled, not never seen.
    await until('the query to show up in pg_stat_activity', 5000, async () => ((await running()) > 0 ? true : undefined));
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    await until('the query to be cancelled', 5000, async () => ((await running()) === 0 ? true : undefined));
  });
});
