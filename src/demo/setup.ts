/**
 * Where the demo's data lives, and creating/seeding it. The default is an embedded SQLite file
 * (no service needed); SLUICE_DEMO_DATABASE_URL points the demo at a Postgres instead. Database
 * libraries stay in their driver folders: this file only calls their admin helpers.
 */
import { resolve } from 'node:path';
import { AdminConnectError, runPgAdminSql } from '../drivers/pg/pg-admin.js';
import { runSqliteAdminSql } from '../drivers/sqlite/sqlite-admin.js';
import { DEMO_SCHEMA, DEMO_SCHEMA_SQL, DEMO_SEED_SQL } from './schema.js';
import { DEMO_SQLITE_IS_EMPTY_SQL, DEMO_SQLITE_SCHEMA_SQL, DEMO_SQLITE_SEED_SQL } from './sqlite-schema.js';

export const DEFAULT_DEMO_SQLITE_FILE = './data/sluice-demo.db';

export type DemoDatabase = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

export interface DemoDatabaseEnv {
  /** A postgres:// URL: run the demo on that Postgres instead of the embedded SQLite file. */
  SLUICE_DEMO_DATABASE_URL?: string;
  /** Where the embedded SQLite demo file goes (default ./data/sluice-demo.db). */
  SLUICE_DEMO_SQLITE_FILE?: string;
}

export class DemoDatabaseError extends Error {
  override name = 'DemoDatabaseError';
}

export function demoDatabaseFromEnv(env: DemoDatabaseEnv): DemoDatabase {
  const url = env.SLUICE_DEMO_DATABASE_URL;
  if (url !== undefined && url !== '') return { kind: 'postgres', url };
  return { kind: 'sqlite', file: resolve(env.SLUICE_DEMO_SQLITE_FILE || DEFAULT_DEMO_SQLITE_FILE) };
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export function describeDemoDatabase(db: DemoDatabase): string {
  return db.kind === 'sqlite' ? `SQLite file ${db.file}` : `Postgres ${redactUrl(db.url)}, schema ${DEMO_SCHEMA}`;
}

export async function setupDemoDatabase(db: DemoDatabase): Promise<{ seeded: boolean }> {
  if (db.kind === 'sqlite') {
    try {
      return runSqliteAdminSql(db.file, DEMO_SQLITE_SCHEMA_SQL, { isEmptySql: DEMO_SQLITE_IS_EMPTY_SQL, seedSql: DEMO_SQLITE_SEED_SQL });
    } catch (e) {
      throw new DemoDatabaseError(`could not create the demo database ${db.file}: ${(e as Error).message}`);
    }
  }
  try {
    return await runPgAdminSql(db.url, DEMO_SCHEMA, DEMO_SCHEMA_SQL, {
      isEmptySql: `SELECT count(*)::int AS n FROM ${DEMO_SCHEMA}.customers`,
      seedSql: DEMO_SEED_SQL,
    });
  } catch (e) {
    if (e instanceof AdminConnectError) {
      throw new DemoDatabaseError(
        `cannot reach Postgres at ${redactUrl(db.url)} (${e.message}).\n` +
          'Start that Postgres, or unset SLUICE_DEMO_DATABASE_URL to run the demo on an embedded SQLite file.',
      );
    }
    throw new DemoDatabaseError(`could not create the demo schema in ${redactUrl(db.url)}: ${(e as Error).message}`);
  }
}
