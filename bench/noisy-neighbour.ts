/**
 * Noisy neighbour: tenant B's latency alone, then while tenant A floods with 20× its cap, with the
 * fair queue (src/queue/fair-queue.ts) and without it (the bare in-process queue) as the baseline,
 * in one run on one pool. Measured at the JobQueue (piscina threads + Postgres, no HTTP): what is
 * compared is where B's jobs wait, and on 2 shared cores an HTTP load generator for 80+ clients
 * would blur that with CPU contention.
 *
 *   npm run bench:fairness     BENCH_DURATION=5 (s per phase) BENCH_THREADS=2 BENCH_POOL_PER_THREAD=4
 *                              BENCH_B_CLIENTS=4 BENCH_A_SLEEP_MS=50 BENCH_A_BACKOFF_MS=20
 *                              BENCH_TENANT_MAX_WAITING (unset: the default policy's 100)
 *
 * B: BENCH_B_CLIENTS closed-loop clients, a primary-key select of its own row (every answer checked).
 * A: 20 × its cap closed-loop clients of `select pg_sleep(A_SLEEP)` (a slow report holding a
 * connection), resubmitting at once after an answer and BENCH_A_BACKOFF_MS after a refusal (a
 * client that ignores Retry-After).
 */
import { randomUUID } from 'node:crypto';
import { parseConfig } from '../src/config/schema.js';
import { ERRORS } from '../src/errors.js';
import type { QueryJob, QueryOutcome } from '../src/pool/messages.js';
import { createPiscinaWorkerPool } from '../src/pool/piscina-pool.js';
import type { WorkerPool } from '../src/pool/worker-pool.js';
import { createFairQueue } from '../src/queue/fair-queue.js';
import { defaultFairnessPolicy } from '../src/queue/fairness-policy.js';
import { createInProcessQueue } from '../src/queue/in-process-queue.js';
import type { JobQueue } from '../src/queue/job-queue.js';
import { createPgFixture } from '../test/helpers/pg-fixture.js';
import { testConfig } from '../test/helpers/test-config.js';
import { fmt, PER_THREAD, ratio, THREADS } from './load.js';

const PHASE_S = Number(process.env.BENCH_DURATION ?? 5);
const B_CLIENTS = Number(process.env.BENCH_B_CLIENTS ?? 4);
const A_SLEEP_MS = Number(process.env.BENCH_A_SLEEP_MS ?? 50);
const A_BACKOFF_MS = Number(process.env.BENCH_A_BACKOFF_MS ?? 20);
const TENANT_MAX_WAITING = process.env.BENCH_TENANT_MAX_WAITING === undefined ? undefined : Number(process.env.BENCH_TENANT_MAX_WAITING);
const B_SQL = 'select "id", "name" from "customers" where "customers"."id" = $1';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const status = (o: QueryOutcome): number => (o.ok ? 200 : ERRORS[o.error.code].status);

interface Phase {
  p50: number;
  p99: number;
  rps: number;
  wrong: number;
  a: Map<string, number>;
}

function job(tenant: 'A' | 'B', sql: string, params: unknown[]): QueryJob {
  return {
    id: randomUUID(),
    connection: 'main',
    role: 'member',
    claims: { sub: `bench-${tenant}`, tenant_id: tenant === 'A' ? 1 : 2 },
    tenant,
    sql,
    params,
    method: 'all',
    deadline: Date.now() + 30_000,
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** B for `seconds`, with A's `floodClients` hammering the same queue (0: B alone). */
async function phase(queue: JobQueue, seconds: number, floodClients: number): Promise<Phase> {
  let stop = false;
  const a = new Map<string, number>();
  const flood = Array.from({ length: floodClients }, async () => {
    while (!stop) {
      const o = await queue.submit(job('A', `select pg_sleep(${A_SLEEP_MS / 1000}), 1`, []));
      const key = o.ok ? '200' : `${status(o)} ${o.error.code}`;
      a.set(key, (a.get(key) ?? 0) + 1);
      if (!o.ok) await sleep(A_BACKOFF_MS);
    }
  });
  // The flood reaches its steady state (lines full) before B is measured.
  if (floodClients > 0) await sleep(500);
  const latencies: number[] = [];
  let wrong = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: B_CLIENTS }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        const o = await queue.submit(job('B', B_SQL, [2]));
        latencies.push(performance.now() - started);
        if (!o.ok || JSON.stringify(o.result.rows) !== '[[2,"T2 Bob"]]') wrong++;
      }
    }),
  );
  stop = true;
  await Promise.all(flood);
  latencies.sort((x, y) => x - y);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), rps: latencies.length / seconds, wrong, a };
}

