/** The fair queue over a fake inner JobQueue (of our own interface): only the per-tenant scheduling rules. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SluiceConfig } from '../../src/config/types.js';
import { ERRORS } from '../../src/errors.js';
import type { QueryJob, QueryOutcome } from '../../src/pool/messages.js';
import { createFairQueue, type FairnessPolicy } from '../../src/queue/fair-queue.js';
import { defaultFairnessPolicy } from '../../src/queue/fairness-policy.js';
import { createInProcessQueue } from '../../src/queue/in-process-queue.js';
import type { WorkerPool } from '../../src/pool/worker-pool.js';
import type { JobQueue } from '../../src/queue/job-queue.js';

const OK: QueryOutcome = { ok: true, result: { rows: [[1]], rowCount: 1, truncated: false, tables: [], kind: 'select', timings: { checkMs: 0, leaseMs: 0, acquireMs: 0, cacheHit: false } } };

interface Handed {
  job: QueryJob;
  signal: AbortSignal | undefined;
  finish(outcome?: QueryOutcome): void;
}

/** An inner queue whose jobs run until the test finishes them. */
function fakeInner(): JobQueue & { handed: Handed[]; closed: boolean; open(): Handed[] } {
  const handed: Handed[] = [];
  const done = new Set<Handed>();
  const inner = {
    handed,
    closed: false,
    open: () => handed.filter((h) => !done.has(h)),
    submit(job: QueryJob, signal?: AbortSignal): Promise<QueryOutcome> {
      return new Promise<QueryOutcome>((resolve) => {
        const h: Handed = { job, signal, finish: (o = OK) => (done.add(h), resolve(o)) };
        handed.push(h);
      });
    },
    stats: () => ({ waiting: 7, running: handed.length - done.size }),
    async close() {
      inner.closed = true;
    },
  };
  return inner;
}

function config(queue: Partial<SluiceConfig['queue']> = {}, threads = 2, max = 4): SluiceConfig {
  const conn = { dialect: 'postgres' as const, url: 'postgres://x', max, schema: 'public', idleTimeoutMs: 0, connectionTimeoutMs: 1000 };
  return { connections: { main: conn, other: { ...conn, max: 1 } }, workers: { threads }, queue: { maxWaiting: 1000, maxWaitMs: 10_000, ...queue } } as unknown as SluiceConfig;
}

/** Tenant line = the job's tenant; 2 at once, 3 waiting. */
const policy =
  (maxConcurrent = 2, maxWaiting = 3): FairnessPolicy =>
  (job) => ({ key: job.tenant ?? '', maxConcurrent, maxWaiting });

