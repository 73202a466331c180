/** The console's refusal ring buffer and wait percentiles (observability/console-feed.ts). */
import { describe, expect, it } from 'vitest';
import { createConsoleFeed } from '../../src/observability/console-feed.js';

const refused = (code: string, extra: Record<string, unknown> = {}) => ({ method: 'POST', route: '/data', status: 403, code, ...extra });

describe('console feed', () => {
  it('keeps the newest refusals, newest first, bounded', () => {
    const feed = createConsoleFeed({ maxRefusals: 3, now: () => Date.UTC(2026, 11, 7) });
    for (let i = 1; i <= 5; i++) feed.record(refused(`C${i}`));
    expect(feed.refusals().map((r) => r.code)).toEqual(['C5', 'C4', 'C3']);
    expect(feed.refusals()[0]!.at).toBe('2026-12-07T00:00:00.000Z');
  });

  it('lists fewer than the bound in order', () => {
    const feed = createConsoleFeed({ maxRefusals: 10 });
    feed.record(refused('A'));
    feed.record(refused('B'));
    expect(feed.refusals().map((r) => r.code)).toEqual(['B', 'A']);
  });

  it('keeps only /data and /jobs, and only answers of 400 and above as refusals', () => {
    const feed = createConsoleFeed();
    feed.record({ method: 'GET', route: '/admin/api/state', status: 401, code: 'TOKEN_MISSING' });
    feed.record({ method: 'GET', route: '/metrics', status: 401, code: 'TOKEN_MISSING' });
    feed.record({ method: 'GET', route: 'unmatched', status: 404, code: 'NOT_FOUND' });
    feed.record({ method: 'POST', route: '/data', status: 200, code: 'ok' });
    feed.record({ method: 'GET', route: '/jobs/:id', status: 404, code: 'JOB_NOT_FOUND' });
    expect(feed.refusals().map((r) => `${r.route} ${r.code}`)).toEqual(['GET /jobs/:id JOB_NOT_FOUND']);
  });

  it('records only allowlisted fields; a connection only when configured; long labels cut', () => {
    const feed = createConsoleFeed({ isConnection: (n) => n === 'main' });
    const long = 'x'.repeat(500);
    feed.record({ ...refused('TABLE_NOT_ALLOWED', { role: 'member', tenant: 42, connection: 'main', tables: ['s.notes'] }), sql: 'select secret', params: ['p'] } as never);
    feed.record(refused('UNKNOWN_CONNECTION', { connection: '<script>', role: long }));
    const [second, first] = feed.refusals();
    expect(first).toEqual({ at: first!.at, code: 'TABLE_NOT_ALLOWED', status: 403, route: 'POST /data', role: 'member', tenant: '42', connection: 'main', tables: ['s.notes'] });
    expect(second!.connection).toBeUndefined();
    expect(second!.role!.length).toBeLessThanOrEqual(129);
    expect(JSON.stringify(feed.refusals())).not.toMatch(/secret|params/);
  });

  it('computes p50 and p99 over the last waits of statements that ran', () => {
    const feed = createConsoleFeed({ waitWindow: 100 });
    expect(feed.waits()).toEqual({ samples: 0, p50Ms: null, p99Ms: null });
    // 1..200: the window keeps 101..200.
    for (let i = 1; i <= 200; i++) feed.record({ method: 'POST', route: '/data', status: 200, code: 'ok', waitMs: i });
    // A refused request's wait is not a statement that ran.
    feed.record({ ...refused('OVERLOADED'), status: 503, waitMs: 100_000 });
    expect(feed.waits()).toEqual({ samples: 100, p50Ms: 150, p99Ms: 199 });
  });
});
