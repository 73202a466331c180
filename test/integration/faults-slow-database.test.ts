/**
 * Issue 6, fault injection: a slow database for one tenant. The test's own session holds
 * `LOCK TABLE customers IN ACCESS EXCLUSIVE MODE` in an open transaction, so every statement of
 * tenant A (tenant 1, reading customers) waits on the server; tenant B (tenant 2, reading orders,
 * which is not locked) shares the same connection and pool.
 *
 * Promised while the lock is held: A's requests end with 408 QUERY_TIMEOUT no earlier than
 * limits.queryTimeout and within its deadline, A's excess beyond capacity is shed with 503
 * OVERLOADED + Retry-After (never 500, never an unbounded wait), the database never sees more of
 * the gateway's sessions than the pool's capacity, and B is served with correct 200s the whole
 * time. After the lock is released everything is served again.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { answerOf, outOfBounds, tally, type Answer } from '../helpers/answers.js';
import { gatewayBackends, holdLock } from '../helpers/pg-backends.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { describeIfPg, PG_URL } from '../helpers/services.js';
import { post, startSluice, type Sluice } from '../helpers/sluice-harness.js';
import { makeTokens, type TestTokens } from '../helpers/tokens.js';
import { sleep, waitUntil } from '../helpers/wait-until.js';

const QUERY_TIMEOUT = 1500;
const MAX_WAIT = 1000;
const THREADS = 1;
const MAX = 4;
/** Beyond its deadline (maxWaitMs + queryTimeout) an answer may take the worker's backstop grace and the trip back. */
const DEADLINE_SLACK = 2500;

const A_QUERY = { sql: 'select name from customers order by id', method: 'execute' };
const A_ROWS = ['T1 Alice', 'T1 Carol', 'T1 Erin'];
const B_QUERY = { sql: 'select total from orders order by id', method: 'execute' };
const B_ROWS = ['2000.00', '2100.00'];

describeIfPg('faults: one tenant\'s table locked (a slow database)', () => {
  let fixture: PgFixture;
  let sluice: Sluice;
  let tokens: TestTokens;

  beforeAll(async () => {
    fixture = await createPgFixture();
    sluice = await startSluice(fixture.schema, {
      workers: { threads: THREADS },
      connection: { max: MAX },
      limits: { queryTimeout: QUERY_TIMEOUT },
      queue: { maxWaiting: 4, maxWaitMs: MAX_WAIT },
    });
    tokens = await makeTokens();
  }, 30_000);

  afterAll(async () => {
    await sluice?.close();
    await fixture?.drop();
  });

  /** `clients` loops of `body` as `token` until `stop()`; every answer is kept. */
  function load(token: string, body: unknown, clients: number, label: string): { stop(): Promise<Answer[]> } {
    const answers: Answer[] = [];
    let stopped = false;
    const loops = Array.from({ length: clients }, async () => {
      while (!stopped) {
        const t = performance.now();
        const a = answerOf(label, await post(sluice.url, token, body), performance.now() - t);
        answers.push(a);
        // A shed request comes back after Retry-After in real life; a short pause keeps the CPU for the gateway.
        if (a.status === 503) await sleep(50);
      }
    });
    return {
      async stop() {
        stopped = true;
        await Promise.all(loops);
        return answers;
      },
    };
  }

  const rowsOf = (a: Answer, key: string): unknown => (a.body as { rows?: Array<Record<string, unknown>> }).rows?.map((r) => r[key]);

  it('A times out at about queryTimeout, its excess is shed, B is served throughout; all recovers after the unlock', async () => {
    const lock = await holdLock(PG_URL, [`lock table ${fixture.schema}.customers in access exclusive mode`]);
    let a: Answer[] = [];
    let b: Answer[] = [];
    let mostSessions = 0;
    try {
      const aLoad = load(tokens.tenant1, A_QUERY, 10, 'A');
      const bLoad = load(tokens.tenant2, B_QUERY, 2, 'B');
      // Hold the lock for longer than a deadline (maxWaitMs + queryTimeout), sampling the server side.
      const until = Date.now() + MAX_WAIT + QUERY_TIMEOUT + 1500;
      while (Date.now() < until) {
        const sessions = (await gatewayBackends(fixture.admin, fixture.schema)).filter((s) => s.state === 'active').length;
        mostSessions = Math.max(mostSessions, sessions);
        await sleep(100);
      }
      a = await aLoad.stop();
      b = await bLoad.stop();
    } finally {
      await lock.release();
    }
    console.log(`faults-slow-database: A ${JSON.stringify(tally(a))}, B ${JSON.stringify(tally(b))}, most active sessions ${mostSessions} (capacity ${THREADS * MAX})`);

    // A: only timeouts and clean sheds, each within its deadline.
    expect(outOfBounds(a, ['408 QUERY_TIMEOUT', '503 OVERLOADED', '429 TENANT_BUSY'])).toEqual([]);
    const timeouts = a.filter((x) => x.code === 'QUERY_TIMEOUT');
    expect(timeouts.length).toBeGreaterThan(0);
    expect(a.some((x) => x.code === 'OVERLOADED')).toBe(true);
    const early = timeouts.filter((x) => x.ms < QUERY_TIMEOUT);
    expect(early).toEqual([]);
    const late = a.filter((x) => x.ms > MAX_WAIT + QUERY_TIMEOUT + DEADLINE_SLACK);
    expect(late).toEqual([]);
    console.log(`faults-slow-database: 408 after ${Math.min(...timeouts.map((x) => x.ms))}-${Math.max(...timeouts.map((x) => x.ms))} ms (queryTimeout ${QUERY_TIMEOUT}, deadline ${MAX_WAIT + QUERY_TIMEOUT})`);

    // The database never saw more of the gateway's statements than the pool's capacity.
    expect(mostSessions).toBeLessThanOrEqual(THREADS * MAX);

    // B: served, correctly, the whole time.
    expect(b.length).toBeGreaterThan(5);
    expect(b.filter((x) => x.status !== 200 || JSON.stringify(rowsOf(x, 'total')) !== JSON.stringify(B_ROWS))).toEqual([]);

    // Unlocked: A is served again (the statements still waiting finish first).
    const back = await waitUntil('A served again', async () => {
      const r = await post(sluice.url, tokens.tenant1, A_QUERY);
      return r.status === 200 && r;
    }, MAX_WAIT + QUERY_TIMEOUT + DEADLINE_SLACK);
    expect(back.body.rows.map((r: { name: string }) => r.name)).toEqual(A_ROWS);
    const after = await Promise.all(Array.from({ length: 8 }, (_, i) => post(sluice.url, i % 2 ? tokens.tenant2 : tokens.tenant1, i % 2 ? B_QUERY : A_QUERY)));
    expect(after.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(after.map((r, i) => r.body.rows.map((x: Record<string, unknown>) => x[i % 2 ? 'total' : 'name']))).toEqual(Array.from({ length: 8 }, (_, i) => (i % 2 ? B_ROWS : A_ROWS)));
  }, 30_000);
});
