/**
 * The Postgres corpus target: two fresh databases with the same DDL and seed (the `mySchema` schema
 * included, so both sides use the same names); a sluice engine over one (Drizzle's pg-proxy posting
 * to it) and Drizzle's node-postgres driver over the other.
 */
import { randomBytes } from 'node:crypto';
import { drizzle as nodePgDrizzle } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { PG_CORPUS_DDL, PG_CORPUS_DUMP, PG_CORPUS_SEED, PG_CORPUS_TABLES, pgCorpusSchema, type PgCorpusSchema } from '../../fixtures/drizzle-corpus/pg-schema.js';
import { PG_URL } from '../services.js';
import { permissiveRole, startCorpusGateway } from './corpus-gateway.js';
import { deferredBatch, inOrder, pgProxyDb, postTo, type CapturedStatement } from './proxy-clients.js';
import type { CorpusTarget, Side } from './run-corpus.js';

export type PgCorpusDb = PgDatabase<PgQueryResultHKT, PgCorpusSchema>;

export interface PgCorpusContext {
  db: PgCorpusDb;
  /** Rows of `db.execute()` or of a write without RETURNING: pg-proxy hands over the rows, node-postgres a QueryResult. */
  rows(result: unknown): unknown;
  /** One transaction: a `/data` batch through sluice (pg-proxy has no batch API), a Drizzle transaction natively. */
  batch(build: (db: PgCorpusDb) => PromiseLike<unknown>[]): Promise<unknown[]>;
}

function urlOf(database: string): string {
  const u = new URL(PG_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

function pool(database: string): pg.Pool {
  const p = new pg.Pool({ connectionString: urlOf(database), max: 2, connectionTimeoutMillis: 5000 });
  p.on('error', () => undefined);
  return p;
}

const rowsOf = (result: unknown): unknown => (Array.isArray(result) ? result : (result as { rows?: unknown } | undefined)?.rows);

export async function startPgCorpus(): Promise<CorpusTarget<PgCorpusContext> & { close(): Promise<void> }> {
  const base = `t_${randomBytes(6).toString('hex')}`;
  const names: Record<Side, string> = { sluice: `${base}_s`, native: `${base}_n` };
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  const pools: Partial<Record<Side, pg.Pool>> = {};
  let gateway: Awaited<ReturnType<typeof startCorpusGateway>> | undefined;
  const drop = async (): Promise<void> => {
    await Promise.all(Object.values(pools).map((p) => p.end().catch(() => undefined)));
    for (const name of Object.values(names)) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  };
  try {
    for (const side of ['sluice', 'native'] as const) {
      await admin.query(`CREATE DATABASE ${names[side]}`);
      pools[side] = pool(names[side]);
      await pools[side].query(PG_CORPUS_DDL + PG_CORPUS_SEED);
    }
    gateway = await startCorpusGateway({ url: urlOf(names.sluice), max: 2 }, permissiveRole(PG_CORPUS_TABLES.map((t) => t.name), ['new_yorkers']));
  } catch (err) {
    await drop().catch(() => undefined);
    throw err;
  }
  const recorded: CapturedStatement[] = [];
  const target = { url: gateway.url, token: gateway.token, recorded };
  const proxy = pgProxyDb(postTo(target), pgCorpusSchema) as unknown as PgCorpusDb;
  const nativeDb = nodePgDrizzle(pools.native!, { schema: pgCorpusSchema }) as unknown as PgCorpusDb;
  const g = gateway;

  return {
    sluice: {
      db: proxy,
      rows: rowsOf,
      batch: (build) =>
        deferredBatch(
          target,
          (hold) => pgProxyDb(hold, pgCorpusSchema) as unknown as PgCorpusDb,
          build,
        ),
    },
    native: {
      db: nativeDb,
      rows: rowsOf,
      batch: (build) => nativeDb.transaction((tx) => inOrder(build(tx as unknown as PgCorpusDb))),
    },
    recorded,
    stableSql: (sql) => sql,
    dump: async (side) => ((await pools[side]!.query(PG_CORPUS_DUMP)).rows[0] as { dump: unknown }).dump,
    async reseed() {
      await Promise.all([pools.sluice!.query(PG_CORPUS_SEED), pools.native!.query(PG_CORPUS_SEED)]);
    },
    async close() {
      try {
        await g.close();
      } finally {
        await drop();
      }
    },
  };
}
