/**
 * The MySQL/MariaDB and SQLite differential fuzzers' shared model: the multi-tenant fixture, the
 * permission the gateway enforces on it, a small statement AST, and one printer with two modes:
 *
 * - `sluice`: what the client sends through the gateway;
 * - `oracle`: the same statement with the tenant predicate written by hand on every base-table
 *   reference — `customers c` becomes `(SELECT id, tenant_id, name, email FROM db.customers WHERE
 *   tenant_id = 1) c` — run directly on the database. CTE references, aliases and everything else
 *   print the same in both modes, so the oracle is exactly "the statement, over the tenant's rows
 *   and permitted columns", written without the gateway's code.
 *
 * `fenced` (oracle only) puts a LIMIT that stops view merging into every derived table and guards
 * the write target's WHERE with CASE, as sluice's fallback does: a data-dependent error (MariaDB's
 * division by zero in a write) then depends only on the tenant's own rows in both.
 *
 * Name resolution follows each database, not the gateway: a CTE name matches case-insensitively
 * (both MariaDB and SQLite), in SQLite a WITH list's later CTEs are visible in earlier bodies
 * (MariaDB: only earlier ones; the body's own name and later ones mean the table, whatever an outer
 * WITH holds), MariaDB's CTE bodies of a nested WITH do not see outer WITH lists, and a
 * schema-qualified name is always the table. The oracle gives every CTE a unique name (`q<n>_…`)
 * and writes its references with it, so what each name means is spelled out, not left to the
 * database: where the database (and the gateway) would read something else, the answers differ.
 */
import { dialectTrap } from './sql-fuzz-trap.js';

export type Dialect = 'mysql' | 'sqlite';
export type Ty = 'int' | 'text' | 'num' | 'ts';

export interface Col {
  name: string;
  ty: Ty;
}

export interface FuzzTable {
  /** Every column, in table order (the dump and the DDL use this order). */
  columns: Col[];
  /** What the role may select (null: every column, `select: { columns: '*' }`). */
  select: string[] | null;
  insert: string[] | null;
  update: string[] | null;
  delete: boolean;
}

const c = (name: string, ty: Ty): Col => ({ name, ty });

/** The fixture as the role `member` may use it; `audit_secrets` is in no permission. */
export const FUZZ_SCHEMA: Record<'customers' | 'orders' | 'order_items', FuzzTable> = {
  customers: {
    columns: [c('id', 'int'), c('tenant_id', 'int'), c('name', 'text'), c('email', 'text'), c('secret_note', 'text')],
    select: ['id', 'tenant_id', 'name', 'email'],
    insert: ['id', 'name', 'email'],
    update: ['name', 'email'],
    delete: true,
  },
  orders: {
    columns: [c('id', 'int'), c('tenant_id', 'int'), c('customer_id', 'int'), c('total', 'num'), c('status', 'text'), c('created_at', 'ts')],
    select: null,
    insert: ['customer_id', 'total', 'status'],
    update: ['total', 'status'],
    delete: true,
  },
  order_items: {
    columns: [c('id', 'int'), c('tenant_id', 'int'), c('order_id', 'int'), c('sku', 'text'), c('qty', 'int'), c('internal_code', 'text')],
    select: ['id', 'tenant_id', 'order_id', 'sku', 'qty'],
    insert: ['order_id', 'sku', 'qty'],
    update: null,
    delete: true,
  },
};
export type TableName = keyof typeof FUZZ_SCHEMA;
export const TABLE_NAMES = Object.keys(FUZZ_SCHEMA) as TableName[];
export const ALL_TABLES = [...TABLE_NAMES, 'audit_secrets'] as const;

export function permittedCols(t: TableName): Col[] {
  const s = FUZZ_SCHEMA[t];
  return s.select === null ? s.columns : s.columns.filter((col) => s.select!.includes(col.name));
}

/** The gateway's permission for the fixture (role `member`, tenant from the `tenant_id` claim). */
export function fuzzPermissions(): Record<string, unknown> {
  const own = { tenant_id: '$claims.tenant_id' };
  const tables: Record<string, unknown> = {};
  for (const [name, t] of Object.entries(FUZZ_SCHEMA)) {
    tables[name] = {
      select: { columns: t.select ?? '*', filter: own },
      ...(t.insert && { insert: { columns: t.insert, set: own } }),
      ...(t.update && { update: { columns: t.update, filter: own } }),
      ...(t.delete && { delete: { filter: own } }),
    };
  }
  return { member: { main: tables } };
}