async function compare(name: string, makeQueue: () => JobQueue, floodClients: number): Promise<{ alone: Phase; flood: Phase }> {
  const queue = makeQueue();
  try {
    await phase(queue, 1, 0); // warm-up: threads, pools, statement cache
    const alone = await phase(queue, PHASE_S, 0);
    const flood = await phase(queue, PHASE_S, floodClients);
    console.log(`${name.padEnd(22)}${fmt(alone.p50, 2)}${fmt(alone.p99, 2)}${fmt(flood.p50, 2)}${fmt(flood.p99, 2)}${ratio(flood.p99, alone.p99).padStart(10)}${fmt(alone.rps, 0)}${fmt(flood.rps, 0)}${String(alone.wrong + flood.wrong).padStart(8)}`);
    return { alone, flood };
  } finally {
    await queue.close();
  }
}

async function main(): Promise<void> {
  const fixture = await createPgFixture();
  const config = parseConfig({
    ...testConfig(fixture.schema, { workers: { threads: THREADS }, connection: { max: PER_THREAD } }),
    sql: { allowFunctions: ['pg_sleep'] },
  });
  const policy = defaultFairnessPolicy(config, TENANT_MAX_WAITING === undefined ? {} : { maxWaiting: TENANT_MAX_WAITING });
  const { maxConcurrent: cap, maxWaiting: line } = policy(job('A', '', []));
  const floodClients = 20 * cap;
  console.log(
    `noisy neighbour: ${THREADS} threads × ${PER_THREAD} pg connections (capacity ${THREADS * PER_THREAD}), A's cap ${cap} and line ${line}, ` +
      `A: ${floodClients} clients of pg_sleep(${A_SLEEP_MS} ms), B: ${B_CLIENTS} clients of a primary-key select, ${PHASE_S}s per phase\n`,
  );
  let pool: WorkerPool | undefined;
  try {
    pool = createPiscinaWorkerPool(config);
    const p = pool;
    console.log('queue                 alone p50 alone p99 flood p50 flood p99  p99 ratio  B/s alone B/s flood  wrong');
    const fair = await compare('fair queue', () => createFairQueue(createInProcessQueue(config, p), policy, config), floodClients);
    const bare = await compare('no fairness (baseline)', () => createInProcessQueue(config, p), floodClients);
    for (const [name, r] of [['fair queue', fair], ['no fairness', bare]] as const) {
      const hist = [...r.flood.a].sort().map(([k, v]) => `${k}: ${v}`).join(', ');
      console.log(`A's answers, ${name}: ${hist}`);
    }
    const target = fair.flood.p99 <= 2 * fair.alone.p99;
    console.log(`\nB's p99 with flood / alone: fair ${ratio(fair.flood.p99, fair.alone.p99)} (target ≤ 2×: ${target ? 'met' : 'NOT met'}), no fairness ${ratio(bare.flood.p99, bare.alone.p99)}`);
    if (fair.alone.wrong + fair.flood.wrong + bare.alone.wrong + bare.flood.wrong > 0) console.log('WARNING: some of B’s answers were errors or wrong rows');
  } finally {
    await pool?.close();
    await fixture.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
