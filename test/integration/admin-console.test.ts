/**
 * The operator console's HTTP side (issue 14 §4): /admin exists only with server.adminToken; the
 * state API needs the token as a bearer (constant-time compare, 401 otherwise); it shows tenants
 * with route, tier and status, the pool and breaker of each connection, queue depth and waits,
 * recent refusals (never SQL, parameters or rows) and async job counts; the page is self-contained
 * under a strict Content-Security-Policy.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIfPg } from '../helpers/services.js';
import { post, send } from '../helpers/sluice-harness.js';
import { startAdminFixture, type AdminFixture } from '../helpers/admin-fixture.js';

const SECRET_SQL_MARKER = 'zz_secret_marker_7731';

describeIfPg('operator console', () => {
  let f: AdminFixture;
  beforeAll(async () => {
    f = await startAdminFixture();
  }, 60_000);
  afterAll(async () => f?.close());

  const state = (token = f.adminToken) => send(f.url, '/admin/api/state', { headers: { authorization: `Bearer ${token}` } });

  it('refuses the state API without the admin token, or with a wrong one', async () => {
    const none = await send(f.url, '/admin/api/state');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('TOKEN_MISSING');
    const wrong = await state(`${f.adminToken}x`);
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('TOKEN_INVALID');
    // A tenant's JWT is not the admin token.
    const jwt = await state(await f.token('acme'));
    expect(jwt.status).toBe(401);
    expect(jwt.body.error.code).toBe('TOKEN_INVALID');
  });

  it('shows tenants with route, tier and status, and the pool and breaker of each connection', async () => {
    // One statement first, so the pool has opened a connection and a wait was measured.
    const ok = await post(f.url, await f.token('acme'), { sql: 'select id, body from notes', params: [], method: 'all' });
    expect(ok.status).toBe(200);
    const s = await state();
    expect(s.status).toBe(200);
    expect(s.headers.get('cache-control')).toBe('no-store');
    expect(s.body.mode).toBe('in-process');
    expect(s.body.tenants.routed).toBe(true);
    expect(s.body.tenants.list).toEqual(
      expect.arrayContaining([
        { id: 'acme', source: 'route', connection: 'main', tier: 'gold', status: 'active' },
        { id: 'initech', source: 'route', connection: 'main', tier: null, status: 'suspended' },
        { id: 'hooli', source: 'directory', connection: 'main', tier: 'gold', status: 'maintenance' },
        { id: 'broken', source: 'directory', connection: null, tier: null, status: 'invalid' },
        { id: '*', source: 'default', connection: 'main', tier: 'shared', status: 'active' },
      ]),
    );
    // acme's static route is the one in force, not its directory row.
    expect(s.body.tenants.list.filter((t: { id: string }) => t.id === 'acme')).toHaveLength(1);
    expect(s.body.tenants.total).toBe(5);
    expect(s.body.tenants.directory.tenants).toBe(3);
    expect(Date.parse(s.body.tenants.directory.loadedAt)).toBeGreaterThan(Date.now() - 120_000);
    expect(s.body.tenants.tiers).toEqual(expect.arrayContaining([{ name: 'gold', connection: 'main', status: 'active', maxConcurrent: 8, maxWaiting: null }]));
    const main = s.body.connections.find((c: { name: string }) => c.name === 'main');
    expect(main.dialect).toBe('postgres');
    expect(main.breaker).toBe('closed');
    expect(main.pool).toMatchObject({ max: 2, active: 0, waiting: 0 });
    expect(main.pool.open).toBeGreaterThanOrEqual(1);
    expect(main.pool.idle).toBe(main.pool.open - main.pool.active);
    expect(s.body.queue).toMatchObject({ waiting: 0, running: 0 });
    expect(s.body.queue.wait.samples).toBeGreaterThanOrEqual(1);
    expect(typeof s.body.queue.wait.p50Ms).toBe('number');
    expect(s.body.queue.wait.p99Ms).toBeGreaterThanOrEqual(s.body.queue.wait.p50Ms);
    expect(s.body.board).toBeNull();
  });

  it('lists refusals with code, role, tenant and connection, newest first, and never the SQL or its parameters', async () => {
    const token = await f.token('globex');
    const refused = await post(f.url, token, { sql: `select body from secrets where body = $1 /* ${SECRET_SQL_MARKER} */`, params: [SECRET_SQL_MARKER], method: 'all' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('TABLE_NOT_ALLOWED');
    const suspended = await post(f.url, await f.token('initech'), { sql: 'select id from notes', params: [], method: 'all' });
    expect(suspended.body.error.code).toBe('TENANT_SUSPENDED');
    const s = await state();
    expect(s.body.refusals[0]).toMatchObject({ code: 'TENANT_SUSPENDED', status: 403, route: 'POST /data', role: 'member', tenant: 'initech' });
    expect(s.body.refusals[1]).toMatchObject({ code: 'TABLE_NOT_ALLOWED', status: 403, route: 'POST /data', role: 'member', tenant: 'globex', connection: 'main', tables: [`${f.schema}.secrets`] });
    expect(Date.parse(s.body.refusals[1].at)).toBeGreaterThan(Date.now() - 60_000);
    expect(s.text).not.toContain(SECRET_SQL_MARKER);
    expect(s.text).not.toContain('select');
    expect(s.text).not.toContain(token);
  });

  it('records the tables of a statement the database refused, and a bad token without role or tenant', async () => {
    const dup = await post(f.url, await f.token('acme'), { sql: 'insert into notes (body) values ($1)', params: [null], method: 'all' });
    expect(dup.body.error.code).toBe('NOT_NULL_VIOLATION');
    await post(f.url, 'not-a-jwt', { sql: 'select 1', params: [], method: 'all' });
    const s = await state();
    expect(s.body.refusals[0]).toMatchObject({ code: 'TOKEN_INVALID', status: 401, route: 'POST /data' });
    expect(s.body.refusals[0].role).toBeUndefined();
    expect(s.body.refusals[1]).toMatchObject({ code: 'NOT_NULL_VIOLATION', tenant: 'acme', tables: [`${f.schema}.notes`] });
  });

  it('counts async jobs by state', async () => {
    const token = await f.token('acme');
    const submitted = await send(f.url, '/jobs', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'select id from notes', params: [], method: 'all' }),
    });
    expect(submitted.status).toBe(202);
    let counts: Record<string, number> = {};
    for (let i = 0; i < 50; i++) {
      counts = (await state()).body.jobs.counts;
      if (counts.completed === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(counts).toEqual({ unfinished: 0, completed: 1, failed: 0, cancelled: 0 });
  });

  it('serves a self-contained page under a strict CSP, without any data in it', async () => {
    for (const path of ['/admin', '/admin/']) {
      const page = await send(f.url, path);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      const csp = page.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
      expect(csp).not.toContain('unsafe-inline');
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      // No external resources: everything is inline.
      expect(page.text).not.toMatch(/<script[^>]+src=|<link[^>]+href="(?!data:)|https?:\/\//);
      expect(page.text).not.toContain('acme');
    }
  });

  it('keeps the reload route behind the same token', async () => {
    const r = await send(f.url, '/admin/reload', { method: 'POST' });
    // The fixture gives the engine no config source: no reload route, the console still exists.
    expect(r.status).toBe(404);
  });
});

describeIfPg('operator console without server.adminToken', () => {
  let f: AdminFixture;
  beforeAll(async () => {
    f = await startAdminFixture({ adminToken: null });
  }, 60_000);
  afterAll(async () => f?.close());

  it('answers 404 on every /admin path', async () => {
    for (const path of ['/admin', '/admin/', '/admin/api/state', '/admin/queues/']) {
      const r = await send(f.url, path, { headers: { authorization: 'Bearer x'.padEnd(40, 'x') } });
      expect(r.status).toBe(404);
    }
  });
});
