/**
 * A circuit breaker per connection, with periodic health checks, as a WorkerPool decorator: the
 * in-process queue and the BullMQ queue worker both run jobs through a WorkerPool, so both get it.
 *
 *   closed     jobs run. `failureThreshold` consecutive failures that mean "the database is sick"
 *              (a job answered DATABASE_UNAVAILABLE, or a health-check ping failed) open it; a
 *              success in between starts the count again.
 *   open       run() answers CIRCUIT_OPEN at once (Retry-After: seconds until the probe), so a dead
 *              database costs no thread hop, no connect timeout and no queue slot per request.
 *   half_open  after the cooldown, exactly one probe: a ping of that connection (the pool's own
 *              pinger, not a client's request, so the breaker closes even when no traffic arrives,
 *              e.g. while a load balancer keeps the instance out because /readyz says not ready).
 *              Jobs still fail fast meanwhile. Success → closed; failure → open again with the
 *              cooldown doubled, capped at `maxCooldownMs`.
 *
 * What counts: only DATABASE_UNAVAILABLE. QUERY_TIMEOUT does not — one tenant's slow statement
 * must not shut every tenant out; a database that stops answering altogether still fails the
 * health-check pings and new connects (connect timeout → DATABASE_UNAVAILABLE). Any other error
 * the database itself produced (it carries a SQLSTATE) proves the server is up and resets the
 * count; errors raised before reaching it (a refused statement, a full queue) say nothing.
 */
import type { HealthConfig } from '../config/health-schema.js';
import type { SluiceConfig } from '../config/types.js';
import { SluiceError } from '../errors.js';
import type { QueryJob, QueryOutcome } from './messages.js';
import type { BreakerState, WorkerPool } from './worker-pool.js';
import type { Log } from '../observability/log.js';


export type Verdict = 'failure' | 'success' | 'neutral';

type PingResult = Record<string, { ok: boolean; error?: string }>;

/** Beyond the connect timeout: the pinger's own query timeout plus slack. */
const PING_SLACK_MS = 3000;

interface Breaker {
  state: BreakerState;
  /** Consecutive failures while closed. */
  failures: number;
  /** The open period now in force; doubles after each failed probe. */
  cooldownMs: number;
  /** Epoch ms of the half-open probe, while open. */
  probeAt: number;
  timer: NodeJS.Timeout | undefined;
  /** Bumped on every close, so an outcome of a job started before an outage cannot count after it. */
  generation: number;
}

/** How one job's outcome bears on the health of its connection. */
export function verdictOf(outcome: QueryOutcome): Verdict {
  if (outcome.ok) return 'success';
  if (outcome.error.code === 'DATABASE_UNAVAILABLE') return 'failure';
  return outcome.error.sqlstate !== undefined ? 'success' : 'neutral';
}

/** `ms` for a ping that should take at most the connect timeout plus the ping's own query timeout. */
export function pingBudgetMs(config: Pick<SluiceConfig, 'connections'>): number {
  const connect = Object.values(config.connections).map((c) => ('connectionTimeoutMs' in c ? c.connectionTimeoutMs : 0));
  return Math.max(1000, ...connect) + PING_SLACK_MS;
}

/** `pool.ping()`, or `{}` (every connection failed) if it rejects or outlasts `ms`. Never rejects. */
function pingWithin(pool: WorkerPool, ms: number): Promise<PingResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<PingResult>((resolve) => {
    timer = setTimeout(() => resolve({}), ms);
    // A probe in flight must not keep a closing process alive.
    timer.unref();
  });
  return Promise.race([pool.ping().catch(() => ({})), timeout]).finally(() => clearTimeout(timer));
}

