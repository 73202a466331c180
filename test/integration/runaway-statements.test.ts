/**
 * Statements that outlive their deadline (issue 11, finding 9), through the HTTP gateway on all
 * three dialects:
 * - what the database cannot stop is refused before it is sent: the review's replace() chains
 *   (MariaDB ignored max_statement_time and every KILL for 45 minutes; Postgres answered only at
 *   the 2 s client backstop), amplifiers, long search patterns;
 * - the costliest search the validator still lets through — a LIKE whose pattern has the maximum
 *   length (limits.maxPatternLength), over a parameter of half a megabyte, once per row of an
 *   endless row source — gets its 408 and leaves the database idle shortly after: Postgres shows
 *   no active backend running it, MariaDB's processlist no statement of the gateway, and the
 *   SQLite process that ran it is gone, its replacement idle.
 * Each statement carries a marker of its own, so only this suite's sessions are inspected.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSqliteAdminSql } from '../../src/drivers/sqlite/sqlite-admin.js';
import { createMysqlFixture, type MysqlFixture } from '../helpers/mysql-fixture.js';
import { describeIfMysql, describeIfPg } from '../helpers/services.js';
import { post, startGateway, startHarness, type Harness, type Sluice } from '../helpers/sluice-harness.js';
import { makeTokens, type TestTokens } from '../helpers/tokens.js';
import { sleep, waitUntil } from '../helpers/wait-until.js';
import { processTicks as cpuTicks } from '../helpers/proc-stat.js';

/** Short, so each runaway statement meets its deadline quickly. */
const QUERY_TIMEOUT = 1000;
/** A row costs |haystack| × |pattern| in code no database interrupts; between rows they all do. */
const HAYSTACK = 'a'.repeat(500_000);
/** The longest pattern limits.maxPatternLength (100) allows, and the worst one for the searches. */
const PATTERN = `%${'a'.repeat(97)}b`;
/** After its 408, a statement must stop within: the rest of a row, plus the cancel backstops (2 s). */
const IDLE_WITHIN_MS = 10_000;

const marker = (): string => `runaway-${randomBytes(6).toString('hex')}`;

/** The review's chain: seven levels of replace(), each growing the value 4 times. */
function replaceChain(inner: string, levels: number): string {
  let e = inner;
  for (let i = 0; i < levels; i++) e = `replace(${e}, 'a', 'aaaa')`;
  return e;
}

interface Answer {
  status: number;
  code: string | undefined;
  ms: number;
}

async function ask(url: string, token: string, body: unknown): Promise<Answer> {
  const started = performance.now();
  const res = await post(url, token, body);
  return { status: res.status, code: res.body?.error?.code, ms: performance.now() - started };
}

describeIfPg('runaway statements on Postgres', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ limits: { queryTimeout: QUERY_TIMEOUT } });
  }, 60_000);

  afterAll(async () => {
    await h?.teardown();
  }, 30_000);

  const active = async (m: string): Promise<number> => {
    const { rows } = await h.fixture.admin.query(
      "select count(*)::int as n from pg_stat_activity where state = 'active' and query like $1 and pid <> pg_backend_pid()",
      [`%${m}%`],
    );
    return rows[0].n as number;
  };

  it('refuses the review\'s replace() chain and the amplifiers before they reach the database', async () => {
    const m = marker();
    const refusals = [
      [`select length(${replaceChain("'a'", 8)}) as n, '${m}' as m`, 400, 'VALUE_GROWTH_EXCEEDED'],
      [`select ''::char(10485760) as x, '${m}' as m from generate_series(1, 60)`, 400, 'VALUE_GROWTH_EXCEEDED'],
      [`select format('%100000000s', '') as x, '${m}' as m`, 400, 'VALUE_GROWTH_EXCEEDED'],
      [`select array_fill('x'::text, array[10000000]) as x, '${m}' as m`, 403, 'FUNCTION_NOT_ALLOWED'],
      [`select strpos($1, $2) as n, '${m}' as m`, 400, 'ARGUMENT_TOO_LONG'],
    ] as const;
    for (const [sql, status, code] of refusals) {
      const params = sql.includes('$2') ? [HAYSTACK, HAYSTACK.slice(0, 200_000)] : [];
      expect(await ask(h.url, h.tokens.tenant1, { sql, params }), sql).toMatchObject({ status, code });
    }
    expect(await active(m)).toBe(0);
  });

  it('a search at the pattern limit answers 408 and the backend is idle again shortly after', async () => {
    const m = marker();
    // `$1 || g` per row: Postgres cannot fold the LIKE into a one-time filter.
    const sql = `select count(*) as n, '${m}' as m from generate_series(1, 1000000000) g where $1 || g like $2`;
    const running = ask(h.url, h.tokens.tenant1, { sql, params: [HAYSTACK, PATTERN] });
    // It does reach Postgres and keeps a backend busy (so the idle check below means something).
    await waitUntil('the statement running in Postgres', async () => (await active(m)) > 0, 5000, 20);
    const answer = await running;
    expect(answer).toMatchObject({ status: 408, code: 'QUERY_TIMEOUT' });
    const answered = performance.now();
    await waitUntil('the backend idle', async () => (await active(m)) === 0, IDLE_WITHIN_MS, 50);
    const idleAfter = performance.now() - answered;
    expect(idleAfter).toBeLessThan(IDLE_WITHIN_MS);
    // The next statement is served as usual.
    expect(await ask(h.url, h.tokens.tenant1, { sql: 'select count(*)::int as n from customers', params: [] })).toMatchObject({ status: 200 });
  }, 30_000);
});

