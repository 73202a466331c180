/**
 * Queue mode: the BullMQ queues through bull-board under /admin/queues, behind the admin guard
 * (bearer token, or the board pass cookie the console obtains with it), read-only, and showing job
 * data without the SQL, its parameters, the claims or the rows.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIfPg, redisAvailable, requireService } from '../helpers/services.js';
import { send } from '../helpers/sluice-harness.js';
import { startAdminFixture, type AdminFixture } from '../helpers/admin-fixture.js';

const redisUp = requireService('Redis', await redisAvailable());
const describeIfRedis = redisUp ? describeIfPg : (describeIfPg.skip as typeof describeIfPg);
const MARKER = 'zz_board_marker_5521';

describeIfRedis('BullMQ board under /admin/queues', () => {
  let f: AdminFixture;
  beforeAll(async () => {
    f = await startAdminFixture({ queue: true });
  }, 60_000);
  afterAll(async () => f?.close());

  const bearer = () => ({ authorization: `Bearer ${f.adminToken}` });

  it('is listed by the state API and refuses requests without the token or a board pass', async () => {
    const s = await send(f.url, '/admin/api/state', { headers: bearer() });
    expect(s.status).toBe(200);
    expect(s.body.mode).toBe('queue');
    expect(s.body.board).toBe('/admin/queues/');
    for (const path of ['/admin/queues/', '/admin/queues/api/queues']) {
      const none = await send(f.url, path);
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('TOKEN_MISSING');
      const forged = await send(f.url, path, { headers: { cookie: `sluice_board=9999999999.${'A'.repeat(43)}` } });
      expect(forged.status).toBe(401);
      expect(forged.body.error.code).toBe('TOKEN_INVALID');
    }
    const session = await send(f.url, '/admin/api/board-session', { method: 'POST' });
    expect(session.status).toBe(401);
  });

  it('serves the board with a board pass obtained with the bearer token', async () => {
    const session = await send(f.url, '/admin/api/board-session', { method: 'POST', headers: bearer() });
    expect(session.status).toBe(200);
    const cookie = session.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^sluice_board=\d+\.[A-Za-z0-9_-]{43}; Path=\/admin\/queues; Max-Age=28800; HttpOnly; SameSite=Strict$/);
    const pass = cookie.split(';')[0]!;
    const page = await send(f.url, '/admin/queues/', { headers: { cookie: pass } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const queues = await send(f.url, '/admin/queues/api/queues', { headers: { cookie: pass } });
    expect(queues.status).toBe(200);
    const names = (queues.body.queues as Array<{ name: string; readOnlyMode: boolean }>).map((q) => [q.name, q.readOnlyMode]);
    expect(names).toEqual([['data-main', true]]);
    // The pass is for the board only, not for the state API.
    expect((await send(f.url, '/admin/api/state', { headers: { cookie: pass } })).status).toBe(401);
  });

  it('shows a finished async job without its SQL, parameters, claims or rows, and refuses changes', async () => {
    const token = await f.token('acme');
    const submitted = await send(f.url, '/jobs', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: `select id, body from notes where body <> $1`, params: [MARKER], method: 'all' }),
    });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id as string;
    let counts: Record<string, number> = {};
    for (let i = 0; i < 100 && counts.completed !== 1; i++) {
      counts = (await send(f.url, '/admin/api/state', { headers: bearer() })).body.jobs.counts;
      if (counts.completed !== 1) await new Promise((r) => setTimeout(r, 100));
    }
    expect(counts).toMatchObject({ completed: 1, failed: 0 });

    const list = await send(f.url, '/admin/queues/api/queues?activeQueue=data-main&status=completed&page=1', { headers: bearer() });
    expect(list.status).toBe(200);
    const queue = (list.body.queues as Array<{ name: string; jobs: Array<{ id: string; data: unknown; returnValue: unknown }> }>).find((q) => q.name === 'data-main')!;
    const job = queue.jobs.find((j) => j.id === id)!;
    expect(job.data).toEqual({ kind: 'async', connection: 'main', role: 'member', tenant: 'acme', tier: 'gold', method: 'all', statements: 1 });
    expect(job.returnValue).toEqual({ ok: true, rowCount: 1, rows: 1, truncated: false });
    const one = await send(f.url, `/admin/queues/api/queues/data-main/${id}`, { headers: bearer() });
    expect(one.status).toBe(200);
    for (const text of [list.text, one.text]) {
      expect(text).not.toContain(MARKER);
      expect(text).not.toContain('select');
      expect(text).not.toContain('a1');
      expect(text).not.toContain(`u-acme`);
    }

    for (const [method, path] of [
      ['PUT', `/admin/queues/api/queues/data-main/${id}/retry/completed`],
      ['PUT', '/admin/queues/api/queues/data-main/empty'],
      ['DELETE', `/admin/queues/api/queues/data-main/${id}`],
      ['POST', '/admin/queues/api/queues/data-main/add'],
    ] as const) {
      const r = await send(f.url, path, { method, headers: { ...bearer(), 'content-type': 'application/json' }, body: '{}' });
      expect(r.status, `${method} ${path}`).toBe(404);
    }
    // Still there, still completed.
    const again = await send(f.url, `/admin/queues/api/queues/data-main/${id}`, { headers: bearer() });
    expect(again.status).toBe(200);
  });
});
