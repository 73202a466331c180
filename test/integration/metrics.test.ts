/**
 * GET /metrics over a real engine and Postgres: request counters and histograms move with real
 * requests, queue and pool gauges come from the live queue and every worker thread, tenant labels
 * are capped, the token protects the endpoint (and the JWT does not open it), a disabled endpoint
 * is a 404, and each engine counts in its own registry. Plus the worker process's metrics server.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/schema.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { startWorkerMetricsServer, type WorkerMetricsServer } from '../../src/observability/worker-metrics-server.js';
import { createPiscinaWorkerPool, type PiscinaWorkerPool } from '../../src/pool/piscina-pool.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { post } from '../helpers/sluice-harness.js';
import { describeIfPg } from '../helpers/services.js';
import { PG_TEST_URL } from '../helpers/skip.js';
import { testConfig } from '../helpers/test-config.js';
import { makeTokens, type TestTokens } from '../helpers/tokens.js';

const METRICS_TOKEN = `metrics-token-${randomUUID()}`;

type Labels = Record<string, string>;

/** One sample of the Prometheus text format, by metric name and exact label set; undefined if absent. */
function sample(text: string, name: string, labels: Labels = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Labels = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) got[l[1]!] = l[2]!;
    if (JSON.stringify(Object.entries(got).sort(([a], [b]) => a.localeCompare(b))) === want) return Number(m[3]);
  }
  return undefined;
}

