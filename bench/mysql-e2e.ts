/**
 * End-to-end: sluice on MariaDB/MySQL against a do-it-yourself Drizzle mysql-proxy endpoint
 * (Fastify + one mysql2 pool, tenant filter appended by hand, no auth, no checks, no threads),
 * same database, same driver, same pool size, same query, in one run. Loopback only.
 *
 *   node --import tsx bench/mysql-e2e.ts     BENCH_DURATION=10 BENCH_WARMUP=2 BENCH_CONNECTIONS=32
 *                                            BENCH_THREADS=2 BENCH_POOL_PER_THREAD=4
 *                                            BENCH_MYSQL_CONTEXT_VARIABLES=1 (sluice sets @sluice_* too)
 *
 * Nothing in the bench database reads @sluice_tenant_id/@sluice_claims (as in the bare twin), so
 * sluice runs with `contextVariables: false` unless BENCH_MYSQL_CONTEXT_VARIABLES=1.
 *
 * Needs MariaDB/MySQL at 127.0.0.1:3306 (root, empty password); a fresh database per run, dropped
 * at the end.
 */
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import mysql from 'mysql2/promise';
import { pathToFileURL } from 'node:url';
import { CONNECTIONS, DURATION, inProcess, listenBare, measureBare, measureSluice, memberBenchConfig, PER_THREAD, printComparison, THREADS, WARMUP, type BareTarget } from './load.js';
import type { PathResult } from './paths.js';
import { mariadbMeter } from './proc-cpu.js';

const SERVER = 'mysql://root@127.0.0.1:3306';
const QUERY = 'select `id`, `name`, `email` from `customers` where `customers`.`id` = ?';
const BODY = { sql: QUERY, params: [1], method: 'all' };
const CONTEXT_VARIABLES = process.env.BENCH_MYSQL_CONTEXT_VARIABLES === '1';

const FIXTURE = [
  'create table customers (id int auto_increment primary key, tenant_id int not null, name varchar(100) not null, email varchar(100) unique, secret_note text)',
  `insert into customers (id, tenant_id, name, email, secret_note) values
     (1, 1, 'T1 Alice', 'alice@t1.example', 'SECRET-T1-alice'), (2, 2, 'T2 Bob', 'bob@t2.example', 'SECRET-T2-bob'),
     (3, 1, 'T1 Carol', 'carol@t1.example', 'SECRET-T1-carol'), (4, 2, 'T2 Dan', 'dan@t2.example', 'SECRET-T2-dan'),
     (5, 1, 'T1 Erin', 'erin@t1.example', 'SECRET-T1-erin'), (6, 2, 'T2 Frank', 'frank@t2.example', 'SECRET-T2-frank')`,
];

async function startBare(dbUrl: string, poolSize: number, tenant: number): Promise<BareTarget> {
  const pool = mysql.createPool({ uri: dbUrl, connectionLimit: poolSize });
  const app = Fastify({ logger: false });
  app.post<{ Body: { sql: string; params?: unknown[]; method?: 'all' | 'execute' } }>('/data', async (request) => {
    const { sql, params = [], method = 'all' } = request.body;
    // The hand-written tenant filter: the app's query must end in a WHERE clause.
    const [result] = await pool.query({ sql: `${sql} and tenant_id = ?`, values: [...params, tenant], rowsAsArray: method === 'all' });
    const rows = Array.isArray(result) ? result : [];
    return { rows, rowCount: rows.length, truncated: false };
  });
  return listenBare(app, () => pool.end());
}

/** Bare twin, then sluice, same database and query; database CPU = the MariaDB threads of each one's connections. */
export async function mysqlPath(): Promise<PathResult> {
  const database = `bench_${randomBytes(6).toString('hex')}`;
  const dbUrl = `${SERVER}/${database}`;
  const admin = await mysql.createConnection({ uri: SERVER });
  try {
    await admin.query(`create database \`${database}\``);
    await admin.query(`use \`${database}\``);
    for (const sql of FIXTURE) await admin.query(sql);

    console.log(
      `sluice MySQL bench: ${DURATION}s per target after ${WARMUP}s warm-up, ${CONNECTIONS} connections, ` +
        `${THREADS} threads × ${PER_THREAD} mysql connections (bare proxy: one mysql2 pool of ${THREADS * PER_THREAD})`,
    );
    console.log(`query: ${QUERY}  [? = 1, tenant 1]; sluice contextVariables: ${CONTEXT_VARIABLES}\n`);

    const meters = () => inProcess({ database: mariadbMeter(SERVER, () => [process.pid]) });
    const bare = await startBare(dbUrl, THREADS * PER_THREAD, 1);
    const bareRun = await measureBare(bare, BODY, 'T1 Alice', meters());
    const sluiceRun = await measureSluice(memberBenchConfig({ url: dbUrl, max: PER_THREAD, ...(!CONTEXT_VARIABLES && { contextVariables: false }) }), BODY, 'T1 Alice', meters());

    printComparison(' (MySQL)', bareRun, sluiceRun);
    return { name: 'MySQL/MariaDB', bare: bareRun, sluice: sluiceRun };
  } finally {
    await admin.query(`drop database if exists \`${database}\``).catch((err: unknown) => console.error(`could not drop ${database}:`, err));
    await admin.end();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  mysqlPath().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
