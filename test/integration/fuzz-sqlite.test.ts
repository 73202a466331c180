/**
 * Differential tenant-leak fuzzing of SQLite (issue 6): random reads and writes
 * (test/helpers/sql-fuzz-dialect-gen.ts, -writes.ts) go through the real HTTP gateway as tenant 1 or
 * 2, and the same statement with the tenant predicate written by hand on every table reference runs
 * directly on SQLite (test/helpers/sql-fuzz-sqlite.ts). The judges are in test/helpers/sql-fuzz-run.ts:
 * same rows or a 4xx for reads; for writes, other tenants byte-identical and the tenant's own rows as
 * the oracle's write left them.
 *
 * Legitimate asymmetries: `RETURNING *` is spelled out for the oracle and INSERTs list `tenant_id`
 * (sluice presets it; a NULL there — Drizzle's "not supplied" — becomes the tenant, and a NULL in a
 * column the role may not write is left to the column default); ON CONFLICT DO UPDATE gets
 * `WHERE <table>.tenant_id = t AND (…)` by hand.
 *
 * Bounded in `npm test` (FUZZ_RUNS reads, FUZZ_WRITE_RUNS writes, fixed seed); `npm run fuzz:sqlite`
 * runs long with a random seed, printed so that a failure replays with FUZZ_SEED=<seed>.
 * CORPUS holds shrunk failures found so far; it runs every time.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLITE_PROFILE, readCase } from '../helpers/sql-fuzz-dialect-gen.js';
import { writeCase } from '../helpers/sql-fuzz-dialect-writes.js';
import { tenantView, type TableName } from '../helpers/sql-fuzz-dialect.js';
import type { FuzzBackend } from '../helpers/sql-fuzz-fixture.js';
import { FuzzStats, judgeRead, judgeWrite, startFuzzEngine, type FuzzEngine } from '../helpers/sql-fuzz-run.js';
import { createSqliteFuzzBackend } from '../helpers/sql-fuzz-sqlite.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const WRITE_RUNS = Number(process.env.FUZZ_WRITE_RUNS ?? process.env.FUZZ_RUNS ?? 100);
const SEED = process.env.FUZZ_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED ?? 0x5eed);

interface CorpusEntry {
  name: string;
  kind: 'read' | 'write';
  tenant: 1 | 2;
  sluice: string;
  oracle: string;
  /** The oracle's fenced form (defaults to `oracle`). */
  fenced?: string;
  /** sluice's `?` values (the oracle writes them inline). */
  params?: unknown[];
  ordered?: boolean;
  probe?: boolean;
  /** What the judge must conclude (it throws on any difference anyway). */
  expect: 'equal' | 'overRefused' | 'bothRefused' | 'probe';
}

/** The oracle's view of a table for tenant 1 (as the generator prints it). */
const view = (t: TableName): string => tenantView(t, { dialect: 'sqlite', mode: 'oracle', tenant: 1, fenced: false, quoted: false });

/** Shrunk failures of earlier runs (and the cases that pin their fixes). */
const CORPUS: CorpusEntry[] = [
  {
    // A leak: the printer listed the placeholders of `x IN (…)` / `x BETWEEN … AND …` list first,
    // left operand last, while the text has them the other way round. The tenant parameter of the
    // view in the left operand took the client's first value: tenant 1 counted tenant 2's rows.
    name: 'placeholders of IN: a subquery on the left keeps its tenant',
    kind: 'read',
    tenant: 1,
    sluice: "select c.id from customers c where (select count(*) from customers z where z.name like 'T2%') in (?, ?)",
    params: [2, 3],
    oracle: `select c.id from ${view('customers')} c where (select count(*) from ${view('customers')} z where z.name like 'T2%') in (2, 3)`,
    expect: 'equal',
  },
  {
    name: 'placeholders of BETWEEN in INSERT … SELECT',
    kind: 'write',
    tenant: 1,
    sluice: 'insert into order_items (order_id) select (case when (? between ? and ?) then c.id else ? end) from customers c order by 1 limit 100',
    params: ['b', 'a', 'c', 1],
    oracle: `insert into order_items (order_id, tenant_id) select (case when ('b' between 'a' and 'c') then c.id else 1 end), 1 from ${view('customers')} c order by 1 limit 100`,
    expect: 'equal',
  },
  {
    // SQLite reads a later CTE of the same WITH list in an earlier body; sluice read the table
    // (its tenant's view: no leak, another answer). Now refused.
    name: 'a later CTE named like a table, read in an earlier body',
    kind: 'read',
    tenant: 1,
    sluice: 'with a as (select o.id from orders o), orders as (select 99 as id) select * from a',
    oracle: 'with a as (select o.id from orders o), orders as (select 99 as id) select * from a',
    expect: 'overRefused',
  },
  {
    // SQLite matches CTE names case-insensitively: `orders` meant the CTE `Orders`. Now refused.
    name: 'CTE named in another case than its reference',
    kind: 'read',
    tenant: 1,
    sluice: 'with Orders as (select c.id from customers c) select * from orders',
    oracle: `with Orders as (select c.id from ${view('customers')} c) select * from orders`,
    expect: 'overRefused',
  },
  {
    // The parser's SQLite grammar cannot read NATURAL JOIN and took `natural` for the alias of
    // `orders`: sluice answered a cross join (9 rows) where the client asked for a natural join (3).
    name: 'NATURAL JOIN read as an alias',
    kind: 'read',
    tenant: 1,
    sluice: 'select count(*) from orders natural join customers',
    oracle: `select count(*) from ${view('orders')} orders natural join ${view('customers')} customers`,
    expect: 'overRefused',
  },
  {
    // SQLite (unlike MariaDB) resolves an outer CTE inside a nested WITH's CTE body: answered.
    name: 'nested WITH: a CTE body naming an outer CTE',
    kind: 'read',
    tenant: 1,
    sluice: 'with customers as (select 99 as id) select * from (with x as (select * from customers) select * from x) d',
    oracle: 'with customers as (select 99 as id) select * from (with x as (select * from customers) select * from x) d',
    expect: 'equal',
  },
  {
    // A non-recursive CTE's own name in its body is the CTE itself for SQLite (circular
    // reference), whatever an outer WITH holds; sluice now refuses it rather than guess.
    name: 'nested WITH: own name in the body',
    kind: 'read',
    tenant: 1,
    sluice: 'with customers as (select 1 as id) select d.* from (with customers as (select * from customers) select * from customers) d',
    oracle: 'with customers as (select 1 as id) select d.* from (with customers as (select * from customers) select * from customers) d',
    expect: 'bothRefused',
  },
];

