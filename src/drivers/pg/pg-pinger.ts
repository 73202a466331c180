/**
 * Readiness probe for the host thread: one connection of its own, so /readyz answers even when
 * every worker thread's pool is busy with long statements.
 */
import type pg from 'pg';
import type { PostgresConnectionConfig } from '../../config/types.js';
import { mapPgError } from './pg-errors.js';
import { createPgPool, type PgLog } from './pg-pools.js';

const PING_TIMEOUT_MS = 2000;

export interface Pinger {
  /** Never throws. `error` is for the operator's log only: it can name hosts and users. */
  ping(): Promise<{ ok: boolean; error?: string }>;
  close(): Promise<void>;
}

export function createPgPinger(conn: PostgresConnectionConfig, log: PgLog): Pinger {
  const pool = createPgPool(conn, { max: 1, applicationName: 'sluice-ping', idleTimeoutMs: 30_000 }, log);
  return {
    async ping() {
      try {
        await pool.query({ text: 'select 1', query_timeout: PING_TIMEOUT_MS } as pg.QueryConfig);
        return { ok: true };
      } catch (err) {
        return { ok: false, error: `${mapPgError(err).code}: ${err instanceof Error ? err.message : String(err)}` };
      }
    },
    async close() {
      await pool.end();
    },
  };
}
