import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import { demoConfig } from '../../src/demo/demo-config.js';
import { DEFAULT_DEMO_SQLITE_FILE, demoDatabaseFromEnv, describeDemoDatabase, redactUrl, setupDemoDatabase } from '../../src/demo/setup.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('demo', () => {
  it('defaults to an embedded SQLite file, and to Postgres only when a URL is given', () => {
    expect(demoDatabaseFromEnv({})).toEqual({ kind: 'sqlite', file: resolve(DEFAULT_DEMO_SQLITE_FILE) });
    expect(demoDatabaseFromEnv({ SLUICE_DEMO_SQLITE_FILE: 'x/y.db' })).toEqual({ kind: 'sqlite', file: resolve('x/y.db') });
    expect(demoDatabaseFromEnv({ SLUICE_DEMO_DATABASE_URL: 'postgres://u@h/d' })).toEqual({ kind: 'postgres', url: 'postgres://u@h/d' });
    expect(demoDatabaseFromEnv({ SLUICE_DEMO_DATABASE_URL: '' }).kind).toBe('sqlite');
  });

  it('builds a valid SQLite config with a fresh secret per run', () => {
    const db = { kind: 'sqlite' as const, file: join(dir, 'a.db') };
    const a = parseConfig(demoConfig(db, 8080));
    const b = parseConfig(demoConfig(db, 8080));
    expect(a.connections.main).toMatchObject({ dialect: 'sqlite', file: db.file });
    expect(a.queue.redis).toBeUndefined();
    expect(a.auth.jwt.secret).not.toBe(b.auth.jwt.secret);
    expect(Object.keys(a.permissions.member!.main!)).toEqual(['customers', 'orders']);
    // New configs refuse quoted literals (docs/security.md#parameters-only-mode).
    expect(a.sql.literals?.default).toBe('refuse-strings');
  });

  it('builds a valid Postgres config in the sluice_demo schema', () => {
    const c = parseConfig(demoConfig({ kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/test' }, 8080));
    expect(c.connections.main).toMatchObject({ dialect: 'postgres', schema: 'sluice_demo' });
  });

  it('creates and seeds the SQLite file once, with two tenants', async () => {
    const file = join(dir, 'sub', 'demo.db');
    expect(await setupDemoDatabase({ kind: 'sqlite', file })).toEqual({ seeded: true });
    expect(existsSync(file)).toBe(true);
    expect(await setupDemoDatabase({ kind: 'sqlite', file })).toEqual({ seeded: false });
    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare('select tenant_id, count(*) as n from customers group by tenant_id order by 1').all()).toEqual([
        { tenant_id: 1, n: 2 },
        { tenant_id: 2, n: 2 },
      ]);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  it('never prints a database password', () => {
    expect(redactUrl('postgres://u:hunter2@h:5432/d')).toBe('postgres://u:***@h:5432/d');
    expect(describeDemoDatabase({ kind: 'postgres', url: 'postgres://u:hunter2@h:5432/d' })).not.toContain('hunter2');
  });
});
