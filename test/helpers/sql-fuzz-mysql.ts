/**
 * The MariaDB side of the MySQL differential fuzzer: two copies of the fixture in fresh databases
 * (`t_<hex>_a` served by sluice, `t_<hex>_b` for the oracle's writes), a third database holding a
 * same-named table no permission reaches, and the oracle — a direct mysql2 connection with the
 * session settings and value typing of sluice's own pool (sql_mode, time zone, charset, dates and
 * DECIMAL as strings, BIGINT as a number while exact), so the same statement gives byte-identical
 * values on both paths.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { mapMysqlError } from '../../src/drivers/mysql/mysql-errors.js';
import { SQL_MODE } from '../../src/drivers/mysql/mysql-lease.js';
import { DB, OTHER_DB } from './sql-fuzz-dialect.js';
import type { Write } from './sql-fuzz-dialect-writes.js';
import { FIXTURE_TABLES, fixtureDdl, seedSql, type Copy, type Dump, type FuzzBackend, type OracleAnswer } from './sql-fuzz-fixture.js';
import { MYSQL_URL } from './services.js';

const NEXT_ID = 101;

export async function createMysqlFuzzBackend(): Promise<FuzzBackend> {
  const base = `t_${randomBytes(6).toString('hex')}`;
  const names: Record<Copy, string> = { a: `${base}_a`, b: `${base}_b` };
  const other = `${base}_other`;
  const admin = await mysql.createConnection({ uri: MYSQL_URL, multipleStatements: true });
  const oracles: Record<Copy, mysql.Connection> = {} as Record<Copy, mysql.Connection>;

  async function seed(db: string, tables: readonly string[]): Promise<void> {
    const sql = tables.map((t) => seedSql(t as (typeof FIXTURE_TABLES)[number]).replace(`INTO ${t} `, `INTO \`${db}\`.${t} `));
    await admin.query(`SET foreign_key_checks = 0; ${tables.map((t) => `DELETE FROM \`${db}\`.${t};`).join(' ')} ${sql.join('; ')}; SET foreign_key_checks = 1`);
    await admin.query(tables.map((t) => `ALTER TABLE \`${db}\`.${t} AUTO_INCREMENT = ${NEXT_ID}`).join('; '));
  }

  try {
    for (const db of [names.a, names.b]) {
      await admin.query(`CREATE DATABASE \`${db}\``);
      await admin.query(`USE \`${db}\``);
      for (const ddl of fixtureDdl('mysql')) await admin.query(ddl);
      await seed(db, FIXTURE_TABLES);
    }
    await admin.query(`CREATE DATABASE \`${other}\`; CREATE TABLE \`${other}\`.customers (id int PRIMARY KEY, tenant_id int, name varchar(100), email varchar(100), secret_note varchar(100));
      INSERT INTO \`${other}\`.customers VALUES (1, 1, 'T2 OTHER-DB', 'other@t2.example', 'SECRET-OTHER')`);
    for (const copy of ['a', 'b'] as const) {
      const u = new URL(MYSQL_URL);
      u.pathname = `/${names[copy]}`;
      // As sluice's pool (src/drivers/mysql/mysql-pools.ts) types values and sets up each lease.
      const conn = await mysql.createConnection({ uri: u.toString(), charset: 'UTF8MB4_UNICODE_CI', dateStrings: true, supportBigNumbers: true, bigNumberStrings: false, decimalNumbers: false });
      await conn.query(`SET SESSION sql_mode = '${SQL_MODE}', SESSION time_zone = '+00:00', SESSION max_statement_time = 10`);
      oracles[copy] = conn;
    }
  } catch (err) {
    await admin.query(`DROP DATABASE IF EXISTS \`${names.a}\`; DROP DATABASE IF EXISTS \`${names.b}\`; DROP DATABASE IF EXISTS \`${other}\``).catch(() => undefined);
    await admin.end();
    throw err;
  }

  const expand = (sql: string, copy: Copy): string => sql.replaceAll(DB, `\`${names[copy]}\``).replaceAll(OTHER_DB, `\`${other}\``);

  async function once(sql: string, copy: Copy, write: boolean): Promise<{ rows: unknown[]; rowCount: number; meta?: Record<string, unknown> }> {
    const conn = oracles[copy];
    if (!write) {
      const [rows] = await conn.query({ sql: expand(sql, copy), rowsAsArray: true });
      return { rows: JSON.parse(JSON.stringify(rows)) as unknown[], rowCount: (rows as unknown[]).length };
    }
    // One statement, one transaction, as sluice runs a write.
    await conn.query('START TRANSACTION');
    try {
      const [result] = await conn.query({ sql: expand(sql, copy), rowsAsArray: true });
      await conn.query('COMMIT');
      if (Array.isArray(result)) return { rows: JSON.parse(JSON.stringify(result)) as unknown[], rowCount: result.length };
      const h = result as { affectedRows: number; insertId: number; changedRows: number };
      return { rows: [], rowCount: h.affectedRows, meta: { insertId: h.insertId, affectedRows: h.affectedRows, changedRows: h.changedRows } };
    } catch (err) {
      await conn.query('ROLLBACK');
      throw err;
    }
  }

  async function run(sql: string, fenced: string, copy: Copy, write: boolean): Promise<OracleAnswer> {
    try {
      return { ok: true, ...(await once(sql, copy, write)), fenced: false };
    } catch (err) {
      const e = mapMysqlError(err);
      if (e.code !== 'INVALID_INPUT') return { ok: false, code: e.code, message: (err as Error).message };
    }
    try {
      return { ok: true, ...(await once(fenced, copy, write)), fenced: true };
    } catch (err) {
      return { ok: false, code: mapMysqlError(err).code, message: (err as Error).message };
    }
  }

  async function dump(copy: Copy): Promise<Dump> {
    const out: Dump = {};
    for (const t of FIXTURE_TABLES) {
      const [rows] = await oracles[copy].query({ sql: `SELECT * FROM \`${names[copy]}\`.${t} ORDER BY id`, rowsAsArray: true });
      out[t] = rows as unknown[][];
    }
    const [rows] = await oracles[copy].query({ sql: `SELECT * FROM \`${other}\`.customers ORDER BY id`, rowsAsArray: true });
    out.other = rows as unknown[][];
    const [ai] = await oracles[copy].query({ sql: `SELECT table_name, auto_increment FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name`, values: [names[copy]], rowsAsArray: true });
    out.counters = ai as unknown[][];
    return JSON.parse(JSON.stringify(out)) as Dump;
  }

  const seedDump = await dump('b');
  const seedText = JSON.stringify(seedDump);
  const counter = (d: Dump, t: string): unknown => d.counters!.find((r) => r[0] === t)?.[1];
  const differs = (d: Dump, t: string): boolean => JSON.stringify(d[t]) !== JSON.stringify(seedDump[t]) || counter(d, t) !== counter(seedDump, t);

  return {
    dialect: 'mysql',
    writeMethod: 'execute',
    expectedMeta(w, answer, before, after) {
      const meta = answer.meta!;
      // Counts and a plain INSERT's id (its first generated id, else the id column of its last row:
      // the statement's own values) are the oracle's own; an upsert's OK packet may name a row it only
      // touched — another tenant's — so its id is computed here from the rows it generated.
      if (w.k !== 'insert' || w.onDup === null) return meta;
      const generated = firstGeneratedId(w, before, after);
      // One VALUES row that changed the row it met (affectedRows 2): the guard let it through, so it
      // is the tenant's own row, and its id — the oracle's OK packet's — is the statement's own
      // (docs/security.md; mysql-lease.ts upsertInsertId).
      if (generated === 0 && w.select === null && w.rows?.length === 1 && meta.affectedRows === 2) return meta;
      return { ...meta, insertId: generated };
    },
    connection: (() => {
      const u = new URL(MYSQL_URL);
      u.pathname = `/${names.a}`;
      return { url: u.toString(), max: 2 };
    })(),
    expand,
    run,
    dump,
    pristine: async (_copy, d) => JSON.stringify(d) === seedText,
    async reset(copy, d) {
      const tables = FIXTURE_TABLES.filter((t) => differs(d, t));
      if (tables.length > 0) await seed(names[copy], tables);
    },
    async close() {
      try {
        for (const conn of Object.values(oracles)) await conn.end().catch(() => undefined);
        await admin.query(`DROP DATABASE IF EXISTS \`${names.a}\`; DROP DATABASE IF EXISTS \`${names.b}\`; DROP DATABASE IF EXISTS \`${other}\``);
      } finally {
        await admin.end();
      }
    },
  };
}

/**
 * The first AUTO_INCREMENT id an INSERT generated (0: none) — what LAST_INSERT_ID() says after it —
 * from the data: the rows new in `after` whose id the statement did not spell out. Generated ids rise
 * in the order of the VALUES rows, so the first is the smallest. (The generator's explicit ids, other
 * than NULL, are never ids the counter hands out in the same statement.)
 */
function firstGeneratedId(w: Write & { k: 'insert' }, before: Dump, after: Dump): number {
  const at = w.cols.indexOf('id');
  const explicit = new Set(at === -1 ? [] : (w.rows ?? []).map((r) => r[at]).flatMap((e) => (e?.k === 'lit' && e.sql !== 'null' ? [Number(e.sql)] : [])));
  const existed = new Set((before[w.table] ?? []).map((r) => r[0]));
  const generated = (after[w.table] ?? []).map((r) => Number(r[0])).filter((id) => !existed.has(id) && !explicit.has(id));
  return generated.length === 0 ? 0 : Math.min(...generated);
}
