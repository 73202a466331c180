/**
 * The MySQL/MariaDB corpus target: a sluice engine over one fresh database (Drizzle's mysql-proxy
 * posting to it) and Drizzle's mysql2 driver over a second one with the same DDL and seed, each with
 * its own second database for the `mysqlSchema` tables. The native session gets the sql_mode and
 * time zone sluice pins per lease, so both run under the same rules.
 */
import { randomBytes } from 'node:crypto';
import { drizzle as mysql2Drizzle } from 'drizzle-orm/mysql2';
import type { MySqlDatabase, MySqlQueryResultHKT, PreparedQueryHKTBase } from 'drizzle-orm/mysql-core';
import mysql from 'mysql2/promise';
import { SQL_MODE } from '../../../src/drivers/mysql/mysql-lease.js';
import {
  MYSQL_CORPUS_DDL,
  MYSQL_CORPUS_SEED,
  MYSQL_CORPUS_TABLES,
  MYSQL_SCHEMA_DDL,
  MYSQL_SCHEMA_SEED,
  MYSQL_SCHEMA_TABLES,
  mysqlCorpusSchema,
  primaryKeyOrder,
  schemaTables,
  type MysqlCorpusSchema,
  type MysqlSchemaTables,
} from '../../fixtures/drizzle-corpus/mysql-schema.js';
import { MYSQL_URL } from '../services.js';
import { permissiveRole, startCorpusGateway } from './corpus-gateway.js';
import { deferredBatch, inOrder, mysqlProxyDb, postTo, type CapturedStatement } from './proxy-clients.js';
import { normalize, sameAnswer } from './normalize.js';
import type { CorpusTarget, Side } from './run-corpus.js';

export type MysqlCorpusDb = MySqlDatabase<MySqlQueryResultHKT, PreparedQueryHKTBase, MysqlCorpusSchema>;

export interface MysqlCorpusContext {
  db: MysqlCorpusDb;
  /** The `mysqlSchema` tables of this side (their database's name differs per side). */
  s: MysqlSchemaTables;
  /** One transaction: a `/data` batch through sluice (mysql-proxy has no batch API), a Drizzle transaction natively. */
  batch(build: (db: MysqlCorpusDb, s: MysqlSchemaTables) => PromiseLike<unknown>[]): Promise<unknown[]>;
}

