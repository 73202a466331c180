/**
 * Deeply nested JSON (issue 11, finding 7). A 20 KB body `params: [[[[…10 000 levels…]]]]`, nested
 * objects, batch params, or a token whose claims nest thousands deep used to overflow the stack
 * where the job is cloned to a worker thread: 503 WORKER_LOST for a request that was simply bad.
 * A json/jsonb value the database builds from a 10 KB string param (`select $1::jsonb`) went the
 * other way: 500 at 3 000 levels, and at 5 000 a worker thread wedged for good (piscina could not
 * post the result and never answered that task, or any later one).
 *
 * Now: the body → 400 JSON_TOO_DEEP, the claims → 401 TOKEN_INVALID, on /data, /jobs and batches,
 * in-process and in queue mode (`sluice api` + `sluice worker` processes over Redis); values up to
 * the bound run end to end; a json/jsonb result deeper than JSON_DEPTH_CAP comes back as its JSON
 * text; and the gateway keeps serving.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JSON_DEPTH_CAP } from '../../src/json-depth.js';
import { startCli, type CliProcess } from '../helpers/cli-process.js';
import { expectRefused } from '../helpers/expect-refused.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { describeIfPg, describeIfRedis, dropRedisPrefix, REDIS_URL } from '../helpers/services.js';
import { post, send, startHarness, type Harness, type PostResult } from '../helpers/sluice-harness.js';
import { testConfig } from '../helpers/test-config.js';
import { makeTokens, signPayloadText, type TestTokens } from '../helpers/tokens.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** JSON text of `n` nested arrays around 1 (JSON.stringify cannot produce the deep ones). */
const arrays = (n: number): string => `${'['.repeat(n)}1${']'.repeat(n)}`;
const objects = (n: number): string => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
const exp = (): number => Math.floor(Date.now() / 1000) + 3600;
/** A member token of tenant 1 whose payload nests exactly `depth` deep (the payload object is 1). */
const claimsToken = (depth: number): string => signPayloadText({ alg: 'HS256' }, `{"sub":"deep-${depth}","role":"member","tenant_id":1,"exp":${exp()},"x":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`);

interface Target {
  url: string;
  tokens: TestTokens;
}

function call(url: string, method: string, path: string, token: string, body?: string): Promise<PostResult> {
  return send(url, path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body !== undefined && { body }) });
}

async function jobResult(url: string, token: string, body: string): Promise<PostResult> {
  const sub = await call(url, 'POST', '/jobs', token, body);
  expect(sub.status, sub.text).toBe(202);
  for (let i = 0; i < 400; i++) {
    const s = await call(url, 'GET', `/jobs/${sub.body.id}`, token);
    if (!['queued', 'running'].includes(s.body.state)) break;
    await sleep(25);
  }
  return call(url, 'GET', `/jobs/${sub.body.id}/result`, token);
}

