/** The in-process queue over a fake WorkerPool: no database, just the scheduling rules. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SluiceConfig } from '../../src/config/types.js';
import type { QueryJob, QueryOutcome } from '../../src/pool/messages.js';
import type { WorkerPool } from '../../src/pool/worker-pool.js';
import { createInProcessQueue } from '../../src/queue/in-process-queue.js';

interface Deferred {
  job: QueryJob;
  finish(outcome?: QueryOutcome): void;
}

const OK: QueryOutcome = { ok: true, result: { rows: [], rowCount: 0, truncated: false, tables: [], kind: 'select', timings: { checkMs: 0, leaseMs: 0, acquireMs: 0, cacheHit: false } } };

/** A pool whose jobs run until the test finishes them. */
function fakePool(capacity = 2): WorkerPool & { started: Deferred[]; cancelled: string[] } {
  const started: Deferred[] = [];
  const cancelled: string[] = [];
  return {
    started,
    cancelled,
    run: (job) => new Promise<QueryOutcome>((resolve) => started.push({ job, finish: (o = OK) => resolve(o) })),
    cancel: (id) => void cancelled.push(id),
    capacity: (conn) => (conn === 'main' || conn === 'other' ? capacity : 0),
    ping: async () => ({}),
    close: async () => undefined,
  };
}

function config(queue: Partial<SluiceConfig['queue']> = {}, queryTimeout = 8_000): SluiceConfig {
  const conn = { dialect: 'postgres' as const, url: 'postgres://x', max: 1, schema: 'public', idleTimeoutMs: 0, connectionTimeoutMs: 1000 };
  return { connections: { main: conn, other: conn }, queue: { maxWaiting: 10, maxWaitMs: 10_000, ...queue }, limits: { queryTimeout } } as unknown as SluiceConfig;
}

