/**
 * Hostile input against the HTTP layer (issue 6): malformed and mistyped bodies, bytes that are not
 * UTF-8, oversized and deeply nested SQL, thousands of params, forged or odd tokens, and header
 * tricks that only a raw socket can send. Complements http-contract.test.ts (which pins the single
 * canonical case of each error) with generated and extreme variants.
 *
 * Every hostile answer must be a 4xx in the `{ error: { code, message } }` shape with a registry
 * code; the engine must still answer a valid request afterwards; and no write may reach the
 * database (every mistyped body carries a DELETE, and the whole schema is compared before/after).
 * Bounded and seeded: fixed FUZZ_SEED, small numRuns.
 */
import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { SignJWT, base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine.js';
import { expectRefused } from '../helpers/expect-refused.js';
import { malformedJson } from '../helpers/malformed-json.js';
import { KEEP_ALIVE_CODES, alternateOnOneSocket, alternateWithFetch, hostileBodies, requestBytes, type HostileBody } from '../helpers/keep-alive.js';
import { blockingRequest, parseBody, rawRequest } from '../helpers/raw-http.js';
import { startHarness, startSluice, type Harness, type PostResult, type Sluice } from '../helpers/sluice-harness.js';
import { startOfRateWindow } from '../helpers/rate-window.js';
import { requirePostgres } from '../helpers/skip.js';
import { testConfig } from '../helpers/test-config.js';
import { TEST_JWT_SECRET, handSignedToken, relabelToken, signToken, unsignedToken } from '../helpers/tokens.js';

const run = await requirePostgres();
const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const MAX_SQL = 100_000;
const MAX_PARAMS = 10_000;
const BODY_LIMIT = 1024 * 1024;
const VALID = { sql: 'select "id", "name" from "customers" order by "id"', method: 'execute' };
/** The write every hostile body carries: it succeeds if it ever runs, and the before/after dump catches it. */
const DELETE = "update customers set name = 'PWNED'";

/** Either refused (expectRefused), or answered 200 with tenant 1's rows only. */
function expectRefusedOrOwn(res: PostResult, what: string): void {
  if (res.status === 200) {
    expect(res.text, `${what} leaked`).not.toMatch(/T2 |SECRET/);
    return;
  }
  expectRefused(res, what);
}

async function send(url: string, path: string, init: { headers?: Record<string, string>; body?: string | Uint8Array; method?: string }): Promise<PostResult> {
  const res = await fetch(`${url}${path}`, { method: init.method ?? 'POST', headers: init.headers ?? {}, ...(init.body !== undefined && { body: init.body }) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: parseBody(text), text };
}

async function signWith(alg: 'HS256' | 'HS384' | 'HS512', claims: Record<string, unknown>, extra: { nbf?: number; exp?: number; header?: Record<string, unknown> } = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT', ...extra.header }).setIssuedAt().setExpirationTime(extra.exp ?? '1h');
  if (extra.nbf !== undefined) jwt.setNotBefore(extra.nbf);
  return jwt.sign(new TextEncoder().encode(TEST_JWT_SECRET));
}

describe.skipIf(!run)('hostile HTTP input', () => {
  let h: Harness;
  let auth: Record<string, string>;
  let before: string;

  /** Everything in the fixture schema, not only tenant 2: no hostile body may write anything. */
  async function dumpAll(): Promise<string> {
    const q = async (sql: string): Promise<unknown> => (await h.fixture.admin.query(sql)).rows;
    return JSON.stringify({
      protected: await h.fixture.dumpProtected(),
      customers: await q(`select * from ${h.schema}.customers order by id`),
      orders: await q(`select * from ${h.schema}.orders order by id`),
      items: await q(`select * from ${h.schema}.order_items order by id`),
    });
  }

  async function stillServes(): Promise<void> {
    const res = await h.post(h.tokens.tenant1, VALID);
    expect(res.status, res.text).toBe(200);
    expect(res.body.rows.map((r: { name: string }) => r.name)).toEqual(['T1 Alice', 'T1 Carol', 'T1 Erin']);
  }

  beforeAll(async () => {
    h = await startHarness({ limits: { maxSqlLength: MAX_SQL, maxParams: MAX_PARAMS }, server: { bodyLimit: BODY_LIMIT } });
    auth = { authorization: `Bearer ${h.tokens.tenant1}` };
    before = await dumpAll();
  }, 60_000);

  afterAll(async () => {
    try {
      if (h) {
        // The summary assertion of the whole file: no write from any hostile request landed.
        expect(await dumpAll()).toBe(before);
      }
    } finally {
      await h?.teardown();
    }
  }, 30_000);

  describe('bodies', () => {
    it(`malformed JSON text (${RUNS} cases, seed ${SEED}) → 400 BAD_REQUEST`, async () => {
      // Valid JSON prefixes cut short, plus arbitrary strings that do not parse as JSON.
      const broken = malformedJson(DELETE);
      await fc.assert(
        fc.asyncProperty(broken, async (body) => {
          const res = await send(h.url, '/data', { headers: { ...auth, 'content-type': 'application/json' }, body });
          expect(expectRefused(res, `body ${JSON.stringify(body)}`)).toBe('BAD_REQUEST');
        }),
        { numRuns: RUNS, seed: SEED },
      );
      await stillServes();
    });

    it(`random bytes, including invalid UTF-8 (${RUNS} cases) → 4xx`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), async (bytes) => {
          const res = await send(h.url, '/data', { headers: { ...auth, 'content-type': 'application/json' }, body: bytes });
          expectRefused(res, `bytes ${Buffer.from(bytes).toString('hex').slice(0, 80)}`);
        }),
        { numRuns: RUNS, seed: SEED },
      );
      await stillServes();
    });

    it('invalid UTF-8 sequences inside otherwise valid JSON: refused or own rows, never a write', async () => {
      const bad = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80]];
      for (const seq of bad) {
        const b = Buffer.from(seq);
        const bodies = [
          Buffer.concat([Buffer.from('{"sql":"delete from customers where name = \''), b, Buffer.from('\'"}')]),
          Buffer.concat([Buffer.from('{"sql":"select "'), b, Buffer.from('"id\\" from customers"}')]),
          Buffer.concat([Buffer.from('{"sql":"'), b, Buffer.from(DELETE), Buffer.from('"}')]),
          Buffer.concat([Buffer.from('{"sql":"select name from customers where name = $1","params":["'), b, Buffer.from('"]}')]),
          Buffer.concat([Buffer.from('{"sq'), b, Buffer.from('l":"delete from customers"}')]),
          Buffer.concat([b, Buffer.from('{"sql":"delete from customers"}')]),
        ];
        for (const body of bodies) {
          const res = await send(h.url, '/data', { headers: { ...auth, 'content-type': 'application/json' }, body });
          // The first body is a legitimate tenant-1 delete of a name nobody has (U+FFFD after decoding).
          if (res.status === 200) expect(res.body.rowCount ?? 0, body.toString('hex')).toBe(0);
          expectRefusedOrOwn(res, `utf8 ${body.toString('hex')}`);
        }
      }
      await stillServes();
    });

    const wrongTypes: Array<[string, unknown]> = [
      ['sql number', { sql: 42 }],
      ['sql array', { sql: [DELETE] }],
      ['sql object', { sql: { text: DELETE } }],
      ['sql null', { sql: null }],
      ['sql true', { sql: true }],
      ['params object', { sql: DELETE, params: { 0: 1 } }],
      ['params number', { sql: DELETE, params: 1 }],
      ['params null', { sql: DELETE, params: null }],
      ['method number', { sql: DELETE, method: 1 }],
      ['method unknown', { sql: DELETE, method: 'exec' }],
      ['method uppercase', { sql: DELETE, method: 'EXECUTE' }],
      ['method array', { sql: DELETE, method: ['execute'] }],
      ['typings object', { sql: DELETE, typings: { a: 'json' } }],
      ['typings with number', { sql: DELETE, typings: ['json', 3] }],
      ['typings with null', { sql: DELETE, typings: [null] }],
      ['typings string', { sql: DELETE, typings: 'json' }],
      ['connection number', { sql: DELETE, connection: 1 }],
      ['connection empty', { sql: DELETE, connection: '' }],
      ['connection object', { sql: DELETE, connection: { name: 'main' } }],
      ['connection prototype key', { sql: DELETE, connection: '__proto__' }],
      ['connection constructor', { sql: DELETE, connection: 'constructor' }],
      ['batch object', { batch: { sql: DELETE } }],
      ['batch string', { batch: DELETE }],
      ['batch of strings', { batch: [DELETE] }],
      ['batch of numbers', { batch: [1, 2] }],
      ['batch item without sql', { batch: [{ params: [] }] }],
      ['batch item extra field', { batch: [{ sql: DELETE, connection: 'main' }] }],
      ['batch item sql number', { batch: [{ sql: 1 }] }],
      ['batch item nested batch', { batch: [{ batch: [{ sql: DELETE }] }] }],
      ['batch empty', { batch: [] }],
      ['batch and sql', { sql: DELETE, batch: [{ sql: DELETE }] }],
      ['batch too long', { batch: Array.from({ length: 1001 }, () => ({ sql: 'select 1' })).concat([{ sql: DELETE }]) }],
      ['extra field role', { sql: DELETE, role: 'admin' }],
      ['extra field claims', { sql: DELETE, claims: { tenant_id: 2 } }],
      ['extra field __proto__', JSON.parse(`{"sql":"${DELETE}","__proto__":{"role":"admin"}}`)],
      ['extra field constructor', { sql: DELETE, constructor: { prototype: { x: 1 } } }],
      ['JSON string', DELETE],
      ['JSON number', 1],
      ['JSON null', null],
      ['JSON true', true],
    ];

    for (const path of ['/data', '/jobs']) {
      it.each(wrongTypes)(`${path}: %s → 4xx, nothing runs`, async (_name, body) => {
        const res = await send(h.url, path, { headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expectRefused(res, `${path} ${JSON.stringify(body).slice(0, 200)}`);
      });
    }

    it(`generated objects with mistyped or unknown fields (${RUNS} cases) → 4xx on /data and /jobs`, async () => {
      const notString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }));
      const notArray = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string(), fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }));
      const unknownKey = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !['sql', 'params', 'method', 'typings', 'connection', 'batch'].includes(k));
      const hostile = fc.oneof(
        notString.map((sql) => ({ sql })),
        notArray.map((params) => ({ sql: DELETE, params })),
        fc.oneof(notString, fc.string().filter((m) => !['all', 'execute', 'get', 'values', 'run'].includes(m))).map((method) => ({ sql: DELETE, method })),
        fc.oneof(notArray, fc.array(notString, { minLength: 1, maxLength: 3 })).map((typings) => ({ sql: DELETE, typings })),
        notString.map((connection) => ({ sql: DELETE, connection })),
        fc.oneof(notArray, fc.array(fc.oneof(notString, fc.string()), { minLength: 1, maxLength: 3 })).map((batch) => ({ batch })),
        fc.tuple(unknownKey, fc.jsonValue()).map(([k, v]) => ({ sql: DELETE, [k]: v })),
      );
      await fc.assert(
        fc.asyncProperty(hostile, fc.constantFrom('/data', '/jobs'), async (body, path) => {
          const res = await send(h.url, path, { headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
          expectRefused(res, `${path} ${JSON.stringify(body)}`);
        }),
        { numRuns: RUNS, seed: SEED },
      );
      await stillServes();
    });

    it.each([
      ['empty body, JSON content-type', { 'content-type': 'application/json' }, ''],
      ['whitespace body', { 'content-type': 'application/json' }, '  \r\n\t '],
      ['no content-type', {}, JSON.stringify({ sql: DELETE })],
      ['form encoded', { 'content-type': 'application/x-www-form-urlencoded' }, `sql=${encodeURIComponent(DELETE)}`],
      ['multipart', { 'content-type': 'multipart/form-data; boundary=x' }, `--x\r\ncontent-disposition: form-data; name="sql"\r\n\r\n${DELETE}\r\n--x--\r\n`],
      ['application/jsonx', { 'content-type': 'application/jsonx' }, JSON.stringify({ sql: DELETE })],
      ['text/json', { 'content-type': 'text/json' }, JSON.stringify({ sql: DELETE })],
      ['octet-stream', { 'content-type': 'application/octet-stream' }, JSON.stringify({ sql: DELETE })],
      ['garbage content-type', { 'content-type': ';;;==//' }, JSON.stringify({ sql: DELETE })],
    ] as const)('%s → 4xx', async (_name, headers, body) => {
      const res = await send(h.url, '/data', { headers: { ...auth, ...headers }, body });
      expectRefused(res, `${JSON.stringify(headers)} ${body.slice(0, 60)}`);
    });

    it('a charset parameter on application/json is ignored: the body is read as UTF-8 (Fastify behaviour)', async () => {
      const res = await send(h.url, '/data', { headers: { ...auth, 'content-type': 'application/json; charset=utf-16' }, body: JSON.stringify(VALID) });
      expect(res.status, res.text).toBe(200);
      expect(res.body.rows.map((r: { name: string }) => r.name)).toEqual(['T1 Alice', 'T1 Carol', 'T1 Erin']);
    });

    it('bodies just below, at and above server.bodyLimit', async () => {
      const shell = JSON.stringify({ sql: DELETE, params: [''] });
      const sized = (n: number): string => JSON.stringify({ sql: DELETE, params: ['x'.repeat(n - shell.length)] });
      for (const n of [BODY_LIMIT - 1, BODY_LIMIT]) {
        const res = await send(h.url, '/data', { headers: { ...auth, 'content-type': 'application/json' }, body: sized(n) });
        // Under the limit the body is read: the DELETE has 1 param for 0 placeholders.
        expect(expectRefused(res, `size ${n}`)).not.toBe('BODY_TOO_LARGE');
      }
      for (const n of [BODY_LIMIT + 1, 4 * BODY_LIMIT]) {
        const res = await send(h.url, '/data', { headers: { ...auth, 'content-type': 'application/json' }, body: sized(n) });
        expect(expectRefused(res, `size ${n}`)).toBe('BODY_TOO_LARGE');
      }
      await stillServes();
    });
  });

  describe('over reused keep-alive connections', () => {
    const json = (): Record<string, string> => ({ Authorization: `Bearer ${h.tokens.tenant1}`, 'Content-Type': 'application/json' });
    const cases = (): HostileBody[] => hostileBodies({ path: '/data', sql: DELETE, token: h.tokens.tenant1, otherToken: h.tokens.tenant2, bodyLimit: BODY_LIMIT, seed: SEED });
    const tenant1Rows = (res: { status: number; body: any; text: string }, what: string): void => {
      expect(res.status, `${what}: ${res.text.slice(0, 200)}`).toBe(200);
      expect(res.body.rows.map((r: { name: string }) => r.name), what).toEqual(['T1 Alice', 'T1 Carol', 'T1 Erin']);
    };

    it('on one raw socket: every hostile body is answered, and the same socket (or, after a close, a new one) then serves tenant 1 only', async () => {
      const list = cases();
      const answers = await alternateOnOneSocket(h.url, list.map(requestBytes), () => requestBytes({ path: '/data', headers: json(), body: JSON.stringify(VALID) }));
      answers.forEach(({ hostile, valid }, i) => {
        const { name, code } = list[i]!;
        expect(expectRefused(hostile, name), name).toBe(code);
        tenant1Rows(valid, `${name}: the next request`);
      });
      // The answers that need not close the connection kept it: bad tokens, schema errors, 404, 415.
      expect(new Set(answers.filter((a) => !a.reconnected).map((a) => a.hostile.body.error.code))).toEqual(new Set(KEEP_ALIVE_CODES));
      await stillServes();
    }, 60_000);

    it('with fetch (undici), whose pooled connections are reused: every answer arrives, never "fetch failed"', async () => {
      const list = cases();
      for (let round = 0; round < 3; round++) {
        const answers = await alternateWithFetch(
          h.url,
          list.map((c) => ({ path: c.path, init: { method: 'POST', headers: c.headers, body: c.body } })),
          () => ({ path: '/data', init: { method: 'POST', headers: json(), body: JSON.stringify(VALID) } }),
        );
        answers.forEach(({ hostile, valid }, i) => {
          const { name, code } = list[i]!;
          expect(expectRefused(hostile, name), name).toBe(code);
          tenant1Rows(valid, `${name}: the next request`);
        });
      }
    }, 60_000);
  });

  describe('SQL and params at the extremes', () => {
    const cases: Array<[string, () => { sql: string; params?: unknown[] }]> = [
      ['10k nested parentheses', () => ({ sql: `select ${'('.repeat(10_000)}1${')'.repeat(10_000)}` })],
      ['10k unbalanced parentheses', () => ({ sql: `select ${'('.repeat(10_000)}1` })],
      ['5k-deep not not not …', () => ({ sql: `select id from customers where ${'not '.repeat(5_000)}true` })],
      ['5k-deep nested subqueries', () => ({ sql: `${'select * from ('.repeat(5_000)}select 1${') s'.repeat(5_000)}` })],
      ['3k-deep and/or chain in parentheses', () => ({ sql: `select id from customers where ${'(id = 1 or '.repeat(3_000)}true${')'.repeat(3_000)}` })],
      ['2k nested array brackets', () => ({ sql: `select ${'array['.repeat(2_000)}1${']'.repeat(2_000)}` })],
      ['10k nested casts', () => ({ sql: `select 1${'::int'.repeat(10_000)}` })],
      ['10k unary minus', () => ({ sql: `select ${'- '.repeat(10_000)}1` })],
      ['1k UNION arms deleting', () => ({ sql: Array.from({ length: 1_000 }, () => 'select id from customers').join(' union ') + `; ${DELETE}` })],
      ['1k statements in one string', () => ({ sql: Array.from({ length: 1_000 }, () => DELETE).join(';') })],
      ['SQL one above maxSqlLength', () => ({ sql: `${DELETE} where name = '${'x'.repeat(MAX_SQL)}'`.slice(0, MAX_SQL + 1) })],
      ['SQL far above maxSqlLength', () => ({ sql: `${DELETE} where name = '${'x'.repeat(3 * MAX_SQL)}'` })],
      ['SQL of astral characters above maxSqlLength', () => ({ sql: `${DELETE} where name = '${'😀'.repeat(MAX_SQL / 2 + 1)}'` })],
      ['one more param than maxParams', () => ({ sql: DELETE, params: Array.from({ length: MAX_PARAMS + 1 }, (_, i) => i) })],
      ['maxParams placeholders but one param short', () => ({ sql: `select id from customers where id in (${Array.from({ length: MAX_PARAMS }, (_, i) => `$${i + 1}`).join(',')})`, params: Array.from({ length: MAX_PARAMS - 1 }, (_, i) => i) })],
      ['placeholder $99999', () => ({ sql: 'select id from customers where id = $99999', params: [1] })],
      ['placeholder $0', () => ({ sql: 'select id from customers where id = $0', params: [1] })],
    ];

    it.each(cases)('%s → 4xx', async (name, make) => {
      const res = await h.post(h.tokens.tenant1, { ...make(), method: 'execute' });
      expectRefused(res, name);
    }, 30_000);

    it('SQL of exactly maxSqlLength runs; one character more is SQL_TOO_LONG', async () => {
      const base = 'select id from customers where name <> ';
      const at = `${base}'${'x'.repeat(MAX_SQL - base.length - 2)}'`;
      expect(at).toHaveLength(MAX_SQL);
      const ok = await h.post(h.tokens.tenant1, { sql: at, method: 'execute' });
      expect(ok.status, ok.text.slice(0, 200)).toBe(200);
      expect(ok.body.rows).toEqual([{ id: 1 }, { id: 3 }, { id: 5 }]);
      const over = await h.post(h.tokens.tenant1, { sql: `${base}'${'x'.repeat(MAX_SQL - base.length - 1)}'`, method: 'execute' });
      expect(expectRefused(over, 'maxSqlLength + 1')).toBe('SQL_TOO_LONG');
    });

    it('exactly maxParams params run; one more is TOO_MANY_PARAMS', async () => {
      const sql = (n: number): string => `select id from customers where id in (${Array.from({ length: n }, (_, i) => `$${i + 1}`).join(',')}) order by id`;
      const params = Array.from({ length: MAX_PARAMS }, (_, i) => i);
      const ok = await h.post(h.tokens.tenant1, { sql: sql(MAX_PARAMS), params, method: 'execute' });
      expect(ok.status, ok.text.slice(0, 200)).toBe(200);
      expect(ok.body.rows).toEqual([{ id: 1 }, { id: 3 }, { id: 5 }]);
      const over = await h.post(h.tokens.tenant1, { sql: sql(MAX_PARAMS + 1), params: [...params, MAX_PARAMS], method: 'execute' });
      expect(expectRefused(over, 'maxParams + 1')).toBe('TOO_MANY_PARAMS');
    }, 30_000);

    it(`params of every JSON type (${RUNS} cases) → own rows or 4xx, never a write outside tenant 1`, async () => {
      const value = fc.oneof(
        fc.jsonValue({ maxDepth: 4 }),
        fc.constant('x'.repeat(200_000)),
        fc.constant(Number.MAX_VALUE),
        fc.constant(-0),
        fc.constant(1e300),
        fc.constant(2 ** 63),
        fc.constant('\u0000'),
        fc.constant({ toPostgres: 'x' }),
        fc.constant({ rawType: 1, text: "1' or '1'='1" }),
        fc.constant([[1, 2], [3]]),
        fc.constant([{ a: [null, { b: '\u0000' }] }]),
      );
      const stmt = fc.constantFrom(
        'select id, name from customers where id = $1',
        'select id, name from customers where name = $1',
        'select $1::text as v from customers',
        'select id from customers where id = any($1)',
        'update customers set name = name where name = $1',
      );
      await fc.assert(
        fc.asyncProperty(stmt, value, fc.constantFrom('execute', 'all', undefined), async (sql, v, method) => {
          const res = await h.post(h.tokens.tenant1, { sql, params: [v], ...(method && { method }) });
          expectRefusedOrOwn(res, `${sql} ${JSON.stringify(v).slice(0, 120)}`);
        }),
        { numRuns: RUNS, seed: SEED },
      );
      await stillServes();
    }, 60_000);
  });

  describe('tokens', () => {
    const member = { sub: 'hostile-user', role: 'member', tenant_id: 1 };
    const now = (): number => Math.floor(Date.now() / 1000);
    const bad: Array<[string, () => Promise<string>, string]> = [
      ['alg None (capitalised)', async () => relabelToken(unsignedToken(member), { alg: 'None', typ: 'JWT' }), 'TOKEN_INVALID'],
      ['alg none with a valid HS256 signature kept', async () => relabelToken(await signToken(member), { alg: 'none', typ: 'JWT' }), 'TOKEN_INVALID'],
      ['HS512 signed with the right secret (only HS256 allowed)', () => signWith('HS512', member), 'TOKEN_INVALID'],
      ['HS384 signed with the right secret', () => signWith('HS384', member), 'TOKEN_INVALID'],
      ['RS256 header over an HMAC signature', async () => relabelToken(await signToken(member), { alg: 'RS256', typ: 'JWT' }), 'TOKEN_INVALID'],
      ['ES256 header over an HMAC signature', async () => relabelToken(await signToken(member), { alg: 'ES256', typ: 'JWT' }), 'TOKEN_INVALID'],
      ['header with a jwk to trust', async () => relabelToken(await signToken(member), { alg: 'HS256', jwk: { kty: 'oct', k: 'AAAA' } }), 'TOKEN_INVALID'],
      ['correctly signed, with an unknown crit extension', async () => handSignedToken({ alg: 'HS256', crit: ['x-evil'], 'x-evil': 1 }, { ...member, exp: now() + 3600 }), 'TOKEN_INVALID'],
      ['a one-character secret', () => signToken(member, { secret: 'x' }), 'TOKEN_INVALID'],
      ['signature stripped', async () => `${(await signToken(member)).split('.').slice(0, 2).join('.')}.`, 'TOKEN_INVALID'],
      ['payload swapped to tenant 2', async () => {
        const [head, , sig] = (await signToken(member)).split('.');
        return `${head}.${base64url.encode(JSON.stringify({ ...member, tenant_id: 2, exp: now() + 3600 }))}.${sig}`;
      }, 'TOKEN_INVALID'],
      ['expired a minute ago (beyond the 5 s clockTolerance)', () => signWith('HS256', member, { exp: now() - 60 }), 'TOKEN_EXPIRED'],
      ['nbf an hour ahead', () => signWith('HS256', member, { nbf: now() + 3600 }), 'TOKEN_INVALID'],
      ['nbf as a string', () => signWith('HS256', { ...member, nbf: 'now' }), 'TOKEN_INVALID'],
      ['exp as a string', async () => new SignJWT({ ...member, exp: 'never' } as never).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(TEST_JWT_SECRET)), 'TOKEN_INVALID'],
      ['no role claim', () => signToken({ sub: 'u', tenant_id: 1 }), 'TOKEN_INVALID'],
      ['role empty', () => signToken({ ...member, role: '' }), 'TOKEN_INVALID'],
      ['role as object', () => signToken({ ...member, role: { name: 'member' } }), 'TOKEN_INVALID'],
      ['role as array', () => signToken({ ...member, role: ['member'] }), 'TOKEN_INVALID'],
      ['role as number', () => signToken({ ...member, role: 1 }), 'TOKEN_INVALID'],
      ['role as null', () => signToken({ ...member, role: null }), 'TOKEN_INVALID'],
      ['role __proto__', () => signToken({ ...member, role: '__proto__' }), 'ROLE_NOT_ALLOWED'],
      ['role constructor', () => signToken({ ...member, role: 'constructor' }), 'ROLE_NOT_ALLOWED'],
      ['role toString', () => signToken({ ...member, role: 'toString' }), 'ROLE_NOT_ALLOWED'],
      ['payload is a JSON array', async () => `${base64url.encode(JSON.stringify({ alg: 'HS256' }))}.${base64url.encode('[1,2]')}.x`, 'TOKEN_INVALID'],
      ['header is not JSON', async () => `${base64url.encode('{alg')}.${base64url.encode('{}')}.x`, 'TOKEN_INVALID'],
      ['four segments', async () => `${await signToken(member)}.x`, 'TOKEN_INVALID'],
      ['8 KiB of base64url', async () => 'A'.repeat(8 * 1024), 'TOKEN_INVALID'],
    ];

    it.each(bad)('%s → 4xx %s, nothing runs', async (_name, make, code) => {
      const res = await h.post(await make(), { sql: DELETE, method: 'execute' });
      expect(expectRefused(res, _name)).toBe(code);
    });

    it(`tenant_id of any JSON type (${RUNS} cases) → own rows only, or 4xx`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom<unknown>({ $ne: 1 }, [1, 2], '1 or 1=1', "1' or '1'='1", '2', 2.0000001, 1e308, true, null, { toString: 2 })),
          async (tenant) => {
            const res = await h.post(await signToken({ sub: 'hostile-claims', role: 'member', tenant_id: tenant }), { sql: 'select id, name from customers order by id', method: 'execute' });
            const what = `tenant_id ${JSON.stringify(tenant)}`;
            // 2 and "2" are tenant 2 by design; anything else must never see tenant 2's rows.
            if (tenant === 2 || tenant === '2') return;
            expectRefusedOrOwn(res, what);
          },
        ),
        { numRuns: RUNS, seed: SEED },
      );
      await stillServes();
    });

    it('tenant_id as an object or array cannot write into tenant 2', async () => {
      for (const tenant of [{ a: 2 }, [2], [1, 2], { toString: '2' }, null, true]) {
        const token = await signToken({ sub: 'hostile-claims', role: 'member', tenant_id: tenant });
        const del = await h.post(token, { sql: 'delete from customers where id = 2', method: 'execute' });
        expectRefusedOrOwn(del, `delete with tenant_id ${JSON.stringify(tenant)}`);
        if (del.status === 200) expect(del.body.rowCount).toBe(0);
      }
    });

    it('malformed Authorization headers → 401', async () => {
      const t = h.tokens.tenant1;
      const headers: Array<[string, string, string]> = [
        ['token without scheme', t, 'TOKEN_MISSING'],
        ['two tokens', `Bearer ${t} ${t}`, 'TOKEN_MISSING'],
        ['two Bearer schemes', `Bearer ${t}, Bearer ${t}`, 'TOKEN_MISSING'],
        ['Bearer with nothing', 'Bearer ', 'TOKEN_MISSING'],
        ['Bearer with no space', `Bearer${t}`, 'TOKEN_MISSING'],
        ['Bearer: colon', `Bearer: ${t}`, 'TOKEN_MISSING'],
        ['quoted token', `Bearer "${t}"`, 'TOKEN_INVALID'],
        ['Token scheme', `Token ${t}`, 'TOKEN_MISSING'],
        ['Digest scheme', `Digest username="${t}"`, 'TOKEN_MISSING'],
        ['token plus garbage', `Bearer ${t}x`, 'TOKEN_INVALID'],
        ['12 KiB header', `Bearer ${'a'.repeat(12 * 1024)}`, 'TOKEN_INVALID'],
      ];
      for (const [name, value, code] of headers) {
        const res = await send(h.url, '/data', { headers: { authorization: value, 'content-type': 'application/json' }, body: JSON.stringify({ sql: DELETE }) });
        expect(expectRefused(res, name), name).toBe(code);
      }
    });

    it('lowercase scheme and surrounding blanks are accepted, as bearer.ts documents (RFC 7235: schemes are case-insensitive)', async () => {
      for (const value of [`bearer ${h.tokens.tenant1}`, `BEARER ${h.tokens.tenant1}`, `Bearer    ${h.tokens.tenant1}   `, `Bearer\t${h.tokens.tenant1}`]) {
        const res = await send(h.url, '/data', { headers: { authorization: value, 'content-type': 'application/json' }, body: JSON.stringify(VALID) });
        expect(res.status, JSON.stringify(value.slice(0, 12))).toBe(200);
        expect(res.text).not.toMatch(/T2 /);
      }
    });

    it('an Authorization header over Node\'s header limit → 431, and the server lives', async () => {
      const res = await rawRequest(h.url, `POST /data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(64 * 1024)}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
      expect(res.status).toBe(431);
      expect(expectRefused(res, 'header overflow')).toBe('HEADERS_TOO_LARGE');
      await stillServes();
    });
  });

  describe('header tricks (raw sockets)', () => {
    const body = JSON.stringify({ sql: DELETE });
    const head = (extra: string): string => `POST /data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'__T__'}\r\nConnection: close\r\n${extra}`;
    const fill = (s: string): string => s.replace('__T__', h.tokens.tenant2);

    it.each([
      ['Transfer-Encoding chunked with a bad chunk size', () => `${head('Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n')}zz\r\n${body}\r\n0\r\n\r\n`],
      ['chunk size smaller than its data', () => `${head('Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n')}5\r\n${body}\r\n0\r\n\r\n`],
      ['Content-Length and Transfer-Encoding together (smuggling)', () => `${head(`Content-Type: application/json\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n\r\n`)}${body}`],
      ['two different Content-Length headers', () => `${head(`Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: ${body.length}\r\n\r\n`)}${body}`],
      ['negative Content-Length', () => `${head('Content-Type: application/json\r\nContent-Length: -1\r\n\r\n')}${body}`],
      ['Transfer-Encoding: gzip, chunked with junk', () => `${head('Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n')}3\r\nabc\r\n0\r\n\r\n`],
      ['a header line with a bare LF and NUL', () => `${head('Content-Type: application/json\r\nX-A: a\u0000b\nX-B: c\r\n')}Content-Length: ${body.length}\r\n\r\n${body}`],
    ] as const)('%s → 4xx, nothing runs', async (name, make) => {
      const res = await rawRequest(h.url, fill(make()));
      expect(res.status, `${name}: ${res.headers} ${res.text}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      // Answers that reach Fastify are in our shape; the Node parser's own 400s carry no JSON of ours.
      if (typeof res.body === 'object' && res.body !== null && 'error' in res.body && typeof res.body.error === 'object') expectRefused(res, name);
      await stillServes();
    });

    it('a chunked body above bodyLimit → 413 BODY_TOO_LARGE', async () => {
      const chunk = 'x'.repeat(64 * 1024);
      const prefix = '{"sql":"delete from customers","params":["';
      const parts = [prefix, ...Array.from({ length: Math.ceil((BODY_LIMIT * 1.5) / chunk.length) }, () => chunk), '"]}'];
      const chunks = parts.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join('');
      const res = await rawRequest(h.url, fill(`${head('Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n')}${chunks}0\r\n\r\n`));
      expect(expectRefused(res, 'chunked over limit')).toBe('BODY_TOO_LARGE');
      await stillServes();
    });

    it('a 2 MB body written whole before reading (as curl or Python do) gets its 413 within 5 s, on a raw socket', async () => {
      const body = Buffer.alloc(2 * BODY_LIMIT, 'x');
      const res = await blockingRequest(h.url, fill(head(`Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`)), body, 5_000);
      expect(res.writeError, 'the gateway read the body instead of resetting the connection').toBeUndefined();
      expect(expectRefused(res.answer!, 'raw 2 MB')).toBe('BODY_TOO_LARGE');
      expect(res.ms).toBeLessThan(5_000);
      await stillServes();
    });

    it('a Content-Length above bodyLimit is refused before the body arrives', async () => {
      const res = await rawRequest(h.url, fill(head(`Content-Type: application/json\r\nContent-Length: ${BODY_LIMIT * 100}\r\n\r\n{"sql":`)));
      expect(expectRefused(res, 'content-length over limit')).toBe('BODY_TOO_LARGE');
    });

    it('duplicate Content-Type: Node keeps the first, so the answer follows it; no mix-up', async () => {
      const valid = JSON.stringify(VALID);
      const expected: Array<[string[], number]> = [
        [['application/json', 'text/plain'], 200],
        [['text/plain', 'application/json'], 415],
        [['application/x-www-form-urlencoded', 'application/json'], 415],
      ];
      for (const [cts, status] of expected) {
        const req = `POST /data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.tokens.tenant1}\r\nConnection: close\r\n${cts.map((c) => `Content-Type: ${c}\r\n`).join('')}Content-Length: ${valid.length}\r\n\r\n${valid}`;
        const res = await rawRequest(h.url, req);
        expect(res.status, `${cts.join(' + ')}: ${res.text}`).toBe(status);
        if (status === 200) expect(res.text).not.toMatch(/T2 /);
        else expectRefused(res, cts.join(' + '));
      }
      await stillServes();
    });

    it('a Content-Length shorter than the body: the rest is not a second request that runs', async () => {
      const smuggled = `POST /data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.tokens.tenant2}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      const res = await rawRequest(h.url, `${head('Content-Type: application/json\r\nContent-Length: 2\r\n\r\n').replace('__T__', h.tokens.tenant1)}{}${smuggled}`);
      // Node's parser refuses data after "Connection: close" (400 from the clientError handler).
      expect(res.status, res.text).toBeGreaterThanOrEqual(400);
      expect(res.status, res.text).toBeLessThan(500);
      expect(await h.fixture.dumpProtected()).toBe(JSON.parse(before).protected);
      await stillServes();
    });

    // Errors Node's HTTP parser raises before Fastify routes the request (bad chunk size, CL+TE,
    // two Content-Lengths) are answered by src/http/client-error.ts in the sluice shape.
    it('parser-level errors answer in the sluice error shape with a registry code', async () => {
      const res = await rawRequest(h.url, fill(`${head('Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n')}zz\r\n${body}\r\n0\r\n\r\n`));
      expect(res.status).toBe(400);
      expect(expectRefused(res, 'bad chunk size')).toBe('BAD_REQUEST');
      const both = await rawRequest(h.url, fill(`${head(`Content-Type: application/json\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n\r\n`)}${body}`));
      expect(expectRefused(both, 'Content-Length with Transfer-Encoding')).toBe('BAD_REQUEST');
      const twice = await rawRequest(h.url, fill(`${head(`Content-Type: application/json\r\nContent-Length: ${body.length}\r\nContent-Length: ${body.length + 1}\r\n\r\n`)}${body}`));
      expect(expectRefused(twice, 'two Content-Lengths')).toBe('BAD_REQUEST');
      await stillServes();
    });
  });
});

describe.skipIf(!run)('per-IP rate limit with trustProxy false', () => {
  let h: Harness;
  let s: Sluice;
  const LIMIT = 3;

  beforeAll(async () => {
    h = await startHarness();
    s = await startSluice(h.schema, { limits: { rateLimitPerIP: LIMIT }, server: { trustProxy: false } });
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    await h?.teardown();
  }, 30_000);

  it('X-Forwarded-For, X-Real-IP and Forwarded do not give a fresh budget', async () => {
    await startOfRateWindow();
    const spoof = (i: number): Record<string, string> => ({
      'x-forwarded-for': `10.0.${i}.1, 203.0.113.${i}`,
      'x-real-ip': `198.51.100.${i}`,
      forwarded: `for=192.0.2.${i};proto=https`,
      'x-client-ip': `192.0.2.${i + 100}`,
      'true-client-ip': `192.0.2.${i + 200}`,
    });
    const answers: PostResult[] = [];
    for (let i = 0; i < LIMIT + 3; i++) {
      answers.push(await send(s.url, '/data', { headers: { ...spoof(i), authorization: `Bearer ${h.tokens.tenant1}`, 'content-type': 'application/json' }, body: JSON.stringify(VALID) }));
    }
    expect(answers.slice(0, LIMIT).map((a) => a.status)).toEqual(Array(LIMIT).fill(200));
    for (const a of answers.slice(LIMIT)) {
      expect(expectRefused(a, 'spoofed ip')).toBe('RATE_LIMITED');
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    // Bad tokens do not get a fresh budget either (the per-IP limit runs before authentication).
    const anon = await send(s.url, '/data', { headers: { 'x-forwarded-for': '127.0.0.2', authorization: 'Bearer nope', 'content-type': 'application/json' }, body: '{' });
    expect(expectRefused(anon, 'anonymous after limit')).toBe('RATE_LIMITED');
  });
});

/** POST /data from a chosen local address (all of 127.0.0.0/8 is this host), so tests can be a proxy or a direct client. */
function postFrom(url: string, localAddress: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: any; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port: Number(port), localAddress, method: 'POST', path: '/data', agent: false, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: parseBody(text), text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe.skipIf(!run)('per-IP rate limit with trustProxy listing the proxy', () => {
  let h: Harness;
  let s: Sluice;
  const LIMIT = 3;
  const PROXY = '127.0.0.1';
  const DIRECT = '127.0.0.2';
  let headers: Record<string, string>;

  beforeAll(async () => {
    h = await startHarness();
    // Two entries, one a range that does not contain the direct client: only 127.0.0.1 is a proxy.
    s = await startSluice(h.schema, { limits: { rateLimitPerIP: LIMIT }, server: { trustProxy: `${PROXY}, 10.0.0.0/8` } });
    headers = { authorization: `Bearer ${h.tokens.tenant1}`, 'content-type': 'application/json' };
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    await h?.teardown();
  }, 30_000);

  const statuses = async (from: string, xff: (i: number) => string, n: number): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await postFrom(s.url, from, { ...headers, 'x-forwarded-for': xff(i) }, JSON.stringify(VALID))).status);
    return out;
  };

  it('a client that is not a listed proxy cannot move itself into another bucket with X-Forwarded-For', async () => {
    await startOfRateWindow();
    const answers = await statuses(DIRECT, (i) => `203.0.113.${i}`, LIMIT + 2);
    expect(answers).toEqual([...Array(LIMIT).fill(200), 429, 429]);
    // Not even by claiming to be one of the proxies, or a hop inside the trusted range.
    expect(await statuses(DIRECT, (i) => `${PROXY}, 10.0.0.${i}`, 2)).toEqual([429, 429]);
  });

  it('behind the listed proxy, each forwarded client has its own bucket, and the entries it wrote itself do not count', async () => {
    await startOfRateWindow();
    // Through the proxy: 198.51.100.7 is the address the proxy saw (the rightmost entry not a proxy).
    const forged = (i: number): string => `192.0.2.${i}, 198.51.100.7`;
    expect(await statuses(PROXY, forged, LIMIT + 2)).toEqual([...Array(LIMIT).fill(200), 429, 429]);
    // Another forwarded client is unaffected: its own bucket, though it arrives over the same proxy.
    expect(await statuses(PROXY, () => '198.51.100.8', LIMIT)).toEqual(Array(LIMIT).fill(200));
    // A hop from inside the trusted range is skipped like the proxy itself: the client is the one before it.
    expect(await statuses(PROXY, () => '198.51.100.9, 10.1.2.3', LIMIT + 1)).toEqual([...Array(LIMIT).fill(200), 429]);
    expect((await postFrom(s.url, PROXY, { ...headers, 'x-forwarded-for': '198.51.100.9' }, JSON.stringify(VALID))).status).toBe(429);
  });
});

describe.skipIf(!run)('trustProxy true', () => {
  it('is warned about at start-up, and does let any client pick its bucket (the documented risk)', async () => {
    const h = await startHarness();
    const lines: string[] = [];
    const engine = createEngine({ ...testConfig(h.schema, { limits: { rateLimitPerIP: 1 }, server: { trustProxy: true } }), logging: { level: 'warn' } }, { logger: { stream: { write: (l: string) => lines.push(l) } } });
    try {
      const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
      const warning = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.msg.includes('server.trustProxy is true'));
      expect(warning?.level, lines.join('\n')).toBe(40);
      const headers = { authorization: `Bearer ${h.tokens.tenant1}`, 'content-type': 'application/json' };
      for (let i = 0; i < 3; i++) expect((await postFrom(url, '127.0.0.2', { ...headers, 'x-forwarded-for': `203.0.113.${i}` }, JSON.stringify(VALID))).status).toBe(200);
    } finally {
      await engine.close();
      await h.teardown();
    }
  }, 60_000);
});
