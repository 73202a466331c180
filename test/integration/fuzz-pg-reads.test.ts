/**
 * Differential tenant-leak fuzzing of Postgres reads (issue 6). Random reads (test/helpers/sql-fuzz.ts)
 * go through the real HTTP gateway as tenant 1 or 2, and the same statement runs directly on Postgres
 * as a restricted role whose only view of the data is row-level security + column grants equivalent
 * to the `member` permission. sluice (RLS off behind it: it connects as the superuser) must answer
 * the oracle's multiset of rows, or refuse with a 4xx. A 5xx is always a bug.
 *
 * Legitimate asymmetries, and how they are handled:
 * - Whole-row references to a table (`a.*`, `to_jsonb(a)`, `row_to_json(a)`, bare `a`): Postgres
 *   refuses them under column grants, sluice shows the table as its permitted columns. The oracle's
 *   SQL spells the permitted columns out instead (see the printer in sql-fuzz.ts).
 * - sluice refusing what the oracle answers (a function or construct it does not allow, a nesting
 *   limit, a data error its fenced retry reports): safe, counted as over-refusal and printed.
 * - The oracle failing with permission denied (hidden column, unpermitted table): sluice must refuse.
 * - The oracle failing with a data error (SQLSTATE class 22, e.g. division by zero on the tenant's
 *   own rows): sluice must refuse, or answer no rows at all (Postgres may order quals differently in
 *   the two plans and skip the failing expression; it can never show rows the oracle did not).
 * - Error-oracle traps (test/helpers/sql-fuzz-trap.ts, issue 11 finding 6): true on the tenant's
 *   rows, an error on another tenant's; the oracle (the tenant alone) prints them as `true`. A
 *   trap's error coming back through sluice is a leak (error vs no error), never an over-refusal.
 * - A result cut at limits.maxRows (`truncated: true`): which rows survive depends on the plan, so
 *   sluice's rows must be a sub-multiset of the oracle's, and the oracle must have more than maxRows.
 *
 * Bounded run in `npm test` (FUZZ_RUNS, default 200, fixed seed); `npm run fuzz:pg` is the long run
 * with a random seed, printed so that a failure can be replayed with FUZZ_SEED=<seed>.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRlsOracle, type OracleAnswer, type RlsOracle } from '../helpers/rls-oracle.js';
import { requirePostgres, PG_TEST_URL } from '../helpers/skip.js';
import { startHarness, type Harness } from '../helpers/sluice-harness.js';
import { createPgTrap, dropPgTrap, pgTrapFired } from '../helpers/sql-fuzz-trap.js';
import { FUZZ_TABLES, pgReadCase, type FuzzCase } from '../helpers/sql-fuzz.js';
import { memberPermissions, testConfig } from '../helpers/test-config.js';

const run = await requirePostgres();
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
/** `{{schema}}.table.column`: a schema-qualified column reference (issue 13, group 3). */
const SCHEMA_COLUMN = /\{\{schema\}\}\.\w+\.\w+/;
const SEED = process.env.FUZZ_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED ?? 0x5eed);

/** Rows as sluice sends them (JSON), sorted: the comparison is of multisets. */
function normalise(rows: unknown[]): string[] {
  return rows.map((r) => JSON.stringify(r)).sort();
}

const MAX_ROWS = (testConfig('unused').limits as { maxRows: number }).maxRows;

function isSubMultiset(part: unknown[], whole: unknown[]): boolean {
  const left = new Map<string, number>();
  for (const r of whole) left.set(JSON.stringify(r), (left.get(JSON.stringify(r)) ?? 0) + 1);
  for (const r of part) {
    const n = left.get(JSON.stringify(r)) ?? 0;
    if (n === 0) return false;
    left.set(JSON.stringify(r), n - 1);
  }
  return true;
}

