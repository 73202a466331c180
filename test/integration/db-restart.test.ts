/**
 * The database stopped and restarted under load (issue 6), on a PRIVATE Postgres (port 5441) this
 * test initdb's, stops (fast shutdown) and restarts — never the shared server on 5432.
 *
 * Three tenants read and write continuously through a real sluice engine (in-process queue). While
 * the database is down every answer is a clean 503 DATABASE_UNAVAILABLE / CIRCUIT_OPEN (or 408),
 * never a 500; once the breaker is open requests fail fast; after the restart the gateway recovers
 * by itself (probe closes the breaker, worker pools reconnect) and every tenant gets its own rows.
 * No write answered 200 is lost, and no write is applied twice. The same breaker guards a BullMQ
 * worker: in queue mode (`sluice serve` with Redis) the outage answers travel back through Redis.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/engine.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { describeIfPrivatePg, startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.js';
import { describeIfRedis, dropRedisPrefix, REDIS_URL } from '../helpers/services.js';
import { post } from '../helpers/sluice-harness.js';
import { testConfig } from '../helpers/test-config.js';
import { signToken } from '../helpers/tokens.js';

const PORT = 5441;
const QUERY_TIMEOUT_MS = 10_000;
const HEALTH = { intervalMs: 500, failureThreshold: 3, cooldownMs: 500, maxCooldownMs: 2000 };
const CONNECT_TIMEOUT_MS = 2000;
/** Longest open period + one probe's ping budget (connect timeout + 3 s) + slack for a busy machine. */
const RECOVERY_BOUND_MS = HEALTH.maxCooldownMs + CONNECT_TIMEOUT_MS + 3000 + 5000;
const PAUSE_MS = 25;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The fixture's rows each tenant may see (ids ≤ 6: the seeded ones; tenant 3 has none). */
const SEEDED: Record<number, Array<{ id: number; name: string }>> = {
  1: [{ id: 1, name: 'T1 Alice' }, { id: 3, name: 'T1 Carol' }, { id: 5, name: 'T1 Erin' }],
  2: [{ id: 2, name: 'T2 Bob' }, { id: 4, name: 'T2 Dan' }, { id: 6, name: 'T2 Fay' }],
  3: [],
};
const TENANTS = [1, 2, 3] as const;
const READ = { sql: 'select id, name from customers where id <= 6 order by id', method: 'execute' };

interface Answer {
  tenant: number;
  kind: 'read' | 'write';
  /** The customer name a write inserted (unique per write). */
  name?: string;
  sentAt: number;
  doneAt: number;
  status: number;
  code?: string;
  retryAfter: string | null;
  rowsOk?: boolean;
}

async function until(what: string, boundMs: number, check: () => Promise<boolean>): Promise<number> {
  const deadline = Date.now() + boundMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return Date.now();
    await sleep(50);
  }
  throw new Error(`${what}: not within ${boundMs} ms`);
}

const label = (a: Answer): string => (a.status === 200 ? '200' : `${a.status} ${a.code}`);
const ALLOWED = new Set(['200', '503 DATABASE_UNAVAILABLE', '503 CIRCUIT_OPEN', '408 QUERY_TIMEOUT']);

async function readyz(url: string): Promise<{ status: number; breaker?: string }> {
  const res = await fetch(`${url}/readyz`);
  const body = (await res.json()) as { connections: Record<string, { breaker?: string }> };
  return { status: res.status, breaker: body.connections.main?.breaker };
}

