/**
 * GET /admin/api/state: one snapshot of what an operator watches — tenants with their route, tier
 * and status; per connection its pool numbers and circuit breaker; the queue's depth and recent
 * waits; recent refusals; async jobs by state. Read from the same live sources as /metrics and
 * /readyz; every source that can stall (a thread round trip, Redis) is bounded, and a failing one
 * is reported as its error, never as stale or made-up numbers.
 */
import type { SluiceConfig, TenantRoute, TenantStatus } from '../config/types.js';
import type { PoolStats } from '../drivers/driver.js';
import type { BreakerState } from '../pool/worker-pool.js';
import type { AsyncJobs, JobCounts } from '../queue/async-jobs.js';
import type { QueueStats } from '../queue/job-queue.js';
import type { TenantDirectory } from '../tenants/directory.js';
import type { Routing } from '../tenants/router.js';
import { withDeadline } from '../timeouts.js';
import type { ConsoleFeed, Refusal, WaitSummary } from './console-feed.js';
import type { PoolSource } from './pool-gauges.js';

/** Tenants listed at most (static routes first, then the directory's snapshot); `tenants.total` says how many exist. */
export const MAX_TENANTS_LISTED = 500;
const SOURCE_TIMEOUT_MS = 2000;

export interface ConsoleSources {
  routing: Routing;
  queue: { stats(): QueueStats };
  jobs: AsyncJobs;
  feed: ConsoleFeed;
  /** This process's worker pool; absent in `sluice api` (no pool, no breakers). */
  pool?: PoolSource | undefined;
  /** The live tenant directory (replaced on reload), if one is configured. */
  directory?: (() => TenantDirectory | undefined) | undefined;
  /** Where the BullMQ board is mounted (queue mode only). */
  boardPath?: string | undefined;
}

export interface TenantRow {
  id: string;
  /** `route` (tenants.routes), `directory` (tenants.directory) or `default` (tenants.default). */
  source: 'route' | 'directory' | 'default';
  connection: string | null;
  tier: string | null;
  /** The status that applies: the route's, or its tier's when the route itself is active; `invalid`: a bad directory row (refused). */
  status: TenantStatus | 'invalid';
}

export interface ConnectionRow {
  name: string;
  dialect: string;
  pool: (PoolStats & { idle: number }) | null;
  breaker: BreakerState | null;
}

export interface ConsoleState {
  generatedAt: string;
  mode: 'in-process' | 'queue';
  tenants: {
    routed: boolean;
    list: TenantRow[];
    /** Tenants known (static routes + directory snapshot), whether listed or not. */
    total: number;
    tiers: Array<{ name: string; connection: string | null; status: TenantStatus; maxConcurrent: number | null; maxWaiting: number | null }>;
    directory: { tenants: number; loadedAt: string | null } | null;
  };
  connections: ConnectionRow[];
  /** Why `pool` is null on every connection, when the pool did not answer. */
  poolError?: string;
  queue: QueueStats & { wait: WaitSummary };
  refusals: Refusal[];
  jobs: { counts: JobCounts | null; error?: string };
  board: string | null;
}

function row(id: string, source: TenantRow['source'], route: TenantRoute | 'invalid', config: Readonly<SluiceConfig>): TenantRow {
  if (route === 'invalid') return { id, source, connection: null, tier: null, status: 'invalid' };
  const tier = route.tier === undefined ? undefined : config.tenants?.tiers[route.tier];
  return {
    id,
    source,
    connection: route.connection ?? tier?.connection ?? null,
    tier: route.tier ?? null,
    status: route.status !== 'active' ? route.status : (tier?.status ?? 'active'),
  };
}

function tenantsOf(config: Readonly<SluiceConfig>, directory: TenantDirectory | undefined): ConsoleState['tenants'] {
  const tenants = config.tenants;
  if (!tenants) return { routed: false, list: [], total: 0, tiers: [], directory: null };
  const list: TenantRow[] = [];
  const statics = Object.entries(tenants.routes);
  for (const [id, route] of statics.slice(0, MAX_TENANTS_LISTED)) list.push(row(id, 'route', route, config));
  if (directory) {
    for (const [id, route] of directory.entries(MAX_TENANTS_LISTED + statics.length)) {
      if (list.length >= MAX_TENANTS_LISTED) break;
      // A static route wins over the directory (router.ts): the directory's row is not in force.
      if (!Object.hasOwn(tenants.routes, id)) list.push(row(id, 'directory', route, config));
    }
  }
  if (tenants.default) list.push(row('*', 'default', tenants.default, config));
  const info = directory?.info();
  return {
    routed: true,
    list,
    total: statics.length + (info?.tenants ?? 0),
    tiers: Object.entries(tenants.tiers).map(([name, t]) => ({
      name,
      connection: t.connection ?? null,
      status: t.status,
      maxConcurrent: t.maxConcurrent ?? tenants.maxConcurrent ?? null,
      maxWaiting: t.maxWaiting ?? tenants.maxWaiting ?? null,
    })),
    directory: info ? { tenants: info.tenants, loadedAt: info.loadedAt === 0 ? null : new Date(info.loadedAt).toISOString() } : null,
  };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function consoleState(src: ConsoleSources): Promise<ConsoleState> {
  const config = src.routing.config;
  const timeout = (what: string) => () => new Error(`${what} did not answer within ${SOURCE_TIMEOUT_MS} ms`);
  const [poolStats, jobCounts] = await Promise.allSettled([
    src.pool?.poolStats ? withDeadline(src.pool.poolStats(), SOURCE_TIMEOUT_MS, timeout('the worker pool')) : Promise.resolve(undefined),
    src.jobs.counts ? withDeadline(src.jobs.counts(), SOURCE_TIMEOUT_MS, timeout('the job store')) : Promise.resolve(undefined),
  ]);
  let breakers: Record<string, BreakerState> = {};
  try {
    breakers = src.pool?.breakerStates?.() ?? {};
  } catch {
    // Absent rather than wrong, as in pool-gauges.ts.
  }
  const stats = poolStats.status === 'fulfilled' ? poolStats.value : undefined;
  const connections: ConnectionRow[] = Object.entries(config.connections).map(([name, c]) => {
    const s = stats?.[name];
    return {
      name,
      dialect: c.dialect,
      pool: s ? { ...s, idle: Math.max(0, s.open - s.active) } : null,
      breaker: breakers[name] ?? null,
    };
  });
  const state: ConsoleState = {
    generatedAt: new Date().toISOString(),
    mode: config.queue.redis === undefined ? 'in-process' : 'queue',
    tenants: tenantsOf(config, src.directory?.()),
    connections,
    queue: { ...src.queue.stats(), wait: src.feed.waits() },
    refusals: src.feed.refusals(),
    jobs: jobCounts.status === 'fulfilled' ? { counts: jobCounts.value ?? null } : { counts: null, error: message(jobCounts.reason) },
    board: src.boardPath ?? null,
  };
  if (poolStats.status === 'rejected') state.poolError = message(poolStats.reason);
  return state;
}