/** The same checks over any running gateway whose limits.maxJsonDepth is `max`. */
function depthChecks(target: () => Target, max: number): void {
  const single = (param: string): string => `{"sql":"select $1::text as x","params":[${param}],"method":"execute"}`;
  const batch = (param: string): string => `{"batch":[{"sql":"select 1 as one"},{"sql":"select $1::text as x","params":[${param}]}]}`;

  async function stillServes(): Promise<void> {
    const { url, tokens } = target();
    // More requests than the gateway has threads: none of them may be wedged.
    for (let i = 0; i < 4; i++) {
      const res = await post(url, tokens.tenant1, { sql: 'select name from customers order by id', method: 'execute' });
      expect(res.status, res.text).toBe(200);
      expect(res.body.rows.map((r: { name: string }) => r.name)).toEqual(['T1 Alice', 'T1 Carol', 'T1 Erin']);
    }
  }

  it.each([
    ['the finding: 10 000 nested arrays in params (20 KB)', () => single(arrays(10_000))],
    ['nested objects in params', () => single(objects(5_000))],
    ['one level over the limit', () => single(arrays(max - 1))],
    ['batch params', () => batch(arrays(10_000))],
    ['batch params one level over', () => batch(arrays(max - 3))],
    ['an unknown field nested deep (refused before the schema sees it)', () => `{"sql":"select 1","x":${arrays(10_000)}}`],
  ])('/data and /jobs: %s → 400 JSON_TOO_DEEP, nothing queued', async (name, make) => {
    const { url, tokens } = target();
    for (const path of ['/data', '/jobs']) {
      const res = await call(url, 'POST', path, tokens.tenant1, make());
      expect(expectRefused(res, `${path} ${name}`)).toBe('JSON_TOO_DEEP');
      expect(res.body.error.message).toContain(`limits.maxJsonDepth (${max})`);
    }
    await stillServes();
  }, 30_000);

  it('a body exactly at the limit runs, single and batch, /data and /jobs', async () => {
    const { url, tokens } = target();
    const one = await call(url, 'POST', '/data', tokens.tenant1, single(arrays(max - 2)));
    expect(one.status, one.text.slice(0, 200)).toBe(200);
    expect(one.body.rows[0].x).toBe(`${'{'.repeat(max - 2)}"1"${'}'.repeat(max - 2)}`);
    const many = await call(url, 'POST', '/data', tokens.tenant1, batch(arrays(max - 4)));
    expect(many.status, many.text.slice(0, 200)).toBe(200);
    expect(many.body.results[1].rows[0][0]).toBe(`${'{'.repeat(max - 4)}"1"${'}'.repeat(max - 4)}`);
    const job = await jobResult(url, tokens.tenant1, single(arrays(max - 2)));
    expect(job.status, job.text.slice(0, 200)).toBe(200);
    expect(job.body.rows[0].x).toBe(one.body.rows[0].x);
  }, 30_000);

  it('claims: 5 000 levels, and one over the limit → 401 TOKEN_INVALID on /data and /jobs; at the limit they run', async () => {
    const { url } = target();
    for (const depth of [5_000, max + 1]) {
      for (const path of ['/data', '/jobs']) {
        const res = await call(url, 'POST', path, claimsToken(depth), '{"sql":"select 1 as one"}');
        expect(expectRefused(res, `claims ${depth} ${path}`)).toBe('TOKEN_INVALID');
        expect(res.body.error.message).toContain(`claims nest deeper than limits.maxJsonDepth (${max})`);
      }
    }
    // At the limit the claims travel with the job: into the thread and, on Postgres, into request.jwt.claims.
    const ok = await call(url, 'POST', '/data', claimsToken(max), '{"sql":"select name from customers order by id","method":"execute"}');
    expect(ok.status, ok.text.slice(0, 200)).toBe(200);
    expect(ok.body.rows.map((r: { name: string }) => r.name)).toEqual(['T1 Alice', 'T1 Carol', 'T1 Erin']);
    await stillServes();
  }, 30_000);

  it(`jsonb/json built from a string param: up to ${JSON_DEPTH_CAP} levels parsed, deeper as its JSON text, the threads never wedged`, async () => {
    const { url, tokens } = target();
    const text = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
    const at = await post(url, tokens.tenant1, { sql: 'select $1::jsonb as x', params: [text(JSON_DEPTH_CAP)], method: 'execute' });
    expect(at.status, at.text.slice(0, 200)).toBe(200);
    expect(Array.isArray(at.body.rows[0].x)).toBe(true);
    for (const n of [JSON_DEPTH_CAP + 1, 3_000, 5_000, 10_000]) {
      for (const type of ['jsonb', 'json', 'jsonb[]']) {
        const sql = type === 'jsonb[]' ? 'select array[$1::jsonb] as x' : `select $1::${type} as x`;
        const res = await post(url, tokens.tenant1, { sql, params: [text(n)], method: 'execute' });
        expect(res.status, `${type} ${n}: ${res.text.slice(0, 200)}`).toBe(200);
        expect(typeof res.body.rows[0].x, `${type} ${n}`).toBe('string');
        if (type !== 'jsonb[]') expect(res.body.rows[0].x).toBe(text(n));
      }
    }
    const viaJob = await jobResult(url, tokens.tenant1, JSON.stringify({ sql: 'select $1::jsonb as x', params: [text(5_000)], method: 'execute' }));
    expect(viaJob.status, viaJob.text.slice(0, 200)).toBe(200);
    expect(viaJob.body.rows[0].x).toBe(text(5_000));
    const inBatch = await post(url, tokens.tenant1, { batch: [{ sql: 'select $1::jsonb as x', params: [text(5_000)] }] });
    expect(inBatch.status, inBatch.text.slice(0, 200)).toBe(200);
    expect(inBatch.body.results[0].rows[0][0]).toBe(text(5_000));
    await stillServes();
  }, 60_000);
}

describeIfPg('JSON nesting, in-process, default limit', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  }, 60_000);
  afterAll(async () => {
    await h?.teardown();
  }, 30_000);
  depthChecks(() => ({ url: h.url, tokens: h.tokens }), 64);
});

describeIfPg(`JSON nesting, in-process, limits.maxJsonDepth at its maximum (${JSON_DEPTH_CAP})`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ limits: { maxJsonDepth: JSON_DEPTH_CAP } });
  }, 60_000);
  afterAll(async () => {
    await h?.teardown();
  }, 30_000);
  depthChecks(() => ({ url: h.url, tokens: h.tokens }), JSON_DEPTH_CAP);
});

describeIfRedis(`JSON nesting, queue mode: sluice api + sluice worker, limits.maxJsonDepth ${JSON_DEPTH_CAP}`, () => {
  describeIfPg('processes', () => {
    let fixture: PgFixture;
    let dir: string;
    let url: string;
    let tokens: TestTokens;
    const prefix = `test-${randomUUID()}`;
    const procs: CliProcess[] = [];

    beforeAll(async () => {
      fixture = await createPgFixture();
      dir = mkdtempSync(join(tmpdir(), 'sluice-depth-'));
      const configFile = join(dir, 'config.json');
      const config = { ...testConfig(fixture.schema, { limits: { maxJsonDepth: JSON_DEPTH_CAP }, workers: { threads: 1 }, connection: { max: 2 }, queue: { redis: REDIS_URL, prefix } }), logging: { level: 'info' } };
      writeFileSync(configFile, JSON.stringify(config));
      tokens = await makeTokens();
      const api = startCli(['api', '--config', configFile, '--port', '0']);
      procs.push(api);
      const worker = startCli(['worker', '--config', configFile, '--threads', '1']);
      procs.push(worker);
      // Both start from source (tsx): slow on a busy machine, so wait longer than waitFor's default.
      url = (await api.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 50_000))[1]!;
      await worker.waitFor(/worker ready/, 50_000);
    }, 110_000);

    afterAll(async () => {
      for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
      await Promise.all(procs.map((p) => p.exited));
      await fixture?.drop();
      await dropRedisPrefix(prefix);
      if (dir) rmSync(dir, { recursive: true, force: true });
    }, 30_000);

    depthChecks(() => ({ url, tokens }), JSON_DEPTH_CAP);

    it('the worker process logged no crash and no lost worker', () => {
      const out = procs.map((p) => p.output()).join('\n');
      expect(out).not.toMatch(/Maximum call stack|WORKER_LOST|worker thread error/);
    });
  });
});
