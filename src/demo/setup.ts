/** Create and seed the demo schema in the local Postgres. */
// TODO(driver-boundary): pg belongs in src/drivers/pg/; replace with a runAdminSql(url, sql) there.
import pg from 'pg';
import { DEMO_SCHEMA, DEMO_SCHEMA_SQL, DEMO_SEED_SQL } from './schema.js';

export const DEFAULT_DEMO_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export class DemoDatabaseError extends Error {
  override name = 'DemoDatabaseError';
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

export async function setupDemoDatabase(url: string): Promise<{ seeded: boolean }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (e) {
    throw new DemoDatabaseError(
      `cannot reach Postgres at ${redactUrl(url)} (${(e as Error).message}).\n` +
        'Start a local Postgres, or point the demo elsewhere:\n' +
        '  SLUICE_DEMO_DATABASE_URL=postgres://user:password@host:5432/dbname npm start',
    );
  }
  try {
    await client.query('BEGIN');
    // Two demos starting at once would race on CREATE ... IF NOT EXISTS.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [DEMO_SCHEMA]);
    await client.query(DEMO_SCHEMA_SQL);
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${DEMO_SCHEMA}.customers`);
    const seeded = rows[0]?.n === 0;
    if (seeded) await client.query(DEMO_SEED_SQL);
    await client.query('COMMIT');
    return { seeded };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw new DemoDatabaseError(`could not create the demo schema in ${redactUrl(url)}: ${(e as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}
