/**
 * Every pg.Pool sluice opens is built here, so the safety settings cannot be forgotten:
 * a connect timeout (pg.Pool waits forever without one) and 'error' listeners on idle AND leased
 * clients (an unheard client error is an uncaught exception: it kills the worker thread and fails
 * every statement running on it).
 */
import pg from 'pg';
import type { PostgresConnectionConfig } from '../../config/types.js';
import { drizzleTypes } from './pg-types.js';
import { tlsOf, type DriverTls } from '../common/tls-options.js';

export type PgLog = (msg: string, details: Record<string, unknown>) => void;

export interface PgPoolOptions {
  max: number;
  applicationName: string;
  idleTimeoutMs: number;
  /** Leases before a client is closed on release (pg.Pool counts them); 0 or absent: unlimited. */
  maxUses?: number;
  /** ms before a client is closed (on release, or at once when idle); 0 or absent: unlimited. */
  maxLifetimeMs?: number;
}

/** pg's `ssl`: TLS settings from the URL as sluice defines them (the URL keeps none: pg would let them win). */
export function pgSsl(tls: DriverTls | undefined): pg.PoolConfig['ssl'] {
  if (tls === undefined) return false;
  const { checkHostname, ...options } = tls;
  return checkHostname ? options : { ...options, checkServerIdentity: () => undefined };
}

export function createPgPool(conn: PostgresConnectionConfig, opts: PgPoolOptions, log: PgLog): pg.Pool {
  const { url, tls } = tlsOf(conn.url);
  const pool = new pg.Pool({
    connectionString: url,
    ssl: pgSsl(tls),
    max: opts.max,
    connectionTimeoutMillis: conn.connectionTimeoutMs,
    // pg treats 0 as "never close idle clients", which is what idleTimeoutMs: 0 means in the config.
    idleTimeoutMillis: opts.idleTimeoutMs,
    application_name: opts.applicationName,
    // pg.Pool treats 0 as unlimited for both; it takes the lifetime in (fractional) seconds.
    maxUses: opts.maxUses ?? 0,
    maxLifetimeSeconds: (opts.maxLifetimeMs ?? 0) / 1000,
    types: drizzleTypes,
  });
  pool.on('error', (err) => log('idle postgres client failed', { err: String(err) }));
  // pg-pool drops its idle listener at checkout, and pg emits 'error' for a server error that no
  // query is waiting for: e.g. a fast shutdown's FATAL read in the same packet as the reply the
  // lease just got (or as a new connection's ReadyForQuery), before the lease could release it.
  // 'acquire' fires before the pool's listener comes off and 'release' after it is back, so some
  // listener is always there. pg marks the client unusable; the pool destroys it at release.
  const onLeasedError = (err: Error): void => log('leased postgres client failed', { err: String(err) });
  pool.on('acquire', (client) => client.on('error', onLeasedError));
  pool.on('release', (_err: Error | undefined, client: pg.PoolClient) => client.removeListener('error', onLeasedError));
  return pool;
}