function urlOf(database: string): string {
  const u = new URL(MYSQL_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function startMysqlCorpus(): Promise<CorpusTarget<MysqlCorpusContext> & { close(): Promise<void> }> {
  const base = `t_${randomBytes(6).toString('hex')}`;
  const side = { sluice: { db: `${base}_s`, schema: `${base}_s2` }, native: { db: `${base}_n`, schema: `${base}_n2` } };
  const admin = await mysql.createConnection({ uri: MYSQL_URL, multipleStatements: true });
  // Every table once: its key in the dump, where it lives on a side, and its seed statement.
  const seedOf = (stmts: string[], table: string): string => stmts.find((q) => q.startsWith(`INSERT INTO ${table} `)) ?? '';
  const tables = [
    ...MYSQL_CORPUS_TABLES.map((t) => ({ key: t, at: (w: Side) => `${side[w].db}.${t}`, order: primaryKeyOrder(t), seed: seedOf(MYSQL_CORPUS_SEED, t) })),
    ...MYSQL_SCHEMA_TABLES.map((t) => ({ key: `schema.${t}`, at: (w: Side) => `${side[w].schema}.${t}`, order: 'id', seed: seedOf(MYSQL_SCHEMA_SEED, t) })),
  ];
  const dump = async (which: Side): Promise<Record<string, unknown>> => {
    const out: Record<string, unknown> = {};
    const [counters] = await admin.query('SELECT table_schema, table_name, auto_increment FROM information_schema.tables WHERE table_schema IN (?, ?)', [side[which].db, side[which].schema]);
    const counter = new Map((counters as Array<{ table_schema: string; table_name: string; auto_increment: unknown }>).map((r) => [`${r.table_schema}.${r.table_name}`, r.auto_increment]));
    // One round trip: the admin connection runs several statements per query.
    const [sets] = await admin.query(tables.map((t) => `SELECT * FROM ${t.at(which)} ORDER BY ${t.order}`).join(';\n'));
    tables.forEach((t, i) => {
      out[t.key] = { rows: (sets as unknown[])[i], autoIncrement: counter.get(t.at(which)) ?? null };
    });
    return out;
  };
  const seed = async (keys: string[]): Promise<void> => {
    for (const which of ['sluice', 'native'] as const) {
      const chosen = tables.filter((t) => keys.includes(t.key));
      // TRUNCATE resets AUTO_INCREMENT too, so ids restart exactly as on a fresh database.
      if (chosen.length > 0) await admin.query(chosen.flatMap((t) => [`TRUNCATE ${t.at(which)}`, t.seed.replace(/^INSERT INTO \w+/, `INSERT INTO ${t.at(which)}`)]).filter((q) => q !== '').join(';\n'));
    }
  };
  // Only the tables whose rows or AUTO_INCREMENT differ: a TRUNCATE costs tens of milliseconds.
  const reseed = async (): Promise<void> => {
    const [a, b] = [await dump('sluice'), await dump('native')];
    await seed(tables.map((t) => t.key).filter((k) => !sameAnswer(normalize(a[k]), normalize(b[k]))));
  };
  const drop = async (): Promise<void> => {
    for (const { db, schema } of Object.values(side)) await admin.query(`DROP DATABASE IF EXISTS ${db}; DROP DATABASE IF EXISTS ${schema}`);
  };

  let native: mysql.Connection | undefined;
  let gateway: Awaited<ReturnType<typeof startCorpusGateway>> | undefined;
  try {
    for (const { db, schema } of Object.values(side)) {
      await admin.query(`CREATE DATABASE ${db}; CREATE DATABASE ${schema}`);
      await admin.query([`USE ${db}`, ...MYSQL_CORPUS_DDL, `USE ${schema}`, ...MYSQL_SCHEMA_DDL, 'USE test'].join(';\n'));
    }
    await seed(tables.map((t) => t.key));
    // As Drizzle's mysql2 driver configures a client it creates itself (BIGINT beyond 2^53 as strings).
    native = await mysql.createConnection({ uri: urlOf(side.native.db), supportBigNumbers: true });
    await native.query(`SET SESSION sql_mode = '${SQL_MODE}', SESSION time_zone = '+00:00'`);
    const role = {
      ...permissiveRole(MYSQL_CORPUS_TABLES, ['new_yorkers']),
      ...permissiveRole(MYSQL_SCHEMA_TABLES.map((t) => `${side.sluice.schema}.${t}`)),
    };
    gateway = await startCorpusGateway({ url: urlOf(side.sluice.db), max: 2 }, role);
  } catch (err) {
    await native?.end().catch(() => undefined);
    await drop().catch(() => undefined);
    await admin.end();
    throw err;
  }

  const recorded: CapturedStatement[] = [];
  const target = { url: gateway.url, token: gateway.token, recorded };
  const proxy = mysqlProxyDb(postTo(target), mysqlCorpusSchema) as unknown as MysqlCorpusDb;
  const nativeDb = mysql2Drizzle(native, { schema: mysqlCorpusSchema, mode: 'default' }) as unknown as MysqlCorpusDb;
  const sluiceSchema = schemaTables(side.sluice.schema);
  const nativeSchema = schemaTables(side.native.schema);
  const g = gateway;
  const n = native;

  return {
    sluice: {
      db: proxy,
      s: sluiceSchema,
      batch: (build) =>
        deferredBatch(
          target,
          (hold) => mysqlProxyDb(hold, mysqlCorpusSchema) as unknown as MysqlCorpusDb,
          (db) => build(db, sluiceSchema),
        ),
    },
    native: {
      db: nativeDb,
      s: nativeSchema,
      batch: (build) => nativeDb.transaction((tx) => inOrder(build(tx as unknown as MysqlCorpusDb, nativeSchema))),
    },
    recorded,
    stableSql: (sql) => sql.replaceAll(side.sluice.schema, '{{schema}}'),
    dump,
    reseed,
    async close() {
      try {
        await g.close();
      } finally {
        await n.end().catch(() => undefined);
        await drop();
        await admin.end();
      }
    },
  };
}