describeIfMysql('runaway statements on MariaDB', () => {
  let fx: MysqlFixture;
  let gateway: Sluice;
  let url: string;
  let tokens: TestTokens;

  beforeAll(async () => {
    fx = await createMysqlFixture();
    gateway = await startGateway({ url: fx.url, max: 2 }, { limits: { queryTimeout: QUERY_TIMEOUT }, workers: { threads: 1 } });
    url = gateway.url;
    tokens = await makeTokens();
  }, 30_000);

  afterAll(async () => {
    await gateway?.close();
    await fx?.drop();
  }, 30_000);

  /** The gateway's sessions still running a statement with marker `m`. */
  const running = async (m: string): Promise<number> => (await fx.sessions(`%${m}%`)).filter((s) => s.command === 'Query').length;

  it("refuses the review's replace() chain, which MariaDB would not stop, and regular expressions", async () => {
    const m = marker();
    const refusals = [
      [`select length(${replaceChain('?', 7)}) as n, '${m}' as m`, ['aaaa'], 403, 'FUNCTION_NOT_ALLOWED'],
      [`select replace(?, 'a', 'bb') as x, '${m}' as m`, [HAYSTACK], 403, 'FUNCTION_NOT_ALLOWED'],
      [`select regexp_like(?, '(a|aa)+$') as x, '${m}' as m`, [HAYSTACK], 403, 'FUNCTION_NOT_ALLOWED'],
      [`select instr(?, ?) as x, '${m}' as m`, [HAYSTACK, HAYSTACK.slice(0, 20_000)], 400, 'ARGUMENT_TOO_LONG'],
      [`select ? like ? as x, '${m}' as m`, [HAYSTACK, `%${'a'.repeat(20_000)}b`], 400, 'ARGUMENT_TOO_LONG'],
    ] as const;
    for (const [sql, params, status, code] of refusals) {
      expect(await ask(url, tokens.tenant1, { sql, params }), sql).toMatchObject({ status, code });
    }
    expect(await running(m)).toBe(0);
  });

  it('a search at the pattern limit answers 408 and no statement of the gateway is left running', async () => {
    const m = marker();
    // 10^6 rows from a recursive CTE (MariaDB stops recursion at 1000 iterations by itself).
    const sql = `with recursive r (n) as (select 1 union all select n + 1 from r where n < 1000)
      select count(*) as n, '${m}' as m from r a, r b where concat(?, a.n) like ?`;
    const answer = ask(url, tokens.tenant1, { sql, params: [HAYSTACK, PATTERN] });
    await waitUntil('the statement running in MariaDB', async () => (await running(m)) > 0, 5000, 20);
    expect(await answer).toMatchObject({ status: 408, code: 'QUERY_TIMEOUT' });
    const answered = performance.now();
    await waitUntil('no statement of the gateway left', async () => (await running(m)) === 0, IDLE_WITHIN_MS, 50);
    expect(performance.now() - answered).toBeLessThan(IDLE_WITHIN_MS);
    expect(await ask(url, tokens.tenant1, { sql: 'select count(*) as n from customers', params: [] })).toMatchObject({ status: 200 });
  }, 30_000);
});

