/**
 * A cancel that reaches the worker side before the job's statement has started must still stop it.
 * The windows, all real (fresh engine, real threads, real Postgres):
 *   - the threads are still loading their task module: a BroadcastChannel message posted before a
 *     thread has opened its channel is never delivered to it, yet piscina has already queued the
 *     job to that thread;
 *   - the cancel overtakes the task on its way to the thread (nothing tracks the id yet);
 *   - the job is tracked but its thread is still loading the SQL parsers, so no driver knows the id.
 * Each job is an UPDATE of a row the test holds locked from its own session: if the cancel was lost
 * the statement waits on the lock, and once the lock is released it commits, so the row tells
 * whether the statement ran to completion on the server.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { createEarlyCancels } from '../../src/pool/early-cancels.js';
import type { QueryJob, QueryOutcome } from '../../src/pool/messages.js';
import { createPiscinaWorkerPool, type PiscinaWorkerPool } from '../../src/pool/piscina-pool.js';
import { settleWithin } from '../../src/timeouts.js';
import { holdLock, type HeldLock } from '../helpers/pg-backends.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { post } from '../helpers/sluice-harness.js';
import { describeIfPg } from '../helpers/services.js';
import { PG_TEST_URL } from '../helpers/skip.js';
import { testConfig } from '../helpers/test-config.js';
import { makeTokens } from '../helpers/tokens.js';

/** Tenant 1's row the cancelled UPDATEs aim at; its seeded name. */
const ROW_ID = 1;
const SEEDED_NAME = 'T1 Alice';
/** How long a correctly cancelled job may take to answer before the lock is released anyway. */
const ANSWER_WAIT_MS = 5_000;

const updateJob = (name: string): QueryJob => ({
  id: randomUUID(),
  connection: 'main',
  role: 'member',
  claims: { sub: 'early-cancel', role: 'member', tenant_id: 1 },
  sql: 'update customers set name = $1 where id = $2',
  params: [name, ROW_ID],
  method: 'all',
  deadline: Date.now() + 20_000,
});

