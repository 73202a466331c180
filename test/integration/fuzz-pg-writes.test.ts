/**
 * Differential fuzzing of Postgres writes (issue 6): random INSERT/UPDATE/DELETE (subqueries,
 * UPDATE … FROM, INSERT … SELECT, ON CONFLICT, RETURNING; a third of them as a data-modifying CTE
 * under a SELECT) through the gateway as tenant 1 or 2, and
 * the same statement on the RLS oracle (test/helpers/rls-oracle.ts), rolled back.
 *
 * Always: no 5xx; the other tenant's rows, the never-permitted table and the other schema are
 * byte-identical afterwards, and no hidden value of the tenant's own rows changed (a row may go); a probe (setting tenant_id, reading secret_note) is
 * refused. When both sides accept: the same RETURNING rows, the same row count (write metadata)
 * and the same database afterwards. Error-oracle traps (test/helpers/sql-fuzz-trap.ts) in WHERE,
 * subqueries and ON: their error must never come back through sluice.
 * Legitimate asymmetries:
 * - the oracle adds `tenant_id` to INSERTs (sluice presets it) and spells out `RETURNING *`;
 * - INSERT … ON CONFLICT DO UPDATE whose conflicting row belongs to the other tenant: RLS raises an
 *   error, sluice's guarded update leaves that row alone and answers 200 (only the "always" checks);
 * - sluice refusing what the oracle runs (counted as over-refusal): the database must be unchanged;
 * - `created_at default now()` differs between the two runs: new rows' timestamps are masked.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRlsOracle, type RlsOracle } from '../helpers/rls-oracle.js';
import { requirePostgres, PG_TEST_URL } from '../helpers/skip.js';
import { startHarness, type Harness } from '../helpers/sluice-harness.js';
import { createPgTrap, dropPgTrap, pgTrapFired } from '../helpers/sql-fuzz-trap.js';
import { pgWriteCase } from '../helpers/sql-fuzz-writes.js';

const run = await requirePostgres();
const RUNS = Number(process.env.FUZZ_WRITE_RUNS ?? process.env.FUZZ_RUNS ?? 100);
const SEED = process.env.FUZZ_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED ?? 0x5eed);

type Dump = Record<string, unknown[]>;
type Queryable = Pick<pg.PoolClient, 'query'>;

const SEQUENCES = ['customers', 'orders', 'order_items', 'audit_secrets'];

/** Everything, as the superuser sees it; timestamps of rows written now are masked. */
async function fullDump(db: Queryable, schema: string, other: string): Promise<Dump> {
  const q = async (sql: string): Promise<unknown[]> => (await db.query({ text: sql, rowMode: 'array' })).rows;
  return {
    customers: await q(`select id, tenant_id, name, email, secret_note from ${schema}.customers order by id`),
    orders: await q(`select id, tenant_id, customer_id, total::text, status, case when created_at < '2025-01-01' then created_at::text else 'new' end from ${schema}.orders order by id`),
    order_items: await q(`select * from ${schema}.order_items order by id`),
    audit_secrets: await q(`select * from ${schema}.audit_secrets order by id`),
    other: await q(`select * from ${other}.customers order by id`),
  };
}

/** What tenant `t` must never change: the other tenant's rows, hidden values, unpermitted tables. */
function protectedPart(d: Dump, t: number): string {
  const others = (rows: unknown[]): unknown[] => rows.filter((r) => (r as unknown[])[1] !== t);
  return JSON.stringify({
    customers: others(d.customers!),
    orders: others(d.orders!),
    order_items: others(d.order_items!),
    audit_secrets: d.audit_secrets,
    other: d.other,
  });
}

/** The tenant's own hidden values: a row may go (DELETE), but no write may change its secret_note. */
function ownSecretsChanged(before: Dump, after: Dump, t: number): unknown[] {
  const now = new Map((after.customers as unknown[][]).map((r) => [r[0], r[4]]));
  return (before.customers as unknown[][]).filter((r) => r[1] === t && now.has(r[0]) && now.get(r[0]) !== r[4]);
}

const maskNow = (rows: unknown[]): string[] =>
  rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'string' && /^20(2[5-9]|[3-9]\d)-/.test(v) ? 'now' : v))).sort();

