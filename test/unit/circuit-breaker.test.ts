/** The circuit breaker's state machine over a hand-written fake WorkerPool, on fake timers. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HealthConfig } from '../../src/config/health-schema.js';
import type { SluiceConfig } from '../../src/config/types.js';
import type { PoolStats } from '../../src/drivers/driver.js';
import { SluiceError, type ErrorCode } from '../../src/errors.js';
import { createBreakerPool, pingBudgetMs, verdictOf } from '../../src/pool/circuit-breaker.js';
import type { QueryJob, QueryOutcome } from '../../src/pool/messages.js';
import type { WorkerPool } from '../../src/pool/worker-pool.js';
import type { Log } from '../../src/observability/log.js';

const OK: QueryOutcome = { ok: true, result: { rows: [], rowCount: 0, truncated: false, tables: [], kind: 'select', timings: { checkMs: 0, leaseMs: 0, acquireMs: 0, cacheHit: false } } };

function fail(code: ErrorCode, sqlstate?: string): QueryOutcome {
  return { ok: false, error: new SluiceError(code, undefined, sqlstate === undefined ? {} : { sqlstate }).toBody() };
}
const DOWN = fail('DATABASE_UNAVAILABLE', '57P01');

type Ping = Record<string, { ok: boolean; error?: string }>;

/** A WorkerPool whose answers the test sets; it records what reached it. */
function fakePool() {
  const state = {
    outcome: OK as QueryOutcome,
    ping: (async () => ({ main: { ok: true }, other: { ok: true } })) as () => Promise<Ping>,
    runs: [] as string[],
    pings: 0,
    cancelled: [] as string[],
    closed: 0,
  };
  const pool: WorkerPool = {
    async run(job) {
      state.runs.push(job.id);
      return state.outcome;
    },
    cancel: (id) => void state.cancelled.push(id),
    capacity: (conn) => (conn === 'main' ? 8 : 0),
    ping() {
      state.pings++;
      return state.ping();
    },
    async close() {
      state.closed++;
    },
  };
  return { pool, state };
}

const CONN = { dialect: 'postgres' as const, url: 'postgres://x', max: 1, schema: 'public', idleTimeoutMs: 0, connectionTimeoutMs: 1000 };

function config(health: Partial<HealthConfig> = {}): Pick<SluiceConfig, 'connections'> & { health: HealthConfig } {
  return {
    connections: { main: CONN, other: CONN },
    health: { intervalMs: 0, failureThreshold: 3, cooldownMs: 2000, maxCooldownMs: 5000, ...health },
  };
}

let n = 0;
function job(connection = 'main'): QueryJob {
  return { id: `job-${++n}`, connection, role: 'r', claims: {}, sql: 'select 1', params: [], method: 'all', deadline: Date.now() + 60_000 };
}

const logs: string[] = [];
/** Messages with their level, e.g. "warn circuit breaker open". */
const levels: string[] = [];
const record = (level: string) => (_details: Record<string, unknown>, msg: string): void => {
  logs.push(msg);
  levels.push(`${level} ${msg}`);
};
const log: Log = { error: record('error'), warn: record('warn'), info: record('info'), debug: record('debug') };

