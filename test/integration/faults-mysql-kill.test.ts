/**
 * Issue 6, fault injection on MariaDB: `KILL QUERY <id>` and `KILL <id>` on the gateway's own
 * sessions while they run. Statements are slow the legitimate way — the test holds a row lock, a
 * pending unique key or a table lock they need — and a session is the gateway's only when its
 * default database is this suite's fresh one and its statement carries this test's marker.
 *
 * Promised: affected requests answer a stable 503 (never 500, never a timeout they did not hit),
 * requests alongside are served, the pool heals by itself, a write answered with an error did not
 * happen and a write answered 200 happened exactly once.
 */
import { randomBytes } from 'node:crypto';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mapMysqlError } from '../../src/drivers/mysql/mysql-errors.js';
import { outOfBounds, tally, type Answer } from '../helpers/answers.js';
import { mixedWriteLoad, NAMES, readsOfBothTenants, trafficAlongside, writeAccounting, wrongReads } from '../helpers/fault-load.js';
import { createMysqlFixture, type MysqlFixture } from '../helpers/mysql-fixture.js';
import { describeIfMysql } from '../helpers/services.js';
import { post, startGateway, type Sluice } from '../helpers/sluice-harness.js';
import { makeTokens, type TestTokens } from '../helpers/tokens.js';
import { sleep, waitUntil } from '../helpers/wait-until.js';

const UNAVAILABLE = { status: 503, code: 'DATABASE_UNAVAILABLE', retryAfter: '2' };