describeIfPrivatePg('database stopped and restarted under load', () => {
  let db: PrivatePostgres;
  let fixture: PgFixture;
  const tokens: Record<number, string> = {};
  const run = randomBytes(4).toString('hex');

  beforeAll(async () => {
    db = await startPrivatePostgres(PORT);
    fixture = await createPgFixture(db.url);
    // The admin pool's idle clients die with the server: without a listener that would crash the run.
    fixture.admin.on('error', () => undefined);
    for (const t of TENANTS) tokens[t] = await signToken({ sub: `user-t${t}-${run}`, role: 'member', tenant_id: t });
  }, 60_000);

  afterAll(async () => {
    await fixture?.drop().catch(() => undefined);
    await db?.destroy();
  }, 60_000);

  function config(queue: Record<string, unknown> = {}): Record<string, unknown> {
    const base = testConfig(fixture.schema, {
      connection: { url: db.url, max: 6, connectionTimeoutMs: CONNECT_TIMEOUT_MS },
      workers: { threads: 1 },
      limits: { queryTimeout: QUERY_TIMEOUT_MS },
      queue,
    });
    return { ...base, health: HEALTH };
  }

  let seq = 0;
  async function send(url: string, tag: string, tenant: number, kind: 'read' | 'write'): Promise<Answer> {
    const name = kind === 'write' ? `w-${run}-${tag}-${tenant}-${++seq}` : undefined;
    const body = kind === 'read' ? READ : { sql: 'insert into customers (name, email) values ($1, $2)', params: [name, `${name}@load.example`], method: 'execute' };
    const sentAt = Date.now();
    const res = await post(url, tokens[tenant], body);
    const answer: Answer = { tenant, kind, sentAt, doneAt: Date.now(), status: res.status, code: res.body?.error?.code, retryAfter: res.headers.get('retry-after') };
    if (name !== undefined) answer.name = name;
    if (kind === 'read' && res.status === 200) answer.rowsOk = JSON.stringify(res.body.rows) === JSON.stringify(SEEDED[tenant]);
    return answer;
  }

  /** One reader and one writer per tenant, each sending its next request as soon as the last is answered. */
  function startLoad(url: string, tag: string): { answers: Answer[]; stop(): Promise<void> } {
    const answers: Answer[] = [];
    let stopped = false;
    const loop = async (tenant: number, kind: 'read' | 'write'): Promise<void> => {
      while (!stopped) {
        answers.push(await send(url, tag, tenant, kind));
        await sleep(PAUSE_MS);
      }
    };
    const loops = TENANTS.flatMap((t) => [loop(t, 'read'), loop(t, 'write')]);
    return {
      answers,
      async stop() {
        stopped = true;
        await Promise.all(loops);
      },
    };
  }

  /** Each write answered 200 is stored exactly once, for its tenant; any other at most once; nothing else is. */
  async function writeProblems(tag: string, writes: Answer[]): Promise<string[]> {
    const stored = await fixture.admin.query<{ name: string; tenant_id: number; n: number }>(
      `select name, tenant_id, count(*)::int as n from ${fixture.schema}.customers where name like $1 group by name, tenant_id`,
      [`w-${run}-${tag}-%`],
    );
    const byName = new Map<string, Array<{ tenant_id: number; n: number }>>();
    for (const r of stored.rows) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
    const problems: string[] = [];
    for (const w of writes) {
      const rows = byName.get(w.name!) ?? [];
      const n = rows.reduce((sum, r) => sum + r.n, 0);
      if (rows.some((r) => r.tenant_id !== w.tenant)) problems.push(`${w.name}: stored for tenant ${rows.map((r) => r.tenant_id).join(',')}`);
      if (n > 1) problems.push(`${w.name}: stored ${n} times`);
      if (w.status === 200 && n === 0) problems.push(`${w.name}: answered 200 but missing`);
    }
    const sent = new Set(writes.map((w) => w.name));
    for (const name of byName.keys()) if (!sent.has(name)) problems.push(`${name}: stored but never answered`);
    return problems;
  }

  describe('in-process queue', () => {
    let engine: Engine;
    let url: string;

    beforeAll(async () => {
      engine = createEngine(config(), { logger: false });
      ({ url } = await engine.listen({ host: '127.0.0.1', port: 0 }));
    }, 30_000);

    afterAll(async () => {
      await engine?.close();
    }, 30_000);

    // 60 s: a real Postgres stopped and started again on a 2-core machine shared with other suites;
    // the phases themselves take ~10 s (RECOVERY_BOUND_MS bounds the slowest one).
    it('503s (never 500) while down, fails fast once the breaker is open, recovers by itself, no write lost or doubled', async () => {
      expect(await readyz(url)).toEqual({ status: 200, breaker: 'closed' });
      // Warm up (thread, parsers, connections) so the steady phase measures steady state.
      const warmUp: Answer[] = [];
      for (const t of TENANTS) warmUp.push(await send(url, 'inproc', t, 'read'), await send(url, 'inproc', t, 'write'));
      expect(warmUp.map(label)).toEqual(warmUp.map(() => '200'));
      expect(warmUp.filter((a) => a.rowsOk === false)).toEqual([]);
      const load = startLoad(url, 'inproc');
      await sleep(1500);

      const stopBegin = Date.now();
      await db.stop('fast');
      const stopDone = Date.now();
      const openSeen = await until('breaker open', 10_000, async () => (await readyz(url)).breaker === 'open');
      expect((await readyz(url)).status).toBe(503);
      await sleep(1500);

      const startBegin = Date.now();
      await db.start();
      const startDone = Date.now();
      const recovered = await until('breaker closed and /readyz 200', RECOVERY_BOUND_MS, async () => {
        const r = await readyz(url);
        return r.status === 200 && r.breaker === 'closed';
      });
      await sleep(1500);
      await load.stop();
      const { answers } = load;

      // Every answer, whenever it came: 200 or one of the clean outage answers. Never a 500.
      expect(answers.filter((a) => !ALLOWED.has(label(a))).map(label)).toEqual([]);
      // Every 200 read holds exactly the tenant's own rows.
      expect(answers.filter((a) => a.rowsOk === false)).toEqual([]);

      const steady = answers.filter((a) => a.doneAt < stopBegin);
      expect(steady.length).toBeGreaterThan(10);
      expect(steady.filter((a) => a.status !== 200).map(label)).toEqual([]);

      // Sent after the server was gone and answered before it was started again: no 200 possible.
      const outage = answers.filter((a) => a.sentAt >= stopDone && a.doneAt <= startBegin);
      expect(outage.length).toBeGreaterThan(10);
      expect(outage.filter((a) => a.status === 200)).toEqual([]);
      // Nobody waited for the query timeout while the database was down.
      expect(outage.filter((a) => a.doneAt - a.sentAt >= QUERY_TIMEOUT_MS / 2)).toEqual([]);

      // Once the breaker is open: CIRCUIT_OPEN only, answered well before the query timeout, with a Retry-After.
      const fastFailed = answers.filter((a) => a.sentAt >= openSeen && a.doneAt <= startBegin);
      expect(fastFailed.length).toBeGreaterThan(10);
      expect(fastFailed.filter((a) => a.code !== 'CIRCUIT_OPEN').map(label)).toEqual([]);
      expect(fastFailed.filter((a) => a.doneAt - a.sentAt >= QUERY_TIMEOUT_MS / 5)).toEqual([]);
      const retryAfters = fastFailed.map((a) => Number(a.retryAfter));
      expect(retryAfters.every((s) => Number.isInteger(s) && s >= 1 && s <= Math.ceil(HEALTH.maxCooldownMs / 1000))).toBe(true);

      // Recovered by itself within the bound; afterwards every request of every tenant succeeds.
      expect(recovered - startDone).toBeLessThan(RECOVERY_BOUND_MS);
      const after = answers.filter((a) => a.sentAt >= recovered);
      expect(after.filter((a) => a.status !== 200).map(label)).toEqual([]);
      for (const t of TENANTS) {
        for (const kind of ['read', 'write'] as const) {
          expect(after.filter((a) => a.tenant === t && a.kind === kind && a.status === 200).length, `tenant ${t} ${kind}s after recovery`).toBeGreaterThan(0);
        }
      }
      // The worker thread's own pool reconnected (the probe used the host's pinger, not it).
      const sessions = await fixture.admin.query("select count(*)::int as n from pg_stat_activity where application_name = 'sluice'");
      expect(sessions.rows[0].n).toBeGreaterThan(0);

      const writes = [...warmUp, ...answers].filter((a) => a.kind === 'write');
      expect(writes.filter((w) => w.status === 200).length).toBeGreaterThan(10);
      expect(await writeProblems('inproc', writes)).toEqual([]);
    }, 60_000);
  });

  describeIfRedis('queue mode (BullMQ worker in the same process)', () => {
    let engine: Engine;
    let url: string;
    const prefix = `test-${randomUUID()}`;

    beforeAll(async () => {
      engine = createEngine(config({ redis: REDIS_URL, prefix }), { logger: false });
      ({ url } = await engine.listen({ host: '127.0.0.1', port: 0 }));
    }, 30_000);

    afterAll(async () => {
      await engine?.close();
      await dropRedisPrefix(prefix);
    }, 30_000);

    // 60 s: as above (a second stop and start of the private server).
    it('the worker answers CIRCUIT_OPEN through Redis while the database is down, and recovers by itself', async () => {
      const answers: Answer[] = [];
      for (const t of TENANTS) answers.push(await send(url, 'queue', t, 'read'), await send(url, 'queue', t, 'write'));
      expect(answers.map(label)).toEqual(answers.map(() => '200'));

      await db.stop('fast');
      await until('breaker open', 10_000, async () => {
        answers.push(await send(url, 'queue', 1, 'write'));
        return (await readyz(url)).breaker === 'open';
      });
      const fastFailed: Answer[] = [];
      for (const t of TENANTS) fastFailed.push(await send(url, 'queue', t, 'read'), await send(url, 'queue', t, 'write'));
      expect(fastFailed.map(label)).toEqual(fastFailed.map(() => '503 CIRCUIT_OPEN'));
      expect(fastFailed.filter((a) => a.doneAt - a.sentAt >= QUERY_TIMEOUT_MS / 5)).toEqual([]);
      expect(fastFailed.every((a) => Number(a.retryAfter) >= 1)).toBe(true);
      answers.push(...fastFailed);

      await db.start();
      await until('breaker closed and /readyz 200', RECOVERY_BOUND_MS, async () => {
        const r = await readyz(url);
        return r.status === 200 && r.breaker === 'closed';
      });
      const after: Answer[] = [];
      for (const t of TENANTS) after.push(await send(url, 'queue', t, 'read'), await send(url, 'queue', t, 'write'));
      expect(after.map(label)).toEqual(after.map(() => '200'));
      expect(after.filter((a) => a.rowsOk === false)).toEqual([]);
      answers.push(...after);

      expect(answers.filter((a) => !ALLOWED.has(label(a))).map(label)).toEqual([]);
      expect(await writeProblems('queue', answers.filter((a) => a.kind === 'write'))).toEqual([]);
    }, 60_000);
  });
});
