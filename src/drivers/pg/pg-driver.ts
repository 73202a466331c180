/**
 * The pg Driver: one pg.Pool per connection per worker thread, plus a one-connection pool for
 * server-side cancels. A leased client goes back to the pool only after a clean COMMIT or ROLLBACK;
 * anything doubtful (broken socket, failed rollback, a cancel or backstop in flight) destroys it,
 * because a pending cancel signal or half-finished transaction must never reach the next tenant.
 */
import type pg from 'pg';
import type { PostgresConnectionConfig } from '../../config/types.js';
import { SluiceError } from '../../errors.js';
import type { Driver, ExecuteBatchRequest, ExecuteBatchResult, ExecuteRequest, ExecuteResult, StatementResult } from '../driver.js';
import { cancelBackend } from './pg-cancel.js';
import { createPgCheckout } from './pg-checkout.js';
import { lifecycleOf } from '../common/pool-lifecycle.js';
import { markNotSent } from '../common/not-sent.js';
import { resolveDbRole } from '../../permissions/db-role.js';
import { createLeaseGate, type Waiting } from '../common/lease-gate.js';
import { isConnectionError, mapPgError } from './pg-errors.js';
import { runBatchLease, runLease, type LeaseState } from './pg-lease.js';
import type { PipelineResult } from './pg-pipeline.js';
import { createPgPool, type PgLog, type PgPoolOptions } from './pg-pools.js';
import { withDeadline } from '../../timeouts.js';

/** statement_timeout is the real limit; this catches a server that stops answering at all. */
const BACKSTOP_GRACE_MS = 2000;
const ROLLBACK_WAIT_MS = 2000;
const PING_TIMEOUT_MS = 2000;
/**
 * Named prepared statements per connection when the config does not say (`preparedStatements`):
 * the context step's few shapes plus the application's distinct statements, typically dozens.
 */
export const DEFAULT_PREPARED_STATEMENTS = 100;
/** Clock granularity between our timer and the server's when telling a timeout from another cancel. */
const TIMEOUT_CLOCK_SLACK_MS = 10;

/** `abortWait` (Waiting): set while waiting for a free connection; cancel() ends the wait. */
interface Running extends LeaseState, Waiting {
  pid: number | null;
  /** The lease's work once it has started: cancels repeat until it settles. */
  work: Promise<unknown> | null;
  /** A pg_cancel_backend in flight; the client must not be reused until it is done. */
  cancelling: Promise<void> | null;
}

class BackstopError extends Error {}

/**
 * maxRows cut; for a read, pg's rowCount is just the rows sent (at most maxRows + 1, and none at
 * all when the byte cap cancelled it): report what we return. A write's rowCount is its command
 * tag's, whatever rows were dropped.
 */
function shapeRows({ result, truncated: bytesTruncated }: PipelineResult, maxRows: number, readOnly: boolean): StatementResult {
  const truncated = bytesTruncated || result.rows.length > maxRows;
  const rows = result.rows.length > maxRows ? result.rows.slice(0, maxRows) : result.rows;
  return { rows, rowCount: readOnly || result.command === 'SELECT' ? rows.length : result.rowCount, truncated };
}

export interface PgDriverOptions {
  /** A pool built with createPgPool (pgLeasePoolOptions), for tests that inspect the very sessions leases ran on. Ended by close(). */
  pool?: pg.Pool;
}

/** The options of the pool leases run on: recycling (maxUses, maxLifetimeMs) is pg.Pool's own. */
export function pgLeasePoolOptions(conn: PostgresConnectionConfig): PgPoolOptions {
  const { maxUses, maxLifetimeMs } = lifecycleOf(conn);
  return { max: conn.max, applicationName: 'sluice', idleTimeoutMs: conn.idleTimeoutMs, maxUses, maxLifetimeMs };
}

