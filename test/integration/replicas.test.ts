/**
 * Read replicas (src/drivers/common/replica-driver.ts) on real databases. There is no real replica
 * here, so each "replica" is the same server reached through a URL whose sessions can be told
 * apart: on Postgres its own application_name, on MariaDB its own login user. Every statement
 * below reports where it ran (current_setting('application_name') / current_user()).
 *
 * Proved per dialect: reads go to the replicas (round-robin) in `always` mode, writes and mixed
 * batches never do, `overflow` diverts only while the primary's pool is full (held by a long
 * statement, so utilization is driven deterministically), an unreachable replica falls back to the
 * primary (and is skipped afterwards), and a replica that fails after the statement started is
 * answered as is — the primary never runs it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MysqlConnectionConfig, PostgresConnectionConfig } from '../../src/config/types.js';
import { withReplicas } from '../../src/drivers/common/replica-driver.js';
import type { Driver, ExecuteBatchRequest, ExecuteRequest } from '../../src/drivers/driver.js';
import { createMysqlDriver } from '../../src/drivers/mysql/mysql-driver.js';
import { createPgDriver } from '../../src/drivers/pg/pg-driver.js';
import { createDriver } from '../../src/pool/create-driver.js';
import { MYSQL_URL, PG_URL, createTestSchema, describeIfMysql, describeIfPg } from '../helpers/services.js';
import { failure } from '../helpers/sluice-failure.js';

const log = (): void => undefined;

function req(sql: string, o: Partial<ExecuteRequest> = {}): ExecuteRequest {
  return { jobId: randomUUID(), sql, params: [], method: 'all', claims: { tenant_id: 1 }, timeoutMs: 5000, maxRows: 100, maxResponseBytes: 1 << 20, readOnly: true, ...o };
}

function batch(statements: ExecuteBatchRequest['statements'], readOnly: boolean): ExecuteBatchRequest {
  return { jobId: randomUUID(), statements, claims: { tenant_id: 1 }, timeoutMs: 5000, maxRows: 100, maxResponseBytes: 1 << 20, readOnly };
}

/** A driver that counts the statements it was asked to run (to prove the primary never saw one). */
function counted(d: Driver): Driver & { calls: () => number } {
  let n = 0;
  return {
    ...d,
    execute: (r) => (n++, d.execute(r)),
    executeBatch: (r) => (n++, d.executeBatch(r)),
    calls: () => n,
  };
}

