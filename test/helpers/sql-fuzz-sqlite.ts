/**
 * The SQLite side of the SQLite differential fuzzer: two copies of the fixture in a temp folder
 * (`a.db` served by sluice, `b.db` for the oracle's writes) and the oracle — better-sqlite3 in the
 * test process, with foreign keys on and rows as arrays, as sluice's SQLite process runs them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { mapSqliteError } from '../../src/drivers/sqlite/sqlite-errors.js';
import { DB, OTHER_DB } from './sql-fuzz-dialect.js';
import { FIXTURE_TABLES, fixtureDdl, seedSql, type Copy, type Dump, type FuzzBackend, type OracleAnswer } from './sql-fuzz-fixture.js';

export function createSqliteFuzzBackend(): FuzzBackend {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-fuzz-sqlite-'));
  const files: Record<Copy, string> = { a: join(dir, 'a.db'), b: join(dir, 'b.db') };
  const dbs = {} as Record<Copy, Database.Database>;
  for (const copy of ['a', 'b'] as const) {
    const db = new Database(files[copy], { timeout: 5000 });
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.transaction(() => {
      for (const ddl of fixtureDdl('sqlite')) db.exec(ddl);
      for (const t of FIXTURE_TABLES) db.exec(seedSql(t));
    }).immediate();
    dbs[copy] = db;
  }

  // SQLite reaches only `main`; there is no other database to name.
  const expand = (sql: string): string => sql.replaceAll(DB, 'main').replaceAll(OTHER_DB, 'temp');

  function once(sql: string, copy: Copy, write: boolean): { rows: unknown[]; rowCount: number; meta?: Record<string, unknown> } {
    if (!write) {
      const rows = dbs[copy].prepare(expand(sql)).raw(true).all();
      return { rows, rowCount: rows.length };
    }
    // A write runs on a connection of its own: SQLite's last insert rowid belongs to the connection
    // and outlives the statements that set it, so only a fresh one (0: nothing inserted yet) tells
    // what this statement inserted. No fixture row has rowid 0.
    const db = new Database(files[copy], { timeout: 5000 });
    try {
      db.pragma('foreign_keys = ON');
      const stmt = db.prepare(expand(sql));
      // One statement, one immediate transaction, as sluice runs a write.
      return db.transaction(() => {
        if (stmt.reader) {
          const rows = stmt.raw(true).all();
          return { rows, rowCount: rows.length };
        }
        const r = stmt.run();
        return { rows: [], rowCount: r.changes, meta: { changes: r.changes, lastInsertRowid: r.lastInsertRowid === 0 ? null : Number(r.lastInsertRowid) } };
      }).immediate();
    } finally {
      db.close();
    }
  }

  async function run(sql: string, fenced: string, copy: Copy, write: boolean): Promise<OracleAnswer> {
    try {
      return { ok: true, ...once(sql, copy, write), fenced: false };
    } catch (err) {
      const e = mapSqliteError(err);
      if (e.code !== 'INVALID_INPUT') return { ok: false, code: e.code, message: (err as Error).message };
    }
    try {
      return { ok: true, ...once(fenced, copy, write), fenced: true };
    } catch (err) {
      return { ok: false, code: mapSqliteError(err).code, message: (err as Error).message };
    }
  }

  function dumpNow(copy: Copy): Dump {
    const out: Dump = {};
    for (const t of FIXTURE_TABLES) out[t] = dbs[copy].prepare(`SELECT * FROM ${t} ORDER BY id`).raw(true).all() as unknown[][];
    return JSON.parse(JSON.stringify(out)) as Dump;
  }
  const seedDump = dumpNow('b');
  const seedText = JSON.stringify(seedDump);

  return {
    dialect: 'sqlite',
    writeMethod: 'run',
    expectedMeta(_w, answer, _before, after) {
      if (Object.values(after).some((rows) => rows.some((r) => r[0] === 0))) throw new Error('a fuzz write stored rowid 0, which the oracle reads as "nothing inserted"');
      return answer.meta!;
    },
    connection: { dialect: 'sqlite', file: files.a, max: 1 },
    expand: (sql) => expand(sql),
    run,
    dump: async (copy) => dumpNow(copy),
    pristine: async (_copy, d) => JSON.stringify(d) === seedText,
    async reset(copy, d) {
      const tables = FIXTURE_TABLES.filter((t) => JSON.stringify(d[t]) !== JSON.stringify(seedDump[t]));
      if (tables.length === 0) return;
      const db = dbs[copy];
      db.pragma('foreign_keys = OFF');
      try {
        db.transaction(() => {
          for (const t of tables) {
            db.exec(`DELETE FROM ${t}`);
            db.exec(seedSql(t));
          }
        }).immediate();
      } finally {
        db.pragma('foreign_keys = ON');
      }
    },
    async close() {
      for (const db of Object.values(dbs)) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
