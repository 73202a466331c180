/**
 * limits.maxResponseBytes through the real gateway (issue 11, finding 8). Found: with the default
 * 30 s timeout, `select ''::char(10485760) from generate_series(1,60)` grew the gateway to 2 GB and
 * ended in a 500 (`Invalid string length` in JSON.stringify). Row caps bound rows, not bytes.
 *
 * Now every driver counts the rows' JSON while they arrive: a read answers the rows that fit with
 * `truncated: true` and is stopped on the server; a read statement that cannot keep one row is a
 * 400 RESULT_TOO_LARGE; a write commits whole and only drops rows. /jobs results take the same path.
 * The engines run in this test process, so its peak RSS is the gateway's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonBytes } from '../../src/drivers/common/response-budget.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { createMysqlFixture, type MysqlFixture } from '../helpers/mysql-fixture.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { describeIfMysql, describeIfPg } from '../helpers/services.js';
import { startDialectEngine, startSqliteEngine, type DialectEngine, type SqliteEngine } from '../helpers/dialect-engine.js';
import { post } from '../helpers/sluice-harness.js';
import { memberPermissions, testConfig } from '../helpers/test-config.js';
import { makeTokens, type TestTokens } from '../helpers/tokens.js';

const MiB = 1024 * 1024;
const own = { tenant_id: '$claims.tenant_id' };

/** The member role of the public contract, plus `notes`: readable and insertable as the tenant's own. */
function permissions(): Record<string, unknown> {
  const p = memberPermissions() as { member: { main: Record<string, unknown> } };
  p.member.main.notes = { select: { columns: '*', filter: own }, insert: { columns: ['body'], set: own } };
  return p;
}

const rowsBytes = (rows: unknown[]): number => rows.reduce((n: number, r) => n + jsonBytes(r) + 1, 0);