// ------------------------------------------------------------------------------------------ AST

export type Expr =
  /** `rel` '' is an unqualified name. */
  | { k: 'col'; rel: string; col: string }
  | { k: 'lit'; sql: string }
  | { k: 'op'; op: string; l: Expr; r: Expr }
  | { k: 'not'; e: Expr }
  | { k: 'neg'; e: Expr }
  | { k: 'isnull'; e: Expr; not: boolean }
  | { k: 'inlist'; e: Expr; list: Expr[]; not: boolean }
  | { k: 'between'; e: Expr; lo: Expr; hi: Expr }
  | { k: 'like'; e: Expr; pattern: string; not: boolean }
  | { k: 'insub'; e: Expr; q: Query; not: boolean }
  | { k: 'exists'; q: Select; not: boolean }
  | { k: 'sub'; q: Select }
  | { k: 'fn'; name: string; args: Expr[]; star?: boolean; distinct?: boolean; order?: Expr[]; sep?: string }
  | { k: 'win'; fn: string; args: Expr[]; partition: Expr[]; order: Expr[] }
  | { k: 'case'; when: Expr; then: Expr; else: Expr }
  /** MySQL's `values(col)` in ON DUPLICATE KEY UPDATE. */
  | { k: 'values'; col: string }
  /** `DEFAULT` (MySQL) or NULL (SQLite, Drizzle's "not supplied") in INSERT VALUES. */
  | { k: 'default' }
  /** An error-oracle trap over a text column (sql-fuzz-trap.ts): the oracle prints it as true. */
  | { k: 'trap'; e: Expr };

export type Item = { k: 'expr'; e: Expr; as: string | null } | { k: 'star'; rel: string | null };

export type JoinType = 'inner' | 'left' | 'cross' | 'right' | 'full' | 'natural';

export type From =
  /** `qualified`: written `db.table` (always the table, even where a CTE has its name). */
  | { k: 'table'; table: TableName | 'audit_secrets'; alias: string | null; qualified: boolean; otherDb?: boolean }
  /** `name` as written (it matches the CTE case-insensitively); `oracle`: the CTE's unique name for the oracle. */
  | { k: 'cte'; name: string; alias: string | null; oracle: string }
  | { k: 'sub'; q: Query; alias: string }
  | { k: 'join'; type: JoinType; l: From; r: From; on: Expr | null; using: string[] | null };

export interface Cte {
  name: string;
  /** The name the oracle gives it: unique, and no table's, so its references cannot mean anything else. */
  oracle: string;
  columns: string[] | null;
  q: Query;
}

export interface Select {
  k: 'select';
  with: Cte[];
  recursive: boolean;
  distinct: boolean;
  items: Item[];
  /** Comma-separated FROM items. */
  from: From[];
  where: Expr | null;
  groupBy: Expr[];
  having: Expr | null;
  /** Positional ORDER BY of every output column (`orderAll`), then LIMIT. */
  orderAll: number | null;
  limit: number | null;
}

export interface SetOp {
  k: 'setop';
  op: 'union' | 'union all' | 'intersect' | 'except';
  l: Query;
  r: Select;
  orderAll: number | null;
  limit: number | null;
}

export type Query = Select | SetOp;

// -------------------------------------------------------------------------------------- printer

export interface PrintOpts {
  dialect: Dialect;
  mode: 'sluice' | 'oracle';
  tenant: number;
  /** Oracle only: fence every derived table (see the header). */
  fenced: boolean;
  /** Quote every identifier (exercises the gateway's reading of quoted names). */
  quoted: boolean;
  /**
   * sluice only: literals become `?` and their values are appended here, in order (exercises the
   * binding of client and gateway parameters through the rewrite). SQLite: text and NULL only —
   * better-sqlite3 binds every JS number as REAL, so `10 / ?` would not be `10 / 3`.
   */
  params?: unknown[];
}

/** Replaced by the database name (MariaDB) or `main` (SQLite) before a statement is sent. */
export const DB = '{{db}}';
export const OTHER_DB = '{{other}}';

export function ident(name: string, o: PrintOpts): string {
  // The gateway's MariaDB grammar reads a bare STATUS as a keyword (SQL_PARSE_ERROR): a known
  // limit, so MySQL statements always quote that one column.
  if (!o.quoted && !(o.dialect === 'mysql' && name === 'status')) return name;
  return o.dialect === 'mysql' ? `\`${name}\`` : `"${name}"`;
}