async function waitFor(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What a dialect needs to run the same cases. */
interface Setup {
  /** Where the statement ran, as its first column. */
  whereSql: string;
  /** A write that also answers where it ran (or at least runs on the lease it got). */
  writeSql: () => string;
  /** The "where" value of the primary's sessions and of replica i. */
  primaryTag: string;
  replicaTag(i: number): string;
  /** A driver over `replicas` replica URLs (the first `n` of them), built through createDriver. */
  driver(o: { replicas: number; reads?: 'always' | 'overflow'; utilization?: number; max?: number }): Driver;
  /** Raw drivers (no decorator) for the primary and replica 0, and an unreachable replica. */
  rawPrimary(): Driver;
  rawReplica(): Driver;
  rawDown(): Driver;
  sleepSql: (seconds: number) => string;
  /** Kill the replica session currently running sleepSql. */
  killRunningOnReplica(): Promise<boolean>;
}

/** Setup.driver over `base`: the first `o.replicas` of the replica URLs, and the routing asked for. */
function replicatedDriver(base: PostgresConnectionConfig | MysqlConnectionConfig, replicaUrl: (i: number) => string): Setup['driver'] {
  return (o) =>
    createDriver(
      {
        ...base,
        max: o.max ?? base.max,
        replicas: [0, 1].slice(0, o.replicas).map(replicaUrl),
        ...(o.reads && { replicaReads: o.reads }),
        ...(o.utilization !== undefined && { replicaUtilization: o.utilization }),
      },
      log,
    );
}

function replicaCases(name: string, describeIf: typeof describeIfPg, make: () => Promise<Setup & { teardown(): Promise<void> }>): void {
  describeIf(`read replicas: ${name}`, () => {
    let s: Setup & { teardown(): Promise<void> };
    beforeAll(async () => {
      s = await make();
    }, 30_000);
    afterAll(async () => {
      await s?.teardown();
    });

    async function ranOn(d: Driver, r: ExecuteRequest): Promise<string> {
      const out = await d.execute(r);
      return String((out.rows[0] as unknown[])[0]);
    }

    it('always: reads go to the replicas round-robin; writes and mixed batches stay on the primary', async () => {
      const d = s.driver({ replicas: 2 });
      try {
        const reads = [];
        for (let i = 0; i < 4; i++) reads.push(await ranOn(d, req(s.whereSql)));
        expect(reads).toEqual([s.replicaTag(0), s.replicaTag(1), s.replicaTag(0), s.replicaTag(1)]);
        // The same statement, not read-only: the primary.
        expect(await ranOn(d, req(s.whereSql, { readOnly: false, method: 'all' }))).toBe(s.primaryTag);
        const write = await d.execute(req(s.writeSql(), { readOnly: false, method: 'execute' }));
        expect(write.rowCount).toBe(1);
        const readBatch = await d.executeBatch(batch([{ sql: s.whereSql, params: [], method: 'all' }, { sql: s.whereSql, params: [], method: 'all' }], true));
        expect(readBatch.results.map((r) => String((r.rows[0] as unknown[])[0]))).toEqual([s.replicaTag(0), s.replicaTag(0)]);
        const mixed = await d.executeBatch(batch([{ sql: s.writeSql(), params: [], method: 'execute' }, { sql: s.whereSql, params: [], method: 'all' }], false));
        expect(String((mixed.results[1]!.rows[0] as unknown[])[0])).toBe(s.primaryTag);
        // stats() is the primary's.
        expect(d.stats().max).toBe(2);
      } finally {
        await d.close();
      }
    });

    it('overflow: a read is diverted only while the primary is above replicaUtilization; a write waits for the primary', async () => {
      const d = s.driver({ replicas: 1, reads: 'overflow', utilization: 0.5, max: 1 });
      try {
        expect(await ranOn(d, req(s.whereSql))).toBe(s.primaryTag);
        // Hold the primary's only connection with a long write-marked statement: utilization 1/1.
        const hog = req(s.sleepSql(10), { readOnly: false, timeoutMs: 15_000 });
        const hogging = failure(d.execute(hog));
        await waitFor('the primary lease', () => d.stats().active === 1);
        expect(await ranOn(d, req(s.whereSql))).toBe(s.replicaTag(0));
        const write = await failure(d.execute(req(s.writeSql(), { readOnly: false, method: 'execute', timeoutMs: 300 })));
        expect(write.code).toBe('QUERY_TIMEOUT'); // it queued for the primary, not the replica
        await d.cancel(hog.jobId);
        expect((await hogging).code).toBe('CLIENT_CLOSED');
        await waitFor('the primary to be free', () => d.stats().active === 0);
        expect(await ranOn(d, req(s.whereSql))).toBe(s.primaryTag);
      } finally {
        await d.close();
      }
    });

    it('an unreachable replica: the read runs on the primary, and the replica is skipped for a while', async () => {
      const down = counted(s.rawDown());
      const d = withReplicas(s.rawPrimary(), [down], { reads: 'always', utilization: 0.85 }, log);
      try {
        expect(await ranOn(d, req(s.whereSql))).toBe(s.primaryTag);
        expect(down.calls()).toBe(1);
        expect(await ranOn(d, req(s.whereSql))).toBe(s.primaryTag);
        expect(down.calls()).toBe(1);
      } finally {
        await d.close();
      }
    });

    it('a replica that fails after the statement started: DATABASE_UNAVAILABLE, never re-run on the primary', async () => {
      const primary = counted(s.rawPrimary());
      const d = withReplicas(primary, [s.rawReplica()], { reads: 'always', utilization: 0.85 }, log);
      try {
        const running = failure(d.execute(req(s.sleepSql(5), { timeoutMs: 10_000 })));
        await waitFor('the statement on the replica', () => s.killRunningOnReplica());
        const err = await running;
        expect(err.code).toBe('DATABASE_UNAVAILABLE');
        expect(err.message).not.toMatch(/127\.0\.0\.1|sluice_rep/);
        expect(primary.calls()).toBe(0);
      } finally {
        await d.close();
      }
    });
  });
}

replicaCases('pg', describeIfPg, async () => {
  const admin = new pg.Pool({ connectionString: PG_URL, max: 2, application_name: 'sluice-test-admin' });
  const { schema, drop } = await createTestSchema(admin);
  await admin.query(`create table ${schema}.items (id serial primary key, note text)`);
  const tag = randomBytes(4).toString('hex');
  const replicaUrl = (i: number): string => {
    const u = new URL(PG_URL);
    u.searchParams.set('application_name', `sluice_rep_${tag}_${i}`);
    return u.toString();
  };
  const base: PostgresConnectionConfig = { dialect: 'postgres', url: PG_URL, max: 2, schema, idleTimeoutMs: 0, connectionTimeoutMs: 2000 };
  return {
    whereSql: "select current_setting('application_name')",
    writeSql: () => `insert into ${schema}.items (note) values ('w')`,
    primaryTag: 'sluice',
    replicaTag: (i) => `sluice_rep_${tag}_${i}`,
    driver: replicatedDriver(base, replicaUrl),
    rawPrimary: () => createPgDriver(base, log),
    rawReplica: () => createPgDriver({ ...base, url: replicaUrl(0) }, log),
    rawDown: () => createPgDriver({ ...base, url: 'postgres://postgres@127.0.0.1:1/test' }, log),
    sleepSql: (n) => `select pg_sleep(${n})`,
    async killRunningOnReplica() {
      const { rows } = await admin.query(
        "select pg_terminate_backend(pid) as killed from pg_stat_activity where application_name = $1 and state = 'active' and query like 'select pg_sleep%'",
        [`sluice_rep_${tag}_0`],
      );
      return rows.length > 0;
    },
    async teardown() {
      await drop();
      await admin.end();
    },
  };
});

replicaCases('mysql2 (MariaDB)', describeIfMysql, async () => {
  const admin = await mysql.createConnection({ uri: MYSQL_URL });
  const database = new URL(MYSQL_URL).pathname.slice(1);
  const tag = randomBytes(4).toString('hex');
  const table = `items_${tag}`;
  const users = [0, 1].map((i) => `sluice_rep_${tag}_${i}`);
  await admin.query(`create table ${table} (id int auto_increment primary key, note varchar(20))`);
  for (const u of users) {
    await admin.query(`create user '${u}'@'127.0.0.1'`);
    await admin.query(`grant all on \`${database}\`.* to '${u}'@'127.0.0.1'`);
  }
  const replicaUrl = (i: number): string => {
    const u = new URL(MYSQL_URL);
    u.username = users[i]!;
    u.password = '';
    return u.toString();
  };
  const base: MysqlConnectionConfig = { dialect: 'mysql', url: MYSQL_URL, max: 2, schema: database, idleTimeoutMs: 0, connectionTimeoutMs: 2000, tenantClaim: 'tenant_id' };
  const primaryUser = String(((await admin.query('select current_user() as u')) as unknown as [[{ u: string }]])[0][0].u);
  return {
    whereSql: 'select current_user()',
    writeSql: () => `insert into ${table} (note) values ('w')`,
    primaryTag: primaryUser,
    replicaTag: (i) => `${users[i]}@127.0.0.1`,
    driver: replicatedDriver(base, replicaUrl),
    rawPrimary: () => createMysqlDriver(base, log),
    rawReplica: () => createMysqlDriver({ ...base, url: replicaUrl(0) }, log),
    rawDown: () => createMysqlDriver({ ...base, url: 'mysql://root@127.0.0.1:1/test' }, log),
    sleepSql: (n) => `select sleep(${n})`,
    async killRunningOnReplica() {
      const [rows] = (await admin.query("select id from information_schema.processlist where user = ? and info like 'select sleep%'", [users[0]])) as unknown as [{ id: number }[]];
      for (const r of rows) await admin.query(`kill connection ${Number(r.id)}`);
      return rows.length > 0;
    },
    async teardown() {
      await admin.query(`drop table if exists ${table}`);
      for (const u of users) await admin.query(`drop user if exists '${u}'@'127.0.0.1'`);
      await admin.end();
    },
  };
});
