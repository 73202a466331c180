/**
 * Queue mode against the core benchmark, in one run, same query and clients:
 *   bare proxy | sluice in-process | sluice serve + Redis (front and worker in one process) |
 *   sluice api + 1 worker process (BullMQ between them).
 * Prints throughput, p50/p99, the ratio to the bare proxy (target for queue mode ≥ 0.3×) and the
 * p50 added per request by going through Redis.
 *
 *   node --import tsx bench/queue-mode.ts     BENCH_DURATION=10 BENCH_CONNECTIONS=32 BENCH_WARMUP=2
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../src/engine.js';
import { startCli } from '../test/helpers/cli-process.js';
import { createPgFixture } from '../test/helpers/pg-fixture.js';
import { dropRedisPrefix, REDIS_URL } from '../test/helpers/services.js';
import { PG_TEST_URL } from '../test/helpers/skip.js';
import { testConfig } from '../test/helpers/test-config.js';
import { signToken } from '../test/helpers/tokens.js';
import { startBareProxy } from './bare-proxy.js';
import { CONNECTIONS, DURATION, fmt, measure, PER_THREAD, THREADS, WARMUP, type Run } from './load.js';

const QUERY = 'select "id", "name", "email" from "customers" where "customers"."id" = $1';
const BODY = { sql: QUERY, params: [1], method: 'all', typings: ['none'] };
const measureTarget = (name: string, url: string, headers: Record<string, string>): Promise<Run> => measure({ name, url, headers }, BODY, 'T1 Alice');





async function main(): Promise<void> {
  const fixture = await createPgFixture();
  const prefix = `bench-${randomUUID()}`;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const base = testConfig(fixture.schema, { workers: { threads: THREADS }, connection: { max: PER_THREAD } });
  const queued = testConfig(fixture.schema, { workers: { threads: THREADS }, connection: { max: PER_THREAD }, queue: { redis: REDIS_URL, prefix } });
  const token = await signToken({ sub: 'bench', role: 'member', tenant_id: 1 }, { expiresIn: '2h' });
  const auth = { authorization: `Bearer ${token}` };
  const runs: Array<[string, Run]> = [];
  console.log(`queue-mode bench: ${DURATION}s per target after ${WARMUP}s warm-up, ${CONNECTIONS} connections, ${THREADS} threads × ${PER_THREAD} pg connections`);
  try {
    const bare = await startBareProxy({ dbUrl: PG_TEST_URL, schema: fixture.schema, poolSize: THREADS * PER_THREAD, tenant: 1 });
    try {
      runs.push(['bare proxy', await measureTarget('bare', bare.url, {})]);
    } finally {
      await bare.close();
    }
    for (const [name, config] of [
      ['in-process', base],
      ['serve+redis', queued],
    ] as const) {
      const engine = createEngine(config, { logger: false });
      try {
        const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
        runs.push([name, await measureTarget(name, url, auth)]);
      } finally {
        await engine.close();
      }
    }
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ ...queued, logging: { level: 'info' } }));
    const api = startCli(['api', '--config', file, '--port', '0']);
    const worker = startCli(['worker', '--config', file]);
    try {
      const url = (await api.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      await worker.waitFor(/worker ready/);
      runs.push(['api+1 worker', await measureTarget('api+worker', url, auth)]);
    } finally {
      api.child.kill('SIGTERM');
      worker.child.kill('SIGTERM');
      await Promise.all([api.exited, worker.exited]);
    }

    const bareRun = runs[0]![1];
    const inProc = runs[1]![1];
    console.log('\ntarget           req/s    p50 ms    p99 ms   non-2xx  errors   vs bare');
    for (const [name, r] of runs) {
      console.log(`${name.padEnd(13)}${fmt(r.rps, 0)}${fmt(r.p50)}${fmt(r.p99)}${String(r.non2xx).padStart(10)}${String(r.errors).padStart(8)}${`${(r.rps / bareRun.rps).toFixed(2)}×`.padStart(10)}`);
    }
    for (const [name, r] of runs.slice(2)) {
      console.log(`${name}: +${(r.p50 - inProc.p50).toFixed(1)} ms p50 over in-process, throughput ${(r.rps / inProc.rps).toFixed(2)}× in-process`);
    }
  } finally {
    await fixture.drop();
    await dropRedisPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
