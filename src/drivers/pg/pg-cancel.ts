/**
 * Server-side cancellation over a separate connection (pg_cancel_backend), as the statement's own
 * connection is busy. One small pool per connection config, shared by cancels and backstops.
 */
import type pg from 'pg';

/** Bounded: a cancel that cannot reach the server must not hold up the lease. */
const CANCEL_WAIT_MS = 3000;

export async function cancelBackend(admin: pg.Pool, pid: number, log: (msg: string, d: Record<string, unknown>) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      admin.query('select pg_cancel_backend($1)', [pid]),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('pg_cancel_backend timed out')), CANCEL_WAIT_MS);
      }),
    ]);
  } catch (err) {
    log('cancel failed', { pid, err: String(err) });
  } finally {
    clearTimeout(timer);
  }
}
