/**
 * SIGHUP on real processes (spawned from source, as an operator runs them): `sluice serve` applies
 * a tenant and a permission change live, refuses a bad file and a change that needs a restart
 * while staying up on the last good config; `sluice worker` rotates its database login under load
 * through `sluice api` with zero failed requests and the old login's sessions gone. The engine-level
 * counterpart (engine.reload, POST /admin/reload) is config-reload.test.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCli, type CliProcess } from '../helpers/cli-process.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { describeIfPg, describeIfRedis, dropRedisPrefix, PG_URL, REDIS_URL } from '../helpers/services.js';
import { post } from '../helpers/sluice-harness.js';
import { memberPermissions, testConfig } from '../helpers/test-config.js';
import { makeTokens, type TestTokens } from '../helpers/tokens.js';
import { sleep, waitUntil } from '../helpers/wait-until.js';

const hex = randomBytes(5).toString('hex');
const userA = `rot_a_${hex}`;
const userB = `rot_b_${hex}`;
const prefix = `test-${randomUUID()}`;
const REFUSED = /config reload refused; the running config stays/g;
const LISTENING = /listening on (http:\/\/127\.0\.0\.1:\d+)/;

type Config = Record<string, unknown>;

function urlAs(user: string): string {
  const u = new URL(PG_URL);
  u.username = user;
  u.password = '';
  return u.toString();
}

/** The member role without `email` on customers: a permission a reload takes away. */
function permissionsWithoutEmail(): Config {
  const perms = memberPermissions() as { member: { main: { customers: { select: { columns: string[] } } } } };
  const select = perms.member.main.customers.select;
  select.columns = select.columns.filter((c) => c !== 'email');
  return perms;
}

/** Linux: whether the process has a SIGHUP handler (bit 0 of SigCgt), i.e. SIGHUP no longer ends it. */
function catchesHangUp(p: CliProcess): boolean {
  const status = readFileSync(`/proc/${p.child.pid}/status`, 'utf8');
  const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return caught !== undefined && (BigInt(`0x${caught}`) & 1n) === 1n;
}

const count = (p: CliProcess, re: RegExp): number => p.output().match(re)?.length ?? 0;

/** Send SIGHUP and wait (bounded) until the process has logged `re` once more than before. */
async function hangUp(p: CliProcess, re: RegExp): Promise<void> {
  const before = count(p, re);
  p.child.kill('SIGHUP');
  await waitUntil(`${re} after SIGHUP`, async () => count(p, re) > before, 10_000);
}

/** The log lines matching `re` (the refusal's reason is on the same JSON line). */
const linesOf = (p: CliProcess, re: RegExp): string[] => p.output().split('\n').filter((l) => new RegExp(re.source).test(l));