describe('differential fuzzing of SQLite reads and writes against a hand-written tenant predicate', () => {
  let backend: FuzzBackend;
  let sluice: FuzzEngine;
  const reads = new FuzzStats();
  const writes = new FuzzStats();

  beforeAll(async () => {
    backend = createSqliteFuzzBackend();
    sluice = await startFuzzEngine(backend);
  }, 60_000);

  afterAll(async () => {
    console.info(`${reads.summary('fuzz-sqlite reads', SEED)}\n${writes.summary('fuzz-sqlite writes', SEED)}`);
    try {
      await sluice?.close();
    } finally {
      await backend?.close();
    }
  }, 60_000);

  it('the judges notice a difference (another tenant\'s rows, another write)', async () => {
    const stats = new FuzzStats();
    const other = tenantView('customers', { dialect: 'sqlite', mode: 'oracle', tenant: 2, fenced: false, quoted: false });
    const read = { tenant: 1 as const, sluice: 'select id from customers', oracle: `select id from ${other} customers`, probe: false, ordered: false };
    await expect(judgeRead({ ...read, fenced: read.oracle }, backend, sluice, stats)).rejects.toThrow(/rows differ/);
    const write = { tenant: 1 as const, sluice: "update customers set name = 'x' where id = 1", oracle: "update customers set name = 'y' where tenant_id = 1 and id = 1", probe: false };
    await expect(judgeWrite({ ...write, fenced: write.oracle }, backend, sluice, stats)).rejects.toThrow(/differs from the oracle/);
    // Both copies are back at the seed: the next case starts clean.
    expect(await backend.pristine('a', await backend.dump('a'))).toBe(true);
    expect(await backend.pristine('b', await backend.dump('b'))).toBe(true);
  }, 30_000);

  it('the corpus of earlier findings', async () => {
    const stats = new FuzzStats();
    for (const c of CORPUS) {
      const entry = { probe: false, ordered: false, fenced: c.oracle, ...c };
      const outcome = c.kind === 'read' ? await judgeRead(entry, backend, sluice, stats) : await judgeWrite(entry, backend, sluice, stats);
      expect(outcome, c.name).toBe(c.expect);
    }
  }, 60_000);

  it.skipIf(RUNS === 0)(`answers every generated read like the oracle, or refuses it (${RUNS} cases, seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(readCase(SQLITE_PROFILE), async (c) => {
        await judgeRead(c, backend, sluice, reads);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: false },
    );
    // Most statements must be answered by both sides, or the property proves little.
    expect(reads.counts.equal).toBeGreaterThanOrEqual(Math.floor(RUNS * 0.4));
  }, Math.max(120_000, RUNS * 300));

  it.skipIf(WRITE_RUNS === 0)(`leaves other tenants alone and writes what the oracle writes (${WRITE_RUNS} cases, seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(writeCase(SQLITE_PROFILE), async (c) => {
        await judgeWrite(c, backend, sluice, writes);
      }),
      { numRuns: WRITE_RUNS, seed: SEED, endOnFailure: false },
    );
    expect(writes.counts.equal).toBeGreaterThanOrEqual(Math.floor(WRITE_RUNS * 0.3));
  }, Math.max(120_000, WRITE_RUNS * 600));
});
