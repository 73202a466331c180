/**
 * Trusted, start-up-time SQL on a SQLite file (the demo's schema and seed), never client SQL.
 * Creates the file (and its folder) when missing and switches it to WAL.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Runs `schemaSql`, then `seedSql` when `isEmptySql` (a query returning one row with a column `n`)
 * says 0, all in one immediate transaction, so two demos starting at once cannot both seed.
 */
export function runSqliteAdminSql(file: string, schemaSql: string, seed?: { isEmptySql: string; seedSql: string }): { seeded: boolean } {
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file, { timeout: 5000 });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    return db.transaction(() => {
      db.exec(schemaSql);
      if (!seed) return { seeded: false };
      const row = db.prepare(seed.isEmptySql).get() as { n: number } | undefined;
      if (row?.n !== 0) return { seeded: false };
      db.exec(seed.seedSql);
      return { seeded: true };
    }).immediate();
  } finally {
    db.close();
  }
}
