import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import { parseConfig } from '../../src/config/schema.js';
import { SluiceError } from '../../src/errors.js';
import { buildJob } from '../../src/http/build-job.js';
import { createTenantRouter } from '../../src/tenants/router.js';

const config = parseConfig({
  auth: { jwt: { secret: 'a-secret-that-is-at-least-32-chars-long', algorithms: ['HS256'] } },
  connections: { main: 'postgres://a@b/c', lite: './data/x.db' },
});
const principal: Principal = { user: 'u1', role: 'member', tenant: 1, claims: { sub: 'u1', role: 'member', tenant_id: 1 } };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SluiceError);
    return (e as SluiceError).code;
  }
  return 'built';
}

const routing = { config, router: createTenantRouter(config) };

describe('buildJob refuses a method the connection cannot serve before anything is queued', () => {
  it('get/run/values on Postgres → METHOD_NOT_SUPPORTED, also inside a batch', () => {
    for (const method of ['get', 'run', 'values'] as const) {
      expect(codeOf(() => buildJob({ sql: 'select 1', method }, principal, routing, Date.now() + 1000))).toBe('METHOD_NOT_SUPPORTED');
    }
    expect(codeOf(() => buildJob({ batch: [{ sql: 'select 1' }, { sql: 'select 2', method: 'get' }] } as never, principal, routing, Date.now() + 1000))).toBe('METHOD_NOT_SUPPORTED');
  });

  it('the same methods are fine on SQLite, and all/execute everywhere', () => {
    expect(codeOf(() => buildJob({ sql: 'select 1', method: 'get', connection: 'lite' }, principal, routing, Date.now() + 1000))).toBe('built');
    expect(codeOf(() => buildJob({ sql: 'select 1', method: 'execute' }, principal, routing, Date.now() + 1000))).toBe('built');
  });
});

describe('buildJob ids', () => {
  it('are distinct per job, share a 16-hex-char process prefix, and carry nothing BullMQ refuses (no ":", never an integer)', () => {
    const ids = Array.from({ length: 2000 }, () => buildJob({ sql: 'select 1' }, principal, routing, Date.now() + 1000).id);
    expect(new Set(ids).size).toBe(ids.length);
    const prefixes = new Set(ids.map((id) => id.split('-')[0]));
    expect(prefixes.size).toBe(1);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{16}-[0-9a-z]+$/);
      expect(Number.isInteger(Number(id))).toBe(false);
    }
  });
});
