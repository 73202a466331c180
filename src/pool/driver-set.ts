/**
 * The drivers (connection pools) of one worker thread: opened on the first job for a connection,
 * closed after `idleCloseMs` without use, and capped: the pools this thread has open may hold at
 * most `budget` connections together (workers.maxConnections / threads). Opening one more closes
 * the least recently used idle pool first; when every open pool is busy the job is refused with
 * OVERLOADED instead of exceeding the database's max_connections. This is what lets many dedicated
 * tenant databases share one gateway.
 */
import type { ConnectionConfig } from '../config/types.js';
import type { Driver } from '../drivers/driver.js';
import { SluiceError } from '../errors.js';
import type { ThreadLog } from './thread-log.js';

/** A pool used this recently is never closed by the sweep or the cap (a job may be about to lease). */
const RECENT_USE_MS = 1000;

interface Entry {
  driver: Driver;
  max: number;
  lastUsed: number;
}

export interface DriverSet {
  /** The connection's driver, opened if needed; throws OVERLOADED when the cap leaves no room. */
  get(name: string, conn: ConnectionConfig): Driver;
  entries(): [string, Driver][];
  close(): Promise<void>;
}

export interface DriverSetOptions {
  /** Connections this thread's open pools may hold together; Infinity: no cap. */
  budget: number;
  /** ms without use after which a pool is closed; 0: never. */
  idleCloseMs: number;
  create(conn: ConnectionConfig, log: ThreadLog): Driver;
  now?: () => number;
}

export function createDriverSet(log: ThreadLog, opts: DriverSetOptions): DriverSet {
  const now = opts.now ?? Date.now;
  const open = new Map<string, Entry>();
  let held = 0;

  const idle = (e: Entry, t: number): boolean => {
    const s = e.driver.stats();
    return s.active === 0 && s.waiting === 0 && t - e.lastUsed >= RECENT_USE_MS;
  };

  function closeEntry(name: string, e: Entry, why: string): void {
    open.delete(name);
    held -= e.max;
    e.driver.close().catch((err: unknown) => log.warn({ connection: name, err: String(err) }, 'closing an idle pool failed'));
    log.info({ connection: name, why }, 'pool closed');
  }

  function makeRoom(need: number): void {
    const t = now();
    // Least recently used first: Map order is insertion order, so sort the few entries there are.
    const candidates = [...open].filter(([, e]) => idle(e, t)).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [name, e] of candidates) {
      if (held + need <= opts.budget) return;
      closeEntry(name, e, 'connection cap: room for another pool');
    }
    if (held + need > opts.budget) {
      throw new SluiceError('OVERLOADED', 'Every database connection this worker may hold is in use by other connections; retry later', { retryAfter: 1 });
    }
  }

  const sweep =
    opts.idleCloseMs > 0
      ? setInterval(() => {
          const t = now();
          for (const [name, e] of [...open]) if (t - e.lastUsed >= opts.idleCloseMs && idle(e, t)) closeEntry(name, e, 'idle');
        }, Math.min(opts.idleCloseMs, 30_000))
      : undefined;
  sweep?.unref();

  return {
    get(name, conn) {
      const found = open.get(name);
      if (found) {
        found.lastUsed = now();
        return found.driver;
      }
      makeRoom(conn.max);
      const e: Entry = { driver: opts.create(conn, log), max: conn.max, lastUsed: now() };
      open.set(name, e);
      held += e.max;
      return e.driver;
    },
    entries: () => [...open].map(([name, e]) => [name, e.driver]),
    async close() {
      if (sweep) clearInterval(sweep);
      const all = [...open.values()];
      open.clear();
      held = 0;
      await Promise.allSettled(all.map((e) => e.driver.close()));
    },
  };
}