describeIfPg('SIGHUP reload of real processes', () => {
  let fixture: PgFixture;
  let dir: string;
  let tokens: TestTokens;
  const procs: CliProcess[] = [];

  const start = (args: string[]): CliProcess => {
    const p = startCli(args);
    procs.push(p);
    return p;
  };
  const write = (file: string, config: Config): void => writeFileSync(file, JSON.stringify(config));
  /** The process under test's base URL (each test points it at the process it started). */
  let currentUrl = '';
  const customers = (token: string, columns = 'id, name'): ReturnType<typeof post> => post(currentUrl, token, { sql: `select ${columns} from customers order by id`, method: 'execute' });

  beforeAll(async () => {
    fixture = await createPgFixture();
    dir = mkdtempSync(join(tmpdir(), 'sluice-cli-reload-'));
    tokens = await makeTokens();
  });

  afterAll(async () => {
    // Even on failure: no process, session, role, schema or Redis key of this file survives it.
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    if (fixture) {
      for (const user of [userA, userB]) {
        await fixture.admin.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = $1', [user]);
        await fixture.admin.query(`drop owned by ${user}`).catch(() => undefined);
        await fixture.admin.query(`drop role if exists ${user}`);
      }
      await fixture.drop();
    }
    await dropRedisPrefix(prefix).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // Spawning through tsx takes seconds on this 2-core machine; the reloads themselves are quick.
  it('sluice serve: SIGHUP applies tenants and permissions; a bad file or a restart-only change is refused and the last good config keeps serving', async () => {
    const file = join(dir, 'serve.json');
    const base: Config = { ...testConfig(fixture.schema, { workers: { threads: 1 }, connection: { max: 2 } }), logging: { level: 'info' } };
    const maintenance = { default: { connection: 'main' }, routes: { '2': { connection: 'main', status: 'maintenance' } }, maintenanceRetryAfter: 7 };
    const live: Config = { ...base, tenants: maintenance, permissions: permissionsWithoutEmail() };
    write(file, base);
    const serve = start(['serve', '--config', file, '--port', '0']);
    currentUrl = (await serve.waitFor(LISTENING))[1]!;

    const first = await customers(tokens.tenant1, 'id, name, email');
    expect(first.status).toBe(200);
    expect(first.body.rows.map((r: { name: string }) => r.name)).toEqual(['T1 Alice', 'T1 Carol', 'T1 Erin']);

    write(file, live);
    serve.child.kill('SIGHUP');
    const maint = await waitUntil('tenant 2 in maintenance', async () => {
      const r = await customers(tokens.tenant2);
      return r.status === 503 && r;
    });
    expect(maint.body.error.code).toBe('TENANT_MAINTENANCE');
    expect(maint.headers.get('retry-after')).toBe('7');
    await serve.waitFor(/"generation":2[^\n]*config reloaded/, 5_000);
    expect((await customers(tokens.tenant1)).status).toBe(200);
    const hidden = await customers(tokens.tenant1, 'email');
    expect(hidden.status).toBe(400);
    expect(hidden.body.error.code).toBe('UNDEFINED_COLUMN');

    // Each refused file would also lift the maintenance and give `email` back: neither may happen.
    const stillLastGood = async (): Promise<void> => {
      expect(serve.child.exitCode).toBeNull();
      expect((await customers(tokens.tenant2)).body.error?.code).toBe('TENANT_MAINTENANCE');
      const ok = await customers(tokens.tenant1);
      expect(ok.status).toBe(200);
      expect(ok.body.rows).toHaveLength(3);
      expect(ok.body.truncated).toBe(false);
      expect((await customers(tokens.tenant1, 'email')).body.error?.code).toBe('UNDEFINED_COLUMN');
    };

    writeFileSync(file, JSON.stringify(base).slice(0, 40));
    await hangUp(serve, REFUSED);
    expect(linesOf(serve, REFUSED).at(-1)).toContain('is not valid JSON');
    await stillLastGood();

    write(file, { ...base, connections: { main: { url: 'not a url', schema: fixture.schema } } });
    await hangUp(serve, REFUSED);
    expect(linesOf(serve, REFUSED).at(-1)).toContain('connections.main.url');
    await stillLastGood();

    write(file, { ...base, limits: { ...(base.limits as Config), maxRows: 1 } });
    await hangUp(serve, REFUSED);
    expect(linesOf(serve, REFUSED).at(-1)).toContain('limits: changed; this needs a restart');
    await stillLastGood();

    // Refusals leave reloading itself working: a good file is applied again.
    write(file, base);
    serve.child.kill('SIGHUP');
    await waitUntil('tenant 2 served again', async () => (await customers(tokens.tenant2)).status === 200);
    expect((await customers(tokens.tenant1, 'email')).status).toBe(200);

    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
  }, 45_000);

  // Linux only (reads /proc). The start waits 5 s for an unreachable Redis: the window under test.
  it.skipIf(!existsSync('/proc/self/status'))('a SIGHUP during start-up does not end the process; it is applied once started', async () => {
    const file = join(dir, 'starting.json');
    // Port 1: nothing listens, so `sluice api` spends its bounded Redis wait before listening.
    write(file, { ...testConfig(fixture.schema, { queue: { redis: 'redis://127.0.0.1:1', prefix } }), logging: { level: 'info' } });
    const api = start(['api', '--config', file, '--port', '0']);
    await waitUntil('a SIGHUP handler while still starting', async () => !LISTENING.test(api.output()) && catchesHangUp(api), 8_000);
    api.child.kill('SIGHUP');
    await api.waitFor(LISTENING);
    await api.waitFor(/config reloaded/, 5_000);
    expect(api.output()).toMatch(/redis not reachable at start-up/);
    expect(api.child.exitCode).toBeNull();
    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
  }, 30_000);

  describeIfRedis('queue mode', () => {
    // Spawning two processes through tsx takes several seconds here; the load runs about 3 s.
    it('sluice worker: SIGHUP rotates the database login under load through sluice api with zero failed requests', async () => {
      for (const user of [userA, userB]) {
        await fixture.admin.query(`create role ${user} login`);
        await fixture.admin.query(`grant usage on schema ${fixture.schema} to ${user}; grant select on ${fixture.schema}.customers to ${user}`);
      }
      const file = join(dir, 'queue.json');
      const config = (user: string): Config => ({
        ...testConfig(fixture.schema, { workers: { threads: 1 }, connection: { max: 2, url: urlAs(user) }, queue: { redis: REDIS_URL, prefix } }),
        logging: { level: 'info' },
      });
      write(file, config(userA));
      const worker = start(['worker', '--config', file, '--threads', '1']);
      const api = start(['api', '--config', file, '--port', '0']);
      const [listening] = await Promise.all([api.waitFor(LISTENING), worker.waitFor(/worker ready/)]);
      currentUrl = listening[1]!;

      const sessions = async (user: string, app?: string): Promise<number> =>
        (await fixture.admin.query('select count(*)::int as n from pg_stat_activity where usename = $1 and ($2::text is null or application_name = $2)', [user, app ?? null])).rows[0].n;
      const answers: Array<{ status: number; code?: string; names?: string }> = [];
      let stop = false;
      const client = async (): Promise<void> => {
        while (!stop) {
          const r = await customers(tokens.tenant1);
          answers.push({ status: r.status, code: r.body?.error?.code, names: r.body?.rows?.map((x: { name: string }) => x.name).join() });
          await sleep(20);
        }
      };
      const load = [client(), client()];
      try {
        await waitUntil('the old login serves the load', async () => (await sessions(userA, 'sluice')) > 0);
        await sleep(300);
        write(file, config(userB));
        // The api holds no database session; it reloads too, as an operator reloads every process.
        await Promise.all([hangUp(worker, /config reloaded/g), hangUp(api, /config reloaded/g)]);
        await waitUntil('the new login serves the load', async () => (await sessions(userB, 'sluice')) > 0);
        await sleep(500);
      } finally {
        stop = true;
        await Promise.all(load);
      }

      expect(answers.length).toBeGreaterThan(10);
      expect(answers.filter((a) => a.status !== 200 || a.names !== 'T1 Alice,T1 Carol,T1 Erin')).toEqual([]);
      // Every session of the old login (queries, health pings, cancels) ends: it can now be revoked.
      await waitUntil('the old login has no session left', async () => (await sessions(userA)) === 0, 15_000);
      expect(await sessions(userB, 'sluice')).toBeGreaterThan(0);

      worker.child.kill('SIGTERM');
      api.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(await api.exited).toBe(0);
    }, 45_000);
  });
});
