/**
 * What one worker thread keeps for its lifetime: the SQL parsers (loaded once), and per connection
 * a validator (with its statement cache) and a driver (with its pools), all created lazily on the
 * first job that needs them.
 */
import { TIER_PREFIX } from '../config/identifiers.js';
import type { SluiceConfig } from '../config/types.js';
import type { Driver, PoolStats } from '../drivers/driver.js';
import { SluiceError } from '../errors.js';
import { createValidator, loadSqlParsers } from '../sql/create-validator.js';
import type { Validator } from '../sql/validator.js';
import { createDriver } from './create-driver.js';
import { createDriverSet } from './driver-set.js';
import { createEarlyCancels } from './early-cancels.js';
import type { ThreadLog } from './thread-log.js';
import { driverWarnings } from '../observability/log.js';

/** Cancels remembered for jobs not (yet) on this thread; ~1 MB of ids at most. */
const EARLY_CANCELS_MAX = 10_000;
/** On top of the longest a job can still start after its cancel: clock skew between API and worker hosts in queue mode. */
const EARLY_CANCEL_SLACK_MS = 5_000;

export interface ConnectionRuntime {
  validator: Validator & { lastWasCacheHit?: () => boolean };
  driver: Driver;
}

export interface ThreadRuntime {
  /** `tier`: the job's tenant tier, for roles whose permissions come from an "@tier" entry. */
  connection(name: string, tier?: string): Promise<ConnectionRuntime>;
  /** Register a running job (cancelled already if its cancel came first); call the returned function when it ends. */
  track(jobId: string): () => void;
  /** Cancel a running job, or remember the cancel for a job that has not reached track() yet. */
  cancel(jobId: string): void;
  isCancelled(jobId: string): boolean;
  /** Pool numbers of each connection this thread has opened (for /metrics). */
  stats(): Record<string, PoolStats>;
  close(): Promise<void>;
}

export function createThreadRuntime(config: SluiceConfig, log: ThreadLog): ThreadRuntime {
  let parsers: Promise<void> | undefined;
  /** Validators per connection; the drivers live in `drivers` (opened lazily, closed when idle, capped). */
  const validators = new Map<string, ConnectionRuntime['validator']>();
  const { maxConnections, poolIdleCloseMs } = config.workers;
  const drivers = createDriverSet(log, {
    budget: maxConnections === undefined ? Infinity : Math.floor(maxConnections / config.workers.threads),
    idleCloseMs: poolIdleCloseMs,
    create: (conn, threadLog) => createDriver(conn, driverWarnings(threadLog)),
  });
  /** Validators of (connection, tier), only for tiers some role has "@tier" permissions for. */
  const tierValidators = new Map<string, ConnectionRuntime['validator']>();
  const tiersWithPermissions = new Set(
    Object.values(config.permissions).flatMap((byKey) => Object.keys(byKey).filter((k) => k.startsWith(TIER_PREFIX)).map((k) => k.slice(TIER_PREFIX.length))),
  );
  /** Jobs running on this thread; cancelled ones must not start a retry. */
  const active = new Map<string, { cancelled: boolean }>();
  // A job's deadline is at most maxWaitMs + queryTimeout after its cancel; past it runJob refuses the job.
  const early = createEarlyCancels({ ttlMs: config.queue.maxWaitMs + config.limits.queryTimeout + EARLY_CANCEL_SLACK_MS, max: EARLY_CANCELS_MAX });
  let closed = false;

  function loadParsers(): Promise<void> {
    // A failed load is retried by the next job rather than poisoning the thread forever.
    parsers ??= loadSqlParsers().catch((e: unknown) => {
      parsers = undefined;
      throw e;
    });
    return parsers;
  }

  return {
    async connection(name, tier) {
      if (closed) throw new SluiceError('SHUTTING_DOWN');
      const conn = Object.hasOwn(config.connections, name) ? config.connections[name] : undefined;
      if (!conn) throw new SluiceError('UNKNOWN_CONNECTION', `No connection named "${name}"`);
      await loadParsers();
      let base = validators.get(name);
      if (!base) {
        base = createValidator(config, name);
        validators.set(name, base);
      }
      const rt: ConnectionRuntime = { validator: base, driver: drivers.get(name, conn) };
      if (tier === undefined || !tiersWithPermissions.has(tier)) return rt;
      const key = `${name}\u0000${tier}`;
      let validator = tierValidators.get(key);
      if (!validator) {
        validator = createValidator(config, name, tier);
        tierValidators.set(key, validator);
      }
      return { validator, driver: rt.driver };
    },
    track(jobId) {
      active.set(jobId, { cancelled: early.take(jobId) });
      return () => active.delete(jobId);
    },
    cancel(jobId) {
      const job = active.get(jobId);
      // The broadcast can overtake the job's task on its way here (every thread gets it, hence the bounds).
      if (!job) {
        early.add(jobId);
        return;
      }
      job.cancelled = true;
      // Every driver no-ops on ids it is not running, so no job → connection map is needed.
      for (const [, driver] of drivers.entries()) driver.cancel(jobId).catch((err: unknown) => log.warn({ err: String(err) }, 'cancel failed'));
    },
    isCancelled: (jobId) => active.get(jobId)?.cancelled === true,
    stats: () => Object.fromEntries(drivers.entries().map(([name, driver]) => [name, driver.stats()])),
    async close() {
      closed = true;
      await drivers.close();
    },
  };
}
