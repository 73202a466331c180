/**
 * Connection lifecycle on real databases (config maxUses, maxLifetimeMs, validateAfterIdleMs):
 * which physical connection served each lease is read from the server (pg_backend_pid() /
 * CONNECTION_ID()), on a pool of one connection so "the next lease" has no other choice.
 *
 * - maxUses: a connection serves exactly that many leases, then a new one is opened, and the old
 *   one is really closed on the server.
 * - maxLifetimeMs: a connection older than that is not reused — whether it aged while idle or
 *   during a lease (then it is closed on release).
 * - A connection killed while idle is replaced without the next lease noticing.
 * - A connection that died silently (a TCP proxy that swallows every byte, as a NAT that forgot the
 *   flow) is found by the checkout ping and replaced; with validation off, the same lease waits for
 *   the backstop and fails — the ping is what saves it. MySQL: a statement on such a connection
 *   ends (QUERY_TIMEOUT) instead of hanging forever.
 */
import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MysqlConnectionConfig, PostgresConnectionConfig } from '../../src/config/types.js';
import type { Driver, ExecuteRequest } from '../../src/drivers/driver.js';
import { createMysqlDriver } from '../../src/drivers/mysql/mysql-driver.js';
import { createPgDriver } from '../../src/drivers/pg/pg-driver.js';
import { startFreezeProxy, viaProxy } from '../helpers/freeze-proxy.js';
import { MYSQL_URL, PG_URL, describeIfMysql, describeIfPg } from '../helpers/services.js';
import { failure } from '../helpers/sluice-failure.js';

