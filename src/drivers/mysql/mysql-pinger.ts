/**
 * Readiness probe for the host thread: one connection of its own, so /readyz answers even when
 * every worker thread's pool is busy with long statements.
 */
import type { MysqlConnectionConfig } from '../../config/types.js';
import type { Pinger } from '../common/pinger.js';
import { mapMysqlError } from './mysql-errors.js';
import { createMysqlPool, type MysqlLog } from './mysql-pools.js';
import { withDeadline } from '../../timeouts.js';

const PING_TIMEOUT_MS = 2000;

export function createMysqlPinger(conn: MysqlConnectionConfig, log: MysqlLog): Pinger {
  const pool = createMysqlPool(conn, 1, log);
  return {
    async ping() {
      try {
        await withDeadline(pool.query('SELECT 1'), PING_TIMEOUT_MS, () => Object.assign(new Error('ping timed out'), { code: 'ETIMEDOUT' }));
        return { ok: true };
      } catch (err) {
        return { ok: false, error: `${mapMysqlError(err).code}: ${err instanceof Error ? err.message : String(err)}` };
      }
    },
    async close() {
      await pool.end();
    },
  };
}