describeIfMysql('faults: MariaDB sessions killed mid-statement', () => {
  let fx: MysqlFixture;
  let gateway: Sluice;
  let url: string;
  let tokens: TestTokens;
  let rowLock: mysql.Connection;
  let tableLock: mysql.Connection;

  beforeAll(async () => {
    fx = await createMysqlFixture();
    rowLock = await fx.connect();
    tableLock = await fx.connect();
    // 2 threads × 4 connections: the blocked statements leave room for the traffic alongside.
    gateway = await startGateway({ url: fx.url, max: 4 }, { limits: { queryTimeout: 15_000 }, workers: { threads: 2 } });
    url = gateway.url;
    tokens = await makeTokens();
  }, 30_000);

  afterAll(async () => {
    await gateway?.close();
    await fx?.drop();
  }, 30_000);

  const requests = (marker: string) => ({
    update: { sql: 'update customers set name = ? where id = 1', params: [`${marker}-upd`] },
    insert: { sql: 'insert into customers (name, email) values (?, ?)', params: [`${marker}-ins`, `${marker}@t1.example`] },
    read: { sql: 'select sku, ? as m from order_items order by id', params: [marker], method: 'execute' },
    batch: {
      batch: [
        { sql: 'insert into orders (customer_id, total) values (3, ?)', params: ['77.70'] },
        { sql: 'update customers set email = ? where id = 1', params: [`${marker}-batch@t1.example`] },
      ],
    },
  });

  async function lockAll(marker: string): Promise<() => Promise<void>> {
    const db = fx.database;
    await rowLock.query('START TRANSACTION');
    await rowLock.query(`SELECT id FROM ${db}.customers WHERE id = 1 FOR UPDATE`);
    await rowLock.query(`INSERT INTO ${db}.customers (tenant_id, name, email) VALUES (1, 'lock holder', ?)`, [`${marker}@t1.example`]);
    await tableLock.query(`LOCK TABLES ${db}.order_items WRITE`);
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await rowLock.query('ROLLBACK');
      await tableLock.query('UNLOCK TABLES');
    };
  }

  async function killScenario(kill: 'KILL' | 'KILL QUERY'): Promise<void> {
    const marker = `k${randomBytes(4).toString('hex')}`;
    const r = requests(marker);
    const release = await lockAll(marker);
    let stopTraffic!: () => void;
    const traffic = trafficAlongside(url, tokens, new Promise<void>((res) => (stopTraffic = res)));
    try {
      const pending = [r.update, r.insert, r.read, r.batch].map((body) => post(url, tokens.tenant1, body));
      const victims = await waitUntil('four gateway statements blocked on the locks', async () => {
        const s = (await fx.sessions(`%${marker}%`)).filter((x) => x.command === 'Query');
        return s.length === 4 && s;
      });
      await sleep(300);
      for (const v of victims) await fx.admin.query(`${kill} ${Number(v.id)}`);
      const answers = await Promise.all(pending);
      for (const a of answers) expect({ status: a.status, code: a.body?.error?.code, retryAfter: a.headers.get('retry-after') }).toEqual(UNAVAILABLE);
      await sleep(300);
    } finally {
      stopTraffic();
      await release();
    }
    expect(wrongReads(await traffic)).toEqual([]);
    const db = fx.database;
    expect(await fx.count(`SELECT count(*) AS n FROM ${db}.customers WHERE name LIKE ? OR email LIKE ?`, [`${marker}%`, `${marker}%`])).toBe(0);
    expect(await fx.count(`SELECT count(*) AS n FROM ${db}.orders WHERE total = 77.70`)).toBe(0);

    // Healed: the same requests succeed now, each applied exactly once.
    const again = await Promise.all([r.update, r.insert, r.read, r.batch].map((body) => post(url, tokens.tenant1, body)));
    expect(again.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    // `execute` of a read answers mysql2's [rows, fields].
    expect(again[2]!.body.rows[0].map((x: { sku: string }) => x.sku)).toEqual(['T1-SKU-A', 'T1-SKU-B', 'T1-SKU-C']);
    expect(await fx.count(`SELECT count(*) AS n FROM ${db}.customers WHERE name = ?`, [`${marker}-ins`])).toBe(1);
    expect(await fx.count(`SELECT count(*) AS n FROM ${db}.customers WHERE id = 1 AND name = ? AND email = ?`, [`${marker}-upd`, `${marker}-batch@t1.example`])).toBe(1);
    expect(await fx.count(`SELECT count(*) AS n FROM ${db}.orders WHERE total = 77.70`)).toBe(1);
    // Put the rows back for the next scenario.
    await fx.admin.query(`UPDATE ${db}.customers SET name = 'T1 Alice', email = 'alice@t1.example' WHERE id = 1`);
    await fx.admin.query(`DELETE FROM ${db}.orders WHERE total = 77.70`);
    await fx.admin.query(`DELETE FROM ${db}.customers WHERE name = ?`, [`${marker}-ins`]);
  }

  it('KILL QUERY mid-statement: 503 DATABASE_UNAVAILABLE (not a timeout), nothing applied, alongside served, heals', async () => {
    await killScenario('KILL QUERY');
  }, 40_000);

  it('KILL (the whole session) mid-statement: 503 DATABASE_UNAVAILABLE, nothing applied, alongside served, heals', async () => {
    await killScenario('KILL');
  }, 40_000);

  it('a KILL storm under load: only correct 200s and clean 503s, batches all-or-nothing, writes at most once, then healed', async () => {
    const db = fx.database;
    const load = mixedWriteLoad(url, tokens, () => '?');
    let kills = 0;
    try {
      const until = Date.now() + 3000;
      while (Date.now() < until) {
        for (const s of await fx.sessions()) {
          kills++;
          // KILL QUERY and KILL alternate; a session that ended meanwhile is "unknown thread" (1094).
          await fx.admin.query(`${kills % 2 ? 'KILL QUERY' : 'KILL'} ${Number(s.id)}`).catch(() => undefined);
        }
        await sleep(100);
      }
    } finally {
      await load.stop();
    }
    const { answers, writes } = load;
    const [rows] = await fx.admin.query(`SELECT name, count(*) AS n FROM ${db}.customers WHERE name LIKE 'storm-%' GROUP BY name`);
    await fx.admin.query(`DELETE FROM ${db}.customers WHERE name LIKE 'storm-%'`);
    console.log(`faults-mysql-kill storm: ${kills} kills, answers ${JSON.stringify(tally(answers))}`);
    expect(kills).toBeGreaterThan(0);
    expect(outOfBounds(answers, ['200', '503 DATABASE_UNAVAILABLE', '503 CIRCUIT_OPEN'])).toEqual([]);
    expect(wrongReads(answers.filter((a) => (a.label === 't1' || a.label === 't2') && a.status === 200))).toEqual([]);

    const { misapplied, strangers } = writeAccounting(writes, new Map((rows as Array<{ name: string; n: number }>).map((r) => [r.name, Number(r.n)])));
    expect(misapplied).toEqual([]);
    expect(strangers).toEqual([]);

    await waitUntil('reads served again', async () => (await post(url, tokens.tenant2, NAMES)).status === 200, 20_000, 200);
    expect(wrongReads(await readsOfBothTenants(url, tokens, 8))).toEqual([]);
  }, 40_000);

  it('a server error that ends the session (MariaDB 1927 ER_CONNECTION_KILLED) is DATABASE_UNAVAILABLE, not a 500', () => {
    // MariaDB 10.11 closes a killed session without it here; other versions and states send 1927.
    const killed = Object.assign(new Error('Connection was killed'), { errno: 1927, sqlState: '70100', code: 'ER_CONNECTION_KILLED', fatal: true });
    expect(mapMysqlError(killed).code).toBe('DATABASE_UNAVAILABLE');
  });

  it('idle sessions killed between requests: the next requests are served', async () => {
    await Promise.all(Array.from({ length: 8 }, () => post(url, tokens.tenant1, NAMES)));
    const idle = (await fx.sessions()).filter((s) => s.command === 'Sleep');
    expect(idle.length).toBeGreaterThan(0);
    for (const s of idle) await fx.admin.query(`KILL ${Number(s.id)}`);
    await waitUntil('the killed sessions to be gone', async () => {
      const left = new Set((await fx.sessions()).map((s) => s.id));
      return idle.every((s) => !left.has(s.id));
    });
    const answers: Answer[] = [];
    for (let round = 0; round < 3; round++) answers.push(...(await readsOfBothTenants(url, tokens, 8)));
    expect(wrongReads(answers)).toEqual([]);
  });
});
