/**
 * @sluice/client's pure parts: which statements count as reads (only those are retried),
 * Retry-After parsing, the /data endpoint, and sluiceError() digging through `cause` chains.
 * The last case imports the BUILT package by name, as an app would.
 */
import { describe, expect, it } from 'vitest';
import { SluiceError, isReadStatement, isSluiceError, sluiceError } from '../../packages/client/src/index.js';
import { parseRetryAfter, retryDelay } from '../../packages/client/src/retry-after.js';
import { dataEndpoint } from '../../packages/client/src/transport.js';

describe('isReadStatement: only reads are retried', () => {
  it.each([
    ['select "id" from "customers" where "id" = $1', 'all'],
    ['  /* c */ -- x\n (select 1) union (select 2)', 'all'],
    ['with t as (select 1) select * from t', 'all'],
    ['select count(*) from orders', 'execute'],
    ['values (1)', 'values'],
  ] as const)('%s is a read', (sql, method) => expect(isReadStatement(sql, method)).toBe(true));

  it.each([
    ['insert into customers (name) values ($1) returning id', 'all'],
    ['update customers set name = $1', 'execute'],
    ['delete from customers', 'all'],
    ['with d as (delete from customers returning *) select * from d', 'all'],
    ['with t as (select 1) insert into x select * from t', 'all'],
    ['select * into new_table from customers', 'all'],
    ['select nextval(\'s\'); drop table customers', 'all'],
    ['select 1', 'run'],
    ['replace into customers values (1)', 'execute'],
    ["select 'update'", 'all'], // conservative: a false "write" only costs a retry
  ] as const)('%s is not a read', (sql, method) => expect(isReadStatement(sql, method)).toBe(false));
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates, ignores anything else', () => {
    expect(parseRetryAfter('3')).toBe(3);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
  });

  it('waits Retry-After when given, else a jittered doubling', () => {
    expect(retryDelay(0, 2, 250)).toBe(2000);
    for (let attempt = 0; attempt < 4; attempt++) {
      const d = retryDelay(attempt, undefined, 100);
      expect(d).toBeGreaterThanOrEqual(50 * 2 ** attempt);
      expect(d).toBeLessThanOrEqual(100 * 2 ** attempt);
    }
  });
});

describe('dataEndpoint', () => {
  it('appends /data unless the path ends with it', () => {
    expect(dataEndpoint('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080/data');
    expect(dataEndpoint('https://x.example/api/sluice/')).toBe('https://x.example/api/sluice/data');
    expect(dataEndpoint('https://x.example/gw/data')).toBe('https://x.example/gw/data');
  });
});

describe('sluiceError', () => {
  const inner = new SluiceError({ code: 'TENANT_BUSY', status: 429, message: 'busy', retryAfter: 1, requestId: 'r1' });

  it('finds the error however deep the cause chain', () => {
    expect(sluiceError(inner)).toBe(inner);
    expect(sluiceError(new Error('drizzle', { cause: inner }))).toBe(inner);
    expect(sluiceError(new Error('app', { cause: new Error('drizzle', { cause: inner }) }))).toBe(inner);
    expect(sluiceError(new Error('plain'))).toBeUndefined();
    expect(sluiceError('text')).toBeUndefined();
  });

  it('ends on a cyclic chain', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    a.cause = a;
    expect(sluiceError(a)).toBeUndefined();
  });

  it('recognises the shape from another copy of the package', () => {
    const copy = Object.assign(new Error('x'), { name: 'SluiceError', code: 'OVERLOADED', status: 503 });
    expect(isSluiceError(copy)).toBe(true);
    expect(sluiceError(new Error('w', { cause: copy }))).toBe(copy);
  });
});

describe('the built package', () => {
  it('resolves by name from the workspace (npm ci builds it)', async () => {
    const pkg = await import('@sluice/client');
    expect(typeof pkg.pgProxy).toBe('function');
    expect(typeof pkg.mysqlProxy).toBe('function');
    expect(typeof pkg.sqliteProxy({ url: 'http://127.0.0.1:1', token: 't' }).batch).toBe('function');
    expect(typeof pkg.batch).toBe('function');
    expect(pkg.sluiceError(new Error('w', { cause: new pkg.SluiceError({ code: 'X', status: 400, message: 'm' }) }))?.code).toBe('X');
  });
});
