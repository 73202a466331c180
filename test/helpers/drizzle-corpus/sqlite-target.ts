/**
 * The SQLite corpus target: a sluice engine over one database file (Drizzle's sqlite-proxy posting
 * to it) and Drizzle's better-sqlite3 driver over a second file with the same DDL and seed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { BatchItem } from 'drizzle-orm/batch';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import {
  SQLITE_CORPUS_DDL,
  SQLITE_CORPUS_DUMP,
  SQLITE_CORPUS_SEED,
  SQLITE_CORPUS_TABLES,
  sqliteCorpusSchema,
  type SqliteCorpusSchema,
} from '../../fixtures/drizzle-corpus/sqlite-schema.js';
import { permissiveRole, startCorpusGateway } from './corpus-gateway.js';
import { inOrder, sqliteProxyDb, type CapturedStatement } from './proxy-clients.js';
import type { CorpusTarget, Side } from './run-corpus.js';

export type SqliteCorpusDb = BaseSQLiteDatabase<'async' | 'sync', unknown, SqliteCorpusSchema>;

export interface SqliteCorpusContext {
  db: SqliteCorpusDb;
  /** `{ changes, lastInsertRowid }` of a run: sqlite-proxy returns the callback's answer (`{ rows }`), better-sqlite3 its RunResult. */
  runResult(result: unknown): { changes: unknown; lastInsertRowid: unknown };
  /** The same for a run inside a batch: there sqlite-proxy hands over the batch callback's item itself. */
  batchRunResult(result: unknown): { changes: unknown; lastInsertRowid: unknown };
  /** A raw row of `db.all/get(sql)`: the proxy hands over positional arrays, better-sqlite3 objects. */
  rawRow(row: unknown): unknown;
  /** One transaction: sqlite-proxy's `db.batch` through sluice, BEGIN … COMMIT natively. */
  batch(build: (db: SqliteCorpusDb) => BatchItem<'sqlite'>[]): Promise<unknown[]>;
}

const pick = (r: unknown): { changes: unknown; lastInsertRowid: unknown } => {
  const o = (r ?? {}) as { changes?: unknown; lastInsertRowid?: unknown };
  return { changes: o.changes, lastInsertRowid: o.lastInsertRowid };
};

function reseed(db: Database.Database): void {
  db.pragma('foreign_keys = OFF');
  db.transaction(() => {
    for (const t of SQLITE_CORPUS_TABLES) db.exec(`DELETE FROM ${t}`);
    db.exec('DELETE FROM sqlite_sequence');
    db.exec(SQLITE_CORPUS_SEED);
  })();
  db.pragma('foreign_keys = ON');
}

function dump(db: Database.Database): Record<string, unknown[]> {
  return Object.fromEntries(Object.entries(SQLITE_CORPUS_DUMP).map(([t, q]) => [t, db.prepare(q).all()]));
}

function open(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.exec(SQLITE_CORPUS_DDL);
  reseed(db);
  return db;
}

export async function startSqliteCorpus(): Promise<CorpusTarget<SqliteCorpusContext> & { close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-corpus-sqlite-'));
  const viaSluice = open(join(dir, 'through-sluice.db'));
  const native = open(join(dir, 'native.db'));
  const gateway = await startCorpusGateway({ dialect: 'sqlite', file: join(dir, 'through-sluice.db') }, permissiveRole(SQLITE_CORPUS_TABLES, ['new_yorkers']));
  const recorded: CapturedStatement[] = [];
  const proxy = sqliteProxyDb({ url: gateway.url, token: gateway.token, recorded }, sqliteCorpusSchema);
  const nativeDb = drizzle(native, { schema: sqliteCorpusSchema });

  const sluiceContext: SqliteCorpusContext = {
    db: proxy as unknown as SqliteCorpusDb,
    runResult: (r) => pick((r as { rows?: unknown } | undefined)?.rows),
    batchRunResult: pick,
    rawRow: (row) => row,
    batch: (build) => proxy.batch(build(proxy as unknown as SqliteCorpusDb) as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]),
  };
  const nativeContext: SqliteCorpusContext = {
    db: nativeDb as unknown as SqliteCorpusDb,
    runResult: pick,
    batchRunResult: pick,
    rawRow: (row) => (row !== null && typeof row === 'object' && !Array.isArray(row) ? Object.values(row) : row),
    async batch(build) {
      native.exec('BEGIN');
      try {
        const out = await inOrder(build(nativeDb as unknown as SqliteCorpusDb));
        native.exec('COMMIT');
        return out;
      } catch (err) {
        native.exec('ROLLBACK');
        throw err;
      }
    },
  };
  return {
    sluice: sluiceContext,
    native: nativeContext,
    recorded,
    stableSql: (sql) => sql,
    dump: async (side: Side) => dump(side === 'sluice' ? viaSluice : native),
    reseed: async () => {
      reseed(viaSluice);
      reseed(native);
    },
    async close() {
      try {
        await gateway.close();
      } finally {
        viaSluice.close();
        native.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
