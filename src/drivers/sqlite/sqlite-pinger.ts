/**
 * Readiness for a SQLite connection, on the host thread: open the file read-only and read its
 * schema. Under WAL a reader never waits for a writer, so this cannot hang behind a long write.
 */
import Database from 'better-sqlite3';
import type { SqliteConnectionConfig } from '../../config/types.js';
import type { Pinger } from '../common/pinger.js';
import { mapSqliteError } from './sqlite-errors.js';

export function createSqlitePinger(conn: SqliteConnectionConfig): Pinger {
  return {
    async ping() {
      let db: Database.Database | undefined;
      try {
        db = new Database(conn.file, { readonly: true, fileMustExist: true, timeout: 1000 });
        db.prepare('select count(*) from main.sqlite_schema').get();
        return { ok: true };
      } catch (err) {
        const code = mapSqliteError(err).code;
        return { ok: false, error: `${code === 'INTERNAL_ERROR' ? 'DATABASE_UNAVAILABLE' : code}: ${err instanceof Error ? err.message : String(err)}` };
      } finally {
        db?.close();
      }
    },
    async close() {},
  };
}
