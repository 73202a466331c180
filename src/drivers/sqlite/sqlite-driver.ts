/**
 * The SQLite Driver: one SQLite process per connection per worker thread, one statement (or batch)
 * at a time. better-sqlite3 is synchronous and has no interrupt, and terminating a worker thread
 * does not stop a statement running in native code, so the work runs in a child process that is
 * SIGKILLed at the deadline (→ QUERY_TIMEOUT) or on cancel (→ CLIENT_CLOSED), then replaced.
 *
 * Except reads whose compiled program is straight-line (sqlite-bounded.ts: key lookups, each
 * instruction run at most once): nothing there can run away, so they run on this thread's own
 * read-only connection without the process hop. Everything else, and any doubt, goes to the process.
 */
import type { SqliteConnectionConfig } from '../../config/types.js';
import { SluiceError } from '../../errors.js';
import { createLeaseGate, type Waiting } from '../common/lease-gate.js';
import type { Driver, ExecuteBatchRequest, ExecuteBatchResult, ExecuteRequest, ExecuteResult } from '../driver.js';
import { createSqliteThreadReader } from './sqlite-engine.js';
import { mapSqliteError, rawSqliteError } from './sqlite-errors.js';
import type { SqliteStatementResult, SqliteWork } from './sqlite-protocol.js';
import { createSqliteProcess, type SqliteLog } from './sqlite-process.js';

const PING_TIMEOUT_MS = 2000;

/** `abortWait` (Waiting): set while waiting for a free connection; cancel() ends the wait. */
interface Running extends Waiting {
  cancelled: boolean;
  inFlight: boolean;
}

export interface SqliteDriver extends Driver {
  /** pid of the SQLite process currently serving this driver (tests use it to watch a kill). */
  processId(): number | undefined;
}

export function createSqliteDriver(conn: SqliteConnectionConfig, log: SqliteLog): SqliteDriver {
  const proc = createSqliteProcess({ file: conn.file, busyTimeoutMs: conn.busyTimeoutMs }, log);
  // The process runs one thing at a time; callers wait here, bounded by their own deadline.
  const gate = createLeaseGate(1);
  const running = new Map<string, Running>();
  const reader = createSqliteThreadReader({ file: conn.file, busyTimeoutMs: 0 });

  /**
   * The read on this thread when it is straight-line; undefined: it goes to the process. Errors
   * are mapped as the process maps them.
   */
  function onThread(work: SqliteWork): SqliteStatementResult[] | undefined {
    try {
      return reader.tryExec(work);
    } catch (err) {
      const mapped = mapSqliteError(err);
      if (!(err instanceof SluiceError) && (mapped.code === 'INTERNAL_ERROR' || mapped.code === 'DATABASE_UNAVAILABLE')) {
        log('sqlite error', { err: rawSqliteError(err) });
      }
      throw mapped;
    }
  }

  /** Waits for the process to be up; a cancel (cancel() → abortWait) ends the wait at once. */
  function startedUp(state: Running): Promise<void> {
    if (state.cancelled) return Promise.reject(new SluiceError('CLIENT_CLOSED'));
    return new Promise<void>((resolve, reject) => {
      const abort = (err: Error): void => reject(err);
      state.abortWait = abort;
      proc.ready().then(resolve, reject).finally(() => {
        if (state.abortWait === abort) state.abortWait = null;
      });
    });
  }

  async function run(jobId: string, timeoutMs: number, work: SqliteWork): Promise<{ results: SqliteStatementResult[]; acquireMs: number; leaseMs: number }> {
    const state: Running = { cancelled: false, inFlight: false, abortWait: null };
    running.set(jobId, state);
    let release: (() => void) | undefined;
    try {
      // A process start-up (the first statement, or the one after a kill) is not the statement's
      // time: it has its own bound (sqlite-process.ts), and the deadline starts once it is done.
      await startedUp(state);
      const started = performance.now();
      release = await gate.acquire(timeoutMs, state);
      if (state.cancelled) throw new SluiceError('CLIENT_CLOSED');
      // The statement before this one may have been killed: its replacement's start-up is not ours either.
      const beforeStart = performance.now();
      await startedUp(state);
      const leased = performance.now();
      const remaining = timeoutMs - (beforeStart - started);
      if (remaining < 1) throw new SluiceError('QUERY_TIMEOUT', 'The SQLite connection did not become free within the query timeout');
      if (work.readOnly) {
        const results = onThread(work);
        if (results) return { results, acquireMs: leased - started, leaseMs: performance.now() - leased };
      }
      state.inFlight = true;
      const timer = setTimeout(() => proc.kill(new SluiceError('QUERY_TIMEOUT')), remaining);
      try {
        const results = await proc.request({ type: 'exec', ...work });
        return { results, acquireMs: leased - started, leaseMs: performance.now() - leased };
      } finally {
        clearTimeout(timer);
        state.inFlight = false;
      }
    } finally {
      running.delete(jobId);
      release?.();
    }
  }

  return {
    async execute(req: ExecuteRequest): Promise<ExecuteResult> {
      const statement = { sql: req.sql, params: req.params, method: req.method, ...(req.tables !== undefined && { tables: req.tables }) };
      const { results, acquireMs, leaseMs } = await run(req.jobId, req.timeoutMs, { statements: [statement], readOnly: req.readOnly, maxRows: req.maxRows, maxResponseBytes: req.maxResponseBytes });
      return { ...results[0]!, acquireMs, leaseMs };
    },
    async executeBatch(req: ExecuteBatchRequest): Promise<ExecuteBatchResult> {
      const statements = req.statements.map((s) => ({ sql: s.sql, params: s.params, method: s.method, ...(s.tables !== undefined && { tables: s.tables }) }));
      return run(req.jobId, req.timeoutMs, { statements, readOnly: req.readOnly, maxRows: req.maxRows, maxResponseBytes: req.maxResponseBytes });
    },
    async cancel(jobId) {
      const state = running.get(jobId);
      if (!state) return;
      state.cancelled = true;
      state.abortWait?.(new SluiceError('CLIENT_CLOSED'));
      if (state.inFlight) proc.kill(new SluiceError('CLIENT_CLOSED'));
    },
    stats: () => ({ max: 1, ...gate.stats(), open: proc.pid() === undefined ? 0 : 1 }),
    async ping() {
      // A process still starting answers once it is up (or 503 at its start-up bound); the ping's
      // own timeout is for a running process that stopped answering, and must not kill a start-up.
      await proc.ready();
      // Behind the statement in flight, never beside it: the ping's kill must not hit a query.
      const release = await gate.acquire(PING_TIMEOUT_MS, { abortWait: null });
      await proc.ready();
      const timer = setTimeout(() => proc.kill(new SluiceError('DATABASE_UNAVAILABLE', 'The SQLite process did not answer', { retryAfter: 1 })), PING_TIMEOUT_MS);
      try {
        await proc.request({ type: 'ping' });
      } finally {
        clearTimeout(timer);
        release();
      }
    },
    processId: () => proc.pid(),
    close: () => {
      reader.close();
      return proc.close();
    },
  };
}
