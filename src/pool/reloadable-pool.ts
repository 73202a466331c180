/**
 * A WorkerPool whose config can be replaced without downtime (credential rotation, new
 * permissions, a tenant's route). `reload` builds a new generation of threads and pools from the
 * new config; new jobs go there at once, while jobs already running finish on the old generation,
 * which closes when its last job ends (bounded by the old pool's own drain). Nothing waiting is
 * dropped: waiting happens in the queue in front of this pool, which simply sends its next job to
 * the new generation. While both generations live, both hold connections (see docs/tenants.md).
 */
import type { SluiceConfig } from '../config/types.js';
import type { PoolStats } from '../drivers/driver.js';
import type { QueryJob, QueryOutcome } from './messages.js';
import type { WorkerPool } from './worker-pool.js';

interface Generation {
  readonly pool: WorkerPool;
  readonly config: Readonly<SluiceConfig>;
  running: number;
  retired: boolean;
  closed?: Promise<void>;
}

export interface ReloadablePool extends WorkerPool {
  /** Switch new jobs to a pool built from `next` at once; the old pool closes once its running jobs end. Throws after close(). */
  reload(next: Readonly<SluiceConfig>): void;
  readonly generations: number;
}

function addStats(into: Record<string, PoolStats>, more: Record<string, PoolStats>): void {
  for (const [name, s] of Object.entries(more)) {
    const cur = into[name];
    into[name] = cur ? { max: cur.max + s.max, active: cur.active + s.active, waiting: cur.waiting + s.waiting, open: cur.open + s.open } : { ...s };
  }
}

export function createReloadablePool(config: Readonly<SluiceConfig>, factory: (config: Readonly<SluiceConfig>) => WorkerPool): ReloadablePool {
  let current: Generation = { pool: factory(config), config, running: 0, retired: false };
  const retiring = new Set<Generation>();
  let count = 1;
  let closed = false;

  function closeIfDrained(gen: Generation): void {
    if (!gen.retired || gen.running > 0 || gen.closed) return;
    gen.closed = gen.pool.close().finally(() => retiring.delete(gen));
  }

  const live = (): Generation[] => [current, ...retiring];

  const pool: ReloadablePool = {
    async run(job: QueryJob): Promise<QueryOutcome> {
      const gen = current;
      gen.running++;
      try {
        return await gen.pool.run(job);
      } finally {
        gen.running--;
        closeIfDrained(gen);
      }
    },
    // A job id runs in one generation only; the others no-op on ids they do not know.
    cancel(jobId) {
      for (const gen of live()) gen.pool.cancel(jobId);
    },
    capacity: (connection) => current.pool.capacity(connection),
    ping: () => current.pool.ping(),
    async poolStats() {
      const total: Record<string, PoolStats> = {};
      for (const gen of live()) if (gen.pool.poolStats) addStats(total, await gen.pool.poolStats());
      return total;
    },
    reload(next) {
      // A generation built after close() would never be closed.
      if (closed) throw new Error('the worker pool is closed');
      const old = current;
      current = { pool: factory(next), config: next, running: 0, retired: false };
      count++;
      old.retired = true;
      retiring.add(old);
      closeIfDrained(old);
    },
    get generations() {
      return count;
    },
    async close() {
      closed = true;
      for (const gen of live()) gen.retired = true;
      await Promise.allSettled(live().map((gen) => gen.closed ?? (gen.closed = gen.pool.close())));
    },
  };
  return pool;
}