/** The SQLite processes this test process forked (one per worker thread and connection). */
function sqliteProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('sqlite-process')) pids.push(Number(entry));
    } catch {
      // gone while we looked
    }
  }
  return pids;
}

const SQLITE_QUERY_TIMEOUT = 6000;

describe('runaway statements on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-runaway-'));
  const file = join(dir, 'app.db');
  let gateway: Sluice;
  let url: string;
  let tokens: TestTokens;

  beforeAll(async () => {
    runSqliteAdminSql(
      file,
      `create table customers (id integer primary key, tenant_id integer not null, name text not null, email text);
       insert into customers (tenant_id, name, email) values (1, 'T1 Alice', 'a@t1'), (2, 'T2 Bob', 'b@t2');`,
    );
    gateway = await startGateway(file, {
      // Starting a SQLite process counts against the first statement's deadline, and a start cut
      // short by it starts over: on a busy machine that takes seconds.
      limits: { queryTimeout: SQLITE_QUERY_TIMEOUT },
      workers: { threads: 1 },
      permissions: { member: { main: { customers: { select: { columns: ['id', 'tenant_id', 'name', 'email'], filter: { tenant_id: '$claims.tenant_id' } } } } } },
    });
    url = gateway.url;
    tokens = await makeTokens();
    // The SQLite process starts with the first statement.
    await waitUntil('the SQLite process serving', async () => (await ask(url, tokens.tenant1, { sql: 'select count(*) as n from customers', params: [] })).status === 200, 30_000, 100);
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('refuses amplifiers and long search patterns', async () => {
    const refusals = [
      [`select length(${replaceChain("'a'", 6)}) as n`, [], 400, 'VALUE_GROWTH_EXCEEDED'],
      ["select zeroblob(1000000000) as x", [], 403, 'FUNCTION_NOT_ALLOWED'],
      ['select instr(?, ?) as x', [HAYSTACK, HAYSTACK.slice(0, 20_000)], 400, 'ARGUMENT_TOO_LONG'],
    ] as const;
    for (const [sql, params, status, code] of refusals) {
      expect(await ask(url, tokens.tenant1, { sql, params }), sql).toMatchObject({ status, code });
    }
  });

  it('a search at the pattern limit answers 408; the process that ran it is killed and SQLite is idle again', async () => {
    const before = sqliteProcesses();
    expect(before.length).toBeGreaterThan(0);
    const sql = `with recursive r (n) as (select 1 union all select n + 1 from r where n < 1000000000)
      select count(*) as n from r where concat(?, n) like ?`;
    const answer = ask(url, tokens.tenant1, { sql, params: [HAYSTACK, PATTERN] });
    // While it runs, its process burns CPU (a share of a core, on a busy machine less): the idle
    // measure below tells spinning from idle. Ticks are 1/100 s.
    await sleep(300);
    const spinStart = cpuTicks(before);
    await sleep(1500);
    const spinning = cpuTicks(before) - spinStart;
    expect(spinning).toBeGreaterThanOrEqual(8);
    expect(await answer).toMatchObject({ status: 408, code: 'QUERY_TIMEOUT' });
    // The process that ran it is gone …
    await waitUntil('the runaway SQLite process gone', async () => before.some((pid) => !sqliteProcesses().includes(pid)), IDLE_WITHIN_MS, 50);
    // … and whatever SQLite process there is now serves, and is idle (a spinning one burns ~100 ticks a second).
    await waitUntil('a new SQLite process serving', async () => (await ask(url, tokens.tenant1, { sql: 'select count(*) as n from customers', params: [] })).status === 200, IDLE_WITHIN_MS, 100);
    const after = sqliteProcesses();
    await sleep(300);
    const t0 = cpuTicks(after);
    await sleep(1500);
    expect(cpuTicks(after) - t0).toBeLessThan(Math.min(8, spinning));
  }, 30_000);
});
