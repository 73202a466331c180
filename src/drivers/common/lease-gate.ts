/**
 * At most `max` leases per driver, waiting FIFO here rather than inside pg.Pool: pg.Pool applies
 * connectionTimeoutMillis to waiting for a *free* client too, so a busy pool would report
 * "timeout exceeded when trying to connect" (DATABASE_UNAVAILABLE) for a healthy database.
 * Here the wait is bounded by the statement's own time budget and can be cancelled.
 * mysql2's pool has no acquire timeout at all, and SQLite runs one statement at a time per
 * process: both drivers wait here too.
 */
import { SluiceError } from '../../errors.js';

export type Release = () => void;

/** A caller's handle on its wait: while it waits, `abortWait` ends it (cancel() calls it); null otherwise. */
export interface Waiting {
  abortWait: ((err: Error) => void) | null;
}

export interface LeaseGate {
  /** `waiting.abortWait` is set for as long as the caller waits, and null again once it has a lease or gave up. */
  acquire(timeoutMs: number, waiting: Waiting): Promise<Release>;
  /** Leases held now and callers waiting for one. */
  stats(): { active: number; waiting: number };
}

export function createLeaseGate(max: number): LeaseGate {
  let active = 0;
  const waiters = new Set<() => void>();

  function releaser(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      active--;
      const next = waiters.values().next();
      if (!next.done) {
        waiters.delete(next.value);
        active++;
        next.value();
      }
    };
  }

  return {
    stats: () => ({ active, waiting: waiters.size }),
    acquire(timeoutMs, waiting) {
      if (active < max && waiters.size === 0) {
        active++;
        return Promise.resolve(releaser());
      }
      return new Promise<Release>((resolve, reject) => {
        const grant = (): void => {
          clearTimeout(timer);
          waiting.abortWait = null;
          resolve(releaser());
        };
        const abort = (err: Error): void => {
          if (!waiters.delete(grant)) return;
          clearTimeout(timer);
          waiting.abortWait = null;
          reject(err);
        };
        const timer = setTimeout(() => abort(new SluiceError('QUERY_TIMEOUT', 'No database connection became free within the query timeout')), timeoutMs);
        waiters.add(grant);
        waiting.abortWait = abort;
      });
    },
  };
}
