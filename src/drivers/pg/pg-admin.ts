/**
 * Trusted, start-up-time SQL on Postgres (the demo's schema and seed), never client SQL. Runs in
 * one transaction under an advisory lock, so two processes starting at once cannot race on
 * CREATE … IF NOT EXISTS or seed twice.
 */
import pg from 'pg';
import { tlsOf } from '../common/tls-options.js';
import { pgSsl } from './pg-pools.js';

export class AdminConnectError extends Error {
  override name = 'AdminConnectError';
}

export async function runPgAdminSql(
  url: string,
  lockKey: string,
  schemaSql: string,
  seed?: { isEmptySql: string; seedSql: string },
): Promise<{ seeded: boolean }> {
  // The same TLS reading of the URL as the pools', so the demo's set-up connects as they will.
  const { url: plain, tls } = tlsOf(url);
  const client = new pg.Client({ connectionString: plain, ssl: pgSsl(tls), connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    throw new AdminConnectError((e as Error).message);
  }
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockKey]);
    await client.query(schemaSql);
    let seeded = false;
    if (seed) {
      const { rows } = await client.query<{ n: number }>(seed.isEmptySql);
      seeded = Number(rows[0]?.n) === 0;
      if (seeded) await client.query(seed.seedSql);
    }
    await client.query('COMMIT');
    return { seeded };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    await client.end().catch(() => undefined);
  }
}
