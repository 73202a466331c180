/**
 * End-to-end: sluice on a SQLite file against a do-it-yourself Drizzle sqlite-proxy endpoint
 * (Fastify + better-sqlite3 in the server's own thread, tenant filter by hand, no auth, no checks,
 * no process hop), same file, same query, in one run. Loopback only.
 *
 *   node --import tsx bench/sqlite-e2e.ts     BENCH_DURATION=10 BENCH_CONNECTIONS=32 BENCH_THREADS=2
 *
 * The bare proxy runs every statement on the event loop (fast, but one runaway statement would
 * freeze it and nothing could stop it); sluice pays a thread hop and a process hop per request.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { runSqliteAdminSql } from '../src/drivers/sqlite/sqlite-admin.js';
import { pathToFileURL } from 'node:url';
import { CONNECTIONS, DURATION, inProcess, listenBare, measureBare, measureSluice, memberBenchConfig, printComparison, THREADS, WARMUP, type BareTarget } from './load.js';
import type { PathResult } from './paths.js';
import { descendants, processMeter } from './proc-cpu.js';

/** sluice's SQLite processes (children of this process running workers/sqlite-process); the load generator is not one. */
const sqliteProcesses = (): number[] => descendants(process.pid).filter((pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('sqlite-process');
  } catch {
    return false;
  }
});

const QUERY = 'select "id", "name", "email" from "customers" where "customers"."id" = ?';
const BODY = { sql: QUERY, params: [1], method: 'all' };

async function startBare(file: string, tenant: number): Promise<BareTarget> {
  const db = new Database(file, { readonly: true });
  const cache = new Map<string, Database.Statement>();
  const app = Fastify({ logger: false });
  app.post<{ Body: { sql: string; params?: unknown[] } }>('/data', async (request) => {
    const { sql, params = [] } = request.body;
    const text = `${sql} and "tenant_id" = ?`;
    let stmt = cache.get(text);
    if (!stmt) cache.set(text, (stmt = db.prepare(text).raw(true)));
    const rows = stmt.all(...params, tenant);
    return { rows, rowCount: rows.length, truncated: false };
  });
  return listenBare(app, () => db.close());
}

/** Bare twin (statements on its own event loop: database CPU is in its gateway figure), then sluice (database = its SQLite processes). */
export async function sqlitePath(): Promise<PathResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-e2e-'));
  const file = join(dir, 'bench.db');
  try {
    runSqliteAdminSql(
      file,
      `create table customers (id integer primary key, tenant_id integer not null, name text not null, email text unique, secret_note text);
       create table orders (id integer primary key, tenant_id integer not null, customer_id integer, total text);
       create table order_items (id integer primary key, tenant_id integer not null, order_id integer, sku text, qty integer);
       insert into customers (id, tenant_id, name, email) values (1, 1, 'T1 Alice', 'alice@t1.example'), (2, 2, 'T2 Bob', 'bob@t2.example');`,
    );
    console.log(`sluice SQLite bench: ${DURATION}s per target after ${WARMUP}s warm-up, ${CONNECTIONS} connections, sluice ${THREADS} threads (one SQLite process each)`);
    console.log(`query: ${QUERY}  [? = 1, tenant 1]\n`);

    const bare = await startBare(file, 1);
    const bareRun = await measureBare(bare, BODY, 'T1 Alice', inProcess());
    const sluiceRun = await measureSluice(memberBenchConfig(file), BODY, 'T1 Alice', inProcess({ database: processMeter(sqliteProcesses) }));

    printComparison(' (SQLite)', bareRun, sluiceRun);
    return { name: 'SQLite', bare: bareRun, sluice: sluiceRun };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  sqlitePath().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
