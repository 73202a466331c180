/**
 * Issue 6, fault injection, extending test/integration/queue-processes.test.ts: that suite kills a
 * queue worker process under a load of reads only, and a lone write. Here the load mixes reads and
 * writes, so what a dead worker does to writes under load is checked too: one `sluice api` and two
 * `sluice worker` processes (spawned from source) on the shared Redis under a fresh prefix; one
 * worker is SIGKILLed at the moment it runs a write (its sessions carry their own
 * application_name, so the test sees what it runs).
 *
 * Promised: every answer is a correct 200 or 503 WORKER_LOST (reads are re-run on the other
 * worker; a write is never re-run); a write answered 200 happened exactly once, a write answered
 * WORKER_LOST at most once.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { answerOf, outOfBounds, tally, type Answer } from '../helpers/answers.js';
import { T1_NAMES, writeAccounting } from '../helpers/fault-load.js';
import { startCli, type CliProcess } from '../helpers/cli-process.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { describeIfPg, describeIfRedis, dropRedisPrefix, REDIS_URL } from '../helpers/services.js';
import { post } from '../helpers/sluice-harness.js';
import { testConfig } from '../helpers/test-config.js';
import { makeTokens, type TestTokens } from '../helpers/tokens.js';
import { sleep, waitUntil } from '../helpers/wait-until.js';

// pg_sleep (allowed through sql.allowFunctions, as in queue-processes) keeps each worker busy, so
// the kill always lands on running statements. Writes insert ids > 100; reads look below that.
const READ = { sql: 'select name, pg_sleep(0.05)::text as s from customers where id < $1 order by id', params: [100], method: 'execute' };

interface Write {
  marker: string;
  answer: Answer;
}

describeIfRedis('faults: a queue worker process killed under mixed load', () => {
  describeIfPg('one api + two workers', () => {
    let fixture: PgFixture;
    let dir: string;
    let url: string;
    let tokens: TestTokens;
    let victim: CliProcess;
    const prefix = `test-${randomUUID()}`;
    const procs: CliProcess[] = [];
    const VICTIM_APP = `sluice-victim-${randomBytes(4).toString('hex')}`;

    const start = (args: string[]): CliProcess => {
      const p = startCli(args);
      procs.push(p);
      return p;
    };

    beforeAll(async () => {
      fixture = await createPgFixture();
      dir = mkdtempSync(join(tmpdir(), 'sluice-faults-'));
      const config = (appName?: string): string => {
        const raw = testConfig(fixture.schema, { workers: { threads: 1 }, connection: { max: 2 }, queue: { redis: REDIS_URL, prefix, lockDurationMs: 2000 } });
        const connections = raw.connections as { main: { url: string } };
        if (appName !== undefined) {
          const u = new URL(connections.main.url);
          u.searchParams.set('application_name', appName);
          connections.main.url = u.toString();
        }
        const file = join(dir, `${appName ?? 'config'}.json`);
        writeFileSync(file, JSON.stringify({ ...raw, sql: { allowFunctions: ['pg_sleep'] }, logging: { level: 'info' } }));
        return file;
      };
      const plain = config();
      const victimFile = config(VICTIM_APP);
      tokens = await makeTokens();
      // All three start at once: spawning from source is the slow part.
      const api = start(['api', '--config', plain, '--port', '0']);
      victim = start(['worker', '--config', victimFile, '--threads', '1']);
      const other = start(['worker', '--config', plain, '--threads', '1']);
      const [listening] = await Promise.all([
        api.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 45_000),
        victim.waitFor(/worker ready/, 45_000),
        other.waitFor(/worker ready/, 45_000),
      ]);
      url = listening[1]!;
    }, 60_000);

    afterAll(async () => {
      for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await fixture?.drop();
      await dropRedisPrefix(prefix);
      rmSync(dir, { recursive: true, force: true });
    });

    const victimRunsWrite = async (): Promise<boolean> => {
      const { rows } = await fixture.admin.query(
        "select count(*)::int as n from pg_stat_activity where application_name = $1 and state = 'active' and query like 'INSERT%'",
        [VICTIM_APP],
      );
      return rows[0].n > 0;
    };

    it('reads served (re-run once), writes never twice: only correct 200s and 503 WORKER_LOST', async () => {
      const reads: Answer[] = [];
      const writes: Write[] = [];
      let stopped = false;
      let i = 0;
      const client = async (): Promise<void> => {
        while (!stopped) {
          const n = i++;
          const t = performance.now();
          if (n % 3 === 0) {
            const marker = `w${n}-${randomBytes(3).toString('hex')}`;
            const r = await post(url, tokens.tenant1, { sql: 'insert into customers (name, email) values ($1, $2 || pg_sleep(0.3)::text)', params: [marker, `${marker}@t1.example`] });
            writes.push({ marker, answer: answerOf('write', r, performance.now() - t) });
          } else {
            reads.push(answerOf('read', await post(url, tokens.tenant1, READ), performance.now() - t));
          }
        }
      };
      const load = Promise.all(Array.from({ length: 6 }, client));
      try {
        await waitUntil('both workers serving', async () => reads.length + writes.length >= 12, 20_000);
        await waitUntil('the victim running a write', victimRunsWrite, 10_000, 10);
        victim.child.kill('SIGKILL');
        expect(await victim.exited).toBe('SIGKILL');
        // Long enough for the stalled check (1.5 × lockDurationMs) and the re-runs after it.
        await sleep(5000);
      } finally {
        stopped = true;
        await load;
      }

      const all = [...reads, ...writes.map((w) => w.answer)];
      console.log(`faults-worker-process: ${all.length} answers ${JSON.stringify(tally(all))}, reads ${JSON.stringify(tally(reads))}`);
      // Reads: the dead worker's reads ran again on the other one.
      expect(reads.filter((a) => a.status !== 200 || JSON.stringify((a.body as { rows: Array<{ name: string }> }).rows.map((r) => r.name)) !== JSON.stringify(T1_NAMES))).toEqual([]);
      expect(outOfBounds(writes.map((w) => w.answer), ['200', '503 WORKER_LOST'])).toEqual([]);
      // The write the victim was running was not run again.
      expect(writes.some((w) => w.answer.code === 'WORKER_LOST')).toBe(true);

      // The dead worker's sessions end (their client is gone); then count what each write did.
      await waitUntil('no gateway statement of this schema still running', async () => {
        const { rows } = await fixture.admin.query(
          "select count(*)::int as n from pg_stat_activity where application_name in ('sluice', $2) and state = 'active' and strpos(query, $1) > 0",
          [`${fixture.schema}.`, VICTIM_APP],
        );
        return rows[0].n === 0;
      });
      const { rows } = await fixture.admin.query<{ name: string; n: number }>(`select name, count(*)::int as n from ${fixture.schema}.customers where id > 100 group by name`);
      const applied = new Map(rows.map((r) => [r.name, r.n]));
      // Every write answer is a 200 or WORKER_LOST here (checked above): a 200 exactly once, WORKER_LOST at most once.
      const { misapplied, strangers } = writeAccounting(writes.map((w) => ({ markers: [w.marker], status: w.answer.status })), applied);
      expect(misapplied).toEqual([]);
      expect(strangers).toEqual([]);
      const lost = writes.filter((w) => w.answer.code === 'WORKER_LOST');
      console.log(`faults-worker-process: ${lost.filter((w) => applied.has(w.marker)).length} of ${lost.length} writes answered WORKER_LOST were applied (once)`);
    }, 60_000);
  });
});
