/**
 * The MySQL/MariaDB Driver: one mysql2 pool per connection per worker thread behind a lease gate
 * (mysql2 has no acquire timeout), plus a one-connection pool for KILL QUERY. The server enforces
 * the time limit where it can (MariaDB: max_statement_time; MySQL: max_execution_time, SELECT
 * only); KILL QUERY from the admin connection is the backstop, and the only limit for MySQL writes.
 * A connection goes back to the pool only after a clean COM_RESET_CONNECTION; anything doubtful
 * (a kill in flight, a broken socket, a failed reset) destroys it. With contextVariables false, a
 * lone statement on MariaDB goes in one round trip once its session has been reset (mysql-lease.ts,
 * statementScopedSql; the server's global sql_mode is read once for its guard). Recycling (maxUses,
 * maxLifetimeMs) and checkout validation are done here (mysql-lifecycle.ts): mysql2 has neither.
 */
import type mysql from 'mysql2/promise';
import type { MysqlConnectionConfig } from '../../config/types.js';
import { SluiceError } from '../../errors.js';
import { createLeaseGate, type Waiting } from '../common/lease-gate.js';
import type { Driver, ExecuteBatchRequest, ExecuteBatchResult, ExecuteRequest, ExecuteResult, StatementResult } from '../driver.js';
import { isConnectionError, mapMysqlError } from './mysql-errors.js';
import { flavorOf, type MysqlFlavor } from './mysql-flavor.js';
import { parseNeutral, runLease, tenantOf, type LeaseState, type LeaseStatement, type StatementOutcome } from './mysql-lease.js';
import { createMysqlLifecycle, keyOf } from './mysql-lifecycle.js';
import { markNotSent } from '../common/not-sent.js';
import { MAX_VALIDATION_FAILURES, VALIDATION_PING_MAX_MS } from '../common/pool-lifecycle.js';
import { createMysqlPool, type MysqlLog } from './mysql-pools.js';
import { withDeadline } from '../../timeouts.js';

/** When the server enforces the limit itself, KILL QUERY waits this much longer. */
const BACKSTOP_GRACE_MS = 2000;
const KILL_WAIT_MS = 3000;
const RESET_WAIT_MS = 2000;
const PING_TIMEOUT_MS = 2000;
/**
 * After the backstop's KILL QUERY, how long the statement may take to end before the lease stops
 * waiting and destroys the connection: a server that stopped answering (or a connection that died
 * silently) never ends it, and mysql2 has no query timeout of its own.
 */
const STALL_GRACE_MS = 2000;

class StalledError extends Error {}

/** `abortWait` (Waiting): set while waiting for a free connection; cancel() ends the wait. */
interface Running extends LeaseState, Waiting {
  threadId: number | null;
  /** A KILL QUERY in flight or done: the connection must not be reused. */
  killing: Promise<void> | null;
  timedOut: boolean;
}

export interface MysqlDriverOptions {
  /** A pool built with createMysqlPool, for tests that inspect the very sessions leases ran on. Ended by close(). */
  pool?: mysql.Pool;
}

