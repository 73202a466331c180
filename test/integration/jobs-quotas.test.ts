/**
 * Stored-job quotas over HTTP (issue 11, finding 10), in both modes: in-process (jobs in memory) and
 * queue mode (jobs and quota sets in a real Redis). Per owner, per tenant and in all, a full bound
 * refuses the NEW job with 429 JOB_QUOTA_EXCEEDED + Retry-After and never evicts a stored one; a slot
 * frees when a finished job's result expires. Queue mode also: the worker's completion moves a job to
 * its expiry, a set of finished jobs expires on its own, and a place whose update was lost (a job
 * that is gone) is reconciled instead of being held forever.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/engine.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { describeIfPg, describeIfRedis, dropRedisPrefix, REDIS_URL } from '../helpers/services.js';
import { testConfig } from '../helpers/test-config.js';
import { signToken } from '../helpers/tokens.js';
import { waitUntil } from '../helpers/wait-until.js';

interface Res {
  status: number;
  headers: Headers;
  body: any;
}

const SLOW = { sql: 'select pg_sleep(20)', method: 'all' };
const FAST = { sql: 'select 1 as one', method: 'all' };
const TTL_MS = 1500;
/** Long enough that a noisy machine cannot let a result expire between two lines of a test. */
const SETS_TTL_MS = 5000;
const run = randomUUID().slice(0, 8);

async function call(url: string, method: string, path: string, token: string, body?: unknown): Promise<Res> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
}

function start(fixture: PgFixture, queue: Record<string, unknown>): Engine {
  const config = {
    ...testConfig(fixture.schema, { queue: { resultTtlMs: TTL_MS, maxStoredJobs: 5, maxStoredJobsPerTenant: 3, maxStoredJobsPerUser: 2, ...queue } }),
    sql: { allowFunctions: ['pg_sleep'] },
  };
  return createEngine(config, { logger: false });
}

function suite(mode: string, queue: () => Record<string, unknown>): void {
  describeIfPg(`stored-job quotas (${mode})`, () => {
    let fixture: PgFixture;
    let engine: Engine;
    let url: string;
    let prefix: string | undefined;
    const token = (user: string, tenant: number): Promise<string> => signToken({ sub: `${user}-${run}`, role: 'member', tenant_id: tenant });

    beforeAll(async () => {
      fixture = await createPgFixture();
      const q = queue();
      prefix = q.prefix as string | undefined;
      engine = start(fixture, q);
      ({ url } = await engine.listen({ host: '127.0.0.1', port: 0 }));
    });

    afterAll(async () => {
      await engine?.close();
      await fixture?.drop();
      if (prefix !== undefined) await dropRedisPrefix(prefix);
    });

    it('refuses past each bound with 429 + Retry-After, keeps every stored job, and frees a slot when a result expires', async () => {
      const a1 = await token('a1', 101);
      const a2 = await token('a2', 101);
      const b1 = await token('b1', 102);
      const c1 = await token('c1', 103);
      const stored: Array<[string, string]> = [];
      const submit = async (t: string, body = SLOW): Promise<Res> => {
        const r = await call(url, 'POST', '/jobs', t, body);
        if (r.status === 202) stored.push([t, r.body.id]);
        return r;
      };
      const expectRefused = (r: Res, bound: string): void => {
        expect(r.status, JSON.stringify(r.body)).toBe(429);
        expect(r.body.error.code).toBe('JOB_QUOTA_EXCEEDED');
        expect(r.body.error.message).toContain(bound);
        // Every stored job is still running: nothing frees sooner than resultTtlMs.
        expect(Number(r.headers.get('retry-after'))).toBe(Math.ceil(TTL_MS / 1000));
      };
      try {
        expect((await submit(a1)).status).toBe(202);
        expect((await submit(a1)).status).toBe(202);
        expectRefused(await submit(a1), 'maxStoredJobsPerUser');
        expect((await submit(a2)).status).toBe(202);
        expectRefused(await submit(a2), 'maxStoredJobsPerTenant');
        expect((await submit(b1)).status).toBe(202);
        expect((await submit(b1)).status).toBe(202);
        expectRefused(await submit(c1), 'queue.maxStoredJobs)');
        // Nothing stored was pushed out by the refused ones.
        for (const [t, id] of stored) expect((await call(url, 'GET', `/jobs/${id}`, t)).status).toBe(200);
        expect(stored).toHaveLength(5);

        // A cancelled job is finished: it frees its slot once its state expires, not before it ran out.
        const [, cancelled] = stored.find(([t]) => t === b1)!;
        expect((await call(url, 'DELETE', `/jobs/${cancelled}`, b1)).status).toBe(200);
        // The cancel may overtake the job on its way to the database (the thread loading its parsers).
        await waitUntil('the job to be cancelled', async () => (await call(url, 'GET', `/jobs/${cancelled}`, b1)).body?.state === 'cancelled', 15_000, 100);
        const accepted = await waitUntil('a slot freed by the expired cancelled job', async () => {
          const r = await call(url, 'POST', '/jobs', c1, FAST);
          if (r.status === 429) expect(r.body.error.code).toBe('JOB_QUOTA_EXCEEDED');
          return r.status === 202 ? r : undefined;
        }, 15_000, 100);
        stored.push([c1, accepted.body.id]);
        expect((await call(url, 'GET', `/jobs/${cancelled}`, b1)).status).toBe(404);
        for (const [t, id] of stored.filter(([, id]) => id !== cancelled)) expect((await call(url, 'GET', `/jobs/${id}`, t)).status).toBe(200);
      } finally {
        await Promise.all(stored.map(([t, id]) => call(url, 'DELETE', `/jobs/${id}`, t)));
      }
    }, 60_000);
  });
}