let n = 0;
function job(tenant: string, over: Partial<QueryJob> = {}): QueryJob {
  return { id: `job-${++n}`, connection: 'main', role: 'r', claims: {}, tenant, sql: 'select 1', params: [], method: 'all', deadline: Date.now() + 60_000, ...over };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const code = (o: QueryOutcome): string | undefined => (o.ok ? undefined : o.error.code);

afterEach(() => {
  vi.useRealTimers();
});

describe('fair queue', () => {
  it('hands at most maxConcurrent jobs of a tenant to the inner queue; the rest wait in its own line, FIFO', async () => {
    const inner = fakeInner();
    const q = createFairQueue(inner, policy(2, 10), config());
    const a = Array.from({ length: 5 }, () => job('A'));
    const outcomes = a.map((j) => q.submit(j));
    const b = q.submit(job('B'));
    await tick();
    // A's excess is not in the inner queue: B went straight past it.
    expect(inner.handed.map((h) => h.job.tenant)).toEqual(['A', 'A', 'B']);
    expect(q.stats()).toEqual({ waiting: 7 + 3, running: 3 });
    inner.handed[1]!.finish();
    await tick();
    expect(inner.handed.map((h) => h.job.id)).toEqual([a[0]!.id, a[1]!.id, inner.handed[2]!.job.id, a[2]!.id]);
    expect(await outcomes[1]).toEqual(OK);
    for (let i = 0; i < 4; i++) {
      for (const h of inner.open()) h.finish();
      await tick();
    }
    expect(inner.handed.filter((h) => h.job.tenant === 'A').map((h) => h.job.id)).toEqual(a.map((j) => j.id));
    for (const o of [...outcomes, b]) expect(await o).toEqual(OK);
    expect(q.lines()).toBe(0);
  });

  it('passes the inner outcome through unchanged, errors included, and an error frees the slot', async () => {
    const inner = fakeInner();
    const q = createFairQueue(inner, policy(1, 10), config());
    const first = q.submit(job('A'));
    const second = q.submit(job('A'));
    await tick();
    expect(inner.handed).toHaveLength(1);
    const failed: QueryOutcome = { ok: false, error: { code: 'UNIQUE_VIOLATION', message: 'dup', sqlstate: '23505' }, tables: ['t'] };
    inner.handed[0]!.finish(failed);
    expect(await first).toEqual(failed);
    await tick();
    expect(inner.handed).toHaveLength(2);
    inner.handed[1]!.finish();
    expect(await second).toEqual(OK);
  });

  it('a full line answers 429 TENANT_BUSY with Retry-After at once; other tenants are not affected', async () => {
    const inner = fakeInner();
    const q = createFairQueue(inner, policy(2, 3), config());
    const accepted = Array.from({ length: 5 }, () => q.submit(job('A')));
    const busy = await q.submit(job('A'));
    expect(code(busy)).toBe('TENANT_BUSY');
    expect(ERRORS.TENANT_BUSY.status).toBe(429);
    expect(!busy.ok && busy.error.retryAfter).toBeGreaterThanOrEqual(1);
    const b = q.submit(job('B'));
    await tick();
    expect(inner.handed.at(-1)!.job.tenant).toBe('B');
    for (let i = 0; i < 4; i++) {
      for (const h of inner.open()) h.finish();
      await tick();
    }
    for (const o of [...accepted, b]) expect(await o).toEqual(OK);
  });

  it('maxWaiting 0: no line at all, the excess is refused at once', async () => {
    const inner = fakeInner();
    const q = createFairQueue(inner, policy(1, 0), config());
    void q.submit(job('A'));
    expect(code(await q.submit(job('A')))).toBe('TENANT_BUSY');
  });

  it('all lines together hold at most queue.maxWaiting: past that, OVERLOADED (memory stays bounded with many tenants)', async () => {
    const inner = fakeInner();
    const q = createFairQueue(inner, policy(1, 10), config({ maxWaiting: 3 }));
    for (const t of ['A', 'B', 'C', 'D']) void q.submit(job(t));
    for (const t of ['A', 'B', 'C']) void q.submit(job(t));
    const o = await q.submit(job('D'));
    expect(code(o)).toBe('OVERLOADED');
    expect(!o.ok && o.error.retryAfter).toBeGreaterThanOrEqual(1);
    expect(q.stats().waiting).toBe(7 + 3);
    // A tenant under its cap is still handed on: the inner queue applies its own bound.
    const e = q.submit(job('E'));
    await tick();
    expect(inner.handed.at(-1)!.job.tenant).toBe('E');
    inner.handed.at(-1)!.finish();
    expect(await e).toEqual(OK);
  });

  it('a job that waited queue.maxWaitMs in its line gets OVERLOADED and is never handed on', async () => {
    vi.useFakeTimers();
    const inner = fakeInner();
    const q = createFairQueue(inner, policy(1, 10), config({ maxWaitMs: 500 }));
    void q.submit(job('A'));
    const late = q.submit(job('A'));
    await vi.advanceTimersByTimeAsync(499);
    expect(q.stats().waiting).toBe(7 + 1);
    await vi.advanceTimersByTimeAsync(1);
    const o = await late;
    expect(code(o)).toBe('OVERLOADED');
    expect(!o.ok && o.error.retryAfter).toBeGreaterThanOrEqual(1);
    inner.handed[0]!.finish();
    await vi.advanceTimersByTimeAsync(10);
    expect(inner.handed).toHaveLength(1);
    expect(q.lines()).toBe(0);
  });

  it('the deadline bounds the wait when it comes first; a job already past it is refused at once', async () => {
    vi.useFakeTimers();
    const inner = fakeInner();
    const q = createFairQueue(inner, policy(1, 10), config({ maxWaitMs: 10_000 }));
    void q.submit(job('A'));
    const soon = q.submit(job('A', { deadline: Date.now() + 200 }));
    expect(code(await q.submit(job('A', { deadline: Date.now() - 1 })))).toBe('OVERLOADED');
    await vi.advanceTimersByTimeAsync(200);
    expect(code(await soon)).toBe('OVERLOADED');
    expect(inner.handed).toHaveLength(1);
  });

  it('abort while in line → CLIENT_CLOSED, never handed on, and its place is freed', async () => {
    const inner = fakeInner();
    const q = createFairQueue(inner, policy(1, 1), config());
    void q.submit(job('A'));
    const ac = new AbortController();
    const waiting = q.submit(job('A'), ac.signal);
    ac.abort();
    expect(code(await waiting)).toBe('CLIENT_CLOSED');
    // The line's only place is free again.
    const next = q.submit(job('A'));
    inner.handed[0]!.finish();
    await tick();
    expect(inner.handed).toHaveLength(2);
    expect(inner.handed[1]!.signal).toBeUndefined();
    inner.handed[1]!.finish();
    expect(await next).toEqual(OK);
  });

  it('a handed-on job gets the caller signal (the inner queue cancels it); an already aborted one is refused', async () => {
    const inner = fakeInner();
    const q = createFairQueue(inner, policy(1, 10), config());
    const ac = new AbortController();
    void q.submit(job('A'), ac.signal);
    const ac2 = new AbortController();
    void q.submit(job('A'), ac2.signal);
    expect(inner.handed[0]!.signal).toBe(ac.signal);
    inner.handed[0]!.finish();
    await tick();
    // A waiter handed on later carries its own signal too.
    expect(inner.handed[1]!.signal).toBe(ac2.signal);
    const gone = new AbortController();
    gone.abort();
    expect(code(await q.submit(job('A'), gone.signal))).toBe('CLIENT_CLOSED');
  });

  it('refuses an unknown connection before it takes a place in any line', async () => {
    const inner = fakeInner();
    const q = createFairQueue(inner, policy(), config());
    expect(code(await q.submit(job('A', { connection: 'nope' })))).toBe('UNKNOWN_CONNECTION');
    expect(q.lines()).toBe(0);
    expect(inner.handed).toHaveLength(0);
  });

  it('close: waiting jobs and new ones get SHUTTING_DOWN, handed-on ones finish, the inner queue is closed', async () => {
    const inner = fakeInner();
    const q = createFairQueue(inner, policy(1, 10), config());
    const running = q.submit(job('A'));
    const waiting = q.submit(job('A'));
    const closing = q.close();
    expect(code(await waiting)).toBe('SHUTTING_DOWN');
    expect(code(await q.submit(job('B')))).toBe('SHUTTING_DOWN');
    await closing;
    expect(inner.closed).toBe(true);
    inner.handed[0]!.finish();
    expect(await running).toEqual(OK);
    await tick();
    expect(inner.handed).toHaveLength(1);
    expect(q.lines()).toBe(0);
  });

  it('never rejects: an inner queue or policy that throws becomes INTERNAL_ERROR, and the slot is freed', async () => {
    let throwNow = true;
    const inner = fakeInner();
    const throwing: JobQueue = {
      ...inner,
      submit: (j, s) => (throwNow ? Promise.reject(new Error('boom')) : inner.submit(j, s)),
    };
    const q = createFairQueue(throwing, policy(1, 10), config());
    expect(code(await q.submit(job('A')))).toBe('INTERNAL_ERROR');
    throwNow = false;
    const ok = q.submit(job('A'));
    await tick();
    inner.handed[0]!.finish();
    expect(await ok).toEqual(OK);
    const bad = createFairQueue(inner, () => {
      throw new Error('policy bug');
    }, config());
    expect(code(await bad.submit(job('A')))).toBe('INTERNAL_ERROR');
  });

  it('a policy limit below 1 cannot stall a line: it counts as 1', async () => {
    const inner = fakeInner();
    const q = createFairQueue(inner, policy(0, 10), config());
    const o = q.submit(job('A'));
    await tick();
    expect(inner.handed).toHaveLength(1);
    inner.handed[0]!.finish();
    expect(await o).toEqual(OK);
  });

  it('idle lines are deleted: 10 000 tenants leave nothing behind', async () => {
    const inner = fakeInner();
    const q = createFairQueue(inner, policy(1, 10), config({ maxWaiting: 100_000 }));
    const outcomes = [];
    for (let i = 0; i < 10_000; i++) outcomes.push(q.submit(job(`t${i}`)), q.submit(job(`t${i}`)));
    expect(q.lines()).toBe(10_000);
    for (let round = 0; round < 3; round++) {
      for (const h of inner.open()) h.finish();
      await tick();
    }
    expect((await Promise.all(outcomes)).every((o) => o.ok)).toBe(true);
    expect(q.lines()).toBe(0);
    expect(q.stats()).toEqual({ waiting: 7, running: 0 });
  });
});

/** An inner queue with `slots` slots that says how many are idle (as the in-process queue does). */
function idleAwareInner(slots: number): ReturnType<typeof fakeInner> & { idleSlots(connection: string): number } {
  const inner = fakeInner();
  return Object.assign(inner, { idleSlots: () => Math.max(0, slots - inner.open().length) });
}

describe('fair queue: work-conserving caps', () => {
  it('a lone tenant uses every idle slot but one; a second tenant starts at once on that one; then the caps bite', async () => {
    const inner = idleAwareInner(4);
    const q = createFairQueue(inner, policy(2, 10), config());
    const a = Array.from({ length: 6 }, () => q.submit(job('A')));
    await tick();
    // Cap 2, but nobody else waits: A borrows while two slots are idle, so it runs 3 and one slot
    // stays idle for whoever comes next; 3 wait in A's line.
    expect(inner.open().map((h) => h.job.tenant)).toEqual(['A', 'A', 'A']);
    expect(q.stats().waiting).toBe(7 + 3);

    // B arrives under its cap: handed on at once (not behind A's line), the first onto the kept slot.
    const b = [q.submit(job('B')), q.submit(job('B')), q.submit(job('B'))];
    await tick();
    expect(inner.open().map((h) => h.job.tenant)).toEqual(['A', 'A', 'A', 'B', 'B']);
    // B's third job waits in B's line (cap 2); now others wait, so A may not borrow any more:
    // its first finished job frees a slot nobody borrows, its second lets A run one under its cap.
    inner.open()[0]!.finish();
    await tick();
    expect(inner.open().map((h) => h.job.tenant)).toEqual(['A', 'A', 'B', 'B']);
    inner.open()[0]!.finish();
    await tick();
    expect(inner.open().map((h) => h.job.tenant)).toEqual(['A', 'B', 'B', 'A']);
    // A at its cap (2) and B at its cap (2), both with jobs waiting: the caps bite, nothing is lent.
    expect(q.stats().waiting).toBe(7 + 3);

    for (let i = 0; i < 6; i++) {
      for (const h of inner.open()) h.finish();
      await tick();
    }
    for (const o of [...a, ...b]) expect(await o).toEqual(OK);
    expect(q.lines()).toBe(0);
  });

  it('a slot freed by another tenant is lent to the one line still waiting', async () => {
    const inner = idleAwareInner(3);
    const q = createFairQueue(inner, policy(1, 10), config());
    const b = q.submit(job('B'));
    const a = Array.from({ length: 4 }, () => q.submit(job('A')));
    await tick();
    // A at its cap (1) with one slot idle: that slot is kept, nothing is borrowed.
    expect(inner.open().map((h) => h.job.tenant)).toEqual(['B', 'A']);
    inner.open()[0]!.finish();
    await tick();
    // B's slot came free: two idle, A (the one line waiting) borrows one and leaves one idle.
    expect(inner.open().map((h) => h.job.tenant)).toEqual(['A', 'A']);
    expect(await b).toEqual(OK);
    for (let i = 0; i < 4; i++) {
      for (const h of inner.open()) h.finish();
      await tick();
    }
    for (const o of a) expect(await o).toEqual(OK);
  });

  it('without JobQueue.idleSlots (BullMQ) the cap is hard, as before', async () => {
    const inner = fakeInner();
    const q = createFairQueue(inner, policy(2, 10), config());
    for (let i = 0; i < 5; i++) void q.submit(job('A'));
    await tick();
    expect(inner.handed).toHaveLength(2);
  });

  it('over the in-process queue: a lone tenant with the default policy runs on every connection slot but one', async () => {
    let running = 0;
    let peak = 0;
    const release: Array<() => void> = [];
    const pool: WorkerPool = {
      run: () =>
        new Promise<QueryOutcome>((resolve) => {
          peak = Math.max(peak, ++running);
          release.push(() => (running--, resolve(OK)));
        }),
      cancel: () => undefined,
      capacity: () => 8,
      ping: async () => ({}),
      close: async () => undefined,
    };
    const cfg = config({}, 2, 4);
    const q = createFairQueue(createInProcessQueue(cfg, pool), defaultFairnessPolicy(cfg), cfg);
    const outcomes = Array.from({ length: 12 }, () => q.submit(job('A')));
    await tick();
    // The default cap is half of 2 × 4 = 4; alone, the tenant gets 7 (one kept for a newcomer).
    expect(peak).toBe(7);
    while (release.length > 0) {
      release.shift()!();
      await tick();
    }
    for (const o of outcomes) expect(await o).toEqual(OK);
    expect(peak).toBe(7);
  });
});

describe('default fairness policy', () => {
  const base = (over: Partial<QueryJob> = {}): QueryJob => job('acme', over);

  it('one line per (connection, tenant); half the connection capacity each, 100 waiting', () => {
    const p = defaultFairnessPolicy(config({}, 2, 4), {});
    expect(p(base())).toEqual({ key: 'main\u0000acme', maxConcurrent: 4, maxWaiting: 100 });
    expect(p(base({ connection: 'other' }))).toEqual({ key: 'other\u0000acme', maxConcurrent: 1, maxWaiting: 100 });
    expect(p(base({ tenant: 'globex' })).key).toBe('main\u0000globex');
    const { tenant: _, ...noTenant } = base();
    expect(p(noTenant).key).toBe('main\u0000');
    // threads 1 × max 1: never 0.
    expect(defaultFairnessPolicy(config({}, 1, 1))(base()).maxConcurrent).toBe(1);
  });

  it('configured defaults replace the built-in ones; a tier overrides both, field by field', () => {
    const p = defaultFairnessPolicy(config({}, 2, 4), { maxConcurrent: 3, maxWaiting: 20, tiers: { gold: { maxConcurrent: 6 }, tiny: { maxWaiting: 0 } } });
    expect(p(base())).toMatchObject({ maxConcurrent: 3, maxWaiting: 20 });
    expect(p(base({ tier: 'gold' }))).toMatchObject({ maxConcurrent: 6, maxWaiting: 20 });
    expect(p(base({ tier: 'tiny' }))).toMatchObject({ maxConcurrent: 3, maxWaiting: 0 });
    expect(p(base({ tier: 'unknown' }))).toMatchObject({ maxConcurrent: 3, maxWaiting: 20 });
    // Names of Object.prototype members are not tiers.
    expect(p(base({ tier: 'constructor' }))).toMatchObject({ maxConcurrent: 3, maxWaiting: 20 });
    expect(p(base({ tier: '__proto__' }))).toMatchObject({ maxConcurrent: 3, maxWaiting: 20 });
  });
});
