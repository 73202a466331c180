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
 * CORPUS holds shrunk failures found so far; it runs every time. The `sqlite-cst` vitest project runs
 * this file again with the opt-in sql-parser-cst (SQLITE_CST_PROFILE: the grammar it adds).
 */
import { describe } from 'vitest';
import { SQLITE_CST_PROFILE, SQLITE_PROFILE } from '../helpers/sql-fuzz-dialect-gen.js';
import { SQLITE_CST } from '../helpers/sqlite-parser.js';
import { createSqliteFuzzBackend } from '../helpers/sql-fuzz-sqlite.js';
import { defineDialectFuzzSuite, oracleView, type CorpusEntry } from '../helpers/sql-fuzz-suite.js';

const view = oracleView('sqlite');

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
  {
    // UPDATE … FROM once changed no row through sluice where the oracle changed 3: the printer
    // listed the FROM view's placeholders before SET's, so the values were bound to the wrong `?`
    // (emit.ts). Accepted on sql-parser-cst (node-sql-parser does not parse it: both refuse there).
    name: 'UPDATE … FROM another table',
    kind: 'write',
    tenant: 1,
    sluice: 'update customers set name = ? from orders u where (u.id = customers.id)',
    params: ['new-1'],
    oracle: `update customers set name = 'new-1' from ${view('orders')} u where customers.tenant_id = 1 and (u.id = customers.id)`,
    expect: SQLITE_CST ? 'equal' : 'overRefused',
  },
];

defineDialectFuzzSuite({
  title: 'differential fuzzing of SQLite reads and writes against a hand-written tenant predicate',
  describe: describe,
  profile: SQLITE_CST ? SQLITE_CST_PROFILE : SQLITE_PROFILE,
  createBackend: createSqliteFuzzBackend,
  corpus: CORPUS,
});
