/**
 * Checkout with validation: a client idle for longer than `validateAfterIdleMs` answers a
 * `select 1` before it is handed out, or it is closed and another one is taken.
 *
 * Why on pg at all: a backend that is killed while idle is already dropped by pg.Pool — the
 * server's FATAL message and the socket close reach the idle client's error listener before the
 * next checkout (measured: pg_terminate_backend, then a checkout 0–50 ms later, always got a new
 * client). What that cannot catch is a connection that died silently (a NAT or firewall that
 * forgot the flow, a host that failed over): nothing arrives, and a statement sent on it waits for
 * the driver's backstop (timeout + 2 s) and fails with QUERY_TIMEOUT. The ping costs one round trip
 * and only for clients idle that long — under load, almost never — and a dead one costs at most
 * VALIDATION_PING_MAX_MS (or the connect timeout, if lower) before a fresh connection is opened.
 */
import type pg from 'pg';
import { withDeadline } from '../../timeouts.js';
import { MAX_VALIDATION_FAILURES, VALIDATION_PING_MAX_MS } from '../common/pool-lifecycle.js';
import type { PgLog } from './pg-pools.js';

/**
 * A reused client is handed out one turn of the event loop later: a backend killed while idle
 * sends its FATAL before it leaves pg_stat_activity, but when that message and the answer that
 * made the caller check out arrive in the same poll, the caller may run first and send its
 * statement on a client pg has not yet marked dead (seen in the full suite under load:
 * pool-recycling's "killed while idle"). setImmediate runs after the rest of that poll's I/O.
 */
async function stillQueryable(client: pg.PoolClient): Promise<boolean> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  const state = client as pg.PoolClient & { _queryable?: boolean; _ended?: boolean };
  return state._queryable !== false && state._ended !== true;
}

/** Resolves a client that is fresh, recently used, or just answered a ping; rejects with what pg.Pool (or the last ping) threw. */
export type PgCheckout = (budgetMs: number) => Promise<pg.PoolClient>;

export function createPgCheckout(pool: pg.Pool, opts: { validateAfterIdleMs: number; connectionTimeoutMs: number }, log: PgLog): PgCheckout {
  const idleSince = new WeakMap<pg.PoolClient, number>();
  pool.on('release', (err, client) => {
    if (!err) idleSince.set(client, performance.now());
  });

  return async function checkout(budgetMs) {
    const started = performance.now();
    for (let failures = 0; ; ) {
      const client = await pool.connect();
      const since = idleSince.get(client);
      if (since !== undefined && !(await stillQueryable(client))) {
        // Killed while idle, and the server's FATAL was read only now: never hand it out.
        client.release(new Error('postgres connection closed while idle'));
        continue;
      }
      if (opts.validateAfterIdleMs === 0 || since === undefined || performance.now() - since <= opts.validateAfterIdleMs) return client;
      const pingMs = Math.max(1, Math.min(VALIDATION_PING_MAX_MS, opts.connectionTimeoutMs, budgetMs - (performance.now() - started)));
      try {
        await withDeadline(client.query('select 1'), pingMs, () => Object.assign(new Error('validation ping timed out'), { code: 'ETIMEDOUT' }));
        return client;
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        log('stale postgres connection replaced at checkout', { err: String(e) });
        client.release(e);
        if (++failures >= MAX_VALIDATION_FAILURES) throw e;
      }
    }
  };
}
