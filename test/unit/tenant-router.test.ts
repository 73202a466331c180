import { describe, expect, it } from 'vitest';
import { checkReloadable } from '../../src/config/reload.js';
import { parseConfig } from '../../src/config/schema.js';
import { SluiceError } from '../../src/errors.js';
import { resolveDbRole } from '../../src/permissions/db-role.js';
import { createTenantRouter } from '../../src/tenants/router.js';

function config(tenants?: Record<string, unknown>) {
  return parseConfig({
    auth: { jwt: { secret: 'x'.repeat(32), algorithms: ['HS256'] } },
    connections: { main: 'postgres://u@h/db', acme_db: 'postgres://u@h/acme', gold_db: 'postgres://u@h/gold' },
    ...(tenants && { tenants }),
  });
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return e instanceof SluiceError ? `${e.code}${e.retryAfter === undefined ? '' : `:${e.retryAfter}`}` : String(e);
  }
}

describe('tenant router', () => {
  it('without a tenants section: the body connection or the first; the tenant is only reported', () => {
    const r = createTenantRouter(config());
    expect(r.route(7, undefined)).toEqual({ connection: 'main', tenant: '7' });
    expect(r.route(undefined, 'acme_db')).toEqual({ connection: 'acme_db' });
    expect(codeOf(() => r.route('x', 'nope'))).toBe('UNKNOWN_CONNECTION');
  });

  it('static route, tier connection, default, and no default → TENANT_UNKNOWN', () => {
    const r = createTenantRouter(config({ tiers: { gold: { connection: 'gold_db' } }, routes: { acme: { connection: 'acme_db' }, g: { tier: 'gold' } } }));
    expect(r.route('acme', undefined)).toEqual({ connection: 'acme_db', tenant: 'acme' });
    expect(r.route('g', 'gold_db')).toEqual({ connection: 'gold_db', tenant: 'g', tier: 'gold' });
    expect(codeOf(() => r.route('other', undefined))).toBe('TENANT_UNKNOWN');
    expect(codeOf(() => r.route('', undefined))).toBe('TENANT_UNKNOWN');
    expect(codeOf(() => r.route('g', 'main'))).toBe('CONNECTION_NOT_ROUTED');
  });

  it('a tier in maintenance or suspended applies to every tenant of it; the tenant id is matched as a string', () => {
    const r = createTenantRouter(
      config({ default: { connection: 'main', tier: 'free' }, tiers: { free: { status: 'maintenance' }, gold: { status: 'suspended' } }, routes: { '42': { connection: 'acme_db', tier: 'gold' } }, maintenanceRetryAfter: 9 }),
    );
    expect(codeOf(() => r.route('anyone', undefined))).toBe('TENANT_MAINTENANCE:9');
    expect(codeOf(() => r.route(42, undefined))).toBe('TENANT_SUSPENDED');
  });

  it('directory: static routes win, invalid rows are refused, an unloaded directory is a 503', () => {
    const c = config({ default: { connection: 'main' }, routes: { acme: { connection: 'acme_db' } } });
    const dir = new Map<string, ReturnType<Parameters<typeof createTenantRouter>[1] & {}>>([
      ['acme', { connection: 'gold_db', status: 'active' }],
      ['bad', 'invalid'],
      ['d', { connection: 'gold_db', status: 'active' }],
    ]);
    const r = createTenantRouter(c, (t) => dir.get(t));
    expect(r.route('acme', undefined).connection).toBe('acme_db');
    expect(r.route('d', undefined).connection).toBe('gold_db');
    expect(r.route('nobody', undefined).connection).toBe('main');
    expect(codeOf(() => r.route('bad', undefined))).toBe('TENANT_UNKNOWN');
    const unloaded = createTenantRouter(c, () => {
      throw new SluiceError('DATABASE_UNAVAILABLE', 'not loaded', { retryAfter: 1 });
    });
    expect(codeOf(() => unloaded.route('nobody', undefined))).toBe('DATABASE_UNAVAILABLE:1');
  });
});

describe('dbRole templates', () => {
  it('fills claims that are plain names and refuses anything else', () => {
    expect(resolveDbRole('app_rw', {})).toBe('app_rw');
    expect(resolveDbRole('tenant_{tenant_id}', { tenant_id: 'acme' })).toBe('tenant_acme');
    expect(resolveDbRole('t_{org.id}_{tier}', { org: { id: 7 }, tier: 'gold' })).toBe('t_7_gold');
    for (const claims of [{}, { tenant_id: 'a b' }, { tenant_id: 'a"b' }, { tenant_id: '' }, { tenant_id: ['a'] }, { tenant_id: 'x'.repeat(70) }, { tenant_id: -1 }]) {
      expect(codeOf(() => resolveDbRole('tenant_{tenant_id}', claims)), JSON.stringify(claims)).toBe('CLAIM_MISSING');
    }
  });

  it('the config accepts a template and refuses a malformed one', () => {
    const ok = parseConfig({ auth: { jwt: { secret: 'x'.repeat(32), algorithms: ['HS256'] } }, connections: { main: { url: 'postgres://u@h/db', dbRole: 'tenant_{tenant_id}' } } });
    expect(ok.connections.main).toMatchObject({ dbRole: 'tenant_{tenant_id}' });
    for (const dbRole of ['tenant_{', 'tenant_{a b}', 'x;drop', '{}', 'a-b']) {
      expect(() => parseConfig({ auth: { jwt: { secret: 'x'.repeat(32), algorithms: ['HS256'] } }, connections: { main: { url: 'postgres://u@h/db', dbRole } } }), dbRole).toThrow(/dbRole/);
    }
  });
});

describe('checkReloadable', () => {
  it('allows connections settings, permissions, tenants and sql; refuses the rest and renamed connections', () => {
    const base = config();
    expect(() => checkReloadable(base, parseConfig({ ...base, connections: { ...base.connections, main: 'postgres://v@h/db' } }))).not.toThrow();
    expect(() => checkReloadable(base, parseConfig({ ...base, tenants: { default: { connection: 'main' } } }))).not.toThrow();
    expect(() => checkReloadable(base, parseConfig({ ...base, limits: { ...base.limits, maxRows: 1 } }))).toThrow(/limits: changed/);
    expect(() => checkReloadable(base, parseConfig({ ...base, connections: { main: 'postgres://u@h/db' } }))).toThrow(/connection names changed/);
    expect(() => checkReloadable(base, parseConfig({ ...base, connections: { ...base.connections, main: 'mysql://u@h/db' } }))).toThrow(/dialect changed/);
  });
});
