/**
 * Issue 6, fault injection in queue mode: Redis is killed (-9) under steady load and started again
 * on the same port, on a PRIVATE redis-server (port 6391, its own directory) — never the shared
 * one. An api front (createEngine, role "api") and a queue worker (piscina pool + BullMQ worker,
 * as `sluice worker` composes them) run in this process; nothing of sluice is restarted.
 *
 * Promised: every answer is a correct 200 or a clean 503 (QUEUE_UNAVAILABLE, OVERLOADED,
 * WORKER_LOST); a write answered 200 happened exactly once and any other write at most once; and
 * after the restart the system serves again by itself. Run twice: Redis without persistence
 * (everything in it is lost) and with an append-only file (jobs come back after the restart).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { createWorkerPool } from '../../src/pool/piscina-pool.js';
import type { WorkerPool } from '../../src/pool/worker-pool.js';
import { createQueueWorker, type QueueWorker } from '../../src/queue/bullmq/queue-worker.js';
import { answerOf, outOfBounds, tally, type Answer } from '../helpers/answers.js';
import { writeAccounting, wrongReads } from '../helpers/fault-load.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { privateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { describeIfPg, describeIfRedis } from '../helpers/services.js';
import { post } from '../helpers/sluice-harness.js';
import { testConfig } from '../helpers/test-config.js';
import { makeTokens, type TestTokens } from '../helpers/tokens.js';
import { sleep, waitUntil } from '../helpers/wait-until.js';

const PORT = 6391;
// The writes insert tenant 1 customers (ids > 100): the reads look at the seeded ones only.
const NAMES = { sql: 'select name from customers where id < $1 order by id', params: [100], method: 'execute' };
const ALLOWED = ['200', '503 QUEUE_UNAVAILABLE', '503 OVERLOADED', '503 WORKER_LOST'];

interface Write {
  marker: string;
  answer: Answer;
}

describeIfRedis('faults: Redis restarted under load (queue mode)', () => {
  describeIfPg.each([
    { persistence: 'none', appendonly: false },
    { persistence: 'append-only file', appendonly: true },
  ])('Redis with persistence: $persistence', ({ appendonly }) => {
    let fixture: PgFixture;
    let redis: PrivateRedis;
    let api: Engine;
    let pool: WorkerPool;
    let worker: QueueWorker;
    let tokens: TestTokens;
    let url: string;

    beforeAll(async () => {
      fixture = await createPgFixture();
      redis = privateRedis(PORT, { appendonly });
      await redis.start();
      const raw = testConfig(fixture.schema, {
        workers: { threads: 1 },
        connection: { max: 4 },
        // Short deadlines: anything stranded by the outage ends within seconds, not minutes.
        limits: { queryTimeout: 4000 },
        queue: { redis: redis.url, prefix: `faults-${randomBytes(4).toString('hex')}`, maxWaiting: 50, maxWaitMs: 3000, lockDurationMs: 2000 },
      });
      api = createEngine(raw, { logger: false, role: 'api' });
      ({ url } = await api.listen({ host: '127.0.0.1', port: 0 }));
      const config = parseConfig(raw);
      pool = createWorkerPool(config);
      worker = createQueueWorker(config, pool);
      await worker.ready();
      tokens = await makeTokens();
    }, 30_000);

    afterAll(async () => {
      await api?.close();
      await worker?.close();
      await pool?.close();
      await redis?.dispose();
      await fixture?.drop();
    }, 40_000);

    it('every answer correct or a clean 503, writes at most once, and it recovers by itself', async () => {
      const reads: Answer[] = [];
      const writes: Write[] = [];
      let stopped = false;
      let n = 0;
      const client = async (c: number): Promise<void> => {
        while (!stopped) {
          const i = n++;
          const t = performance.now();
          if (i % 3 === 2) {
            const marker = `w${i}-${randomBytes(3).toString('hex')}`;
            const r = await post(url, tokens.tenant1, { sql: 'insert into customers (name, email) values ($1, $2)', params: [marker, `${marker}@t1.example`] });
            writes.push({ marker, answer: answerOf('write', r, performance.now() - t) });
            if (r.status === 503) await sleep(50);
          } else {
            const label = c % 2 ? 't2' : 't1';
            const a = answerOf(label, await post(url, c % 2 ? tokens.tenant2 : tokens.tenant1, NAMES), performance.now() - t);
            if (restartedAt > 0 && firstOkAfterRestart === 0 && a.status === 200) firstOkAfterRestart = performance.now();
            reads.push(a);
            // A client honouring Retry-After would wait longer; a short pause keeps the CPU for sluice.
            if (a.status === 503) await sleep(50);
          }
        }
      };
      let restartedAt = 0;
      let firstOkAfterRestart = 0;
      const load = Promise.all(Array.from({ length: 6 }, (_, c) => client(c)));
      try {
        await waitUntil('steady load served', async () => reads.filter((a) => a.status === 200).length >= 20, 15_000);
        await redis.kill();
        await sleep(1500);
        await redis.start();
        restartedAt = performance.now();
        // Recovered: a run of 20 answers in a row, all 200, after the restart.
        const from = reads.length;
        await waitUntil(
          'twenty 200s in a row after the restart',
          async () => {
            const since = reads.slice(from);
            const lastBad = since.findLastIndex((a) => a.status !== 200);
            return since.length - (lastBad + 1) >= 20;
          },
          20_000,
          100,
        );
      } finally {
        stopped = true;
        await load;
      }

      const all = [...reads, ...writes.map((w) => w.answer)];
      const summary = tally(all);
      console.log(`faults-redis-restart (appendonly ${appendonly}): ${all.length} answers`, summary);
      expect(outOfBounds(all, ALLOWED)).toEqual([]);
      expect(summary['503 QUEUE_UNAVAILABLE'] ?? 0).toBeGreaterThan(0); // the outage was seen
      const wrong = wrongReads(reads.filter((a) => a.status === 200));
      expect(wrong).toEqual([]);
      expect(writes.filter((w) => w.answer.status === 200).length).toBeGreaterThan(0);

      // Jobs that outlived the outage (AOF) finish or expire within their deadline.
      await sleep(appendonly ? 4000 : 500);
      const { rows } = await fixture.admin.query<{ name: string; n: number }>(`select name, count(*)::int as n from ${fixture.schema}.customers where name like 'w%' group by name`);
      const applied = new Map(rows.map((r) => [r.name, r.n]));
      const { misapplied, strangers } = writeAccounting(writes.map((w) => ({ markers: [w.marker], status: w.answer.status })), applied);
      expect(misapplied).toEqual([]);
      expect(strangers).toEqual([]);
      const unknownApplied = writes.filter((w) => w.answer.status !== 200 && applied.has(w.marker)).length;
      console.log(
        `faults-redis-restart (appendonly ${appendonly}): first 200 ${Math.round(firstOkAfterRestart - restartedAt)} ms after the restart;`,
        `${unknownApplied} of ${writes.filter((w) => w.answer.status !== 200).length} writes answered 503 were applied (once)`,
      );

      // Ready again, and serving every request.
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const after = await Promise.all(Array.from({ length: 10 }, (_, i) => post(url, i % 2 ? tokens.tenant2 : tokens.tenant1, NAMES)));
      expect(after.map((r) => r.status)).toEqual(Array(10).fill(200));
    }, 60_000);
  });
});