async function job(url: string, token: string, body: unknown): Promise<{ state: string; result: { status: number; body: any } }> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const submitted = (await (await fetch(`${url}/jobs`, { method: 'POST', headers, body: JSON.stringify(body) })).json()) as { id: string };
  for (let i = 0; i < 400; i++) {
    const status = (await (await fetch(`${url}/jobs/${submitted.id}`, { headers })).json()) as { state: string };
    if (!['queued', 'running'].includes(status.state)) {
      const res = await fetch(`${url}/jobs/${submitted.id}/result`, { headers });
      return { state: status.state, result: { status: res.status, body: await res.json() } };
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the job did not finish');
}

describeIfPg('maxResponseBytes on Postgres', () => {
  let fixture: PgFixture;
  let tokens: TestTokens;
  let defaults: Engine;
  let defaultsUrl: string;
  let small: Engine;
  let smallUrl: string;

  async function start(limits: Record<string, unknown>): Promise<{ engine: Engine; url: string }> {
    const config = { ...testConfig(fixture.schema, { limits, workers: { threads: 1 } }), permissions: permissions() };
    const engine = createEngine(config, { logger: false });
    const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
    return { engine, url };
  }

  beforeAll(async () => {
    fixture = await createPgFixture();
    const s = fixture.schema;
    // 15 rows of 10 MiB for tenant 1 (TOAST compresses them to almost nothing on disk): the cross
    // join streams 225 of them, 2.2 GiB. Then rows of 100 bytes, and one of 10 KiB.
    await fixture.admin.query(`create table ${s}.notes (id serial primary key, tenant_id int not null, kind text not null default 'copy', body text not null)`);
    await fixture.admin.query(`insert into ${s}.notes (tenant_id, kind, body) select 1, 'huge', repeat('x', ${10 * MiB}) from generate_series(1, 15)`);
    await fixture.admin.query(`insert into ${s}.notes (tenant_id, kind, body) select t, 'small', repeat('s', 100) from generate_series(1, 40), (values (1), (2)) v(t)`);
    await fixture.admin.query(`insert into ${s}.notes (tenant_id, kind, body) values (1, 'wide', repeat('w', 10240))`);
    tokens = await makeTokens();
    ({ engine: defaults, url: defaultsUrl } = await start({}));
    ({ engine: small, url: smallUrl } = await start({ maxResponseBytes: 4096 }));
  }, 120_000);

  afterAll(async () => {
    await defaults?.close();
    await small?.close();
    await fixture?.drop();
  }, 60_000);

  it('the 2 GiB read becomes a bounded 200: the rows that fit, truncated, the server stopped, the gateway\'s memory bounded', async () => {
    const before = process.resourceUsage().maxRSS;
    const res = await post(defaultsUrl, tokens.tenant1, { sql: "select a.body as huge_marker from notes a, notes b where a.kind = 'huge' and b.kind = 'huge'", method: 'all' });
    expect(res.status).toBe(200);
    expect(res.body.truncated).toBe(true);
    // 32 MiB by default: three rows of 10 MiB fit, the fourth does not.
    expect(res.body.rows).toHaveLength(3);
    expect(res.body.rowCount).toBe(3);
    expect(res.text.length).toBeLessThan(32 * MiB + 1024);
    const grownMiB = (process.resourceUsage().maxRSS - before) / 1024;
    // The whole result would be 2.2 GiB of strings before the first byte of JSON.
    expect(grownMiB).toBeLessThan(1024);
    const { rows } = await fixture.admin.query("select count(*)::int as n from pg_stat_activity where state = 'active' and query like '%huge_marker%' and pid <> pg_backend_pid()");
    expect(rows).toEqual([{ n: 0 }]);
  }, 120_000);

  it('a read keeps the rows that fit (4 KiB here) and says truncated; the next request is served', async () => {
    const res = await post(smallUrl, tokens.tenant1, { sql: "select id, body from notes where kind = 'small' order by id", method: 'all' });
    expect(res.status).toBe(200);
    expect(res.body.truncated).toBe(true);
    expect(res.body.rows.length).toBeGreaterThan(10);
    expect(res.body.rows.length).toBeLessThan(40);
    expect(rowsBytes(res.body.rows)).toBeLessThanOrEqual(4096);
    expect(rowsBytes(res.body.rows) + jsonBytes(res.body.rows[0]) + 1).toBeGreaterThan(4096);
    const next = await post(smallUrl, tokens.tenant1, { sql: 'select count(*)::int from notes', method: 'all' });
    expect(next.body.rows).toEqual([[56]]);
  });

  it('a read whose first row does not fit → 400 RESULT_TOO_LARGE', async () => {
    const res = await post(smallUrl, tokens.tenant1, { sql: "select body from notes where kind = 'wide'", method: 'execute' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('RESULT_TOO_LARGE');
  });

  it('a write is never stopped: it commits whole, RETURNING beyond the cap is dropped, rowCount is every row', async () => {
    const res = await post(smallUrl, tokens.tenant2, {
      sql: "insert into notes (body) select n.body from notes n where n.kind = 'small' returning id, body",
      method: 'all',
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.truncated).toBe(true);
    expect(res.body.rowCount).toBe(40);
    expect(res.body.rows.length).toBeLessThan(40);
    const { rows } = await fixture.admin.query(`select count(*)::int as n from ${fixture.schema}.notes where tenant_id = 2`);
    expect(rows).toEqual([{ n: 80 }]);
    // Even a write whose first row does not fit answers 200: it committed.
    const wide = await post(smallUrl, tokens.tenant1, { sql: "insert into notes (body) select body from notes where kind = 'wide' returning body", method: 'all' });
    expect(wide.status).toBe(200);
    expect(wide.body).toMatchObject({ rows: [], rowCount: 1, truncated: true });
  });

  it('one budget for a whole batch: a later statement keeps what is left, or the batch is refused when it keeps nothing', async () => {
    const rows20 = "select body from notes where kind = 'small' and tenant_id = 1 order by id limit 20";
    const res = await post(smallUrl, tokens.tenant1, { batch: [{ sql: rows20, method: 'all' }, { sql: rows20, method: 'all' }] });
    expect(res.status).toBe(200);
    expect(res.body.truncated).toBe(true);
    const [first, second] = res.body.results as Array<{ rows: unknown[]; truncated: boolean }>;
    expect(first!.rows).toHaveLength(20);
    expect(first!.truncated).toBe(false);
    expect(second!.truncated).toBe(true);
    expect(second!.rows.length).toBeGreaterThan(0);
    expect(rowsBytes(first!.rows) + rowsBytes(second!.rows)).toBeLessThanOrEqual(4096);
    const refused = await post(smallUrl, tokens.tenant1, { batch: [{ sql: rows20, method: 'all' }, { sql: rows20, method: 'all' }, { sql: rows20, method: 'all' }] });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('RESULT_TOO_LARGE');
  });

  it('/jobs results are bounded the same way', async () => {
    const done = await job(smallUrl, tokens.tenant1, { sql: "select id, body from notes where kind = 'small' order by id", method: 'execute' });
    expect(done.state).toBe('completed');
    expect(done.result.status).toBe(200);
    expect(done.result.body.truncated).toBe(true);
    expect(rowsBytes(done.result.body.rows)).toBeLessThanOrEqual(4096);
    const tooLarge = await job(smallUrl, tokens.tenant1, { sql: "select body from notes where kind = 'wide'", method: 'execute' });
    expect(tooLarge.state).toBe('failed');
    expect(tooLarge.result.status).toBe(400);
    expect(tooLarge.result.body.error.code).toBe('RESULT_TOO_LARGE');
  });
});

describeIfMysql('maxResponseBytes on MariaDB', () => {
  let fx: MysqlFixture;
  let gw: DialectEngine;

  beforeAll(async () => {
    fx = await createMysqlFixture();
    await fx.admin.query(`CREATE TABLE ${fx.database}.notes (id INT AUTO_INCREMENT PRIMARY KEY, tenant_id INT NOT NULL, kind VARCHAR(10) NOT NULL, body LONGTEXT NOT NULL)`);
    await fx.admin.query(`INSERT INTO ${fx.database}.notes (tenant_id, kind, body) SELECT 1, 'big', REPEAT('x', ${MiB}) FROM seq_1_to_10`);
    await fx.admin.query(`INSERT INTO ${fx.database}.notes (tenant_id, kind, body) VALUES (1, 'wide', REPEAT('w', ${3 * MiB}))`);
    gw = await startDialectEngine({ url: fx.url, max: 2 }, { permissions: permissions(), limits: { maxResponseBytes: 2 * MiB } });
  }, 60_000);

  afterAll(async () => {
    await gw?.engine.close();
    await fx?.drop();
  }, 30_000);

  it('a read of 100 MiB answers the rows that fit, truncated, and its statement is killed', async () => {
    const res = await post(gw.url, gw.tokens.tenant1, { sql: "select a.body as big_marker from notes a, notes b where a.kind = 'big' and b.kind = 'big'", method: 'all' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rowCount: 1, truncated: true });
    expect(res.body.rows).toHaveLength(1);
    expect(await fx.sessions('%big_marker%')).toEqual([]);
  }, 60_000);

  it('a read whose first row does not fit → 400 RESULT_TOO_LARGE', async () => {
    const res = await post(gw.url, gw.tokens.tenant1, { sql: "select body from notes where kind = 'wide'", method: 'execute' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('RESULT_TOO_LARGE');
  });
});

describe('maxResponseBytes on SQLite', () => {
  let gw: SqliteEngine;
  let url: string;
  let tokens: TestTokens;

  beforeAll(async () => {
    gw = await startSqliteEngine(
      `CREATE TABLE customers (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL, name TEXT NOT NULL, email TEXT UNIQUE, secret_note TEXT);
       CREATE TABLE notes (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL, kind TEXT NOT NULL DEFAULT 'copy', body TEXT NOT NULL);
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) INSERT INTO notes (tenant_id, kind, body) SELECT 1, 'small', printf('%.100c', 's') FROM n;
       INSERT INTO notes (tenant_id, kind, body) VALUES (1, 'wide', printf('%.10240c', 'w'));`,
      { permissions: permissions(), limits: { maxResponseBytes: 4096 } },
    );
    ({ url, tokens } = gw);
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
  }, 30_000);

  it('a read keeps the rows that fit and says truncated; a first row too large → 400 RESULT_TOO_LARGE', async () => {
    const res = await post(url, tokens.tenant1, { sql: "select id, body from notes where kind = 'small' order by id", method: 'values' });
    expect(res.status).toBe(200);
    expect(res.body.truncated).toBe(true);
    expect(res.body.rows.length).toBeGreaterThan(10);
    expect(rowsBytes(res.body.rows)).toBeLessThanOrEqual(4096);
    const get = await post(url, tokens.tenant1, { sql: "select body from notes where kind = 'wide'", method: 'get' });
    expect(get.status).toBe(400);
    expect(get.body.error.code).toBe('RESULT_TOO_LARGE');
  });

  it('a write commits whole: RETURNING beyond the cap dropped, rowCount every row', async () => {
    const res = await post(url, tokens.tenant1, { sql: "insert into notes (body) select body from notes where kind = 'small' returning id, body", method: 'all' });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ rowCount: 40, truncated: true });
    const count = await post(url, tokens.tenant1, { sql: 'select count(*) from notes', method: 'values' });
    expect(count.body.rows).toEqual([[81]]);
  });
});
