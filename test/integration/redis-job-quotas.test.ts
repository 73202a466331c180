/**
 * The Redis quota sets of async jobs (src/queue/bullmq/redis-job-quotas.ts) on a real Redis, without
 * workers: jobs stay waiting, so what is counted is exactly what the test submitted. Covers what the
 * HTTP suite (jobs-quotas.test.ts) cannot reach deterministically: a job cancelled while waiting
 * counts as its tombstone, owners without a tenant, and expiry against an injected clock.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import type { SluiceConfig } from '../../src/config/types.js';
import type { QueryJob } from '../../src/pool/messages.js';
import type { AsyncJobs } from '../../src/queue/async-jobs.js';
import { createBullmqAsyncJobs } from '../../src/queue/bullmq/bullmq-async-jobs.js';
import { createRedisContext, type RedisContext } from '../../src/queue/bullmq/redis-context.js';
import { createRedisJobQuotas } from '../../src/queue/bullmq/redis-job-quotas.js';
import { describeIfRedis, dropRedisPrefix, REDIS_URL } from '../helpers/services.js';

const TTL_MS = 60_000;
const job: QueryJob = { id: 'x', connection: 'main', role: 'member', claims: {}, sql: 'select 1', params: [], method: 'all', deadline: 0 };

describeIfRedis('stored-job quota sets in Redis', () => {
  const prefix = `test-${randomUUID()}`;
  let config: Readonly<SluiceConfig>;
  let ctx: RedisContext;
  let jobs: AsyncJobs;
  let redis: Redis;

  beforeAll(async () => {
    config = parseConfig({
      auth: { jwt: { secret: 'x'.repeat(32), algorithms: ['HS256'] } },
      connections: { main: 'postgres://u@127.0.0.1/unused' },
      queue: { redis: REDIS_URL, prefix, resultTtlMs: TTL_MS, maxStoredJobs: 100, maxStoredJobsPerTenant: 3, maxStoredJobsPerUser: 2 },
    });
    ctx = createRedisContext(config);
    await ctx.ready();
    jobs = createBullmqAsyncJobs(ctx);
    redis = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    await jobs?.close();
    await ctx?.queue('main').obliterate({ force: true });
    await ctx?.close();
    redis?.disconnect();
    await dropRedisPrefix(prefix);
  });

  it('a job cancelled while waiting counts until its tombstone expires; an owner without a tenant has no tenant set', async () => {
    const owner = { user: `u-${randomUUID()}`, tenant: null };
    const a = await jobs.submit(job, owner);
    const b = await jobs.submit(job, owner);
    if (!a.ok || !b.ok) throw new Error('refused');
    expect(await jobs.submit(job, owner)).toMatchObject({ ok: false, error: { code: 'JOB_QUOTA_EXCEEDED', retryAfter: TTL_MS / 1000 } });
    expect(await redis.keys(`${prefix}:jobquota:tenant:*`)).toEqual([]);
    const [userKey] = await redis.keys(`${prefix}:jobquota:user:*`);
    const before = Date.now();
    expect(await jobs.cancel(a.id, owner)).toEqual({ id: a.id, state: 'cancelled' });
    const score = Number(await redis.zscore(userKey!, `main/${a.id}`));
    expect(score).toBeGreaterThanOrEqual(before + TTL_MS);
    expect(score).toBeLessThanOrEqual(Date.now() + TTL_MS);
    expect(await redis.pttl(`${prefix}:cancelled:${a.id}`)).toBeGreaterThan(0);
    // Still stored (as its tombstone): still refused, and nothing was evicted.
    expect(await jobs.submit(job, owner)).toMatchObject({ ok: false, error: { code: 'JOB_QUOTA_EXCEEDED' } });
    expect(await jobs.status(a.id, owner)).toEqual({ id: a.id, state: 'cancelled' });
    expect(await jobs.status(b.id, owner)).toEqual({ id: b.id, state: 'queued' });
  });

  it('a place is given back when its result expires, and refusals say when that is', async () => {
    let now = Date.now();
    const quotas = createRedisJobQuotas(ctx.client, config, undefined, () => now);
    const owner = { user: `v-${randomUUID()}`, tenant: `t-${randomUUID()}` };
    expect(await quotas.admit(owner, 'main', 'j_1')).toBeUndefined();
    expect(await quotas.admit(owner, 'main', 'j_2')).toBeUndefined();
    await quotas.expiresAt(owner, 'main', 'j_1', now + 5_000);
    now += 1_000;
    expect(await quotas.admit(owner, 'main', 'j_3')).toMatchObject({ code: 'JOB_QUOTA_EXCEEDED', retryAfter: 4 });
    // Another user of the tenant fills the tenant's third place.
    const colleague = { user: `w-${randomUUID()}`, tenant: owner.tenant };
    expect(await quotas.admit(colleague, 'main', 'j_4')).toBeUndefined();
    expect(await quotas.admit(colleague, 'main', 'j_5')).toMatchObject({ code: 'JOB_QUOTA_EXCEEDED', message: expect.stringContaining('maxStoredJobsPerTenant') });
    now += 4_000;
    expect(await quotas.admit(owner, 'main', 'j_3')).toBeUndefined();
    // Released (its add failed): never counted again.
    await quotas.release(owner, 'main', 'j_3');
    await quotas.release(colleague, 'main', 'j_4');
    expect(await quotas.admit(colleague, 'main', 'j_5')).toBeUndefined();
  });
});