let n = 0;
function job(connection = 'main', over: Partial<QueryJob> = {}): QueryJob {
  return { id: `job-${++n}`, connection, role: 'r', claims: {}, sql: 'select 1', params: [], method: 'all', deadline: Date.now() + 60_000, ...over };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

afterEach(() => {
  vi.useRealTimers();
});

describe('in-process queue', () => {
  it('runs at most capacity jobs per connection, the rest FIFO', async () => {
    const pool = fakePool(2);
    const q = createInProcessQueue(config(), pool);
    const jobs = [job(), job(), job(), job(), job('other')];
    const outcomes = jobs.map((j) => q.submit(j));
    await tick();
    expect(pool.started.map((s) => s.job.id)).toEqual([jobs[0]!.id, jobs[1]!.id, jobs[4]!.id]);
    expect(q.stats()).toEqual({ running: 3, waiting: 2 });
    pool.started[1]!.finish();
    await tick();
    expect(pool.started.map((s) => s.job.id)).toContain(jobs[2]!.id);
    expect(pool.started).toHaveLength(4);
    pool.started[0]!.finish();
    await tick();
    expect(pool.started[4]!.job.id).toBe(jobs[3]!.id);
    for (const s of pool.started) s.finish();
    for (const o of await Promise.all(outcomes)) expect(o.ok).toBe(true);
    expect(q.stats()).toEqual({ running: 0, waiting: 0 });
  });

  it('answers 503 OVERLOADED at once when too many are waiting', async () => {
    const pool = fakePool(1);
    const q = createInProcessQueue(config({ maxWaiting: 1 }), pool);
    void q.submit(job());
    void q.submit(job());
    const o = await q.submit(job());
    expect(o).toEqual({ ok: false, error: { code: 'OVERLOADED', message: expect.any(String), retryAfter: 1 } });
    expect(pool.started).toHaveLength(1);
  });

  it('a job waiting longer than maxWaitMs gets OVERLOADED without running', async () => {
    vi.useFakeTimers();
    const pool = fakePool(1);
    const q = createInProcessQueue(config({ maxWaitMs: 500 }), pool);
    void q.submit(job());
    const waiting = q.submit(job());
    await vi.advanceTimersByTimeAsync(501);
    const o = await waiting;
    expect(!o.ok && o.error.code).toBe('OVERLOADED');
    expect(q.stats()).toEqual({ running: 1, waiting: 0 });
    pool.started[0]!.finish();
    await vi.advanceTimersByTimeAsync(1);
    expect(pool.started).toHaveLength(1);
  });

  it('a job whose deadline passes while waiting gets OVERLOADED', async () => {
    vi.useFakeTimers();
    const pool = fakePool(1);
    const q = createInProcessQueue(config(), pool);
    void q.submit(job());
    const waiting = q.submit(job('main', { deadline: Date.now() + 100 }));
    await vi.advanceTimersByTimeAsync(101);
    const o = await waiting;
    expect(!o.ok && o.error.code).toBe('OVERLOADED');
  });

  it('abort while waiting removes the job (CLIENT_CLOSED)', async () => {
    const pool = fakePool(1);
    const q = createInProcessQueue(config(), pool);
    void q.submit(job());
    const ac = new AbortController();
    const waiting = q.submit(job(), ac.signal);
    expect(q.stats().waiting).toBe(1);
    ac.abort();
    const o = await waiting;
    expect(!o.ok && o.error.code).toBe('CLIENT_CLOSED');
    expect(q.stats().waiting).toBe(0);
    pool.started[0]!.finish();
    await tick();
    expect(pool.started).toHaveLength(1);
    expect(pool.cancelled).toEqual([]);
  });

  it('abort while running asks the pool to cancel it', async () => {
    const pool = fakePool(1);
    const q = createInProcessQueue(config(), pool);
    const ac = new AbortController();
    const j = job();
    const running = q.submit(j, ac.signal);
    ac.abort();
    expect(pool.cancelled).toEqual([j.id]);
    pool.started[0]!.finish({ ok: false, error: { code: 'CLIENT_CLOSED', message: 'x' } });
    expect(await running).toMatchObject({ ok: false, error: { code: 'CLIENT_CLOSED' } });
  });

  it('an already aborted signal never runs', async () => {
    const pool = fakePool(1);
    const q = createInProcessQueue(config(), pool);
    const ac = new AbortController();
    ac.abort();
    expect(await q.submit(job(), ac.signal)).toMatchObject({ ok: false, error: { code: 'CLIENT_CLOSED' } });
    expect(pool.started).toHaveLength(0);
  });

  it('refuses an unknown connection', async () => {
    const q = createInProcessQueue(config(), fakePool());
    expect(await q.submit(job('nope'))).toMatchObject({ ok: false, error: { code: 'UNKNOWN_CONNECTION' } });
  });

  it('close: waiting jobs get SHUTTING_DOWN, running ones finish, new ones are refused', async () => {
    const pool = fakePool(1);
    const q = createInProcessQueue(config(), pool);
    const running = q.submit(job());
    const waiting = q.submit(job());
    let closed = false;
    const closing = q.close().then(() => (closed = true));
    expect(await waiting).toMatchObject({ ok: false, error: { code: 'SHUTTING_DOWN' } });
    expect(await q.submit(job())).toMatchObject({ ok: false, error: { code: 'SHUTTING_DOWN' } });
    await tick();
    expect(closed).toBe(false);
    pool.started[0]!.finish();
    expect((await running).ok).toBe(true);
    await closing;
    expect(pool.started).toHaveLength(1);
  });

  it.each([
    [8_000, 10_000],
    [30_000, 32_000],
  ])('close gives up on running jobs after limits.queryTimeout (%i ms) + 2 s', async (queryTimeout, givesUpAt) => {
    vi.useFakeTimers();
    const pool = fakePool(1);
    const q = createInProcessQueue(config({}, queryTimeout), pool);
    void q.submit(job());
    let closed = false;
    void q.close().then(() => (closed = true));
    await vi.advanceTimersByTimeAsync(givesUpAt - 1);
    expect(closed).toBe(false);
    await vi.advanceTimersByTimeAsync(2);
    expect(closed).toBe(true);
  });

  it('a pool that rejects still yields an outcome and frees the slot', async () => {
    const pool = fakePool(1);
    pool.run = () => Promise.reject(new Error('boom'));
    const q = createInProcessQueue(config(), pool);
    expect(await q.submit(job())).toMatchObject({ ok: false, error: { code: 'INTERNAL_ERROR' } });
    expect(q.stats()).toEqual({ running: 0, waiting: 0 });
  });
});