function fence(o: PrintOpts): string {
  if (!o.fenced) return '';
  return o.dialect === 'mysql' ? ' limit 18446744073709551615' : ' limit -1 offset 0';
}

/** The inner table's alias in the oracle's views: no name the generator writes, so nothing outside binds to it. */
const ORACLE_T = 'oracle_t';

/** The oracle's stand-in for a base table: its permitted columns of the tenant's rows. */
export function tenantView(table: TableName, o: PrintOpts): string {
  const t = FUZZ_SCHEMA[table];
  const q = (n: string): string => `${ident(ORACLE_T, o)}.${ident(n, o)}`;
  const cols = t.select === null ? `${ident(ORACLE_T, o)}.*` : t.select.map(q).join(', ');
  return `(select ${cols} from ${DB}.${ident(table, o)} ${ident(ORACLE_T, o)} where ${q('tenant_id')} = ${o.tenant}${fence(o)})`;
}

/** The value a literal's text stands for, when it can travel as a parameter with the same meaning. */
function paramValue(sql: string, d: Dialect): unknown {
  if (sql === 'null') return null;
  const text = /^'((?:[^']|'')*)'$/.exec(sql);
  if (text) return text[1]!.replaceAll("''", "'");
  // mysql2 writes numbers into the statement text as it sends it: the same literal.
  if (d === 'mysql' && /^-?\d+(\.\d+)?$/.test(sql)) return Number(sql);
  return undefined;
}

export function printExpr(e: Expr, o: PrintOpts): string {
  const p = (x: Expr): string => printExpr(x, o);
  switch (e.k) {
    case 'col':
      return e.rel === '' ? ident(e.col, o) : `${ident(e.rel, o)}.${ident(e.col, o)}`;
    case 'lit': {
      const value = o.params && o.mode === 'sluice' ? paramValue(e.sql, o.dialect) : undefined;
      if (value === undefined) return e.sql;
      o.params!.push(value);
      return '?';
    }
    case 'op':
      return `(${p(e.l)} ${e.op} ${p(e.r)})`;
    case 'not':
      return `not (${p(e.e)})`;
    case 'neg':
      return `(- ${p(e.e)})`;
    case 'isnull':
      return `(${p(e.e)} is ${e.not ? 'not ' : ''}null)`;
    case 'inlist':
      return `(${p(e.e)} ${e.not ? 'not ' : ''}in (${e.list.map(p).join(', ')}))`;
    case 'between':
      return `(${p(e.e)} between ${p(e.lo)} and ${p(e.hi)})`;
    case 'like':
      return `(${p(e.e)} ${e.not ? 'not ' : ''}like '${e.pattern}')`;
    case 'insub':
      return `(${p(e.e)} ${e.not ? 'not ' : ''}in (${printQuery(e.q, o)}))`;
    case 'exists':
      return `(${e.not ? 'not ' : ''}exists (${printQuery(e.q, o)}))`;
    case 'sub':
      return `(${printQuery(e.q, o)})`;
    case 'fn': {
      let args = e.star ? '*' : e.args.map(p).join(', ');
      if (e.distinct) args = `distinct ${args}`;
      if (e.order) args += ` order by ${e.order.map(p).join(', ')}`;
      if (e.sep !== undefined) args += o.dialect === 'mysql' ? ` separator '${e.sep}'` : '';
      return `${e.name}(${args})`;
    }
    case 'win': {
      const parts: string[] = [];
      if (e.partition.length > 0) parts.push(`partition by ${e.partition.map(p).join(', ')}`);
      if (e.order.length > 0) parts.push(`order by ${e.order.map(p).join(', ')}`);
      return `${e.fn}(${e.args.map(p).join(', ')}) over (${parts.join(' ')})`;
    }
    case 'case':
      return `(case when ${p(e.when)} then ${p(e.then)} else ${p(e.else)} end)`;
    case 'values':
      return `values(${ident(e.col, o)})`;
    case 'default':
      return o.dialect === 'mysql' ? 'default' : 'null';
    case 'trap':
      return dialectTrap(p(e.e), o);
  }
}

function printItem(i: Item, o: PrintOpts): string {
  if (i.k === 'star') return i.rel === null ? '*' : `${ident(i.rel, o)}.*`;
  return i.as === null ? printExpr(i.e, o) : `${printExpr(i.e, o)} as ${ident(i.as, o)}`;
}