describeIfPg('a cancel that arrives before the statement starts', () => {
  let fixture: PgFixture;
  let lock: HeldLock | undefined;
  let pool: PiscinaWorkerPool | undefined;
  let engine: Engine | undefined;

  beforeAll(async () => {
    fixture = await createPgFixture();
  });

  afterEach(async () => {
    await lock?.release();
    lock = undefined;
    await pool?.close();
    pool = undefined;
    await engine?.close();
    engine = undefined;
    await fixture.admin.query(`update ${fixture.schema}.customers set name = $1 where id = $2`, [SEEDED_NAME, ROW_ID]);
  });

  afterAll(async () => {
    await fixture?.drop();
  });

  const lockRow = async (): Promise<void> => {
    lock = await holdLock(PG_TEST_URL, [`select id from ${fixture.schema}.customers where id = ${ROW_ID} for update`]);
  };
  const rowName = async (): Promise<string> =>
    (await fixture.admin.query<{ name: string }>(`select name from ${fixture.schema}.customers where id = $1`, [ROW_ID])).rows[0]!.name;
  const newPool = (threads: number): PiscinaWorkerPool => createPiscinaWorkerPool(parseConfig(testConfig(fixture.schema, { workers: { threads } })));

  /** Gives a correctly cancelled job time to answer, then releases the lock so a lost cancel shows as a committed UPDATE. */
  async function settle(outcome: Promise<QueryOutcome>): Promise<QueryOutcome> {
    await settleWithin(outcome, ANSWER_WAIT_MS);
    await lock!.release();
    return outcome;
  }

  /** An UPDATE to `name` on the locked row, cancelled in the tick it is handed over: CLIENT_CLOSED, and the row unchanged. */
  async function expectCancelledUnwritten(on: PiscinaWorkerPool, name: string): Promise<void> {
    const job = updateJob(name);
    const outcome = on.run(job);
    on.cancel(job.id);
    const o = await settle(outcome);
    expect(o.ok ? 'ok' : o.error.code).toBe('CLIENT_CLOSED');
    expect(await rowName()).toBe(SEEDED_NAME);
  }

  it('reaches a job queued to a thread that is still loading its task module', async () => {
    await lockRow();
    pool = newPool(2);
    await expectCancelledUnwritten(pool, 'changed-while-loading');
  });

  it('reaches a job whose thread has not loaded the SQL parsers yet', async () => {
    pool = newPool(1);
    // An unknown connection is refused before the parsers load: the one thread is up and listening.
    const probe = await pool.run({ ...updateJob('x'), connection: 'nope' });
    expect(probe.ok ? 'ok' : probe.error.code).toBe('UNKNOWN_CONNECTION');
    await lockRow();
    await expectCancelledUnwritten(pool, 'changed-while-parsers-load');
  });

  it('reaches jobs cancelled in the same tick they were handed to a warm thread', async () => {
    pool = newPool(1);
    const warm = await pool.run({ ...updateJob('warm'), sql: 'select id from customers where id = $1', params: [ROW_ID] });
    expect(warm.ok).toBe(true);
    await lockRow();
    const jobs = Array.from({ length: 10 }, (_, i) => updateJob(`changed-warm-${i}`));
    const outcomes = jobs.map((job) => {
      const outcome = pool!.run(job);
      pool!.cancel(job.id);
      return outcome;
    });
    await settleWithin(Promise.all(outcomes), ANSWER_WAIT_MS);
    await lock!.release();
    const codes = (await Promise.all(outcomes)).map((o) => (o.ok ? 'ok' : o.error.code));
    expect(codes).toEqual(jobs.map(() => 'CLIENT_CLOSED'));
    expect(await rowName()).toBe(SEEDED_NAME);
  });

  it('stops /data UPDATEs aborted 0–700 ms after they were sent to a freshly started engine', async () => {
    // The report: an abort ~500 ms after submitting, on a fresh engine, let the statement run. When
    // exactly a thread finishes loading depends on the machine, so the aborts are spread over the
    // start-up, one row each: every one must be stopped, whichever window it lands in.
    const ids = Array.from({ length: 8 }, (_, i) => 100 + i);
    await fixture.admin.query(`insert into ${fixture.schema}.customers (id, tenant_id, name) select id, 1, 'seeded' from unnest($1::int[]) as id`, [ids]);
    lock = await holdLock(PG_TEST_URL, [`select id from ${fixture.schema}.customers where id = any('{${ids.join(',')}}') for update`]);
    engine = createEngine(testConfig(fixture.schema), { logger: false });
    const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
    const tokens = await makeTokens();
    const answers = ids.map(async (id, i) => {
      const ac = new AbortController();
      const answer = post(url, tokens.tenant1, { sql: 'update customers set name = $1 where id = $2', params: ['changed-over-http', id], method: 'all' }, { signal: ac.signal });
      setTimeout(() => ac.abort(), i * 100);
      return answer.then((r) => r.status, () => 'aborted');
    });
    expect(await Promise.all(answers)).toEqual(ids.map(() => 'aborted'));
    // Give the cancels time to land, then let a statement that missed its cancel through.
    await new Promise((r) => setTimeout(r, 1_000));
    await lock.release();
    // close() drains running jobs: after it, a statement has either committed or never will.
    await engine.close();
    engine = undefined;
    const { rows } = await fixture.admin.query<{ id: number; name: string }>(`select id, name from ${fixture.schema}.customers where id = any($1::int[]) order by id`, [ids]);
    await fixture.admin.query(`delete from ${fixture.schema}.customers where id = any($1::int[])`, [ids]);
    expect(rows).toEqual(ids.map((id) => ({ id, name: 'seeded' })));
  });
});

describe('early cancels remembered by a thread', () => {
  it('remembers a cancel for an id it has not seen, once', () => {
    const early = createEarlyCancels({ ttlMs: 1_000, max: 10 });
    early.add('a');
    expect(early.take('a')).toBe(true);
    expect(early.take('a')).toBe(false);
    expect(early.take('b')).toBe(false);
  });

  it('forgets entries after their TTL', () => {
    let now = 0;
    const early = createEarlyCancels({ ttlMs: 1_000, max: 10, now: () => now });
    early.add('a');
    now = 999;
    early.add('b');
    now = 1_000;
    expect(early.take('a')).toBe(false);
    expect(early.take('b')).toBe(true);
    now = 5_000;
    early.add('c');
    expect(early.size()).toBe(1);
  });

  it('holds at most `max` entries, dropping the oldest', () => {
    const early = createEarlyCancels({ ttlMs: 60_000, max: 3 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) early.add(id);
    expect(early.size()).toBe(3);
    expect(early.take('a')).toBe(false);
    expect(early.take('b')).toBe(false);
    expect(early.take('e')).toBe(true);
  });

  it('a repeated cancel for the same id takes one entry', () => {
    const early = createEarlyCancels({ ttlMs: 60_000, max: 3 });
    for (let i = 0; i < 5; i++) early.add('a');
    expect(early.size()).toBe(1);
  });
});