export function createMysqlDriver(conn: MysqlConnectionConfig, log: MysqlLog, opts: MysqlDriverOptions = {}): Driver {
  const pool = opts.pool ?? createMysqlPool(conn, conn.max, log);
  const admin = createMysqlPool(conn, 1, log);
  const gate = createLeaseGate(conn.max);
  const running = new Map<string, Running>();
  /** Releases (resets) still running after their answer went out; close() waits for them. */
  const releases = new Set<Promise<void>>();
  let flavor: Promise<MysqlFlavor> | undefined;
  const lifecycle = createMysqlLifecycle(conn);
  const variables = conn.contextVariables !== false;
  /**
   * Connections whose session this driver has reset (COM_RESET_CONNECTION): they are in the
   * server's global sql_mode. A fresh one is not yet (mysql2's IGNORE_SPACE client flag).
   */
  const wasReset = new WeakSet<object>();
  /** The server's global sql_mode when parse-neutral, else null (statementScopedSql); undefined: not read yet. */
  let globalMode: Promise<string | null> | undefined;
  const logRaw = (err: unknown): void => log('mysql error', { err: String(err), code: (err as { code?: unknown }).code });

  function detectFlavor(c: mysql.PoolConnection): Promise<MysqlFlavor> {
    flavor ??= c.query('SELECT VERSION() AS v').then(
      ([rows]) => flavorOf(String((rows as Array<{ v: unknown }>)[0]?.v ?? '')),
      (err: unknown) => {
        flavor = undefined;
        throw err;
      },
    );
    return flavor;
  }

  function sessionModeOf(c: mysql.PoolConnection, f: MysqlFlavor, statements: number): Promise<string | null> | null {
    if (variables || !f.statementSettings || statements !== 1 || !wasReset.has(keyOf(c))) return null;
    globalMode ??= c.query({ sql: 'SELECT @@global.sql_mode', rowsAsArray: true }).then(
      ([rows]) => {
        const m = String((rows as unknown[][])[0]?.[0] ?? '');
        return parseNeutral(m) ? m : null;
      },
      (err: unknown) => {
        globalMode = undefined;
        throw err;
      },
    );
    return globalMode;
  }

  /** A session was not in the global sql_mode read before (or had autocommit off): read it again at the next lease. */
  function onModeChanged(): void {
    globalMode = undefined;
  }

  function kill(state: Running): void {
    if (state.threadId === null || state.killing) return;
    const id = state.threadId;
    state.killing = withDeadline(admin.query(`KILL QUERY ${Number(id)}`), KILL_WAIT_MS, () => new Error('KILL QUERY timed out')).then(
      () => undefined,
      (err: unknown) => log('kill query failed', { threadId: id, err: String(err) }),
    );
  }

  async function release(c: mysql.PoolConnection, state: Running, failure: unknown): Promise<void> {
    let destroy = state.killing !== null || failure instanceof StalledError || (failure !== undefined && isConnectionError(failure));
    if (state.killing) await state.killing;
    if (lifecycle.onRelease(c) && !destroy) {
      // Its last lease (maxUses, maxLifetimeMs): closed with COM_QUIT, no reset needed.
      void c.end();
      return;
    }
    if (!destroy) {
      try {
        await withDeadline(c.reset(), RESET_WAIT_MS, () => new Error('reset timed out'));
        wasReset.add(keyOf(c));
      } catch (err) {
        log('mysql reset failed', { err: String(err) });
        destroy = true;
      }
    }
    if (destroy) c.destroy();
    else c.release();
  }

  /**
   * A connection that is fresh, recently used, or answers COM_PING: one idle longer than
   * validateAfterIdleMs may have died silently. One whose lifetime ran out while idle is closed.
   */
  async function checkout(budgetMs: number): Promise<mysql.PoolConnection> {
    const started = performance.now();
    for (let failures = 0; ; ) {
      const c = await withDeadline(pool.getConnection(), Math.max(1, conn.connectionTimeoutMs), () => Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }));
      const verdict = lifecycle.onCheckout(c);
      if (verdict === 'use') return c;
      if (verdict === 'retire') {
        void c.end();
        continue;
      }
      const pingMs = Math.max(1, Math.min(VALIDATION_PING_MAX_MS, conn.connectionTimeoutMs, budgetMs - (performance.now() - started)));
      try {
        await withDeadline(c.ping(), pingMs, () => Object.assign(new Error('validation ping timed out'), { code: 'ETIMEDOUT' }));
        return c;
      } catch (err) {
        log('stale mysql connection replaced at checkout', { err: String(err) });
        c.destroy();
        if (++failures >= MAX_VALIDATION_FAILURES) throw err;
      }
    }
  }

  async function lease(
    jobId: string,
    statements: LeaseStatement[],
    req: { claims: Record<string, unknown>; timeoutMs: number; readOnly: boolean; maxResponseBytes: number },
  ): Promise<{ outcomes: StatementOutcome[]; acquireMs: number; leaseMs: number }> {
    const tenantId = tenantOf(req.claims, conn.tenantClaim);
    const state: Running = { cancelled: false, threadId: null, killing: null, timedOut: false, abortWait: null };
    running.set(jobId, state);
    const started = performance.now();
    let releaseGate: (() => void) | undefined;
    // The reset on release is not on the answer's path: the answer goes out, the connection and
    // its slot in the gate come back once the reset is done (or the connection destroyed).
    let releasing: Promise<void> | undefined;
    try {
      releaseGate = await gate.acquire(req.timeoutMs, state);
      let c: mysql.PoolConnection;
      try {
        c = await checkout(req.timeoutMs - (performance.now() - started));
      } catch (err) {
        // Nothing was sent: the replica decorator may run the statement elsewhere.
        throw markNotSent(mapMysqlError(err, {}, logRaw));
      }
      const leased = performance.now();
      state.threadId = c.threadId;
      let failure: unknown;
      try {
        const f = await detectFlavor(c);
        const sessionMode = (await sessionModeOf(c, f, statements.length)) ?? null;
        const timeoutMs = req.timeoutMs - (performance.now() - started);
        if (timeoutMs < 1) throw new SluiceError('QUERY_TIMEOUT', 'No database connection became free within the query timeout');
        // A read that outgrows maxResponseBytes is stopped like a timed-out one: KILL QUERY, and the
        // connection is not reused.
        const work = runLease(c, statements, { ...req, timeoutMs, tenantId, flavor: f, variables, sessionMode, onModeChanged }, state, () => kill(state));
        work.catch(() => undefined);
        const backstopMs = f.enforcesTimeout(req.readOnly) ? timeoutMs + BACKSTOP_GRACE_MS : timeoutMs;
        const timer = setTimeout(() => {
          state.timedOut = true;
          kill(state);
        }, backstopMs);
        let outcomes: StatementOutcome[];
        try {
          outcomes = await withDeadline(work, backstopMs + STALL_GRACE_MS, () => {
            state.timedOut = true;
            return new StalledError('no answer from the server after KILL QUERY');
          });
        } finally {
          clearTimeout(timer);
        }
        return { outcomes, acquireMs: leased - started, leaseMs: performance.now() - leased };
      } catch (err) {
        failure = err;
        throw mapMysqlError(err, { clientCancelled: state.cancelled, timedOut: state.timedOut }, logRaw);
      } finally {
        releasing = release(c, state, failure);
      }
    } finally {
      running.delete(jobId);
      if (releasing) {
        const free = releaseGate;
        const done = releasing.then(
          () => free?.(),
          (err: unknown) => {
            log('mysql release failed', { err: String(err) });
            free?.();
          },
        );
        releases.add(done);
        void done.then(() => releases.delete(done));
      } else releaseGate?.();
    }
  }

  /** maxRows cut; a read's rowCount is what it returns, a write's what it affected. */
  function truncate({ seen: _seen, ...o }: StatementOutcome, maxRows: number, readOnly: boolean): StatementResult {
    if (o.rows.length <= maxRows) return o;
    const rows = o.rows.slice(0, maxRows);
    return { ...o, rows, rowCount: readOnly ? rows.length : o.rowCount, truncated: true };
  }

  return {
    async execute(req: ExecuteRequest): Promise<ExecuteResult> {
      const statement = { sql: req.sql, params: req.params, method: req.method, ...(req.upsert !== undefined && { upsert: req.upsert }) };
      const { outcomes, acquireMs, leaseMs } = await lease(req.jobId, [statement], req);
      return { ...truncate(outcomes[0]!, req.maxRows, req.readOnly), acquireMs, leaseMs };
    },
    async executeBatch(req: ExecuteBatchRequest): Promise<ExecuteBatchResult> {
      const { outcomes, acquireMs, leaseMs } = await lease(req.jobId, req.statements, req);
      return { results: outcomes.map((o) => truncate(o, req.maxRows, req.readOnly)), acquireMs, leaseMs };
    },
    async cancel(jobId) {
      const state = running.get(jobId);
      if (!state) return;
      state.cancelled = true;
      state.abortWait?.(new SluiceError('CLIENT_CLOSED'));
      kill(state);
      await state.killing;
    },
    // mysql2 keeps the count only in a private field; 0 if a future version renames it.
    stats: () => ({ max: conn.max, ...gate.stats(), open: (pool as unknown as { pool?: { _allConnections?: { length: number } } }).pool?._allConnections?.length ?? 0 }),
    async ping() {
      try {
        await withDeadline(pool.query('SELECT 1'), PING_TIMEOUT_MS, () => Object.assign(new Error('ping timed out'), { code: 'ETIMEDOUT' }));
      } catch (err) {
        throw mapMysqlError(err, {}, logRaw);
      }
    },
    async close() {
      await Promise.allSettled(releases);
      await Promise.allSettled([pool.end(), admin.end()]);
    },
  };
}