const JOIN_KW: Record<JoinType, string> = { inner: 'join', left: 'left join', cross: 'cross join', right: 'right join', full: 'full join', natural: 'natural join' };

export function printFrom(f: From, o: PrintOpts): string {
  switch (f.k) {
    case 'table': {
      const alias = f.alias ?? f.table;
      if (f.table !== 'audit_secrets' && !f.otherDb && o.mode === 'oracle') return `${tenantView(f.table, o)} ${ident(alias, o)}`;
      const db = f.otherDb ? OTHER_DB : DB;
      const name = f.qualified || f.otherDb ? `${db}.${ident(f.table, o)}` : ident(f.table, o);
      return f.alias === null ? name : `${name} ${ident(f.alias, o)}`;
    }
    case 'cte': {
      // The oracle names the CTE the generator means (the database's own resolution under test).
      const name = o.mode === 'oracle' ? f.oracle : f.name;
      const alias = f.alias ?? (o.mode === 'oracle' ? f.name : null);
      return alias === null ? ident(name, o) : `${ident(name, o)} ${ident(alias, o)}`;
    }
    case 'sub':
      return `(${printQuery(f.q, o)}) ${ident(f.alias, o)}`;
    case 'join': {
      // SQLite has no CROSS JOIN keyword in the gateway's grammar: a bare JOIN without ON is the same.
      const kw = f.type === 'cross' && o.dialect === 'sqlite' ? 'join' : JOIN_KW[f.type];
      // Printed (and so parameters collected) strictly left to right.
      const sides = `${printFrom(f.l, o)} ${kw} ${printFrom(f.r, o)}`;
      const cond = f.on ? ` on ${printExpr(f.on, o)}` : f.using ? ` using (${f.using.map((n) => ident(n, o)).join(', ')})` : '';
      return sides + cond;
    }
  }
}

function orderLimit(width: number | null, limit: number | null, o: PrintOpts): string {
  let sql = '';
  if (width !== null) sql += ` order by ${Array.from({ length: width }, (_, i) => i + 1).join(', ')}`;
  if (limit !== null) {
    // `LIMIT ?` (clamped to maxRows+1 by the gateway at the top).
    const param = o.params && o.mode === 'sluice';
    if (param) o.params!.push(limit);
    sql += ` limit ${param ? '?' : limit}`;
  }
  return sql;
}

export function printCtes(ctes: Cte[], recursive: boolean, o: PrintOpts): string {
  if (ctes.length === 0) return '';
  const list = ctes.map((x) => `${ident(o.mode === 'oracle' ? x.oracle : x.name, o)}${x.columns ? `(${x.columns.map((n) => ident(n, o)).join(', ')})` : ''} as (${printQuery(x.q, o)})`);
  return `with ${recursive ? 'recursive ' : ''}${list.join(', ')} `;
}

export function printQuery(q: Query, o: PrintOpts): string {
  if (q.k === 'setop') return `${printQuery(q.l, o)} ${q.op} ${printQuery(q.r, o)}${orderLimit(q.orderAll, q.limit, o)}`;
  let sql = printCtes(q.with, q.recursive, o);
  sql += `select ${q.distinct ? 'distinct ' : ''}${q.items.map((i) => printItem(i, o)).join(', ')}`;
  if (q.from.length > 0) sql += ` from ${q.from.map((f) => printFrom(f, o)).join(', ')}`;
  if (q.where) sql += ` where ${printExpr(q.where, o)}`;
  if (q.groupBy.length > 0) sql += ` group by ${q.groupBy.map((e) => printExpr(e, o)).join(', ')}`;
  if (q.having) sql += ` having ${printExpr(q.having, o)}`;
  return sql + orderLimit(q.orderAll, q.limit, o);
}

/** Both forms of one statement, with the database names still as placeholders. */
export interface Printed {
  sluice: string;
  /** The values of sluice's `?` (empty when the statement writes its literals inline). */
  params: unknown[];
  oracle: string;
  fenced: string;
}

export function printAll(print: (o: PrintOpts) => string, dialect: Dialect, tenant: number, quoted: boolean, withParams = false): Printed {
  const base = { dialect, tenant, quoted };
  const params: unknown[] = [];
  return {
    sluice: print({ ...base, mode: 'sluice', fenced: false, ...(withParams && { params }) }),
    params,
    oracle: print({ ...base, mode: 'oracle', fenced: false }),
    fenced: print({ ...base, mode: 'oracle', fenced: true }),
  };
}