const logs: string[] = [];
const log = (msg: string): void => void logs.push(msg);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function req(sql: string, o: Partial<ExecuteRequest> = {}): ExecuteRequest {
  return { jobId: randomUUID(), sql, params: [], method: 'all', claims: { tenant_id: 1 }, timeoutMs: 5000, maxRows: 10, maxResponseBytes: 1 << 20, readOnly: true, ...o };
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

interface Dialect {
  /** Answers the id of the session it ran on. */
  idSql: string;
  /** Answers the session id after sleeping `seconds`. */
  idAfterSleepSql(seconds: number): string;
  driver(o: { url?: string; maxUses?: number; maxLifetimeMs?: number; validateAfterIdleMs?: number; connectionTimeoutMs?: number }): Driver;
  /** Is a session with this id still open on the server? */
  alive(id: number): Promise<boolean>;
  kill(id: number): Promise<void>;
  port: number;
  url: string;
}

function lifecycleCases(name: string, describeIf: typeof describeIfPg, make: () => Promise<Dialect & { teardown(): Promise<void> }>): void {
  describeIf(`connection lifecycle: ${name}`, () => {
    let d: Dialect & { teardown(): Promise<void> };
    beforeAll(async () => {
      d = await make();
    });
    afterAll(async () => {
      await d?.teardown();
    });

    async function idOf(driver: Driver, sql = d.idSql): Promise<number> {
      const r = await driver.execute(req(sql));
      return Number((r.rows[0] as unknown[])[0]);
    }

    it('maxUses: a connection serves that many leases, then is closed and replaced', async () => {
      const driver = d.driver({ maxUses: 3 });
      try {
        const ids: number[] = [];
        for (let i = 0; i < 7; i++) ids.push(await idOf(driver));
        const [a, b, c] = [ids[0]!, ids[3]!, ids[6]!];
        expect(ids).toEqual([a, a, a, b, b, b, c]);
        expect(new Set([a, b, c]).size).toBe(3);
        await waitFor('the spent connections to close', async () => !(await d.alive(a)) && !(await d.alive(b)));
      } finally {
        await driver.close();
      }
    });

    it('maxLifetimeMs: a connection that aged while idle is not reused', async () => {
      const driver = d.driver({ maxLifetimeMs: 400 });
      try {
        const a = await idOf(driver);
        expect(await idOf(driver)).toBe(a);
        await sleep(600);
        const b = await idOf(driver);
        expect(b).not.toBe(a);
        await waitFor('the expired connection to close', async () => !(await d.alive(a)));
      } finally {
        await driver.close();
      }
    });

    it('maxLifetimeMs: a connection that aged during a lease is closed on release', async () => {
      const driver = d.driver({ maxLifetimeMs: 300 });
      try {
        const a = await idOf(driver, d.idAfterSleepSql(0.6));
        const b = await idOf(driver);
        expect(b).not.toBe(a);
        await waitFor('the expired connection to close', async () => !(await d.alive(a)));
      } finally {
        await driver.close();
      }
    });

    it('a connection killed while idle is replaced transparently on checkout', async () => {
      const driver = d.driver({});
      try {
        const a = await idOf(driver);
        await d.kill(a);
        await waitFor('the killed session to go', async () => !(await d.alive(a)));
        const b = await idOf(driver);
        expect(b).not.toBe(a);
      } finally {
        await driver.close();
      }
    });

    it('a connection that died silently while idle is found by the checkout ping and replaced', { timeout: 30_000 }, async () => {
      // The ping's deadline is the connect timeout (500 ms here), so this takes about that long.
      const proxy = await startFreezeProxy(d.port);
      const driver = d.driver({ url: viaProxy(d.url, proxy), validateAfterIdleMs: 50, connectionTimeoutMs: 500 });
      try {
        const a = await idOf(driver);
        proxy.freezeAll();
        await sleep(100);
        const b = await idOf(driver);
        expect(b).not.toBe(a);
        expect(logs.some((m) => m.includes('stale') && m.includes('replaced at checkout'))).toBe(true);
      } finally {
        await driver.close();
        await proxy.close();
      }
    });

    it('without validation, the same dead connection costs the lease (the control case)', { timeout: 30_000 }, async () => {
      const proxy = await startFreezeProxy(d.port);
      const driver = d.driver({ url: viaProxy(d.url, proxy), validateAfterIdleMs: 0, connectionTimeoutMs: 500 });
      try {
        await idOf(driver);
        proxy.freezeAll();
        await sleep(100);
        // Not a hang: the backstop (timeout + 2 s, then for MySQL + 2 s after KILL QUERY) ends it.
        const err = await failure(driver.execute(req(d.idSql, { timeoutMs: 300 })));
        expect(err.code).toBe('QUERY_TIMEOUT');
        // The dead connection was destroyed, not returned: the next lease works.
        expect(await idOf(driver)).toBeGreaterThan(0);
      } finally {
        await driver.close();
        await proxy.close();
      }
    });
  });
}

lifecycleCases('pg', describeIfPg, async () => {
  const admin = new pg.Pool({ connectionString: PG_URL, max: 1, application_name: 'sluice-test-admin' });
  const url = new URL(PG_URL);
  return {
    idSql: 'select pg_backend_pid()',
    idAfterSleepSql: (s) => `select pg_backend_pid() from pg_sleep(${s})`,
    driver: (o) => {
      const { url: u, ...rest } = o;
      const conn: PostgresConnectionConfig = { dialect: 'postgres', url: u ?? PG_URL, max: 1, schema: 'public', idleTimeoutMs: 0, connectionTimeoutMs: 2000, ...rest };
      return createPgDriver(conn, log);
    },
    alive: async (pid) => (await admin.query('select 1 from pg_stat_activity where pid = $1', [pid])).rows.length > 0,
    kill: async (pid) => void (await admin.query('select pg_terminate_backend($1)', [pid])),
    port: Number(url.port || 5432),
    url: PG_URL,
    teardown: () => admin.end(),
  };
});

lifecycleCases('mysql2 (MariaDB)', describeIfMysql, async () => {
  const admin = await mysql.createConnection({ uri: MYSQL_URL });
  const database = new URL(MYSQL_URL).pathname.slice(1);
  return {
    idSql: 'select connection_id()',
    idAfterSleepSql: (s) => `select connection_id() from (select sleep(${s})) as s`,
    driver: (o) => {
      const { url: u, ...rest } = o;
      const conn: MysqlConnectionConfig = { dialect: 'mysql', url: u ?? MYSQL_URL, max: 1, schema: database, idleTimeoutMs: 0, connectionTimeoutMs: 2000, tenantClaim: 'tenant_id', ...rest };
      return createMysqlDriver(conn, log);
    },
    alive: async (id) => ((await admin.query('select 1 from information_schema.processlist where id = ?', [id])) as unknown as [unknown[]])[0].length > 0,
    kill: async (id) => void (await admin.query(`kill connection ${Number(id)}`)),
    port: Number(new URL(MYSQL_URL).port || 3306),
    url: MYSQL_URL,
    teardown: () => admin.end(),
  };
});
