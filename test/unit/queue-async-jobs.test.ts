/** Async jobs in memory, result formats and the queue config keys: no services needed. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import type { SluiceConfig } from '../../src/config/types.js';
import { csvLines, ndjsonLines } from '../../src/http/routes/result-formats.js';
import type { QueryJob, QueryOutcome } from '../../src/pool/messages.js';
import { createMemoryAsyncJobs } from '../../src/queue/memory-async-jobs.js';
import type { JobQueue } from '../../src/queue/job-queue.js';

const OK: QueryOutcome = { ok: true, result: { rows: [[1]], rowCount: 1, truncated: false, tables: [], kind: 'select', timings: { checkMs: 0, leaseMs: 0, acquireMs: 0, cacheHit: false } } };

function fakeQueue(): JobQueue & { jobs: Array<{ job: QueryJob; signal?: AbortSignal; finish(o: QueryOutcome): void }> } {
  const jobs: Array<{ job: QueryJob; signal?: AbortSignal; finish(o: QueryOutcome): void }> = [];
  return {
    jobs,
    submit: (job, signal) =>
      new Promise<QueryOutcome>((resolve) => {
        jobs.push({ job, ...(signal && { signal }), finish: resolve });
        signal?.addEventListener('abort', () => resolve({ ok: false, error: { code: 'CLIENT_CLOSED', message: 'x' } }));
      }),
    stats: () => ({ waiting: 0, running: 0 }),
    close: async () => undefined,
  };
}

const config = { queue: { maxWaitMs: 1000, resultTtlMs: 5000 }, limits: { queryTimeout: 1000 } } as unknown as SluiceConfig;
const job: QueryJob = { id: 'client-chosen', connection: 'main', role: 'r', claims: {}, sql: 'select 1', params: [], method: 'all', deadline: 0 };
const alice = { user: 'alice', tenant: '1' };
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('memory async jobs', () => {
  it('gives an unguessable id of its own and a deadline, and shows the job only to its owner', async () => {
    const q = fakeQueue();
    const jobs = createMemoryAsyncJobs(config, q);
    const sub = await jobs.submit(job, alice);
    if (!sub.ok) throw new Error('refused');
    expect(sub.id).toMatch(/^j_[A-Za-z0-9_-]{24}$/);
    expect(q.jobs[0]!.job.id).toBe(sub.id);
    expect(q.jobs[0]!.job.deadline).toBeGreaterThan(Date.now());
    expect(await jobs.status(sub.id, alice)).toEqual({ id: sub.id, state: 'queued' });
    expect(await jobs.status(sub.id, { user: 'alice', tenant: '2' })).toBeUndefined();
    expect(await jobs.status(sub.id, { user: 'bob', tenant: '1' })).toBeUndefined();
    expect(await jobs.cancel(sub.id, { user: 'bob', tenant: '1' })).toBeUndefined();
    q.jobs[0]!.finish(OK);
    await tick();
    expect(await jobs.result(sub.id, alice)).toEqual({ status: { id: sub.id, state: 'completed' }, outcome: OK });
  });

  it('expires a finished job after resultTtlMs', async () => {
    let now = 1_000_000;
    const q = fakeQueue();
    const jobs = createMemoryAsyncJobs(config, q, () => now);
    const sub = await jobs.submit(job, alice);
    if (!sub.ok) throw new Error('refused');
    q.jobs[0]!.finish(OK);
    await tick();
    now += 4999;
    expect((await jobs.status(sub.id, alice))?.state).toBe('completed');
    now += 2;
    expect(await jobs.status(sub.id, alice)).toBeUndefined();
  });

  it('cancel aborts the queued job; failures keep their error', async () => {
    const q = fakeQueue();
    const jobs = createMemoryAsyncJobs(config, q);
    const a = await jobs.submit(job, alice);
    const b = await jobs.submit(job, alice);
    if (!a.ok || !b.ok) throw new Error('refused');
    expect(await jobs.cancel(a.id, alice)).toEqual({ id: a.id, state: 'cancelled' });
    expect(q.jobs[0]!.signal?.aborted).toBe(true);
    q.jobs[1]!.finish({ ok: false, error: { code: 'TABLE_NOT_ALLOWED', message: 'no' } });
    await tick();
    expect(await jobs.status(b.id, alice)).toEqual({ id: b.id, state: 'failed', error: { code: 'TABLE_NOT_ALLOWED', message: 'no' } });
  });

  it('refuses new jobs once closed', async () => {
    const jobs = createMemoryAsyncJobs(config, fakeQueue());
    await jobs.close();
    expect(await jobs.submit(job, alice)).toMatchObject({ ok: false, error: { code: 'SHUTTING_DOWN' } });
  });
});

describe('memory async jobs: stored-job quotas (issue 11, finding 10)', () => {
  const quotas = { ...config, queue: { ...config.queue, maxStoredJobs: 6, maxStoredJobsPerTenant: 4, maxStoredJobsPerUser: 2 } } as SluiceConfig;
  const owner = (user: string, tenant: string | null = '1') => ({ user, tenant });

  async function submitted(jobs: ReturnType<typeof createMemoryAsyncJobs>, who: { user: string; tenant: string | null }): Promise<string> {
    const sub = await jobs.submit(job, who);
    if (!sub.ok) throw new Error(`refused: ${sub.error.code}`);
    return sub.id;
  }

  it('refuses an owner past maxStoredJobsPerUser (429, Retry-After) and leaves every stored job alone', async () => {
    let now = 1_000_000;
    const q = fakeQueue();
    const jobs = createMemoryAsyncJobs(quotas, q, () => now);
    const a = await submitted(jobs, alice);
    const b = await submitted(jobs, alice);
    const third = await jobs.submit(job, alice);
    // Both still running: none can free a slot sooner than resultTtlMs.
    expect(third).toMatchObject({ ok: false, error: { code: 'JOB_QUOTA_EXCEEDED', retryAfter: 5 } });
    expect(q.jobs).toHaveLength(2);
    q.jobs[0]!.finish(OK);
    await tick();
    now += 2000;
    // The first result expires in 3 s.
    expect(await jobs.submit(job, alice)).toMatchObject({ ok: false, error: { code: 'JOB_QUOTA_EXCEEDED', retryAfter: 3 } });
    expect(await jobs.status(a, alice)).toEqual({ id: a, state: 'completed' });
    expect(await jobs.status(b, alice)).toEqual({ id: b, state: 'queued' });
    // Another user of the tenant and the owner in another tenant are not affected.
    await submitted(jobs, owner('bob'));
    await submitted(jobs, owner('alice', '2'));
    now += 3000;
    // Alice's first result expired: its slot is free again; the running one never expires.
    expect(await jobs.status(a, alice)).toBeUndefined();
    await submitted(jobs, alice);
    expect(await jobs.submit(job, alice)).toMatchObject({ ok: false, error: { code: 'JOB_QUOTA_EXCEEDED' } });
    now += 60_000;
    expect(await jobs.status(b, alice)).toEqual({ id: b, state: 'queued' });
  });

  it('refuses a tenant past maxStoredJobsPerTenant whichever of its users submits', async () => {
    const jobs = createMemoryAsyncJobs(quotas, fakeQueue());
    for (const user of ['u1', 'u1', 'u2', 'u3']) await submitted(jobs, owner(user));
    const refused = await jobs.submit(job, owner('u4'));
    expect(refused).toMatchObject({ ok: false, error: { code: 'JOB_QUOTA_EXCEEDED', message: expect.stringContaining('maxStoredJobsPerTenant') } });
    // Tokens without a tenant claim count per user and in all only.
    await submitted(jobs, owner('x', null));
    await submitted(jobs, owner('x', null));
  });

  it('a flood of one tenant fills the global bound and is refused there: another tenant\'s finished job is never evicted', async () => {
    const flood = { ...config, queue: { ...config.queue, maxStoredJobs: 50, maxStoredJobsPerTenant: 1000, maxStoredJobsPerUser: 1000 } } as SluiceConfig;
    const q = fakeQueue();
    const jobs = createMemoryAsyncJobs(flood, q);
    const victim = owner('victim', '2');
    const kept = await submitted(jobs, victim);
    q.jobs[0]!.finish(OK);
    await tick();
    let refused = 0;
    for (let i = 0; i < 100; i++) {
      const sub = await jobs.submit(job, owner('flooder', '1'));
      if (!sub.ok) {
        expect(sub.error).toMatchObject({ code: 'JOB_QUOTA_EXCEEDED', message: expect.stringContaining('queue.maxStoredJobs)') });
        refused++;
      }
    }
    expect(refused).toBe(51);
    expect(await jobs.result(kept, victim)).toEqual({ status: { id: kept, state: 'completed' }, outcome: OK });
  });
});

describe('result formats', () => {
  it('csv: header from object keys, quoting only where needed, JSON for objects, empty for null', () => {
    const rows = [
      { id: 1, name: 'a,b', note: 'say "hi"', extra: null },
      { id: 2, name: 'line\nbreak', note: { k: 1 }, extra: 'x' },
    ];
    expect([...csvLines(rows)].join('')).toBe('id,name,note,extra\r\n1,"a,b","say ""hi""",\r\n2,"line\nbreak","{""k"":1}",x\r\n');
    expect([...csvLines([[1, 'x'], [2, null]])].join('')).toBe('1,x\r\n2,\r\n');
  });

  it('ndjson: one JSON value per line', () => {
    expect([...ndjsonLines([{ a: 1 }, [2]])].join('')).toBe('{"a":1}\n[2]\n');
  });
});

describe('queue config', () => {
  const base = { auth: { jwt: { secret: 'x'.repeat(32), algorithms: ['HS256'] } }, connections: { main: 'postgres://u@h/db' } };

  it('stored-job quotas: defaults, and at least 1', () => {
    expect(parseConfig(base).queue).toMatchObject({ maxStoredJobs: 10_000, maxStoredJobsPerTenant: 500, maxStoredJobsPerUser: 100 });
    for (const key of ['maxStoredJobs', 'maxStoredJobsPerTenant', 'maxStoredJobsPerUser']) {
      expect(() => parseConfig({ ...base, queue: { [key]: 0 } })).toThrow(new RegExp(`queue\\.${key}`));
    }
  });

  it('accepts a redis URL and names a bad one', () => {
    expect(parseConfig({ ...base, queue: { redis: 'redis://127.0.0.1:6379', prefix: 'p1' } }).queue).toMatchObject({ redis: 'redis://127.0.0.1:6379', prefix: 'p1' });
    expect(() => parseConfig({ ...base, queue: { redis: 'http://x' } })).toThrow(/queue\.redis/);
    expect(() => parseConfig({ ...base, queue: { prefix: 'a:b' } })).toThrow(/queue\.prefix/);
  });
});