suite('in-process', () => ({}));

describeIfRedis('queue mode', () => {
  suite('redis', () => ({ redis: REDIS_URL, prefix: `test-${randomUUID()}` }));

  describeIfPg('quota sets in Redis', () => {
    let fixture: PgFixture;
    let engine: Engine;
    let url: string;
    let redis: Redis;
    const prefix = `test-${randomUUID()}`;

    beforeAll(async () => {
      fixture = await createPgFixture();
      engine = start(fixture, { redis: REDIS_URL, prefix, resultTtlMs: SETS_TTL_MS });
      ({ url } = await engine.listen({ host: '127.0.0.1', port: 0 }));
      redis = new Redis(REDIS_URL);
    });

    afterAll(async () => {
      await engine?.close();
      redis?.disconnect();
      await fixture?.drop();
      await dropRedisPrefix(prefix);
    });

    /** The owner's quota set: the one user key holding this job. */
    async function userKeyOf(member: string): Promise<string> {
      const keys = await redis.keys(`${prefix}:jobquota:user:*`);
      for (const key of keys) if ((await redis.zscore(key, member)) !== null) return key;
      throw new Error(`no user quota set holds ${member}`);
    }

    it('the worker\'s completion moves a job to its expiry; a set of finished jobs then expires on its own', async () => {
      const t = await signToken({ sub: `fast-${run}`, role: 'member', tenant_id: 201 });
      const before = Date.now();
      const sub = await call(url, 'POST', '/jobs', t, FAST);
      expect(sub.status).toBe(202);
      const member = `main/${sub.body.id}`;
      const key = await userKeyOf(member);
      const score = await waitUntil('the worker to report the job finished', async () => {
        const s = Number(await redis.zscore(key, member));
        return s < 1e15 ? s : undefined;
      });
      const state = await call(url, 'GET', `/jobs/${sub.body.id}`, t);
      expect(state.body.state).toBe('completed');
      // finishedOn + resultTtlMs
      expect(score).toBeGreaterThanOrEqual(before + SETS_TTL_MS);
      expect(score).toBeLessThanOrEqual(Date.now() + SETS_TTL_MS);
      // All of this owner's jobs finished: the set goes away with its last result.
      const pttl = await redis.pttl(key);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(SETS_TTL_MS);
      await waitUntil('the finished set to expire', async () => (await redis.exists(key)) === 0, 15_000, 100);
    });

    it('reconciles a place whose job is gone (an update that was lost), but not a young one', async () => {
      const t = await signToken({ sub: `leak-${run}`, role: 'member', tenant_id: 202 });
      const first = await call(url, 'POST', '/jobs', t, SLOW);
      expect(first.status).toBe(202);
      const key = await userKeyOf(`main/${first.body.id}`);
      try {
        // A young place of a job that does not exist: it might be one being added right now.
        const young = `main/j_${'y'.repeat(24)}`;
        await redis.zadd(key, 1e15 + Date.now(), young);
        const refused = await call(url, 'POST', '/jobs', t, FAST);
        expect(refused.status).toBe(429);
        expect(refused.body.error.code).toBe('JOB_QUOTA_EXCEEDED');
        expect(await redis.zscore(key, young)).not.toBeNull();
        // An old one whose job is gone is given back when the bound is full (once per reconcile period).
        await redis.zadd(key, 1e15 + Date.now() - 120_000, young);
        await redis.del(key.replace(':jobquota:', ':jobquota-reconciled:'));
        const accepted = await call(url, 'POST', '/jobs', t, FAST);
        expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
        expect(await redis.zscore(key, young)).toBeNull();
        // The real, still-running job kept its place.
        expect(await redis.zscore(key, `main/${first.body.id}`)).not.toBeNull();
      } finally {
        await call(url, 'DELETE', `/jobs/${first.body.id}`, t);
      }
    }, 30_000);
  });
});

