/**
 * Horizontal scale with real processes: one `sluice api` and `sluice worker`s (spawned from
 * source) on the local Redis. Kills workers mid-load and mid-write and checks what the issue
 * promises: no accepted request lost or answered wrongly; reads retried on another worker;
 * writes never re-run (WORKER_LOST); SIGTERM exits 0.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCli, type CliProcess } from '../helpers/cli-process.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { describeIfPg, describeIfRedis, dropRedisPrefix, REDIS_URL } from '../helpers/services.js';
import { post } from '../helpers/sluice-harness.js';
import { testConfig } from '../helpers/test-config.js';
import { makeTokens, type TestTokens } from '../helpers/tokens.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describeIfRedis('queue mode processes', () => {
  describeIfPg('one api + two workers', () => {
    let fixture: PgFixture;
    let dir: string;
    let configFile: string;
    let api: CliProcess;
    let url: string;
    let tokens: TestTokens;
    const prefix = `test-${randomUUID()}`;
    const procs: CliProcess[] = [];

    const startWorker = async (): Promise<CliProcess> => {
      const w = startCli(['worker', '--config', configFile, '--threads', '1']);
      procs.push(w);
      await w.waitFor(/worker ready/);
      return w;
    };
    const activeSleeps = async (pattern: string): Promise<number> =>
      (await fixture.admin.query("select count(*)::int as n from pg_stat_activity where state = 'active' and application_name = 'sluice' and query like $1", [pattern])).rows[0].n;

    beforeAll(async () => {
      fixture = await createPgFixture();
      dir = mkdtempSync(join(tmpdir(), 'sluice-queue-'));
      configFile = join(dir, 'config.json');
      const config = {
        ...testConfig(fixture.schema, { workers: { threads: 1 }, connection: { max: 2 }, queue: { redis: REDIS_URL, prefix, lockDurationMs: 2000 } }),
        sql: { allowFunctions: ['pg_sleep'] },
        logging: { level: 'info' },
      };
      writeFileSync(configFile, JSON.stringify(config));
      tokens = await makeTokens();
      api = startCli(['api', '--config', configFile, '--port', '0']);
      procs.push(api);
      url = (await api.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    }, 60_000);

    afterAll(async () => {
      for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
      await fixture?.drop();
      await dropRedisPrefix(prefix);
      rmSync(dir, { recursive: true, force: true });
    });

    it('sluice api refuses a config without queue.redis, clearly', async () => {
      const plain = join(dir, 'plain.json');
      writeFileSync(plain, JSON.stringify(testConfig(fixture.schema)));
      const p = startCli(['api', '--config', plain]);
      expect(await p.exited).toBe(2);
      expect(p.output()).toMatch(/sluice api needs "queue": \{ "redis"/);
    });

    it('serves /data under load and loses nothing when a worker is killed mid-load', async () => {
      const a = await startWorker();
      await startWorker();
      const q = { sql: 'select name, pg_sleep(0.05)::text as s from customers order by id', method: 'execute' };
      const expected = ['T1 Alice', 'T1 Carol', 'T1 Erin'];
      const answers: Array<{ status: number; names?: string[]; code?: string }> = [];
      let next = 0;
      const total = 120;
      const client = async (): Promise<void> => {
        while (next < total) {
          next++;
          if (next === 30) a.child.kill('SIGKILL');
          const r = await post(url, tokens.tenant1, q);
          answers.push({ status: r.status, names: r.body?.rows?.map((x: { name: string }) => x.name), code: r.body?.error?.code });
        }
      };
      await Promise.all(Array.from({ length: 8 }, client));
      expect(await a.exited).toBe('SIGKILL');
      expect(answers).toHaveLength(total);
      const wrong = answers.filter((x) => x.status !== 200 || JSON.stringify(x.names) !== JSON.stringify(expected));
      expect(wrong).toEqual([]);
    }, 60_000);

    it('a write whose worker dies mid-statement is never re-run: WORKER_LOST', async () => {
      // Only the workers started here are alive: kill them all but one.
      for (const p of procs.slice(1)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
      const victim = await startWorker();
      const marker = `w-${randomUUID().slice(0, 8)}`;
      const pending = post(url, tokens.tenant1, { sql: 'insert into customers (name, email) values ($1, $2 || pg_sleep(1.5)::text)', params: [marker, `${marker}@x`] });
      for (let i = 0; i < 200 && (await activeSleeps('%pg_sleep(1.5)%')) === 0; i++) await sleep(25);
      expect(await activeSleeps('%pg_sleep(1.5)%')).toBe(1);
      victim.child.kill('SIGKILL');
      await startWorker();
      const r = await pending;
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('WORKER_LOST');
      await sleep(2000);
      const rows = await fixture.admin.query(`select count(*)::int as n from ${fixture.schema}.customers where name = $1`, [marker]);
      expect(rows.rows[0].n).toBeLessThanOrEqual(1);
    }, 60_000);

    it('a read whose worker dies mid-statement is retried once on another worker', async () => {
      const victim = procs.at(-1)!;
      const pending = post(url, tokens.tenant1, { sql: 'select name, pg_sleep(1.2)::text as s from customers where id = 1', method: 'execute' });
      for (let i = 0; i < 200 && (await activeSleeps('%pg_sleep(1.2)%')) === 0; i++) await sleep(25);
      victim.child.kill('SIGKILL');
      await startWorker();
      const r = await pending;
      expect(r.status).toBe(200);
      expect(r.body.rows).toEqual([{ name: 'T1 Alice', s: '' }]);
    }, 60_000);

    it('SIGTERM: worker and api stop gracefully and exit 0', async () => {
      const w = procs.at(-1)!;
      const running = post(url, tokens.tenant1, { sql: 'select pg_sleep(0.5)::text as s', method: 'execute' });
      await sleep(150);
      w.child.kill('SIGTERM');
      api.child.kill('SIGTERM');
      expect((await running).status).toBe(200);
      expect(await w.exited).toBe(0);
      expect(await api.exited).toBe(0);
    }, 60_000);
  });
});