export function createPgDriver(conn: PostgresConnectionConfig, log: PgLog, opts: PgDriverOptions = {}): Driver {
  const pool = opts.pool ?? createPgPool(conn, pgLeasePoolOptions(conn), log);
  const checkout = createPgCheckout(pool, { validateAfterIdleMs: lifecycleOf(conn).validateAfterIdleMs, connectionTimeoutMs: conn.connectionTimeoutMs }, log);
  const admin = createPgPool(conn, { max: 1, applicationName: 'sluice-cancel', idleTimeoutMs: 10_000 }, log);
  const gate = createLeaseGate(conn.max);
  const running = new Map<string, Running>();
  const prepared = conn.preparedStatements ?? DEFAULT_PREPARED_STATEMENTS;
  const logRaw = (err: unknown): void => log('postgres error', { err: String(err), code: (err as { code?: unknown }).code });

  function startCancel(state: Running): void {
    if (state.pid === null || state.work === null || state.cancelling) return;
    state.cancelling = cancelBackend(admin, state.pid, state.work, log);
  }

  /** Returns the reason to destroy the client, or undefined when it is clean again. */
  async function rollback(client: pg.PoolClient, err: unknown, state: Running): Promise<Error | undefined> {
    if (err instanceof BackstopError || state.cancelling || isConnectionError(err)) return err instanceof Error ? err : new Error(String(err));
    try {
      await withDeadline(client.query('ROLLBACK'), ROLLBACK_WAIT_MS, () => new Error('ROLLBACK timed out'));
      return undefined;
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  }

  /**
   * Lease a client for `jobId` within `timeoutMs`, run `work` on it (bounded by a backstop), and
   * give the client back clean or destroyed. Shared by single statements and batches.
   */
  async function withLease<R>(
    jobId: string,
    timeoutMs: number,
    work: (client: pg.PoolClient, timeoutMs: number, state: Running) => Promise<R>,
  ): Promise<{ value: R; acquireMs: number; leaseMs: number }> {
    const state: Running = { pid: null, work: null, cancelled: false, cancelling: null, abortWait: null };
    running.set(jobId, state);
    const started = performance.now();
    let release: (() => void) | undefined;
    try {
      release = await gate.acquire(timeoutMs, state);
      let client: pg.PoolClient;
      try {
        client = await checkout(timeoutMs - (performance.now() - started));
      } catch (err) {
        // Nothing was sent: the replica decorator may run the statement elsewhere.
        throw markNotSent(mapPgError(err, {}, logRaw));
      }
      const leased = performance.now();
      state.pid = (client as pg.PoolClient & { processID?: number | null }).processID ?? null;
      let destroy: Error | undefined;
      // Before this instant the server's statement_timeout cannot have fired (its clock starts
      // after we send): a cancel seen earlier came from someone else, e.g. an operator.
      let timeoutNotBefore = Infinity;
      try {
        // Waiting for the connection spent part of the budget: the deadline is the request's.
        const left = timeoutMs - (leased - started);
        if (left < 1) throw new SluiceError('QUERY_TIMEOUT', 'No database connection became free within the query timeout');
        timeoutNotBefore = performance.now() + Math.floor(left) - TIMEOUT_CLOCK_SLACK_MS;
        const running = work(client, left, state);
        // If the backstop wins, the abandoned lease rejects later when its client is destroyed.
        running.catch(() => undefined);
        // A cancel before this point needs no signal: the lease checked `cancelled` synchronously.
        state.work = running;
        const value = await withDeadline(running, left + BACKSTOP_GRACE_MS, () => {
          startCancel(state);
          return new BackstopError('no answer from the server within the statement timeout');
        });
        return { value, acquireMs: leased - started, leaseMs: performance.now() - leased };
      } catch (err) {
        destroy = await rollback(client, err, state);
        if (err instanceof BackstopError) throw new SluiceError('QUERY_TIMEOUT');
        throw mapPgError(err, { clientCancelled: state.cancelled, cancelledEarly: performance.now() < timeoutNotBefore }, logRaw);
      } finally {
        if (state.cancelling) {
          await state.cancelling;
          destroy ??= new Error('cancelled: a late cancel signal must not hit the next lease');
        }
        client.release(destroy);
      }
    } finally {
      running.delete(jobId);
      release?.();
    }
  }

  /** Before any lease: a template the claims cannot fill is refused without touching the pool. */
  const dbRoleFor = (claims: Record<string, unknown>): string | undefined => (conn.dbRole === undefined ? undefined : resolveDbRole(conn.dbRole, claims));

  async function execute(req: ExecuteRequest): Promise<ExecuteResult> {
    const role = dbRoleFor(req.claims);
    const { value, acquireMs, leaseMs } = await withLease(req.jobId, req.timeoutMs, (client, timeoutMs, state) =>
      runLease(client, { ...req, timeoutMs }, role, state, () => startCancel(state), prepared),
    );
    return { ...shapeRows(value, req.maxRows, req.readOnly), acquireMs, leaseMs };
  }

  async function executeBatch(req: ExecuteBatchRequest): Promise<ExecuteBatchResult> {
    const role = dbRoleFor(req.claims);
    const { value, acquireMs, leaseMs } = await withLease(req.jobId, req.timeoutMs, (client, timeoutMs, state) =>
      runBatchLease(client, { ...req, timeoutMs }, role, state, () => startCancel(state), prepared),
    );
    return { results: value.map((r) => shapeRows(r, req.maxRows, req.readOnly)), acquireMs, leaseMs };
  }

  return {
    execute,
    executeBatch,
    async cancel(jobId) {
      const state = running.get(jobId);
      if (!state) return;
      state.cancelled = true;
      state.abortWait?.(new SluiceError('CLIENT_CLOSED'));
      startCancel(state);
      await state.cancelling;
    },
    stats: () => ({ max: conn.max, ...gate.stats(), open: pool.totalCount }),
    async ping() {
      try {
        await pool.query({ text: 'select 1', query_timeout: PING_TIMEOUT_MS } as pg.QueryConfig);
      } catch (err) {
        throw mapPgError(err, {}, logRaw);
      }
    },
    async close() {
      await Promise.allSettled([pool.end(), admin.end()]);
    },
  };
}
