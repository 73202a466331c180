/**
 * Every pg.Pool sluice opens is built here, so the safety settings cannot be forgotten:
 * a connect timeout (pg.Pool waits forever without one) and an 'error' listener (an idle client's
 * socket error would otherwise crash the process).
 */
import pg from 'pg';
import type { PostgresConnectionConfig } from '../../config/types.js';
import { drizzleTypes } from './pg-types.js';

export type PgLog = (msg: string, details: Record<string, unknown>) => void;

export interface PgPoolOptions {
  max: number;
  applicationName: string;
  idleTimeoutMs: number;
}

export function createPgPool(conn: PostgresConnectionConfig, opts: PgPoolOptions, log: PgLog): pg.Pool {
  const pool = new pg.Pool({
    connectionString: conn.url,
    max: opts.max,
    connectionTimeoutMillis: conn.connectionTimeoutMs,
    // pg treats 0 as "never close idle clients", which is what idleTimeoutMs: 0 means in the config.
    idleTimeoutMillis: opts.idleTimeoutMs,
    application_name: opts.applicationName,
    types: drizzleTypes,
  });
  pool.on('error', (err) => log('idle postgres client failed', { err: String(err) }));
  return pool;
}
