/**
 * The MySQL/MariaDB driver alone, in one thread: sluice's lease (createMysqlDriver.execute: context
 * SET, the statement, COM_RESET_CONNECTION) against its bare twin (pool.query of the same statement
 * with the tenant filter written in), in the same run, alternating. For an A/B of two builds, point
 * BENCH_DRV_ROOTS at their checkouts (comma-separated; default: this one) — each round runs bare,
 * then every build's driver.
 *
 *   node --import tsx bench/drivers-mysql.ts     BENCH_DRV_SECONDS=4 BENCH_DRV_ROUNDS=3 BENCH_DRV_CALLERS=16
 *   BENCH_DRV_WRITE=1: a lone UPDATE of one row instead of the primary-key read
 *   BENCH_DRV_CONTEXT_VARIABLES=0: the connection's contextVariables off (builds that predate it ignore it)
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import mysql from 'mysql2/promise';
import type { MysqlConnectionConfig } from '../src/config/types.js';
import type { Driver } from '../src/drivers/driver.js';
import { mariadbMeter } from './proc-cpu.js';

const SECONDS = Number(process.env.BENCH_DRV_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_DRV_ROUNDS ?? 3);
const CALLERS = Number(process.env.BENCH_DRV_CALLERS ?? 16);
const POOL = Number(process.env.BENCH_POOL_PER_THREAD ?? 4);
const WRITE = process.env.BENCH_DRV_WRITE === '1';
const CONTEXT_VARIABLES = process.env.BENCH_DRV_CONTEXT_VARIABLES !== '0';
const ROOTS = (process.env.BENCH_DRV_ROOTS ?? resolve(import.meta.dirname, '..')).split(',');
const SERVER = (process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test').replace(/\/[^/]*$/, '');

interface Result {
  rps: number;
  nodeUs: number;
  /** CPU of the server threads of this process's connections (only the target being driven works). */
  dbUs: number;
  p50: number;
  p99: number;
}

async function drive(run: () => Promise<unknown>): Promise<Result> {
  const warmEnd = performance.now() + 500;
  await Promise.all(Array.from({ length: CALLERS }, async () => {
    while (performance.now() < warmEnd) await run();
  }));
  const lat: number[] = [];
  const db = mariadbMeter(SERVER, () => [process.pid]);
  await db.start();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  await Promise.all(Array.from({ length: CALLERS }, async () => {
    while (performance.now() < end) {
      const s = performance.now();
      await run();
      lat.push(performance.now() - s);
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const dbUs = await db.stop();
  lat.sort((a, b) => a - b);
  return { rps: lat.length / secs, nodeUs: (cpu.user + cpu.system) / lat.length, dbUs: dbUs / lat.length, p50: lat[Math.floor(lat.length / 2)]!, p99: lat[Math.floor(lat.length * 0.99)]! };
}

async function main(): Promise<void> {
  const database = `bench_drv_${randomBytes(5).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: SERVER });
  await admin.query(`create database \`${database}\``);
  try {
    await admin.query(`create table \`${database}\`.customers (id int primary key, tenant_id int not null, name varchar(100) not null, email varchar(100), hits int not null default 0)`);
    const values = Array.from({ length: 200 }, (_, i) => `(${i + 1}, ${(i % 2) + 1}, 'name ${i}', 'e${i}@x.example', 0)`).join(',');
    await admin.query(`insert into \`${database}\`.customers values ${values}`);
    const url = `${SERVER}/${database}`;
    const sql = WRITE
      ? 'update customers set hits = hits + 1 where id = ? and tenant_id = ?'
      : 'select id, name, email from (select id, tenant_id, name, email from customers where tenant_id = ?) as customers where id = ? limit 10001';
    const params = WRITE ? [1, 1] : [1, 1];
    console.log(`mysql driver bench (${WRITE ? 'lone write' : 'primary-key read'}${CONTEXT_VARIABLES ? '' : ', contextVariables false'}): ${CALLERS} callers, ${POOL} connections, ${SECONDS}s × ${ROUNDS} rounds, builds: ${ROOTS.join(', ')}\n`);
    const bare = mysql.createPool({ uri: url, connectionLimit: POOL });
    const conn: MysqlConnectionConfig = { dialect: 'mysql', url, max: POOL, schema: database, idleTimeoutMs: 0, connectionTimeoutMs: 5000, tenantClaim: 'tenant_id', ...(!CONTEXT_VARIABLES && { contextVariables: false }) };
    const drivers: Array<{ root: string; driver: Driver }> = [];
    for (const root of ROOTS) {
      const mod = (await import(pathToFileURL(resolve(root, 'src/drivers/mysql/mysql-driver.ts')).href)) as typeof import('../src/drivers/mysql/mysql-driver.js');
      drivers.push({ root, driver: mod.createMysqlDriver(conn, () => undefined) });
    }
    const claims = { sub: 'bench', role: 'member', tenant_id: 1 };
    let job = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const b = await drive(() => bare.query({ sql, values: params, rowsAsArray: true }));
      for (const { root, driver } of drivers) {
        const r = await drive(() =>
          driver.execute({ jobId: String(job++), sql, params, method: WRITE ? 'execute' : 'all', claims, timeoutMs: 30_000, maxRows: 10_000, maxResponseBytes: 1 << 24, readOnly: !WRITE }),
        );
        console.log(
          `round ${round + 1}  ${root.padEnd(28)} ${r.rps.toFixed(0).padStart(6)} st/s (${(r.rps / b.rps).toFixed(2)}× bare ${b.rps.toFixed(0)})` +
            `  p50 ${r.p50.toFixed(2)} ms (${(r.p50 / b.p50).toFixed(2)}×)  p99 ${r.p99.toFixed(2)} ms (${(r.p99 / b.p99).toFixed(2)}×)  node ${r.nodeUs.toFixed(0)} µs/st (bare ${b.nodeUs.toFixed(0)})` +
            `  mariadb ${r.dbUs.toFixed(0)} µs/st (bare ${b.dbUs.toFixed(0)}, ${(r.dbUs / b.dbUs).toFixed(2)}×)`,
        );
      }
    }
    await bare.end();
    for (const { driver } of drivers) await driver.close();
  } finally {
    await admin.query(`drop database \`${database}\``);
    await admin.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
