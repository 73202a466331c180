/**
 * Pool and circuit-breaker gauges, read from the WorkerPool at scrape time. Shared by the HTTP
 * front (GET /metrics) and the worker process's own metrics server (`sluice worker`), so both
 * expose the same names. A gauge is registered only when its source exists: an `api` process has
 * no pool, and a pool without a breaker has no breaker states.
 */
import { Gauge, type Registry } from 'prom-client';
import type { BreakerState, WorkerPool } from '../pool/worker-pool.js';

export type PoolSource = Pick<WorkerPool, 'poolStats' | 'breakerStates'>;

/** Ordered by severity, so `max()` across instances is the worst state. */
export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, half_open: 1, open: 2 };

export interface PoolGauges {
  /** Set every gauge from the pool's current numbers; never rejects. */
  refresh(): Promise<void>;
}

export function createPoolGauges(registry: Registry, pool: PoolSource): PoolGauges {
  const gauge = (name: string, help: string): Gauge<'connection'> => new Gauge({ name, help, labelNames: ['connection'] as const, registers: [registry] });
  const poolGauges =
    pool.poolStats === undefined
      ? undefined
      : {
          max: gauge('sluice_pool_max_connections', 'Connections the pool may open for this connection, over all worker threads (threads x max)'),
          open: gauge('sluice_pool_open_connections', 'Physical database connections open (idle or leased)'),
          idle: gauge('sluice_pool_idle_connections', 'Open connections not leased (open - active)'),
          active: gauge('sluice_pool_active_leases', 'Connections leased to a running statement'),
          waiting: gauge('sluice_pool_waiting_requests', 'Statements waiting inside a worker thread for a lease'),
        };
  const breaker = pool.breakerStates === undefined ? undefined : gauge('sluice_circuit_breaker_state', 'Circuit breaker per connection: 0 closed, 1 half_open, 2 open');

  async function refreshPool(): Promise<void> {
    if (!poolGauges || !pool.poolStats) return;
    const all = Object.values(poolGauges);
    let stats: Awaited<ReturnType<NonNullable<PoolSource['poolStats']>>>;
    try {
      stats = await pool.poolStats();
    } catch {
      // Stale numbers would mislead more than missing ones.
      for (const g of all) g.reset();
      return;
    }
    for (const g of all) g.reset();
    for (const [connection, s] of Object.entries(stats)) {
      poolGauges.max.set({ connection }, s.max);
      poolGauges.open.set({ connection }, s.open);
      poolGauges.idle.set({ connection }, Math.max(0, s.open - s.active));
      poolGauges.active.set({ connection }, s.active);
      poolGauges.waiting.set({ connection }, s.waiting);
    }
  }

  function refreshBreakers(): void {
    if (!breaker || !pool.breakerStates) return;
    breaker.reset();
    try {
      for (const [connection, state] of Object.entries(pool.breakerStates())) breaker.set({ connection }, BREAKER_STATE_VALUE[state]);
    } catch {
      // Leave it empty: an absent series is visible, a wrong one is not.
    }
  }

  return {
    async refresh() {
      refreshBreakers();
      await refreshPool();
    },
  };
}
