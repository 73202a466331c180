/**
 * The paths `npm run bench` measures, each as sluice against its bare twin in the same run:
 * Postgres in-process, MySQL/MariaDB, SQLite and queue mode (`sluice api` + one `sluice worker`
 * through Redis). Every path returns both runs, with CPU per request split by process.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCli } from '../test/helpers/cli-process.js';
import { freePort } from '../test/helpers/free-port.js';
import { createPgFixture } from '../test/helpers/pg-fixture.js';
import { dropRedisPrefix, REDIS_URL } from '../test/helpers/services.js';
import { PG_TEST_URL } from '../test/helpers/skip.js';
import { testConfig } from '../test/helpers/test-config.js';
import { signToken } from '../test/helpers/tokens.js';
import { startBareProxy } from './bare-proxy.js';
import { inProcess, measure, measureBare, measureSluice, PER_THREAD, printComparison, THREADS, type Run } from './load.js';
import { postgresMeter, processMeter, redisMeter } from './proc-cpu.js';

export interface PathResult {
  name: string;
  bare: Run;
  sluice: Run;
}

export const PG_QUERY = 'select "id", "name", "email" from "customers" where "customers"."id" = $1';
const PG_BODY = { sql: PG_QUERY, params: [1], method: 'all', typings: ['none'] };

const pgMeters = (pids: () => number[] = () => [process.pid]) => inProcess({ database: postgresMeter(PG_TEST_URL, pids) });

/** Postgres in-process: the bare Fastify + pg proxy, then `createEngine` in this process. */
export async function postgresPath(): Promise<PathResult> {
  const fixture = await createPgFixture();
  const config = testConfig(fixture.schema, { workers: { threads: THREADS }, connection: { max: PER_THREAD } });
  // One tenant: BENCH_TENANT_MAX_CONCURRENT sets the fair queue's cap (default: the policy's).
  const tenantCap = process.env.BENCH_TENANT_MAX_CONCURRENT;
  if (tenantCap !== undefined) config.tenants = { default: { connection: 'main' }, maxConcurrent: Number(tenantCap) };
  console.log(`\n== Postgres in-process: ${THREADS} threads × ${PER_THREAD} pg connections (bare: one pool of ${THREADS * PER_THREAD})`);
  console.log(`query: ${PG_QUERY}  [$1 = 1, tenant 1]`);
  try {
    const bare = await startBareProxy({ dbUrl: PG_TEST_URL, schema: fixture.schema, poolSize: THREADS * PER_THREAD, tenant: 1 });
    const bareRun = await measureBare(bare, PG_BODY, 'T1 Alice', pgMeters());
    const sluiceRun = await measureSluice(config, PG_BODY, 'T1 Alice', pgMeters());
    printComparison(' (Postgres)', bareRun, sluiceRun);
    return { name: 'Postgres', bare: bareRun, sluice: sluiceRun };
  } finally {
    await fixture.drop();
  }
}

/**
 * Queue mode: `sluice api` and one `sluice worker` (CLI processes from source, BullMQ over the
 * shared Redis) against the same bare proxy. Gateway CPU = both processes; Redis = the whole
 * redis-server (shared with anything else running on this machine).
 */
export async function queuePath(): Promise<PathResult> {
  const fixture = await createPgFixture();
  const prefix = `bench-${randomUUID()}`;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  console.log(`\n== queue mode: sluice api + 1 sluice worker (${THREADS} threads × ${PER_THREAD} pg connections), Redis ${REDIS_URL}`);
  try {
    const bare = await startBareProxy({ dbUrl: PG_TEST_URL, schema: fixture.schema, poolSize: THREADS * PER_THREAD, tenant: 1 });
    const bareRun = await measureBare(bare, PG_BODY, 'T1 Alice', pgMeters());

    const port = await freePort();
    const file = join(dir, 'config.json');
    const config = testConfig(fixture.schema, { workers: { threads: THREADS }, connection: { max: PER_THREAD }, queue: { redis: REDIS_URL, prefix } });
    // One tenant, as on the Postgres path. Queue mode's caps are hard (the front cannot see the
    // workers' idle slots): unset, the tenant gets the policy's default, half the worker's slots.
    const tenantCap = process.env.BENCH_TENANT_MAX_CONCURRENT;
    if (tenantCap !== undefined) config.tenants = { default: { connection: 'main' }, maxConcurrent: Number(tenantCap) };
    // warn: the per-request info lines would be the api's biggest cost and the bare proxy logs nothing.
    writeFileSync(file, JSON.stringify({ ...config, logging: { level: 'warn' } }));
    const api = startCli(['api', '--config', file, '--port', String(port)]);
    const worker = startCli(['worker', '--config', file]);
    const pids = (): number[] => [api.child.pid!, worker.child.pid!];
    try {
      const token = await signToken({ sub: 'bench', role: 'member', tenant_id: 1 }, { expiresIn: '2h' });
      const target = { name: 'api+worker', url: `http://127.0.0.1:${port}`, headers: { authorization: `Bearer ${token}` } };
      const meters = { gateway: processMeter(pids), database: postgresMeter(PG_TEST_URL, pids), redis: redisMeter(Number(new URL(REDIS_URL).port || 6379)) };
      const sluiceRun = await measure(target, PG_BODY, 'T1 Alice', meters, 30_000);
      printComparison(' (queue mode)', bareRun, sluiceRun);
      return { name: 'queue mode', bare: bareRun, sluice: sluiceRun };
    } finally {
      api.child.kill('SIGTERM');
      worker.child.kill('SIGTERM');
      await Promise.all([api.exited, worker.exited]);
    }
  } finally {
    await fixture.drop();
    await dropRedisPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}