describe.skipIf(!run)('differential fuzzing of Postgres reads against an RLS oracle', () => {
  let h: Harness;
  let rls: RlsOracle;
  const stats = { cases: 0, equal: 0, truncated: 0, bothRefused: 0, overRefused: 0, dataErrorEmpty: 0, probes: 0, trapped: 0, trappedEqual: 0, schemaRefsEqual: 0 };
  const trapFn = `sluice_trap_${randomBytes(5).toString('hex')}`;
  const overRefusals = new Map<string, string>();
  const dataErrorEmpty: string[] = [];
  /** Why both sides refused: oracle SQLSTATE / sluice code, to see the generator is not mostly wasted. */
  const refusals = new Map<string, number>();

  const expand = (sql: string): string => sql.replaceAll('{{schema}}', h.schema).replaceAll('{{trap}}', trapFn);

  const oracle = (c: FuzzCase): Promise<OracleAnswer> => rls.run(expand(c.oracle), c.tenant);

  beforeAll(async () => {
    h = await startHarness({ sql: { allowFunctions: [trapFn] } });
    await createPgTrap(h.fixture.admin, trapFn);
    rls = await createRlsOracle(PG_TEST_URL, h.schema);
  }, 60_000);

  afterAll(async () => {
    console.info(`fuzz-pg-reads: seed ${SEED}, ${JSON.stringify(stats)}, both refused (oracle/sluice): ${JSON.stringify(Object.fromEntries(refusals))}`);
    if (overRefusals.size > 0) {
      console.info(`refused by sluice, answered by the oracle (safe; first few):\n${[...overRefusals].slice(0, 8).map(([sql, why]) => `  ${why}: ${sql}`).join('\n')}`);
    }
    if (dataErrorEmpty.length > 0) console.info(`oracle data error, sluice no rows (first few):\n  ${dataErrorEmpty.slice(0, 4).join('\n  ')}`);
    try {
      if (h) await dropPgTrap(h.fixture.admin, trapFn);
      await h?.teardown();
    } finally {
      await rls?.close();
    }
  }, 60_000);

  it('describes the same columns as the member permission the gateway enforces', () => {
    const perms = (memberPermissions().member as Record<string, Record<string, { select: { columns: string[] | '*' } }>>).main!;
    for (const [table, { permitted }] of Object.entries(FUZZ_TABLES)) {
      const cols = perms[table]!.select.columns;
      if (cols !== '*') expect(permitted.map((c) => c.name)).toEqual(cols);
    }
  });

  it('the oracle sees only the tenant’s permitted columns and rows', async () => {
    const mine = await oracle({ tenant: 2, sluice: '', oracle: 'select tenant_id, count(*) from customers group by 1', probe: false, query: null as never });
    expect(mine).toEqual({ ok: true, rows: [[2, '3']], rowCount: 1, state: undefined });
    const hidden = await oracle({ tenant: 1, sluice: '', oracle: 'select secret_note from customers', probe: true, query: null as never });
    expect(hidden).toMatchObject({ ok: false, code: '42501' });
  });

  it('a trap fires on another tenant\'s rows through the fenced form too, and the judge sees it', async () => {
    // Tenant 1 calling the trap with tenant 2's marker: tenant 1's own rows are "another tenant's".
    const res = await h.post(h.tokens.tenant1, { sql: `select id from customers c where ${trapFn}(c.name, 'T2', '54000')`, params: [], method: 'all' });
    expect(res.body?.error).toMatchObject({ code: 'INVALID_SQL', sqlstate: '54000' });
    expect(pgTrapFired(res)).toBe(true);
    // With its own marker: true on every own row.
    const own = await h.post(h.tokens.tenant1, { sql: `select count(*)::int from customers c where ${trapFn}(c.name, 'T1', '54000')`, params: [], method: 'all' });
    expect(own.body.rows).toEqual([[3]]);
  });

  it(`answers every generated read like the oracle, or refuses it (${RUNS} cases, seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(pgReadCase(), async (c) => {
        stats.cases++;
        const token = c.tenant === 1 ? h.tokens.tenant1 : h.tokens.tenant2;
        const res = await h.post(token, { sql: expand(c.sluice), params: [], method: 'all' });
        const expected = await oracle(c);
        const where = `tenant ${c.tenant}\n  sluice SQL: ${c.sluice}\n  oracle SQL: ${c.oracle}\n  sluice: ${res.status} ${res.text.slice(0, 400)}\n  oracle: ${JSON.stringify(expected).slice(0, 400)}`;

        if (c.traps) {
          stats.trapped++;
          if (pgTrapFired(res)) throw new Error(`an error-oracle trap fired: another tenant's row was evaluated and its error reached the caller\n${where}`);
          if (res.status === 200 && expected.ok) stats.trappedEqual++;
        }
        if (res.status >= 500) throw new Error(`5xx from sluice\n${where}`);
        if (res.status !== 200 && (res.status < 400 || res.status >= 500)) throw new Error(`unexpected status\n${where}`);
        if (c.probe) {
          stats.probes++;
          if (res.status === 200) throw new Error(`sluice answered a statement reaching a hidden column or table\n${where}`);
          return;
        }
        if (expected.ok) {
          if (res.status === 200) {
            if (res.body.truncated === true) {
              // Cut at limits.maxRows: which rows survive is up to the plan, so check containment.
              if (expected.rows.length <= MAX_ROWS || !isSubMultiset(res.body.rows, expected.rows)) throw new Error(`truncated rows are not the oracle's\n${where}`);
              stats.truncated++;
              return;
            }
            if (JSON.stringify(normalise(res.body.rows)) !== JSON.stringify(normalise(expected.rows))) throw new Error(`rows differ from the oracle\n${where}`);
            stats.equal++;
            if (SCHEMA_COLUMN.test(c.sluice)) stats.schemaRefsEqual++;
          } else {
            stats.overRefused++;
            overRefusals.set(c.sluice, `${res.status} ${res.body?.error?.code ?? ''}`);
          }
          return;
        }
        if (res.status === 200) {
          const dataError = expected.code.startsWith('22');
          if (dataError && Array.isArray(res.body.rows) && res.body.rows.length === 0) {
            stats.dataErrorEmpty++;
            dataErrorEmpty.push(`tenant ${c.tenant}: ${c.sluice}`);
            return;
          }
          throw new Error(`sluice answered what the oracle refused\n${where}`);
        }
        stats.bothRefused++;
        const why = `${expected.code}/${res.body?.error?.code ?? res.status}`;
        refusals.set(why, (refusals.get(why) ?? 0) + 1);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: false },
    );
    // The generator must mostly produce statements both sides answer, or the property proves little.
    expect(stats.equal).toBeGreaterThan(RUNS * 0.5);
    expect(stats.schemaRefsEqual).toBeGreaterThan(0);
  }, Math.max(120_000, RUNS * 200));
});