describe.skipIf(!run)('differential fuzzing of Postgres writes against an RLS oracle', () => {
  let h: Harness;
  let rls: RlsOracle;
  const stats = { cases: 0, equal: 0, bothRefused: 0, overRefused: 0, rlsConflict: 0, probes: 0, resets: 0, trapped: 0, trappedEqual: 0, cteEqual: 0 };
  const trapFn = `sluice_trap_${randomBytes(5).toString('hex')}`;
  const overRefusals = new Map<string, string>();

  beforeAll(async () => {
    h = await startHarness({ sql: { allowFunctions: [trapFn] } });
    await createPgTrap(h.fixture.admin, trapFn);
    rls = await createRlsOracle(PG_TEST_URL, h.schema);
  }, 60_000);

  afterAll(async () => {
    console.info(`fuzz-pg-writes: seed ${SEED}, ${JSON.stringify(stats)}`);
    if (overRefusals.size > 0) console.info(`refused by sluice, run by the oracle (first few):\n${[...overRefusals].slice(0, 8).map(([sql, why]) => `  ${why}: ${sql}`).join('\n')}`);
    try {
      if (h) await dropPgTrap(h.fixture.admin, trapFn);
      await h?.teardown();
    } finally {
      await rls?.close();
    }
  }, 60_000);

  it(`leaves the other tenant alone and writes what the oracle writes (${RUNS} cases, seed ${SEED})`, async () => {
    const admin = h.fixture.admin;
    const dump = (db: Queryable): Promise<Dump> => fullDump(db, h.schema, h.fixture.otherSchema);
    const sequences = async (): Promise<unknown[]> =>
      (await admin.query(SEQUENCES.map((t) => `select last_value, is_called from ${h.schema}.${t}_id_seq`).join(' union all '))).rows.map((r) => [r.last_value, r.is_called]);
    const restoreSequences = async (values: unknown[]): Promise<void> => {
      const v = values as [string, boolean][];
      await admin.query(SEQUENCES.map((t, i) => `select setval('${h.schema}.${t}_id_seq', ${v[i]![0]}, ${v[i]![1]})`).join('; '));
    };

    await fc.assert(
      fc.asyncProperty(pgWriteCase(), async (c) => {
        stats.cases++;
        const before = await dump(admin);
        const seq = await sequences();
        const expected = await rls.run(c.oracle, c.tenant, dump);
        await restoreSequences(seq); // nextval is not rolled back
        const token = c.tenant === 1 ? h.tokens.tenant1 : h.tokens.tenant2;
        const res = await h.post(token, { sql: c.sluice.replaceAll('{{trap}}', trapFn), params: [], method: 'all' });
        const after = await dump(admin);
        const where = `tenant ${c.tenant}\n  sluice SQL: ${c.sluice}\n  oracle SQL: ${c.oracle}\n  sluice: ${res.status} ${res.text.slice(0, 400)}\n  oracle: ${JSON.stringify(expected).slice(0, 600)}`;
        try {
          if (c.traps > 0) {
            stats.trapped++;
            if (pgTrapFired(res)) throw new Error(`an error-oracle trap fired: another tenant's row was evaluated and its error reached the caller\n${where}`);
          }
          if (res.status >= 500 || (res.status !== 200 && res.status < 400)) throw new Error(`unexpected status\n${where}`);
          if (protectedPart(after, c.tenant) !== protectedPart(before, c.tenant)) throw new Error(`the other tenant's data or a hidden value changed\n${where}`);
          if (ownSecretsChanged(before, after, c.tenant).length > 0) throw new Error(`a hidden value of the tenant's own row changed\n${where}`);
          if (res.status !== 200) {
            if (JSON.stringify(after) !== JSON.stringify(before)) throw new Error(`a refused statement changed the database\n${where}`);
            if (c.probe) stats.probes++;
            else if (expected.ok) {
              stats.overRefused++;
              overRefusals.set(c.sluice, `${res.status} ${res.body?.error?.code ?? ''}`);
            } else stats.bothRefused++;
            return;
          }
          if (c.probe) throw new Error(`sluice ran a write that sets a preset or reads a hidden column\n${where}`);
          if (!expected.ok) {
            if (expected.code === '42501' && /row-level security/.test(expected.message) && /on conflict/i.test(c.sluice)) {
              stats.rlsConflict++;
              return;
            }
            throw new Error(`sluice ran what the oracle refused\n${where}`);
          }
          if (JSON.stringify(maskNow(res.body.rows)) !== JSON.stringify(maskNow(expected.rows))) throw new Error(`RETURNING differs from the oracle\n${where}`);
          // Write metadata too: the count is the statement's own (rows written, or RETURNING rows).
          if (res.body.rowCount !== expected.rowCount) throw new Error(`affected rows differ: sluice ${res.body.rowCount}, oracle ${expected.rowCount}\n${where}`);
          if (JSON.stringify(after) !== JSON.stringify(expected.state)) throw new Error(`the database differs from the oracle's\n${where}\n  after:  ${JSON.stringify(after)}\n  oracle: ${JSON.stringify(expected.state)}`);
          stats.equal++;
          if (c.cte) stats.cteEqual++;
          if (c.traps > 0) stats.trappedEqual++;
        } finally {
          if (JSON.stringify(after) !== JSON.stringify(before)) {
            stats.resets++;
            await h.fixture.reset();
            await rls.apply();
          }
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: false },
    );
    expect(stats.equal).toBeGreaterThan(RUNS * 0.3);
    expect(stats.cteEqual).toBeGreaterThan(RUNS * 0.05);
  }, Math.max(120_000, RUNS * 500));
});