async function scrape(url: string, token?: string): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${url}/metrics`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

const SELECT = { sql: 'select id, name from customers order by id', method: 'all' };

describe('observability config', () => {
  const base = { auth: { jwt: { secret: 'x'.repeat(32), algorithms: ['HS256'] } }, connections: { main: 'postgres://a@127.0.0.1/db' } };

  it('defaults: metrics on without a token, 100 tenant labels, audit to the main logger', () => {
    expect(parseConfig(base).observability).toEqual({ metrics: { enabled: true, maxTenantLabels: 100 }, audit: { destination: 'log' } });
  });

  it('refuses a short token and unknown keys, naming the key', () => {
    expect(() => parseConfig({ ...base, observability: { metrics: { token: 'short' } } })).toThrow(/observability\.metrics\.token/);
    expect(() => parseConfig({ ...base, observability: { metrics: { enabeld: false } } })).toThrow(ConfigError);
    expect(() => parseConfig({ ...base, observability: { audit: { destination: '' } } })).toThrow(/observability\.audit\.destination/);
  });
});

describeIfPg('GET /metrics', () => {
  let fixture: PgFixture;
  let engine: Engine;
  let url: string;
  let tokens: TestTokens;
  const others: Engine[] = [];

  beforeAll(async () => {
    fixture = await createPgFixture();
    const base = testConfig(fixture.schema);
    engine = createEngine(
      {
        ...base,
        // A second connection nobody uses: its pool gauges must still be reported (at zero).
        connections: { main: { url: PG_TEST_URL, max: 4, schema: fixture.schema }, reports: { url: PG_TEST_URL, max: 2, schema: fixture.schema } },
        sql: { allowFunctions: ['pg_sleep'] },
        observability: { metrics: { token: METRICS_TOKEN, maxTenantLabels: 1 } },
      },
      { logger: false },
    );
    ({ url } = await engine.listen({ host: '127.0.0.1', port: 0 }));
    tokens = await makeTokens();
  });

  afterAll(async () => {
    await Promise.allSettled([engine?.close(), ...others.map((e) => e.close())]);
    await fixture?.drop();
  });

  it('is protected by its own token, never by the JWT', async () => {
    const none = await scrape(url);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.text).error.code).toBe('TOKEN_MISSING');
    const jwt = await scrape(url, tokens.tenant1);
    expect(jwt.status).toBe(401);
    expect(JSON.parse(jwt.text).error.code).toBe('TOKEN_INVALID');
    const wrong = await scrape(url, `${METRICS_TOKEN}x`);
    expect(wrong.status).toBe(401);
    const ok = await scrape(url, METRICS_TOKEN);
    expect(ok.status).toBe(200);
    expect(ok.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(ok.text).toContain('# TYPE sluice_http_requests_total counter');
  });

  it('counts requests, rejections, queue wait, leases per capped tenant and cache hits', async () => {
    const before = (await scrape(url, METRICS_TOKEN)).text;
    const count = (text: string, name: string, labels: Labels = {}): number => sample(text, name, labels) ?? 0;

    for (let i = 0; i < 3; i++) expect((await post(url, tokens.tenant1, SELECT)).status).toBe(200);
    expect((await post(url, tokens.tenant2, SELECT)).status).toBe(200);
    const refused = await post(url, tokens.tenant1, { sql: 'select id from audit_secrets' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('TABLE_NOT_ALLOWED');
    expect((await post(url, undefined, SELECT)).status).toBe(401);

    const after = (await scrape(url, METRICS_TOKEN)).text;
    const delta = (name: string, labels: Labels = {}): number => count(after, name, labels) - count(before, name, labels);
    const data = { method: 'POST', route: '/data' };
    expect(delta('sluice_http_requests_total', { ...data, status: '200', code: 'ok' })).toBe(4);
    expect(delta('sluice_http_requests_total', { ...data, status: '403', code: 'TABLE_NOT_ALLOWED' })).toBe(1);
    expect(delta('sluice_http_requests_total', { ...data, status: '401', code: 'TOKEN_MISSING' })).toBe(1);
    expect(delta('sluice_http_request_duration_seconds_count', data)).toBe(6);
    expect(delta('sluice_rejections_total', { code: 'TABLE_NOT_ALLOWED' })).toBe(1);
    expect(delta('sluice_rejections_total', { code: 'TOKEN_MISSING' })).toBe(1);
    // /metrics counts itself too: the first test's unauthenticated scrape.
    expect(count(after, 'sluice_http_requests_total', { method: 'GET', route: '/metrics', status: '401', code: 'TOKEN_MISSING' })).toBeGreaterThanOrEqual(1);

    expect(delta('sluice_queue_wait_seconds_count', { connection: 'main' })).toBe(4);
    expect(delta('sluice_pool_acquire_seconds_count', { connection: 'main' })).toBe(4);
    // maxTenantLabels: 1 → the first tenant seen keeps its label, the second is "_other".
    expect(delta('sluice_lease_duration_seconds_count', { connection: 'main', tenant: '1' })).toBe(3);
    expect(delta('sluice_lease_duration_seconds_count', { connection: 'main', tenant: '_other' })).toBe(1);
    expect(sample(after, 'sluice_lease_duration_seconds_count', { connection: 'main', tenant: '2' })).toBeUndefined();
    expect(delta('sluice_lease_duration_seconds_sum', { connection: 'main', tenant: '1' })).toBeGreaterThan(0);

    // Same statement and role four times over 2 threads: at most one miss per thread.
    const hits = delta('sluice_validation_cache_hits_total', { connection: 'main' });
    const misses = delta('sluice_validation_cache_misses_total', { connection: 'main' });
    expect(hits + misses).toBe(4);
    expect(hits).toBeGreaterThanOrEqual(2);
  });

  it('reports pool numbers per connection, summed over every thread', async () => {
    expect((await post(url, tokens.tenant1, SELECT)).status).toBe(200);
    const text = (await scrape(url, METRICS_TOKEN)).text;
    // threads (2) × max.
    expect(sample(text, 'sluice_pool_max_connections', { connection: 'main' })).toBe(8);
    expect(sample(text, 'sluice_pool_max_connections', { connection: 'reports' })).toBe(4);
    const open = sample(text, 'sluice_pool_open_connections', { connection: 'main' })!;
    expect(open).toBeGreaterThanOrEqual(1);
    expect(open).toBeLessThanOrEqual(8);
    expect(sample(text, 'sluice_pool_active_leases', { connection: 'main' })).toBe(0);
    expect(sample(text, 'sluice_pool_idle_connections', { connection: 'main' })).toBe(open);
    expect(sample(text, 'sluice_pool_waiting_requests', { connection: 'main' })).toBe(0);
    expect(sample(text, 'sluice_pool_open_connections', { connection: 'reports' })).toBe(0);
    expect(sample(text, 'sluice_circuit_breaker_state', { connection: 'main' })).toBe(0);
  });

  it('shows a running statement in the queue and pool gauges while it runs', async () => {
    const slow = post(url, tokens.tenant1, { sql: 'select pg_sleep(1.5)' });
    let text = '';
    for (let i = 0; i < 50; i++) {
      text = (await scrape(url, METRICS_TOKEN)).text;
      if ((sample(text, 'sluice_pool_active_leases', { connection: 'main' }) ?? 0) >= 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(sample(text, 'sluice_pool_active_leases', { connection: 'main' })).toBe(1);
    expect(sample(text, 'sluice_queue_running_jobs')).toBe(1);
    expect(sample(text, 'sluice_queue_waiting_jobs')).toBe(0);
    expect((await slow).status).toBe(200);
    const done = (await scrape(url, METRICS_TOKEN)).text;
    expect(sample(done, 'sluice_pool_active_leases', { connection: 'main' })).toBe(0);
    expect(sample(done, 'sluice_queue_running_jobs')).toBe(0);
  });

  it('counts a request whose client went away exactly once, as CLIENT_CLOSED', async () => {
    const labels = { method: 'POST', route: '/data', status: '499', code: 'CLIENT_CLOSED' };
    const before = sample((await scrape(url, METRICS_TOKEN)).text, 'sluice_http_requests_total', labels) ?? 0;
    const ac = new AbortController();
    const slow = post(url, tokens.tenant1, { sql: 'select pg_sleep(5)' }, { signal: ac.signal }).catch(() => 'aborted');
    // Abort once the statement holds a lease, so the abort reaches a running job.
    for (let i = 0; i < 100; i++) {
      const text = (await scrape(url, METRICS_TOKEN)).text;
      if ((sample(text, 'sluice_pool_active_leases', { connection: 'main' }) ?? 0) >= 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    ac.abort();
    expect(await slow).toBe('aborted');
    let text = '';
    for (let i = 0; i < 100; i++) {
      text = (await scrape(url, METRICS_TOKEN)).text;
      if ((sample(text, 'sluice_queue_running_jobs') ?? 1) === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(sample(text, 'sluice_queue_running_jobs')).toBe(0);
    expect((sample(text, 'sluice_http_requests_total', labels) ?? 0) - before).toBe(1);
    expect(sample(text, 'sluice_rejections_total', { code: 'CLIENT_CLOSED' })).toBe(1);
  });

  it('keeps one registry per engine, and a disabled endpoint is a 404', async () => {
    const open = createEngine({ ...testConfig(fixture.schema, { workers: { threads: 1 } }) }, { logger: false });
    const off = createEngine({ ...testConfig(fixture.schema, { workers: { threads: 1 } }), observability: { metrics: { enabled: false } } }, { logger: false });
    others.push(open, off);
    const openUrl = (await open.listen({ host: '127.0.0.1', port: 0 })).url;
    const offUrl = (await off.listen({ host: '127.0.0.1', port: 0 })).url;

    expect((await post(openUrl, tokens.tenant1, SELECT)).status).toBe(200);
    // No token configured: open to anyone who can reach it.
    const text = (await scrape(openUrl)).text;
    expect(sample(text, 'sluice_http_requests_total', { method: 'POST', route: '/data', status: '200', code: 'ok' })).toBe(1);
    expect(sample(text, 'sluice_pool_max_connections', { connection: 'main' })).toBe(4);

    const disabled = await scrape(offUrl);
    expect(disabled.status).toBe(404);
    expect(JSON.parse(disabled.text).error.code).toBe('NOT_FOUND');
    // The main engine saw none of the other engines' requests.
    const mainText = (await scrape(url, METRICS_TOKEN)).text;
    expect(sample(mainText, 'sluice_pool_max_connections', { connection: 'main' })).toBe(8);
  });
});

describeIfPg('sluice worker metrics server', () => {
  let fixture: PgFixture;
  let pool: PiscinaWorkerPool;
  let server: WorkerMetricsServer;

  beforeAll(async () => {
    fixture = await createPgFixture();
    const config = parseConfig(testConfig(fixture.schema, { workers: { threads: 2 } }));
    pool = createPiscinaWorkerPool(config);
    server = await startWorkerMetricsServer({ pool, running: () => 0, token: METRICS_TOKEN, host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await server?.close();
    await pool?.close();
    await fixture?.drop();
  });

  it('poolStats() asks every thread and sums, with every configured connection present', async () => {
    expect(await pool.poolStats!()).toEqual({ main: { max: 8, active: 0, waiting: 0, open: 0 } });
    const claims = { sub: 'u1', role: 'member', tenant_id: 1 };
    const job = (id: string) => ({ id, connection: 'main', role: 'member', claims, sql: SELECT.sql, params: [], method: 'all' as const, deadline: Date.now() + 10_000 });
    const outcomes = await Promise.all([pool.run(job(randomUUID())), pool.run(job(randomUUID())), pool.run(job(randomUUID()))]);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const stats = (await pool.poolStats!()).main!;
    expect(stats.open).toBeGreaterThanOrEqual(1);
    expect(stats.active).toBe(0);
  });

  it('serves the pool gauges behind the token, and nothing else', async () => {
    expect((await scrape(server.url)).status).toBe(401);
    const res = await scrape(server.url, METRICS_TOKEN);
    expect(res.status).toBe(200);
    expect(sample(res.text, 'sluice_pool_max_connections', { connection: 'main' })).toBe(8);
    expect(sample(res.text, 'sluice_pool_open_connections', { connection: 'main' })).toBeGreaterThanOrEqual(1);
    expect(sample(res.text, 'sluice_worker_running_jobs')).toBe(0);
    // This pool has no circuit breaker: no breaker series rather than a made-up one.
    expect(res.text).not.toContain('sluice_circuit_breaker_state');
    const other = await fetch(`${server.url}/data`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(other.status).toBe(404);
  });
});