export function createBreakerPool(pool: WorkerPool, config: Pick<SluiceConfig, 'connections'> & { health: HealthConfig }, log: Log): WorkerPool {
  const { intervalMs, failureThreshold, cooldownMs, maxCooldownMs } = config.health;
  const pingMs = pingBudgetMs(config);
  const breakers = new Map<string, Breaker>(
    Object.keys(config.connections).map((name) => [name, { state: 'closed', failures: 0, cooldownMs, probeAt: 0, timer: undefined, generation: 0 }]),
  );
  let closed = false;
  let checkTimer: NodeJS.Timeout | undefined;

  function open(name: string, b: Breaker, reason: string): void {
    b.state = 'open';
    b.probeAt = Date.now() + b.cooldownMs;
    b.timer = setTimeout(() => void probe(name, b), b.cooldownMs);
    b.timer.unref();
    log.warn({ connection: name, reason, failures: b.failures, cooldownMs: b.cooldownMs }, 'circuit breaker open');
  }

  async function probe(name: string, b: Breaker): Promise<void> {
    b.timer = undefined;
    if (closed) return;
    b.state = 'half_open';
    const ok = (await pingWithin(pool, pingMs))[name]?.ok === true;
    if (closed || b.state !== 'half_open') return;
    if (ok) {
      b.state = 'closed';
      b.failures = 0;
      b.cooldownMs = cooldownMs;
      b.generation++;
      log.info({ connection: name }, 'circuit breaker closed');
    } else {
      b.cooldownMs = Math.min(b.cooldownMs * 2, maxCooldownMs);
      open(name, b, 'probe failed');
    }
  }

  function record(name: string, b: Breaker, verdict: Verdict, generation: number): void {
    if (closed || b.state !== 'closed' || b.generation !== generation || verdict === 'neutral') return;
    if (verdict === 'success') {
      b.failures = 0;
      return;
    }
    b.failures++;
    if (b.failures >= failureThreshold) open(name, b, 'consecutive failures');
  }

  function fastFail(b: Breaker): QueryOutcome {
    const seconds = b.state === 'open' ? Math.ceil((b.probeAt - Date.now()) / 1000) : 1;
    return { ok: false, error: new SluiceError('CIRCUIT_OPEN', undefined, { retryAfter: Math.max(1, seconds) }).toBody() };
  }

  async function check(): Promise<void> {
    checkTimer = undefined;
    const generations = new Map([...breakers].map(([name, b]) => [name, b.generation]));
    const results = await pingWithin(pool, pingMs);
    if (closed) return;
    for (const [name, b] of breakers) record(name, b, results[name]?.ok === true ? 'success' : 'failure', generations.get(name)!);
    scheduleCheck();
  }

  function scheduleCheck(): void {
    if (intervalMs === 0 || closed) return;
    // Chained, not setInterval: a slow ping never overlaps the next one.
    checkTimer = setTimeout(() => void check(), intervalMs);
    checkTimer.unref();
  }

  scheduleCheck();

  const wrapped: WorkerPool = {
    async run(job: QueryJob): Promise<QueryOutcome> {
      const b = breakers.get(job.connection);
      // An unknown connection is the inner pool's to refuse.
      if (!b) return pool.run(job);
      if (b.state !== 'closed') return fastFail(b);
      const generation = b.generation;
      const outcome = await pool.run(job);
      record(job.connection, b, verdictOf(outcome), generation);
      return outcome;
    },
    cancel: (jobId) => pool.cancel(jobId),
    capacity: (connection) => pool.capacity(connection),
    async ping() {
      const results = await pool.ping();
      // Not ready while the breaker is not closed: requests would only get CIRCUIT_OPEN.
      return Object.fromEntries(
        Object.entries(results).map(([name, r]) => {
          const state = breakers.get(name)?.state ?? 'closed';
          return [name, state === 'closed' ? r : { ok: false, error: `circuit breaker ${state}` }];
        }),
      );
    },
    breakerStates: () => Object.fromEntries([...breakers].map(([name, b]) => [name, b.state])),
    close() {
      closed = true;
      clearTimeout(checkTimer);
      for (const b of breakers.values()) clearTimeout(b.timer);
      return pool.close();
    },
  };
  if (pool.poolStats) wrapped.poolStats = pool.poolStats.bind(pool);
  return wrapped;
}