beforeEach(() => {
  vi.useFakeTimers();
  logs.length = 0;
  levels.length = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

async function failTimes(breaker: WorkerPool, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await breaker.run(job());
}

describe('verdictOf', () => {
  it('counts only DATABASE_UNAVAILABLE; an answer from the server resets; the rest is neutral', () => {
    expect(verdictOf(DOWN)).toBe('failure');
    expect(verdictOf(fail('DATABASE_UNAVAILABLE'))).toBe('failure');
    expect(verdictOf(OK)).toBe('success');
    expect(verdictOf(fail('UNIQUE_VIOLATION', '23505'))).toBe('success');
    // statement_timeout fired on the server: it is alive.
    expect(verdictOf(fail('QUERY_TIMEOUT', '57014'))).toBe('success');
    // The backstop, a full queue, a refused statement, a crashed thread: say nothing about the database.
    expect(verdictOf(fail('QUERY_TIMEOUT'))).toBe('neutral');
    expect(verdictOf(fail('OVERLOADED'))).toBe('neutral');
    expect(verdictOf(fail('TABLE_NOT_ALLOWED'))).toBe('neutral');
    expect(verdictOf(fail('INTERNAL_ERROR'))).toBe('neutral');
  });
});

describe('circuit breaker', () => {
  it('opens after failureThreshold consecutive failures; a success in between resets the count', async () => {
    const { pool, state } = fakePool();
    const breaker = createBreakerPool(pool, config(), log);
    state.outcome = DOWN;
    await failTimes(breaker, 2);
    state.outcome = OK;
    await breaker.run(job());
    state.outcome = DOWN;
    await failTimes(breaker, 2);
    expect(breaker.breakerStates!()).toEqual({ main: 'closed', other: 'closed' });
    await breaker.run(job());
    expect(breaker.breakerStates!()).toEqual({ main: 'open', other: 'closed' });
    expect(state.runs).toHaveLength(6);
    expect(logs).toContain('circuit breaker open');
    expect(levels).toContain('warn circuit breaker open');
  });

  it('a slow query (QUERY_TIMEOUT without SQLSTATE) neither counts nor resets', async () => {
    const { pool, state } = fakePool();
    const breaker = createBreakerPool(pool, config(), log);
    state.outcome = fail('QUERY_TIMEOUT');
    await failTimes(breaker, 10);
    expect(breaker.breakerStates!().main).toBe('closed');
    state.outcome = DOWN;
    await failTimes(breaker, 2);
    state.outcome = fail('QUERY_TIMEOUT');
    await breaker.run(job());
    state.outcome = DOWN;
    await breaker.run(job());
    expect(breaker.breakerStates!().main).toBe('open');
  });

  it('open: answers CIRCUIT_OPEN at once without touching the pool, Retry-After counting down to the probe', async () => {
    const { pool, state } = fakePool();
    const breaker = createBreakerPool(pool, config({ cooldownMs: 4500, maxCooldownMs: 10_000 }), log);
    state.outcome = DOWN;
    await failTimes(breaker, 3);
    const before = state.runs.length;
    const first = await breaker.run(job());
    expect(first).toEqual({ ok: false, error: { code: 'CIRCUIT_OPEN', message: expect.any(String), retryAfter: 5 } });
    await vi.advanceTimersByTimeAsync(2000);
    expect(await breaker.run(job())).toMatchObject({ error: { code: 'CIRCUIT_OPEN', retryAfter: 3 } });
    await vi.advanceTimersByTimeAsync(2400);
    expect(await breaker.run(job())).toMatchObject({ error: { code: 'CIRCUIT_OPEN', retryAfter: 1 } });
    expect(state.runs.length).toBe(before);
    // The other connection is not affected.
    state.outcome = OK;
    expect(await breaker.run(job('other'))).toEqual(OK);
  });

  it('half-open: exactly one probe (a ping); jobs fail fast meanwhile; success closes', async () => {
    const { pool, state } = fakePool();
    const breaker = createBreakerPool(pool, config(), log);
    state.outcome = DOWN;
    await failTimes(breaker, 3);
    let answer: ((p: Ping) => void) | undefined;
    state.ping = () => new Promise<Ping>((resolve) => (answer = resolve));
    await vi.advanceTimersByTimeAsync(1999);
    expect(state.pings).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(state.pings).toBe(1);
    expect(breaker.breakerStates!().main).toBe('half_open');
    const runsBefore = state.runs.length;
    expect(await breaker.run(job())).toMatchObject({ error: { code: 'CIRCUIT_OPEN', retryAfter: 1 } });
    // Still within the ping budget: no second probe however long the first one takes.
    await vi.advanceTimersByTimeAsync(3000);
    expect(state.pings).toBe(1);
    expect(state.runs.length).toBe(runsBefore);
    answer!({ main: { ok: true }, other: { ok: true } });
    await vi.advanceTimersByTimeAsync(0);
    expect(breaker.breakerStates!().main).toBe('closed');
    state.outcome = OK;
    expect(await breaker.run(job())).toEqual(OK);
    expect(logs).toContain('circuit breaker closed');
    expect(levels).toContain('info circuit breaker closed');
    // Closed again means a fresh count: it takes the full threshold to reopen.
    state.outcome = DOWN;
    await failTimes(breaker, 2);
    expect(breaker.breakerStates!().main).toBe('closed');
  });

  it('a failed probe reopens with the cooldown doubled, capped at maxCooldownMs; success resets it', async () => {
    const { pool, state } = fakePool();
    const breaker = createBreakerPool(pool, config({ cooldownMs: 1000, maxCooldownMs: 3000 }), log);
    state.outcome = DOWN;
    state.ping = async () => ({ main: { ok: false, error: 'ECONNREFUSED' }, other: { ok: true } });
    await failTimes(breaker, 3);
    const probeTimes: number[] = [];
    const started = Date.now();
    const origPing = pool.ping;
    pool.ping = () => {
      probeTimes.push(Date.now() - started);
      return origPing();
    };
    await vi.advanceTimersByTimeAsync(1000 + 2000 + 3000 + 3000);
    expect(probeTimes).toEqual([1000, 3000, 6000, 9000]);
    expect(await breaker.run(job())).toMatchObject({ error: { code: 'CIRCUIT_OPEN', retryAfter: 3 } });
    state.ping = async () => ({ main: { ok: true }, other: { ok: true } });
    await vi.advanceTimersByTimeAsync(3000);
    expect(breaker.breakerStates!().main).toBe('closed');
    await failTimes(breaker, 3);
    await vi.advanceTimersByTimeAsync(999);
    expect(breaker.breakerStates!().main).toBe('open');
    await vi.advanceTimersByTimeAsync(1);
    expect(breaker.breakerStates!().main).toBe('closed');
  });

  it('a probe that hangs counts as failed once the ping budget is spent', async () => {
    const { pool, state } = fakePool();
    const cfg = config({ cooldownMs: 1000, maxCooldownMs: 1000 });
    const breaker = createBreakerPool(pool, cfg, log);
    state.outcome = DOWN;
    await failTimes(breaker, 3);
    state.ping = () => new Promise<Ping>(() => undefined);
    await vi.advanceTimersByTimeAsync(1000);
    expect(breaker.breakerStates!().main).toBe('half_open');
    await vi.advanceTimersByTimeAsync(pingBudgetMs(cfg));
    expect(breaker.breakerStates!().main).toBe('open');
  });

  it('health checks: failing pings open the breaker, a good ping resets the count; 0 disables them', async () => {
    const { pool, state } = fakePool();
    const breaker = createBreakerPool(pool, config({ intervalMs: 1000 }), log);
    state.ping = async () => ({ main: { ok: false, error: 'ECONNREFUSED' }, other: { ok: true } });
    await vi.advanceTimersByTimeAsync(2000);
    expect(state.pings).toBe(2);
    state.ping = async () => ({ main: { ok: true }, other: { ok: true } });
    await vi.advanceTimersByTimeAsync(1000);
    state.ping = async () => ({ main: { ok: false, error: 'ECONNREFUSED' }, other: { ok: true } });
    await vi.advanceTimersByTimeAsync(2000);
    expect(breaker.breakerStates!()).toEqual({ main: 'closed', other: 'closed' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(breaker.breakerStates!()).toEqual({ main: 'open', other: 'closed' });
    // A connection missing from the ping's answer counts as failed too.
    state.ping = async () => ({ main: { ok: false } });
    await vi.advanceTimersByTimeAsync(3000);
    expect(breaker.breakerStates!().other).toBe('open');
    await breaker.close();

    const quiet = fakePool();
    const off = createBreakerPool(quiet.pool, config({ intervalMs: 0 }), log);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(quiet.state.pings).toBe(0);
    await off.close();
  });

  it('a job started before the outage that fails after recovery does not count against the new period', async () => {
    const { pool, state } = fakePool();
    const breaker = createBreakerPool(pool, config({ failureThreshold: 1 }), log);
    let finishOld: ((o: QueryOutcome) => void) | undefined;
    pool.run = async (j) => {
      state.runs.push(j.id);
      if (state.runs.length === 1) return new Promise<QueryOutcome>((resolve) => (finishOld = resolve));
      return state.outcome;
    };
    const old = breaker.run(job());
    state.outcome = DOWN;
    await breaker.run(job());
    expect(breaker.breakerStates!().main).toBe('open');
    await vi.advanceTimersByTimeAsync(2000);
    expect(breaker.breakerStates!().main).toBe('closed');
    finishOld!(DOWN);
    expect(await old).toEqual(DOWN);
    expect(breaker.breakerStates!().main).toBe('closed');
  });

  it('readiness: a connection whose breaker is not closed is not ready', async () => {
    const { pool, state } = fakePool();
    const breaker = createBreakerPool(pool, config(), log);
    expect(await breaker.ping()).toEqual({ main: { ok: true }, other: { ok: true } });
    state.outcome = DOWN;
    await failTimes(breaker, 3);
    expect(await breaker.ping()).toEqual({ main: { ok: false, error: 'circuit breaker open' }, other: { ok: true } });
  });

  it('forwards cancel, capacity, unknown connections, poolStats (when present) and close; close stops every timer', async () => {
    const { pool, state } = fakePool();
    const plain = createBreakerPool(pool, config(), log);
    expect(plain.poolStats).toBeUndefined();
    const stats: Record<string, PoolStats> = { main: { max: 4, active: 1, waiting: 0, open: 2 } };
    const withStats: WorkerPool = { ...pool, poolStats: async () => stats };
    const breaker = createBreakerPool(withStats, config({ intervalMs: 500 }), log);
    expect(await breaker.poolStats!()).toBe(stats);
    breaker.cancel('job-x');
    expect(state.cancelled).toEqual(['job-x']);
    expect(breaker.capacity('main')).toBe(8);
    state.outcome = fail('UNKNOWN_CONNECTION');
    expect(await breaker.run(job('nope'))).toEqual(state.outcome);
    state.outcome = DOWN;
    await failTimes(breaker, 3);
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    await plain.close();
    await breaker.close();
    expect(state.closed).toBe(2);
    expect(vi.getTimerCount()).toBe(0);
    const pings = state.pings;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(state.pings).toBe(pings);
  });
});
