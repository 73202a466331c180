/**
 * Server-side cancellation over a separate connection (pg_cancel_backend), as the statement's own
 * connection is busy. One small pool per connection config, shared by cancels and backstops.
 *
 * One cancel is not enough: Postgres drops a cancel that arrives while the backend is reading the
 * next protocol message (`DoingCommandRead`), e.g. between Parse and Execute of an extended-protocol
 * statement, which already shows as `active` in pg_stat_activity. So the cancel is repeated until
 * the lease's work settles, a bounded number of times. The caller keeps the client (and so the pid)
 * until this returns, so a repeat can never reach a backend that now serves someone else.
 */
import type pg from 'pg';
import { settleWithin, withDeadline } from '../../timeouts.js';

/** Bounded: a cancel that cannot reach the server must not hold up the lease. */
const CANCEL_WAIT_MS = 3000;
const REPEAT_EVERY_MS = 150;
const MAX_ATTEMPTS = 8;

type Log = (msg: string, d: Record<string, unknown>) => void;

async function cancelOnce(admin: pg.Pool, pid: number): Promise<void> {
  await withDeadline(admin.query('select pg_cancel_backend($1)', [pid]), CANCEL_WAIT_MS, () => new Error('pg_cancel_backend timed out'));
}

/** Never rejects. `settled`: the lease's work; once it settles there is nothing left to cancel. */
export async function cancelBackend(admin: pg.Pool, pid: number, settled: Promise<unknown>, log: Log): Promise<void> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    try {
      await cancelOnce(admin, pid);
    } catch (err) {
      log('cancel failed', { pid, attempt, err: String(err) });
      return;
    }
    if (await settleWithin(settled, REPEAT_EVERY_MS)) return;
  }
  log('cancel not acknowledged', { pid, attempts: MAX_ATTEMPTS });
}
