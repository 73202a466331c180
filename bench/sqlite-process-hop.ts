/**
 * What running SQLite in a killable child process costs: the same tenant-scoped query through
 * better-sqlite3 in this thread (the fastest possible, but unkillable) and through sluice's SQLite
 * driver (IPC hop to the SQLite process, engine wall cached), in the same run. Then the same for a
 * key lookup (`where id = ? and tenant_id = ?`), a straight-line program that the driver runs on
 * its own thread (sqlite-bounded.ts): what is left is the driver's own overhead.
 *
 *   node --import tsx bench/sqlite-process-hop.ts [iterations]
 *
 * Prints µs per query for each and the ratio. The driver runs one statement at a time per worker
 * thread (one process each), so this is the per-thread latency; threads add processes in parallel.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runSqliteAdminSql } from '../src/drivers/sqlite/sqlite-admin.js';
import { createSqliteDriver } from '../src/drivers/sqlite/sqlite-driver.js';

const N = Number(process.argv[2] ?? 5000);
const SQL = 'select id, tenant_id, name, email from customers where tenant_id = ? order by id limit 20';
const KEY_SQL = 'select id, tenant_id, name, email from customers where id = ? and tenant_id = ?';

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function measure(label: string, fn: (i: number) => unknown): Promise<{ label: string; meanUs: number; p50Us: number; p99Us: number }> {
  for (let i = 0; i < Math.min(500, N); i++) await fn(i);
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await fn(i);
    times.push((performance.now() - t) * 1000);
  }
  const meanUs = ((performance.now() - start) * 1000) / N;
  times.sort((a, b) => a - b);
  return { label, meanUs, p50Us: quantile(times, 0.5), p99Us: quantile(times, 0.99) };
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
const file = join(dir, 'bench.db');
try {
  const rows = Array.from({ length: 1000 }, (_, i) => `(${(i % 10) + 1}, 'name ${i}', 'u${i}@t${i % 10}.example')`).join(',');
  runSqliteAdminSql(file, `create table customers (id integer primary key, tenant_id integer not null, name text, email text); create index ct on customers(tenant_id); insert into customers (tenant_id, name, email) values ${rows};`);

  const db = new Database(file, { readonly: true });
  const stmt = db.prepare(SQL).raw(true);
  const keyStmt = db.prepare(KEY_SQL).raw(true);
  const inThread = await measure('better-sqlite3 in-thread', (i) => stmt.all((i % 10) + 1));
  const keyInThread = await measure('key lookup: better-sqlite3 in-thread', (i) => keyStmt.all((i % 1000) + 1, ((i % 1000) % 10) + 1));
  db.close();

  const driver = createSqliteDriver({ dialect: 'sqlite', file, schema: 'main', max: 1, busyTimeoutMs: 1000 }, (m, d) => console.error(m, d));
  const ask = (i: number, sql: string, params: unknown[]) =>
    driver.execute({ jobId: `b${i}`, sql, params, method: 'all', claims: {}, timeoutMs: 5000, maxRows: 10000, maxResponseBytes: 32 * 1024 * 1024, readOnly: true, tables: ['customers'] });
  const hop = await measure('sluice sqlite driver (process hop)', (i) => ask(i, SQL, [(i % 10) + 1]));
  const keyDriver = await measure('key lookup: sluice driver (thread)', (i) => ask(i, KEY_SQL, [(i % 1000) + 1, ((i % 1000) % 10) + 1]));
  await driver.close();

  const print = (r: Awaited<ReturnType<typeof measure>>): void =>
    console.log(`${r.label.padEnd(38)} mean ${r.meanUs.toFixed(1).padStart(7)} µs  p50 ${r.p50Us.toFixed(1).padStart(7)} µs  p99 ${r.p99Us.toFixed(1).padStart(7)} µs`);
  for (const r of [inThread, hop, keyInThread, keyDriver]) print(r);
  console.log(`process hop: ${(hop.meanUs - inThread.meanUs).toFixed(1)} µs per query; throughput ratio (hop / in-thread) ${(inThread.meanUs / hop.meanUs).toFixed(3)}×`);
  console.log(`key lookup on the driver's thread: ${(keyDriver.meanUs - keyInThread.meanUs).toFixed(1)} µs per query; throughput ratio (driver / in-thread) ${(keyInThread.meanUs / keyDriver.meanUs).toFixed(3)}×`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
