/**
 * What running SQLite in a killable child process costs: the same tenant-scoped query through
 * better-sqlite3 in this thread (the fastest possible, but unkillable) and through sluice's SQLite
 * driver (IPC hop to the SQLite process, engine wall cached), in the same run.
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
  const inThread = await measure('better-sqlite3 in-thread', (i) => stmt.all((i % 10) + 1));
  db.close();

  const driver = createSqliteDriver({ dialect: 'sqlite', file, schema: 'main', max: 1, busyTimeoutMs: 1000 }, (m, d) => console.error(m, d));
  const hop = await measure('sluice sqlite driver (process hop)', (i) =>
    driver.execute({ jobId: `b${i}`, sql: SQL, params: [(i % 10) + 1], method: 'all', claims: {}, timeoutMs: 5000, maxRows: 10000, maxResponseBytes: 32 * 1024 * 1024, readOnly: true, tables: ['customers'] }),
  );
  await driver.close();

  for (const r of [inThread, hop]) {
    console.log(`${r.label.padEnd(36)} mean ${r.meanUs.toFixed(1).padStart(7)} µs  p50 ${r.p50Us.toFixed(1).padStart(7)} µs  p99 ${r.p99Us.toFixed(1).padStart(7)} µs`);
  }
  console.log(`process hop: ${(hop.meanUs - inThread.meanUs).toFixed(1)} µs per query; throughput ratio (hop / in-thread) ${(inThread.meanUs / hop.meanUs).toFixed(3)}×`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
