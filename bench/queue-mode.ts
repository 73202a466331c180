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
import autocannon from 'autocannon';
import { createEngine } from '../src/engine.js';
import { startCli } from '../test/helpers/cli-process.js';
import { createPgFixture } from '../test/helpers/pg-fixture.js';
import { dropRedisPrefix, REDIS_URL } from '../test/helpers/services.js';
import { PG_TEST_URL } from '../test/helpers/skip.js';
import { testConfig } from '../test/helpers/test-config.js';
import { signToken } from '../test/helpers/tokens.js';
import { startBareProxy } from './bare-proxy.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const PER_THREAD = Number(process.env.BENCH_POOL_PER_THREAD ?? 4);
const QUERY = 'select "id", "name", "email" from "customers" where "customers"."id" = $1';

interface Run {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function drive(url: string, headers: Record<string, string>, seconds: number): Promise<Run> {
  const r = await autocannon({
    url: `${url}/data`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ sql: QUERY, params: [1], method: 'all', typings: ['none'] }),
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
}

async function measure(name: string, url: string, headers: Record<string, string>): Promise<Run> {
  const probe = await fetch(`${url}/data`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ sql: QUERY, params: [1] }) });
  const text = await probe.text();
  if (!probe.ok || !text.includes('T1 Alice')) throw new Error(`${name} answered ${probe.status}: ${text}`);
  if (WARMUP > 0) await drive(url, headers, WARMUP);
  return drive(url, headers, DURATION);
}

const fmt = (n: number, d = 1): string => n.toFixed(d).padStart(9);

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
      runs.push(['bare proxy', await measure('bare', bare.url, {})]);
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
        runs.push([name, await measure(name, url, auth)]);
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
      runs.push(['api+1 worker', await measure('api+worker', url, auth)]);
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
