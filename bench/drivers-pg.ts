/**
 * The Postgres driver alone, in one thread: sluice's lease (createPgDriver.execute: context step +
 * rewritten statement, one pipeline) against its bare twin (pool.query of the same rewritten
 * statement with the tenant id bound by hand), alternating, in the same run. Reports throughput,
 * Node CPU per statement (this process) and Postgres CPU per statement (the backends serving the
 * pools, read from /proc, so other work on the machine is not counted).
 *
 *   node --import tsx bench/drivers-pg.ts      BENCH_DRV_SECONDS=4 BENCH_DRV_ROUNDS=3 BENCH_DRV_CALLERS=16
 *   BENCH_DRV_PREPARED=0,100 (the preparedStatements values to alternate; first is "A")
 */
import pg from 'pg';
import { parseConfig } from '../src/config/schema.js';
import type { PostgresConnectionConfig, SluiceConfig } from '../src/config/types.js';
import type { Driver } from '../src/drivers/driver.js';
import { createPgDriver } from '../src/drivers/pg/pg-driver.js';
import { bindParams } from '../src/sql/bind-params.js';
import { createValidator, loadSqlParsers } from '../src/sql/create-validator.js';
import { createPgFixture } from '../test/helpers/pg-fixture.js';
import { PG_TEST_URL } from '../test/helpers/skip.js';
import { testConfig } from '../test/helpers/test-config.js';
import { processTicks as backendTicks } from '../test/helpers/proc-stat.js';

const SECONDS = Number(process.env.BENCH_DRV_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_DRV_ROUNDS ?? 3);
const CALLERS = Number(process.env.BENCH_DRV_CALLERS ?? 16);
const POOL = Number(process.env.BENCH_POOL_PER_THREAD ?? 4);
const VARIANTS = (process.env.BENCH_DRV_PREPARED ?? '0,100').split(',').map(Number);
const QUERY = 'select "id", "name", "email" from "customers" where "customers"."id" = $1';
const TICK_US = 1e6 / 100; // USER_HZ

interface Result {
  rps: number;
  nodeUs: number;
  pgUs: number;
}

async function drive(run: () => Promise<unknown>, pids: () => Promise<number[]>): Promise<Result> {
  const warmEnd = performance.now() + 500;
  await Promise.all(Array.from({ length: CALLERS }, async () => {
    while (performance.now() < warmEnd) await run();
  }));
  const backends = await pids();
  const cpu0 = process.cpuUsage();
  const pg0 = backendTicks(backends);
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  let n = 0;
  await Promise.all(Array.from({ length: CALLERS }, async () => {
    while (performance.now() < end) {
      await run();
      n++;
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const pgTicks = backendTicks(backends) - pg0;
  return { rps: n / secs, nodeUs: (cpu.user + cpu.system) / n, pgUs: (pgTicks * TICK_US) / n };
}

async function main(): Promise<void> {
  const fixture = await createPgFixture();
  try {
    await loadSqlParsers();
    const config = parseConfig(testConfig(fixture.schema)) as SluiceConfig;
    const checked = createValidator(config, 'main').check({ sql: QUERY, role: 'member' });
    const claims = { sub: 'bench', role: 'member', tenant_id: 1 };
    const params = bindParams(checked, [1], claims);
    console.log(`pg driver bench: ${CALLERS} callers, ${POOL} connections, ${SECONDS}s × ${ROUNDS} rounds per variant, alternating`);
    console.log(`rewritten: ${checked.sql}\n`);

    const bare = new pg.Pool({ connectionString: PG_TEST_URL, max: POOL });
    const pidsOf = async (pool: pg.Pool): Promise<number[]> => {
      const clients = await Promise.all(Array.from({ length: POOL }, () => pool.connect()));
      const pids = clients.map((c) => (c as unknown as { processID: number }).processID);
      for (const c of clients) c.release();
      return pids;
    };
    const bareText = checked.sql;
    const drivers = new Map<number, { driver: Driver; pool: pg.Pool }>();
    for (const prepared of VARIANTS) {
      const conn: PostgresConnectionConfig = { dialect: 'postgres', url: PG_TEST_URL, max: POOL, schema: fixture.schema, idleTimeoutMs: 0, connectionTimeoutMs: 5000, preparedStatements: prepared };
      const { createPgPool } = await import('../src/drivers/pg/pg-pools.js');
      const { pgLeasePoolOptions } = await import('../src/drivers/pg/pg-driver.js');
      const pool = createPgPool(conn, pgLeasePoolOptions(conn), () => undefined);
      drivers.set(prepared, { driver: createPgDriver(conn, () => undefined, { pool }), pool });
    }
    let job = 0;
    const rows: Array<{ name: string; r: Result }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      const b = await drive(() => bare.query({ text: bareText, values: params, rowMode: 'array' }), () => pidsOf(bare));
      rows.push({ name: 'bare', r: b });
      for (const [prepared, { driver, pool }] of drivers) {
        const r = await drive(
          () => driver.execute({ jobId: String(job++), sql: checked.sql, params, method: 'all', claims, timeoutMs: 30_000, maxRows: 1000, maxResponseBytes: 1 << 24, readOnly: true }),
          () => pidsOf(pool),
        );
        rows.push({ name: `sluice preparedStatements=${prepared}`, r });
        console.log(
          `round ${round + 1}  ${`preparedStatements=${prepared}`.padEnd(24)} ${r.rps.toFixed(0).padStart(6)} st/s (${(r.rps / b.rps).toFixed(2)}× bare ${b.rps.toFixed(0)})` +
            `  node ${r.nodeUs.toFixed(0)} µs (bare ${b.nodeUs.toFixed(0)})  postgres ${r.pgUs.toFixed(0)} µs (bare ${b.pgUs.toFixed(0)})` +
            `  total/bare ${((r.nodeUs + r.pgUs) / (b.nodeUs + b.pgUs)).toFixed(2)}×`,
        );
      }
    }
    await bare.end();
    for (const { driver } of drivers.values()) await driver.close();
  } finally {
    await fixture.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
