/** Request-id acceptance and generation, server.cors validation, the rate-limit window decision. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import { windowDecision } from '../../src/http/rate-limit/rate-limiter.js';
import { acceptedRequestId, genReqId, requestIdGenerator } from '../../src/http/request-id.js';
import { configErrorOf, withConnection } from '../helpers/config-error.js';

const PG = 'postgres://u@127.0.0.1:5432/db';

describe('request ids', () => {
  it.each(['a', 'trace-1', '0af7651916cd43dd8448eb211c80319c', 'a.b_c:d@e+f=g/h-i', 'x'.repeat(128)])('keeps %s', (id) => {
    expect(acceptedRequestId(id)).toBe(id);
  });

  it.each([['empty', ''], ['129 characters', 'x'.repeat(129)], ['a space', 'a b'], ['a comma (sent twice, joined)', 'a, b'], ['a quote', 'a"b'], ['CR LF', 'a\r\nb'], ['non-ASCII', 'é'], ['a brace', '{x}']])(
    'replaces one with %s',
    (_name, id) => expect(acceptedRequestId(id)).toBeUndefined(),
  );

  it('replaces a repeated header (an array)', () => {
    expect(acceptedRequestId(['a', 'b'])).toBeUndefined();
    expect(acceptedRequestId(undefined)).toBeUndefined();
  });

  it('generates unique ids with a per-app prefix', () => {
    const a = requestIdGenerator();
    const b = requestIdGenerator();
    const ids = Array.from({ length: 1000 }, () => a());
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids) expect(acceptedRequestId(id)).toBe(id);
    expect(a().split('-')[0]).not.toBe(b().split('-')[0]);
  });

  it("genReqId prefers the client's acceptable id", () => {
    const gen = genReqId(() => 'fresh');
    expect(gen({ headers: { 'x-request-id': 'mine' } } as never)).toBe('mine');
    expect(gen({ headers: { 'x-request-id': 'not mine' } } as never)).toBe('fresh');
    expect(gen({ headers: {} } as never)).toBe('fresh');
  });
});

describe('server.cors', () => {
  const withCors = (cors: unknown): any => ({ ...withConnection(PG), server: { cors } });

  it('is absent by default', () => {
    expect(parseConfig(withConnection(PG)).server.cors).toBeUndefined();
  });

  it('takes origins, credentials and maxAge (strings from ${ENV} coerced)', () => {
    expect(parseConfig(withCors({ origins: ['https://app.example.com', 'http://localhost:3000', 'http://[::1]:8080'] })).server.cors).toEqual({
      origins: ['https://app.example.com', 'http://localhost:3000', 'http://[::1]:8080'],
      credentials: false,
      maxAge: 600,
    });
    expect(parseConfig(withCors({ origins: ['*'], maxAge: '60' })).server.cors).toEqual({ origins: ['*'], credentials: false, maxAge: 60 });
    expect(parseConfig(withCors({ origins: ['https://a.example'], credentials: 'true' })).server.cors?.credentials).toBe(true);
  });

  it.each([
    ['an origin with a path', { origins: ['https://app.example.com/'] }, 'server.cors.origins[0]'],
    ['an origin without a scheme', { origins: ['app.example.com'] }, 'server.cors.origins[0]'],
    ['a wildcard subdomain', { origins: ['https://*.example.com'] }, 'server.cors.origins[0]'],
    ['no origins', { origins: [] }, 'server.cors.origins'],
    ['"*" with credentials', { origins: ['*'], credentials: true }, 'server.cors.origins'],
    ['an unknown key', { origins: ['*'], headers: ['x'] }, 'server.cors'],
    ['a maxAge over a day', { origins: ['*'], maxAge: 86_401 }, 'server.cors.maxAge'],
  ])('refuses %s, naming the key', (_name, cors, key) => {
    expect(configErrorOf(withCors(cors))).toContain(key);
  });
});

describe('rate-limit window decision', () => {
  it('counts down, then refuses with the seconds to the end of the window', () => {
    expect(windowDecision(1, 5, 30_500, 60_000)).toEqual({ allowed: true, retryAfter: 0, remaining: 4, resetSeconds: 31, windowSeconds: 60 });
    expect(windowDecision(5, 5, 1, 60_000)).toEqual({ allowed: true, retryAfter: 0, remaining: 0, resetSeconds: 1, windowSeconds: 60 });
    expect(windowDecision(6, 5, 12_000, 60_000)).toEqual({ allowed: false, retryAfter: 12, remaining: 0, resetSeconds: 12, windowSeconds: 60 });
  });
});
