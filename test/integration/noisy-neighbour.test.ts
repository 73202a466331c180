/**
 * Tenant A floods with 20× its cap while tenant B runs steady traffic, through the fair queue over
 * the in-process queue, a real piscina pool and Postgres. Between the fair queue and the inner
 * queue sits a recorder, so the assertion is structural rather than a latency threshold: every
 * time one of B's jobs reached the shared queue, at most A's cap of A-jobs were in it. The same
 * flood without the fair queue shows that this assertion can fail.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import type { SluiceConfig } from '../../src/config/types.js';
import { ERRORS } from '../../src/errors.js';
import type { QueryJob, QueryOutcome } from '../../src/pool/messages.js';
import { createPiscinaWorkerPool } from '../../src/pool/piscina-pool.js';
import type { WorkerPool } from '../../src/pool/worker-pool.js';
import { createFairQueue } from '../../src/queue/fair-queue.js';
import { defaultFairnessPolicy } from '../../src/queue/fairness-policy.js';
import { createInProcessQueue } from '../../src/queue/in-process-queue.js';
import type { JobQueue } from '../../src/queue/job-queue.js';
import { createTestSchema, describeIfPg, PG_URL } from '../helpers/services.js';
import { testConfig } from '../helpers/test-config.js';

const THREADS = 2;
const PER_THREAD = 2;
/** Default policy: half of threads × max = 2 jobs of a tenant in the shared queue at once. */
const CAP = (THREADS * PER_THREAD) / 2;
const FLOOD = 20 * CAP;
const LINE = 8;
const A_SQL = 'select pg_sleep(0.05), 1';
const B_SQL = 'select id, name from customers order by id';
const B_ROWS = [
  [2, 'bob'],
  [4, 'dan'],
];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const status = (o: QueryOutcome): number => (o.ok ? 200 : ERRORS[o.error.code].status);

/** Sits in front of the shared queue: how many of A's jobs were in it whenever one of B's arrived. */
function recorder(inner: JobQueue): JobQueue & { aInside: number; aSeenByB: number[] } {
  const r = {
    aInside: 0,
    aSeenByB: [] as number[],
    submit(job: QueryJob, signal?: AbortSignal): Promise<QueryOutcome> {
      if (job.tenant === 'B') r.aSeenByB.push(r.aInside);
      if (job.tenant !== 'A') return inner.submit(job, signal);
      r.aInside++;
      return inner.submit(job, signal).finally(() => r.aInside--);
    },
    stats: () => inner.stats(),
    close: () => inner.close(),
  };
  return r;
}

describeIfPg('noisy neighbour: a flooding tenant does not hold back another', () => {
  let admin: pg.Pool;
  let drop: () => Promise<void>;
  let config: SluiceConfig;
  let pool: WorkerPool;

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: PG_URL, max: 2, application_name: 'sluice-test-admin' });
    let schema: string;
    ({ schema, drop } = await createTestSchema(admin));
    await admin.query(`
      create table ${schema}.customers (id int primary key, tenant_id int not null, name text not null, email text);
      insert into ${schema}.customers (id, tenant_id, name) values (1, 1, 'ann'), (2, 2, 'bob'), (3, 1, 'cy'), (4, 2, 'dan');`);
    config = parseConfig({
      ...testConfig(schema, { workers: { threads: THREADS }, connection: { max: PER_THREAD } }),
      sql: { allowFunctions: ['pg_sleep'] },
    });
    pool = createPiscinaWorkerPool(config);
  });

  afterAll(async () => {
    await pool?.close();
    await drop?.();
    await admin?.end();
  });

  const job = (tenant: 'A' | 'B', sql: string): QueryJob => ({
    id: randomUUID(),
    connection: 'main',
    role: 'member',
    claims: { sub: `user-${tenant}`, tenant_id: tenant === 'A' ? 1 : 2 },
    tenant,
    sql,
    params: [],
    method: 'all',
    deadline: Date.now() + 20_000,
  });

  /** A's FLOOD clients resubmit at once on an answer and 20 ms after a refusal, until stopped; B runs `perClient` requests on each of 2 clients. */
  async function scenario(queue: JobQueue, perClient: number): Promise<{ a: Map<number, number>; aBusyDuringB: number; b: QueryOutcome[]; bMs: number[] }> {
    const a = new Map<number, number>();
    let stop = false;
    let duringB = false;
    let aBusyDuringB = 0;
    const flood = Array.from({ length: FLOOD }, async () => {
      while (!stop) {
        const s = status(await queue.submit(job('A', A_SQL)));
        a.set(s, (a.get(s) ?? 0) + 1);
        if (s === 429 && duringB) aBusyDuringB++;
        if (s !== 200) await sleep(20);
      }
    });
    // Let the flood reach the shared queue before B starts.
    for (let i = 0; i < 100 && queue.stats().running < CAP; i++) await sleep(10);
    await sleep(200);
    duringB = true;
    const b: QueryOutcome[] = [];
    const bMs: number[] = [];
    await Promise.all(
      [0, 1].map(async () => {
        for (let i = 0; i < perClient; i++) {
          const started = performance.now();
          b.push(await queue.submit(job('B', B_SQL)));
          bMs.push(performance.now() - started);
        }
      }),
    );
    duringB = false;
    stop = true;
    await Promise.all(flood);
    return { a, aBusyDuringB, b, bMs };
  }

  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

  // Two floods of a few seconds each on a shared 2-core machine: more than the default 20 s is needed.
  it('B gets only correct 200s and never waits behind more than A’s cap; without the fair queue it does', { timeout: 60_000 }, async () => {
    const fairInner = recorder(createInProcessQueue(config, pool));
    const fair = createFairQueue(fairInner, defaultFairnessPolicy(config, { maxWaiting: LINE }), config);
    const withFairness = await scenario(fair, 25);

    for (const o of withFairness.b) expect(o).toMatchObject({ ok: true, result: { rows: B_ROWS, rowCount: 2 } });
    expect(withFairness.b).toHaveLength(50);
    expect([...withFairness.a.keys()].every((s) => s === 200 || s === 429 || s === 503)).toBe(true);
    expect(withFairness.a.get(200)).toBeGreaterThan(0);
    // A's line really was full while B ran: the flood was on.
    expect(withFairness.aBusyDuringB).toBeGreaterThan(0);
    expect(fairInner.aSeenByB).toHaveLength(50);
    expect(Math.max(...fairInner.aSeenByB)).toBeLessThanOrEqual(CAP);
    expect(fair.lines()).toBe(0);

    // The same flood straight into the shared queue: B's jobs land behind A's whole backlog.
    const plainInner = recorder(createInProcessQueue(config, pool));
    const plain = await scenario(plainInner, 3);
    expect(plain.b.every((o) => o.ok)).toBe(true);
    expect(Math.max(...plainInner.aSeenByB)).toBeGreaterThan(4 * CAP);
    // Relative, same run, same machine: B's median without fairness is far above its median with it.
    expect(median(plain.bMs)).toBeGreaterThan(median(withFairness.bMs));
  });
});
