/**
 * Differential tenant-leak fuzzing of MariaDB (issue 6): random reads and writes
 * (test/helpers/sql-fuzz-dialect-gen.ts, -writes.ts) go through the real HTTP gateway as tenant 1 or
 * 2, and the same statement with the tenant predicate written by hand on every table reference runs
 * directly on MariaDB (test/helpers/sql-fuzz-mysql.ts). The judges are in test/helpers/sql-fuzz-run.ts:
 * same rows or a 4xx for reads; for writes, other tenants byte-identical and the tenant's own rows as
 * the oracle's write left them.
 *
 * Legitimate asymmetries: `RETURNING *` is spelled out for the oracle and INSERTs list `tenant_id`
 * (sluice presets it); ON DUPLICATE KEY UPDATE is guarded by hand (`IF(tenant_id = t, …, col)`),
 * which is what "the tenant predicate on every table reference" means for the existing row; a data
 * error (division by zero in a write) makes the oracle re-run its fenced form, as sluice's fallback
 * does; text is compared case-folded (MariaDB's collation is case-insensitive).
 *
 * Bounded in `npm test` (FUZZ_RUNS reads, FUZZ_WRITE_RUNS writes, fixed seed); `npm run fuzz:mysql`
 * runs long with a random seed, printed so that a failure replays with FUZZ_SEED=<seed>.
 * CORPUS holds shrunk failures found so far; it runs every time.
 */
import { describeIfMysql } from '../helpers/services.js';
import { MYSQL_PROFILE } from '../helpers/sql-fuzz-dialect-gen.js';
import { createMysqlFuzzBackend } from '../helpers/sql-fuzz-mysql.js';
import { defineDialectFuzzSuite, oracleView, type CorpusEntry } from '../helpers/sql-fuzz-suite.js';

const view = oracleView('mysql');

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
    // MariaDB reports an ambiguous column as errno 1052 with SQLSTATE 23000 (an "integrity" class):
    // it was mapped to INTERNAL_ERROR, a 500. Now 400 INVALID_SQL.
    name: 'ambiguous column is a 400, not a 500',
    kind: 'read',
    tenant: 1,
    sluice: 'select id from customers, orders',
    oracle: `select id from ${view('customers')} customers, ${view('orders')} orders`,
    expect: 'bothRefused',
  },
  {
    // A leak: MariaDB reads a non-recursive CTE's own name inside its body as the table even where
    // an outer WITH has a CTE of that name; sluice passed the name on to the outer CTE and left it
    // unrewritten, so the inner body read every tenant's rows (and `*` every column).
    name: 'nested WITH: own name in the body is the table, not the outer CTE',
    kind: 'read',
    tenant: 1,
    sluice: 'with customers as (select 1 as id) select d.* from (with customers as (select * from customers) select * from customers) d',
    oracle: `with customers as (select 1 as id) select d.* from (with customers as (select * from ${view('customers')} customers) select * from customers) d`,
    expect: 'equal',
  },
  {
    name: 'nested WITH: a later CTE name in an earlier body is the table, not the outer CTE',
    kind: 'read',
    tenant: 1,
    sluice: 'with orders as (select 1 as id) select d.* from (with a as (select o.id, o.total from orders o), orders as (select 2 as id) select * from a) d',
    oracle: `with orders as (select 1 as id) select d.* from (with a as (select o.id, o.total from ${view('orders')} o), orders as (select 2 as id) select * from a) d`,
    expect: 'equal',
  },
  {
    // A leak: in MariaDB a CTE body of a nested WITH (in a derived table or subquery) does not see
    // the outer WITH list; `customers` there is the base table. sluice took it for the outer CTE,
    // left it bare, and `select *` returned every tenant's customers with secret_note. Now refused.
    name: 'nested WITH: a CTE body naming an outer CTE',
    kind: 'read',
    tenant: 1,
    sluice: 'with customers as (select 99 as id) select * from (with x as (select * from customers) select * from x) d',
    oracle: `with customers as (select 99 as id) select * from (with x as (select * from ${view('customers')} customers) select * from x) d`,
    expect: 'overRefused',
  },
  {
    // The same through a subquery: an existence test on another tenant's hidden value.
    name: 'WITH in a subquery: a CTE body naming an outer CTE',
    kind: 'read',
    tenant: 1,
    sluice: "with customers as (select 99 as id) select id from customers where exists (with x as (select 1 from customers where secret_note like 'SECRET-T2%') select * from x)",
    oracle: `with customers as (select 99 as id) select id from customers where exists (with x as (select 1 from ${view('customers')} customers where secret_note like 'SECRET-T2%') select * from x)`,
    expect: 'bothRefused',
  },
  {
    // MariaDB matches CTE names case-insensitively: `customers` meant the CTE `Customers`, sluice
    // read the table. Now refused (MySQL 8 may match them case-sensitively).
    name: 'CTE named in another case than its reference',
    kind: 'read',
    tenant: 1,
    sluice: 'with Customers as (select count(*) as c1 from customers c) select c1 from customers',
    oracle: `with Customers as (select count(*) as c1 from ${view('customers')} c) select c1 from customers`,
    expect: 'overRefused',
  },
];

defineDialectFuzzSuite({
  title: 'differential fuzzing of MariaDB reads and writes against a hand-written tenant predicate',
  describe: describeIfMysql,
  profile: MYSQL_PROFILE,
  createBackend: createMysqlFuzzBackend,
  corpus: CORPUS,
});
