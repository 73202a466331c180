/**
 * A generator of random but valid read SQL over the two-tenant fixture (test/fixtures/pg-schema.sql),
 * as a small AST and a printer with two modes:
 *
 * - `sluice`: what the client sends through the gateway;
 * - `oracle`: the same statement for a Postgres role that sees the data through RLS + column grants.
 *
 * The modes differ in one place only: a whole-row reference to a base table (`a.*`, `to_jsonb(a)`,
 * `row_to_json(a)`, bare `a`). sluice presents a table as exactly its permitted columns, while
 * Postgres refuses a whole-row reference to a table with column-level grants; the oracle therefore
 * spells the permitted columns out (`a.id, a.name`, `jsonb_build_object('id', a.id, …)`, `row(…)`).
 *
 * Determinism rules the generator keeps, so that "same statement" means "same multiset of rows":
 * LIMIT only at the top, under an ORDER BY of every output column; scalar subqueries are aggregates
 * without GROUP BY; window functions order by the table's primary key; json values never meet
 * DISTINCT, set operations or ORDER BY. Random choices go through fast-check's `gen`, and every
 * choice shrinks towards the first (simplest) alternative, so a shrunk failure is short SQL.
 */
import fc from 'fast-check';
import { PG_TRAP_CODES, pgTrapCall, withTrapMarker } from './sql-fuzz-trap.js';

export type Ty = 'int' | 'text' | 'num' | 'ts';
type ItemTy = Ty | 'json' | 'jsonb' | 'record';

export interface Col {
  name: string;
  ty: Ty;
}

/** The fixture tables as the `member` role sees them (test/helpers/test-config.ts memberPermissions). */
export const FUZZ_TABLES: Record<string, { permitted: Col[]; hidden: string[] }> = {
  customers: {
    permitted: [
      { name: 'id', ty: 'int' },
      { name: 'tenant_id', ty: 'int' },
      { name: 'name', ty: 'text' },
      { name: 'email', ty: 'text' },
    ],
    hidden: ['secret_note'],
  },
  orders: {
    permitted: [
      { name: 'id', ty: 'int' },
      { name: 'tenant_id', ty: 'int' },
      { name: 'customer_id', ty: 'int' },
      { name: 'total', ty: 'num' },
      { name: 'status', ty: 'text' },
      { name: 'created_at', ty: 'ts' },
    ],
    hidden: [],
  },
  order_items: {
    permitted: [
      { name: 'id', ty: 'int' },
      { name: 'tenant_id', ty: 'int' },
      { name: 'order_id', ty: 'int' },
      { name: 'sku', ty: 'text' },
      { name: 'qty', ty: 'int' },
    ],
    hidden: [],
  },
};
const TABLE_NAMES = Object.keys(FUZZ_TABLES);

// ------------------------------------------------------------------------------------------ AST

export type Expr =
  | { k: 'col'; rel: string; col: string }
  | { k: 'lit'; sql: string }
  | { k: 'op'; op: string; l: Expr; r: Expr }
  | { k: 'not'; e: Expr }
  | { k: 'isnull'; e: Expr; not: boolean }
  | { k: 'inlist'; e: Expr; list: Expr[] }
  | { k: 'insub'; e: Expr; q: Query; not: boolean }
  | { k: 'exists'; q: Select; not: boolean }
  | { k: 'sub'; q: Select }
  | { k: 'fn'; name: string; args: Expr[]; star?: boolean; order?: Expr[]; filter?: Expr }
  | { k: 'win'; fn: string; args: Expr[]; partition: Expr[]; order: Expr[]; frame?: string }
  /** A whole-row reference; `cols` is set when `rel` is a base table (the oracle spells it out). */
  | { k: 'whole'; rel: string; fn: 'to_jsonb' | 'row_to_json' | 'bare'; cols: string[] | null }
  /**
   * An error-oracle trap (sql-fuzz-trap.ts): true on the caller's rows, an error with SQLSTATE
   * `code` on another tenant's. The oracle — the tenant alone — prints it as `true`.
   */
  | { k: 'trap'; e: Expr; code: string };

/** `a.*`; `cols` is set when `a` is a base table (the oracle spells it out); `width` = columns it yields. */
export type Item = { k: 'expr'; e: Expr; as: string } | { k: 'star'; rel: string; cols: string[] | null; width: number };

export type From =
  /** `qualified`: written `{{schema}}.table` (never a CTE, even when one is named like the table). */
  | { k: 'table'; table: string; alias: string; qualified: boolean }
  | { k: 'cte'; name: string; alias: string }
  | { k: 'values'; rows: string[][]; alias: string; cols: string[] }
  | { k: 'series'; to: number; alias: string }
  | { k: 'sub'; q: Query; alias: string; lateral: boolean }
  | { k: 'join'; type: 'inner' | 'left' | 'cross'; l: From; r: From; on: Expr | null };

export interface Select {
  k: 'select';
  with: { name: string; q: Query }[];
  recursive: boolean;
  distinct: boolean;
  items: Item[];
  from: From[];
  where: Expr | null;
  groupBy: Expr[];
  having: Expr | null;
  /** Positional ORDER BY of every output column, plus a LIMIT. */
  limit: number | null;
}

export interface SetOp {
  k: 'setop';
  op: 'union' | 'intersect' | 'except';
  all: boolean;
  l: Select;
  r: Select;
  width: number;
  limit: number | null;
}

export type Query = Select | SetOp;

// -------------------------------------------------------------------------------------- printer

export type Mode = 'sluice' | 'oracle';

export function printExpr(e: Expr, m: Mode): string {
  switch (e.k) {
    case 'col':
      return e.rel === '' ? e.col : `${e.rel}.${e.col}`;
    case 'lit':
      return e.sql;
    case 'op':
      return `(${printExpr(e.l, m)} ${e.op} ${printExpr(e.r, m)})`;
    case 'not':
      return `(not ${printExpr(e.e, m)})`;
    case 'isnull':
      return `(${printExpr(e.e, m)} is ${e.not ? 'not ' : ''}null)`;
    case 'inlist':
      return `(${printExpr(e.e, m)} in (${e.list.map((x) => printExpr(x, m)).join(', ')}))`;
    case 'insub':
      return `(${printExpr(e.e, m)} ${e.not ? 'not ' : ''}in (${printQuery(e.q, m)}))`;
    case 'exists':
      return `(${e.not ? 'not ' : ''}exists (${printQuery(e.q, m)}))`;
    case 'sub':
      return `(${printQuery(e.q, m)})`;
    case 'fn': {
      const args = e.star ? '*' : e.args.map((x) => printExpr(x, m)).join(', ');
      const order = e.order ? ` order by ${e.order.map((x) => printExpr(x, m)).join(', ')}` : '';
      return `${e.name}(${args}${order})${e.filter ? ` filter (where ${printExpr(e.filter, m)})` : ''}`;
    }
    case 'win': {
      const parts: string[] = [];
      if (e.partition.length > 0) parts.push(`partition by ${e.partition.map((x) => printExpr(x, m)).join(', ')}`);
      if (e.order.length > 0) parts.push(`order by ${e.order.map((x) => printExpr(x, m)).join(', ')}`);
      if (e.frame) parts.push(e.frame);
      return `${e.fn}(${e.args.map((x) => printExpr(x, m)).join(', ')}) over (${parts.join(' ')})`;
    }
    case 'trap':
      return m === 'oracle' ? 'true' : pgTrapCall(printExpr(e.e, m), e.code);
    case 'whole': {
      if (m === 'sluice' || e.cols === null) return e.fn === 'bare' ? e.rel : `${e.fn}(${e.rel})`;
      const refs = e.cols.map((c) => `${e.rel}.${c}`);
      const builder = e.fn === 'to_jsonb' ? 'jsonb_build_object' : 'json_build_object';
      const value = e.fn === 'bare' ? `row(${refs.join(', ')})` : `${builder}(${e.cols.map((c) => `'${c}', ${e.rel}.${c}`).join(', ')})`;
      // The null-extended side of an outer join is a NULL row, not a row of NULLs; `id` is never null.
      return `(case when ${e.rel}.id is null then null else ${value} end)`;
    }
  }
}

function printItem(i: Item, m: Mode): string {
  if (i.k === 'expr') return `${printExpr(i.e, m)} as ${i.as}`;
  if (m === 'sluice' || i.cols === null) return `${i.rel}.*`;
  return i.cols.map((c) => `${i.rel}.${c}`).join(', ');
}

export function printFrom(f: From, m: Mode): string {
  switch (f.k) {
    case 'table': {
      const name = f.qualified ? `{{schema}}.${f.table}` : f.table;
      return f.alias === f.table ? name : `${name} ${f.alias}`;
    }
    case 'cte':
      return f.alias === f.name ? f.name : `${f.name} ${f.alias}`;
    case 'values':
      return `(values ${f.rows.map((r) => `(${r.join(', ')})`).join(', ')}) ${f.alias}(${f.cols.join(', ')})`;
    case 'series':
      return `generate_series(1, ${f.to}) ${f.alias}(n)`;
    case 'sub':
      return `${f.lateral ? 'lateral ' : ''}(${printQuery(f.q, m)}) ${f.alias}`;
    case 'join': {
      const kw = f.type === 'cross' ? 'cross join' : f.type === 'left' ? 'left join' : 'join';
      return `${printFrom(f.l, m)} ${kw} ${printFrom(f.r, m)}${f.on ? ` on ${printExpr(f.on, m)}` : ''}`;
    }
  }
}

function orderLimit(width: number, limit: number | null): string {
  if (limit === null) return '';
  return ` order by ${Array.from({ length: width }, (_, i) => i + 1).join(', ')} limit ${limit}`;
}

function itemWidth(items: Item[]): number {
  return items.reduce((n, i) => n + (i.k === 'star' ? i.width : 1), 0);
}

export function printQuery(q: Query, m: Mode): string {
  if (q.k === 'setop') {
    return `${printQuery(q.l, m)} ${q.op}${q.all ? ' all' : ''} ${printQuery(q.r, m)}${orderLimit(q.width, q.limit)}`;
  }
  let sql = '';
  if (q.with.length > 0) sql += `with ${q.recursive ? 'recursive ' : ''}${q.with.map((c) => `${c.name} as (${printQuery(c.q, m)})`).join(', ')} `;
  sql += `select ${q.distinct ? 'distinct ' : ''}${q.items.map((i) => printItem(i, m)).join(', ')}`;
  if (q.from.length > 0) sql += ` from ${q.from.map((f) => printFrom(f, m)).join(', ')}`;
  if (q.where) sql += ` where ${printExpr(q.where, m)}`;
  if (q.groupBy.length > 0) sql += ` group by ${q.groupBy.map((e) => printExpr(e, m)).join(', ')}`;
  if (q.having) sql += ` having ${printExpr(q.having, m)}`;
  return sql + orderLimit(itemWidth(q.items), q.limit);
}

// ------------------------------------------------------------------------------------ generator

export interface Rel {
  alias: string;
  cols: Col[];
  /** Set for a base table: its name (whole-row references are spelled out for the oracle). */
  table: string | null;
  /** An unaliased `{{schema}}.table`: its columns may be referenced as `{{schema}}.table.col` (issue 13, group 3). */
  schemaRefs?: boolean;
}

export interface Ctx {
  /** Relations visible here: this level's FROM first, then the outer levels' (correlation). */
  rels: Rel[];
  /** CTE names in scope and their columns (they shadow same-named tables). */
  ctes: Map<string, Col[]>;
  depth: number;
}

type G = fc.GeneratorValue;

export const LITERALS: Record<Ty, string[]> = {
  int: ['1', '2', '3', '0', '4', '5', '6', '7', '-1'],
  text: ["'T1 Alice'", "'open'", "'T2 Bob'", "'T1-SKU-A'", "'shipped'", "'x'", "'T2-open'", "'alice@t1.example'"],
  num: ['20.00', '10.5', '2000.00', '0', '30.25'],
  ts: ["timestamptz '2024-02-01 00:00:00+00'", "timestamptz '2024-01-03 00:00:00+00'", "timestamptz '2024-03-01 08:30:00+00'"],
};

export class Builder {
  private aliasN = 0;
  /** Probes that Postgres must refuse for the restricted role (hidden column, unpermitted table). */
  probes = 0;

  constructor(private readonly g: G) {}

  int(min: number, max: number): number {
    return this.g(fc.integer, { min, max });
  }
  /** Index 0 is what shrinking moves towards. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }
  chance(percent: number): boolean {
    return this.int(0, 99) >= 100 - percent;
  }
  private readonly tableAliases = new Set<string>();
  /** Usually `aN`; sometimes a table's name (an alias that shadows a table), once per statement. */
  alias(): string {
    const n = ++this.aliasN;
    if (this.chance(10)) {
      const name = this.pick(TABLE_NAMES);
      if (!this.tableAliases.has(name)) {
        this.tableAliases.add(name);
        return name;
      }
    }
    return `a${n}`;
  }

  colsOf(ctx: Ctx, ty: Ty, localOnly = false): Expr[] {
    const rels = localOnly ? ctx.rels.slice(0, 1) : ctx.rels;
    // A name no other visible relation has may be written unqualified (Postgres resolves it the same).
    const seen = new Map<string, number>();
    for (const r of ctx.rels) for (const c of r.cols) seen.set(c.name, (seen.get(c.name) ?? 0) + 1);
    return rels.flatMap((r) =>
      r.cols.filter((c) => c.ty === ty).map((c): Expr => ({ k: 'col', rel: seen.get(c.name) === 1 && this.chance(30) ? '' : r.schemaRefs && this.chance(50) ? `{{schema}}.${r.alias}` : r.alias, col: c.name })),
    );
  }

  scalar(ctx: Ctx, ty: Ty, depth = 2): Expr {
    const cols = this.colsOf(ctx, ty);
    const lit = (): Expr => ({ k: 'lit', sql: this.pick(LITERALS[ty]) });
    const roll = this.int(0, depth > 0 ? 9 : 3);
    if (roll <= 3 || (roll <= 5 && depth === 0)) return cols.length > 0 && roll !== 3 ? this.pick(cols) : lit();
    if (roll <= 4) return lit();
    switch (ty) {
      case 'int': {
        const r = this.int(0, 3);
        if (r === 0) return { k: 'op', op: this.pick(['+', '-', '*']), l: this.scalar(ctx, 'int', depth - 1), r: lit() };
        if (r === 1) return { k: 'fn', name: 'length', args: [this.scalar(ctx, 'text', depth - 1)] };
        if (r === 2) return { k: 'fn', name: 'coalesce', args: [this.scalar(ctx, 'int', depth - 1), lit()] };
        return this.scalarSubquery(ctx, 'int');
      }
      case 'text': {
        const r = this.int(0, 2);
        if (r === 0) return { k: 'fn', name: this.pick(['lower', 'upper']), args: [this.scalar(ctx, 'text', depth - 1)] };
        if (r === 1) return { k: 'op', op: '||', l: this.scalar(ctx, 'text', depth - 1), r: lit() };
        return this.scalarSubquery(ctx, 'text');
      }
      case 'num': {
        const r = this.int(0, 1);
        if (r === 0) return { k: 'op', op: this.pick(['+', '*']), l: this.scalar(ctx, 'num', depth - 1), r: lit() };
        return this.scalarSubquery(ctx, 'num');
      }
      case 'ts':
        return cols.length > 0 ? this.pick(cols) : lit();
    }
  }

  /** `(select agg(b.col) from t b where <correlated>)`: always one row. */
  scalarSubquery(ctx: Ctx, ty: Ty): Expr {
    if (ctx.depth >= 3) return { k: 'lit', sql: this.pick(LITERALS[ty]) };
    const { from, rel } = this.baseFrom(ctx);
    const inner: Ctx = { rels: [rel, ...ctx.rels], ctes: ctx.ctes, depth: ctx.depth + 1 };
    const cols = this.colsOf(inner, ty, true);
    // Without a column to aggregate, a plain `(select <lit> from t)` could return several rows.
    if (cols.length === 0 && ty !== 'int') return { k: 'lit', sql: this.pick(LITERALS[ty]) };
    const agg: Expr =
      ty === 'int' && (cols.length === 0 || this.chance(40))
        ? { k: 'fn', name: 'count', args: [], star: true }
        : cols.length > 0
          ? { k: 'fn', name: ty === 'ts' || ty === 'text' ? this.pick(['max', 'min']) : this.pick(['max', 'min', 'sum']), args: [this.pick(cols)] }
          : { k: 'lit', sql: this.pick(LITERALS[ty]) };
    return { k: 'sub', q: this.simpleSelect([{ k: 'expr', e: agg, as: 'v' }], [from], this.chance(80) ? this.predicate(inner, 1) : null) };
  }

  /** Error-oracle traps placed so far (sql-fuzz-trap.ts). */
  traps = 0;

  /** A trap over a text column of a base table in scope, or null when there is none. */
  trap(ctx: Ctx): Expr | null {
    const texts = ctx.rels.filter((r) => r.table !== null).flatMap((r) => r.cols.filter((c) => c.ty === 'text').map((c): Expr => ({ k: 'col', rel: r.alias, col: c.name })));
    if (texts.length === 0) return null;
    this.traps++;
    return { k: 'trap', e: this.pick(texts), code: this.pick(PG_TRAP_CODES) };
  }

  predicate(ctx: Ctx, depth: number): Expr {
    if (this.chance(8)) {
      const t = this.trap(ctx);
      if (t) return t;
    }
    const roll = this.int(0, depth > 0 ? 11 : 4);
    if (roll <= 2) {
      const ty = this.pick<Ty>(['int', 'text', 'num', 'ts']);
      return { k: 'op', op: this.pick(['=', '<>', '<', '>', '<=', '>=']), l: this.scalar(ctx, ty, 1), r: this.scalar(ctx, ty, 1) };
    }
    if (roll === 3) return { k: 'isnull', e: this.scalar(ctx, this.pick<Ty>(['int', 'text']), 1), not: this.chance(50) };
    if (roll === 4) {
      const n = this.int(1, 3);
      return { k: 'inlist', e: this.scalar(ctx, 'int', 0), list: Array.from({ length: n }, () => ({ k: 'lit', sql: this.pick(LITERALS.int) }) as Expr) };
    }
    if (roll <= 6) return { k: 'op', op: this.pick(['and', 'or']), l: this.predicate(ctx, depth - 1), r: this.predicate(ctx, depth - 1) };
    if (roll === 7) return { k: 'not', e: this.predicate(ctx, depth - 1) };
    if (roll === 8 && ctx.depth < 3) return this.existsPredicate(ctx);
    if (roll === 9 && ctx.depth < 3) return this.inSubquery(ctx);
    if (roll === 10) {
      // A data-dependent error on some row (another tenant's, perhaps): the error-oracle probe.
      const ints = this.colsOf(ctx, 'int');
      const c = ints.length > 0 ? this.pick(ints) : ({ k: 'lit', sql: '1' } as Expr);
      return { k: 'op', op: '>', l: { k: 'op', op: '/', l: { k: 'lit', sql: '10' }, r: { k: 'op', op: '-', l: c, r: { k: 'lit', sql: this.pick(LITERALS.int) } } }, r: { k: 'lit', sql: '0' } };
    }
    if (roll === 11 && this.chance(30)) return this.probe(ctx);
    return { k: 'op', op: '=', l: this.scalar(ctx, 'int', 0), r: this.scalar(ctx, 'int', 0) };
  }

  /** Something the restricted role may not read: both sides must refuse. */
  probe(ctx: Ctx): Expr {
    this.probes++;
    const cust = ctx.rels.find((r) => r.table === 'customers');
    if (cust && this.chance(50)) return { k: 'isnull', e: { k: 'col', rel: this.chance(30) ? '' : cust.alias, col: 'secret_note' }, not: true };
    const alias = this.alias();
    return { k: 'exists', not: false, q: this.simpleSelect([{ k: 'expr', e: { k: 'lit', sql: '1' }, as: 'one' }], [{ k: 'table', table: 'audit_secrets', alias, qualified: this.chance(30) }], null) };
  }

  existsPredicate(ctx: Ctx): Expr {
    const { from, rel } = this.baseFrom(ctx);
    const inner: Ctx = { rels: [rel, ...ctx.rels], ctes: ctx.ctes, depth: ctx.depth + 1 };
    const where = this.correlation(inner) ?? this.predicate(inner, 1);
    return { k: 'exists', not: this.chance(30), q: this.simpleSelect([{ k: 'expr', e: { k: 'lit', sql: '1' }, as: 'one' }], [from], where) };
  }

  inSubquery(ctx: Ctx): Expr {
    const { from, rel } = this.baseFrom(ctx);
    const inner: Ctx = { rels: [rel, ...ctx.rels], ctes: ctx.ctes, depth: ctx.depth + 1 };
    const cols = this.colsOf(inner, 'int', true);
    const e: Expr = cols.length > 0 ? this.pick(cols) : { k: 'lit', sql: '1' };
    const q: Query = this.simpleSelect([{ k: 'expr', e, as: 'v' }], [from], this.chance(60) ? this.predicate(inner, 1) : null);
    if (this.chance(20)) {
      const r = this.select({ ...ctx, depth: ctx.depth + 1 }, { top: false, types: ['int'] }).q;
      return { k: 'insub', e: this.scalar(ctx, 'int', 0), not: this.chance(25), q: { k: 'setop', op: this.pick(['union', 'intersect', 'except'] as const), all: this.chance(40), l: q as Select, r, width: 1, limit: null } };
    }
    return { k: 'insub', e: this.scalar(ctx, 'int', 0), not: this.chance(25), q };
  }

  /** An equality between an int column of the innermost relation and one of an outer relation. */
  correlation(ctx: Ctx): Expr | null {
    const mine = this.colsOf(ctx, 'int', true);
    const outer = ctx.rels.slice(1).flatMap((r) => r.cols.filter((c) => c.ty === 'int').map((c): Expr => ({ k: 'col', rel: r.alias, col: c.name })));
    if (mine.length === 0 || outer.length === 0 || this.chance(20)) return null;
    return { k: 'op', op: '=', l: this.pick(mine), r: this.pick(outer) };
  }

  simpleSelect(items: Item[], from: From[], where: Expr | null): Select {
    return { k: 'select', with: [], recursive: false, distinct: false, items, from, where, groupBy: [], having: null, limit: null };
  }

  /** A base table or, where a CTE shadows names, a CTE reference. */
  baseFrom(ctx: Ctx): { from: From; rel: Rel } {
    const names = [...TABLE_NAMES, ...[...ctx.ctes.keys()].filter((n) => !TABLE_NAMES.includes(n))];
    const name = this.pick(names);
    // Unaliased (`from customers`, referenced as `customers.id`), once per name and statement.
    const bare = this.chance(10) && !this.tableAliases.has(name);
    const alias = bare ? name : this.alias();
    if (bare) this.tableAliases.add(name);
    const cte = ctx.ctes.get(name);
    // A schema-qualified name is always the table, even where a CTE of that name is in scope.
    const qualified = TABLE_NAMES.includes(name) && this.chance(cte ? 40 : bare ? 50 : 10);
    if (cte && !qualified) return { from: { k: 'cte', name, alias }, rel: { alias, cols: cte, table: null } };
    return { from: { k: 'table', table: name, alias, qualified }, rel: { alias, cols: FUZZ_TABLES[name]!.permitted, table: name, ...(bare && qualified && { schemaRefs: true }) } };
  }

  /** A FROM item and the relations it brings into scope (for joins: both sides). */
  fromItem(ctx: Ctx, depth: number): { from: From; rels: Rel[] } {
    const roll = this.int(0, depth > 0 ? 6 : 1);
    if (roll <= 1) {
      const { from, rel } = this.baseFrom(ctx);
      return { from, rels: [rel] };
    }
    if (roll === 2 && ctx.depth < 3) {
      const alias = this.alias();
      const kind = this.int(0, 5);
      if (kind === 4) {
        const rows = Array.from({ length: this.int(1, 3) }, () => [this.pick(LITERALS.int), this.pick(LITERALS.text)]);
        return { from: { k: 'values', rows, alias, cols: ['v1', 'v2'] }, rels: [{ alias, cols: [{ name: 'v1', ty: 'int' }, { name: 'v2', ty: 'text' }], table: null }] };
      }
      if (kind === 5) return { from: { k: 'series', to: this.int(1, 7), alias }, rels: [{ alias, cols: [{ name: 'n', ty: 'int' }], table: null }] };
      if (kind === 3) {
        const types = Array.from({ length: this.int(1, 2) }, () => this.pick<Ty>(['int', 'text']));
        const l = this.select({ ...ctx, depth: ctx.depth + 1 }, { top: false, types });
        const r = this.select({ ...ctx, depth: ctx.depth + 1 }, { top: false, types });
        const q: SetOp = { k: 'setop', op: this.pick(['union', 'intersect', 'except'] as const), all: this.chance(40), l: l.q, r: r.q, width: types.length, limit: null };
        return { from: { k: 'sub', q, alias, lateral: false }, rels: [{ alias, cols: l.cols, table: null }] };
      }
      const { q, cols } = kind === 2 ? this.withQuery({ ...ctx, depth: ctx.depth + 1 }) : this.select({ ...ctx, depth: ctx.depth + 1 }, { top: false });
      return { from: { k: 'sub', q, alias, lateral: false }, rels: [{ alias, cols, table: null }] };
    }
    const left = this.fromItem(ctx, depth - 1);
    const type = this.pick(['inner', 'left', 'cross'] as const);
    if (roll === 3 && ctx.depth < 3) {
      // LATERAL: the subquery sees the left side's relations.
      const alias = this.alias();
      const lctx: Ctx = { rels: [...left.rels, ...ctx.rels], ctes: ctx.ctes, depth: ctx.depth + 1 };
      const { q, cols } = this.select(lctx, { top: false, correlate: true });
      const rel: Rel = { alias, cols, table: null };
      const on: Expr | null = type === 'cross' ? null : { k: 'lit', sql: 'true' };
      return { from: { k: 'join', type, l: left.from, r: { k: 'sub', q, alias, lateral: true }, on }, rels: [...left.rels, rel] };
    }
    const right = this.fromItem(ctx, depth - 1);
    const rels = [...left.rels, ...right.rels];
    let on: Expr | null = null;
    if (type !== 'cross') {
      const both: Ctx = { rels, ctes: ctx.ctes, depth: ctx.depth };
      on = this.joinCondition(left.rels, right.rels) ?? this.predicate(both, 1);
    }
    return { from: { k: 'join', type, l: left.from, r: right.from, on }, rels };
  }

  /** Mostly a foreign-key-like equality, so joins return rows. */
  joinCondition(left: Rel[], right: Rel[]): Expr | null {
    if (this.chance(25)) return null;
    const ints = (rs: Rel[]): Expr[] => rs.flatMap((r) => r.cols.filter((c) => c.ty === 'int').map((c): Expr => ({ k: 'col', rel: r.alias, col: c.name })));
    const l = ints(left);
    const r = ints(right);
    if (l.length === 0 || r.length === 0) return null;
    return { k: 'op', op: '=', l: this.pick(l), r: this.pick(r) };
  }

  /** A SELECT and its output columns. `types` forces the output shape (set operations). */
  select(ctx: Ctx, opts: { top: boolean; types?: Ty[]; correlate?: boolean }): { q: Select; cols: Col[] } {
    const outer = ctx.rels;
    const froms: From[] = [];
    const local: Rel[] = [];
    const nFrom = this.chance(15) ? 2 : 1;
    for (let i = 0; i < nFrom; i++) {
      // A comma-separated (non-LATERAL) item cannot see its siblings, only the outer levels.
      const f = this.fromItem(ctx, ctx.depth === 0 ? 2 : 1);
      froms.push(f.from);
      local.push(...f.rels);
    }
    const here: Ctx = { rels: [...local, ...outer], ctes: ctx.ctes, depth: ctx.depth };
    let where: Expr | null = null;
    if (opts.correlate) where = this.correlation({ ...here, rels: [local[local.length - 1]!, ...outer] });
    if (where === null && this.chance(60)) where = this.predicate(here, 2);

    const items: Item[] = [];
    const cols: Col[] = [];
    const add = (e: Expr, ty: ItemTy): void => {
      const as = `c${items.length + 1}`;
      items.push({ k: 'expr', e, as });
      if (ty !== 'json' && ty !== 'jsonb' && ty !== 'record') cols.push({ name: as, ty });
    };
    const q: Select = { k: 'select', with: [], recursive: false, distinct: false, items, from: froms, where, groupBy: [], having: null, limit: null };

    if (opts.types) {
      for (const ty of opts.types) add(this.scalar(here, ty, 1), ty);
      return { q, cols };
    }

    const shape = this.int(0, opts.top ? 4 : 2);
    if (shape === 1) {
      // Aggregates with GROUP BY / HAVING.
      const keyTy = this.pick<Ty>(['int', 'text', 'ts']);
      const keys = this.colsOf({ ...here, rels: local }, keyTy);
      if (keys.length > 0) {
        const key = this.pick(keys);
        q.groupBy.push(key);
        add(key, keyTy);
      }
      add({ k: 'fn', name: 'count', args: [], star: true }, 'int');
      const nums = [...this.colsOf({ ...here, rels: local }, 'num'), ...this.colsOf({ ...here, rels: local }, 'int')];
      if (nums.length > 0 && this.chance(60)) add({ k: 'fn', name: this.pick(['sum', 'max', 'min']), args: [this.pick(nums)] }, 'num');
      if (this.chance(25)) add({ k: 'fn', name: 'count', args: [], star: true, filter: this.predicate({ ...here, rels: local }, 0) }, 'int');
      const texts = this.colsOf({ ...here, rels: local }, 'text');
      if (texts.length > 0 && this.chance(25)) {
        const t = this.pick(texts);
        add({ k: 'fn', name: 'string_agg', args: [t, { k: 'lit', sql: "','" }], order: [t] }, 'text');
      }
      if (this.chance(40)) q.having = { k: 'op', op: this.pick(['>', '>=', '=']), l: { k: 'fn', name: 'count', args: [], star: true }, r: { k: 'lit', sql: this.pick(['0', '1', '2']) } };
      return { q, cols };
    }
    if (shape === 2 && local.length === 1 && local[0]!.table !== null) {
      // Window functions over a single base table: ordered by its primary key, so deterministic.
      const rel = local[0]!;
      const part = this.pick(rel.cols);
      const pk: Expr = { k: 'col', rel: rel.alias, col: 'id' };
      add(pk, 'int');
      const w = this.int(0, 2);
      if (w === 0) add({ k: 'win', fn: 'row_number', args: [], partition: [{ k: 'col', rel: rel.alias, col: part.name }], order: [pk] }, 'int');
      else if (w === 1) {
        const c = this.pick(rel.cols);
        add({ k: 'win', fn: this.pick(['lag', 'lead', 'first_value']), args: [{ k: 'col', rel: rel.alias, col: c.name }], partition: [], order: [pk] }, c.ty);
        const ints = this.colsOf({ ...here, rels: local }, 'int');
        add({ k: 'win', fn: 'sum', args: [this.pick(ints)], partition: [], order: [pk], frame: 'rows between 1 preceding and current row' }, 'num');
      } else {
        const ints = this.colsOf({ ...here, rels: local }, 'int');
        add({ k: 'win', fn: 'sum', args: [this.pick(ints)], partition: [{ k: 'col', rel: rel.alias, col: part.name }], order: [] }, 'num');
      }
      return { q, cols };
    }
    if (shape >= 3 && opts.top) {
      // Whole-row references and stars (top level only: json is not comparable, stars may repeat names).
      const rel = this.pick(local);
      const cols = rel.table === null ? null : FUZZ_TABLES[rel.table]!.permitted.map((c) => c.name);
      if (shape === 3) items.push({ k: 'star', rel: rel.alias, cols, width: rel.cols.length });
      else add({ k: 'whole', rel: rel.alias, fn: this.pick(['to_jsonb', 'row_to_json', 'bare'] as const), cols }, 'json');
      if (this.chance(50)) add(this.scalar(here, 'int', 1), 'int');
      return { q, cols: [] };
    }
    const n = this.int(1, 3);
    for (let i = 0; i < n; i++) {
      const ty = this.pick<Ty>(['int', 'text', 'num', 'ts']);
      add(this.scalar(here, ty, 1), ty);
    }
    if (this.chance(15)) q.distinct = true;
    return { q, cols };
  }

  /**
   * A recursive CTE, first in its WITH list so that no other body is generated believing the name
   * means a table: a counter, or a walk along ids of a table (schema-qualified when the CTE is
   * named like that table, since the bare name means the CTE itself in its own body).
   */
  recursiveCte(name: string, ctes: Map<string, Col[]>): Query {
    const self: From = { k: 'cte', name, alias: 'r' };
    const n: Expr = { k: 'col', rel: 'r', col: 'n' };
    if (this.chance(50)) {
      const base = this.simpleSelect([{ k: 'expr', e: { k: 'lit', sql: '1' }, as: 'n' }], [], null);
      const step = this.simpleSelect([{ k: 'expr', e: { k: 'op', op: '+', l: n, r: { k: 'lit', sql: '1' } }, as: 'n' }], [self], { k: 'op', op: '<', l: n, r: { k: 'lit', sql: String(this.int(1, 6)) } });
      return { k: 'setop', op: 'union', all: true, l: base, r: step, width: 1, limit: null };
    }
    const table = this.pick(TABLE_NAMES);
    const qualified = table === name || ctes.has(table);
    const a = this.alias();
    const b = this.alias();
    const base = this.simpleSelect([{ k: 'expr', e: { k: 'col', rel: a, col: 'id' }, as: 'n' }], [{ k: 'table', table, alias: a, qualified }], { k: 'op', op: '=', l: { k: 'col', rel: a, col: 'id' }, r: { k: 'lit', sql: this.pick(LITERALS.int) } });
    const join: From = { k: 'join', type: 'inner', l: { k: 'table', table, alias: b, qualified }, r: self, on: { k: 'op', op: '=', l: { k: 'col', rel: b, col: 'id' }, r: { k: 'op', op: '+', l: n, r: { k: 'lit', sql: '1' } } } };
    const step = this.simpleSelect([{ k: 'expr', e: { k: 'col', rel: b, col: 'id' }, as: 'n' }], [join], null);
    return { k: 'setop', op: 'union', all: this.chance(50), l: base, r: step, width: 1, limit: null };
  }

  /** A WITH list (one CTE may shadow a table, one may be recursive) and the CTE names it adds. */
  withList(ctx: Ctx): { withs: { name: string; q: Query }[]; recursive: boolean; ctes: Map<string, Col[]> } {
    const ctes = new Map(ctx.ctes);
    const withs: { name: string; q: Query }[] = [];
    const recursive = this.chance(20);
    if (recursive) {
      const name = this.chance(50) ? this.pick(TABLE_NAMES) : 'r1';
      withs.push({ name, q: this.recursiveCte(name, ctes) });
      ctes.set(name, [{ name: 'n', ty: 'int' }]);
    }
    const n = this.int(recursive ? 0 : 1, 2);
    for (let i = 0; i < n; i++) {
      // Inside a non-recursive CTE's body its own name still means the table; under RECURSIVE it
      // would mean the CTE itself, so those bodies get fresh names.
      const name = !recursive && this.chance(50) ? this.pick(TABLE_NAMES) : `w${this.aliasN + 1}`;
      if (withs.some((w) => w.name === name)) continue;
      const { q, cols } = this.select({ rels: ctx.rels, ctes: new Map(ctes), depth: ctx.depth + 1 }, { top: false });
      withs.push({ name, q });
      ctes.set(name, cols);
    }
    return { withs, recursive, ctes };
  }

  /** A SELECT with its own WITH (in a derived table: CTE names visible only inside it). */
  withQuery(ctx: Ctx): { q: Select; cols: Col[] } {
    const w = this.withList(ctx);
    const { q, cols } = this.select({ ...ctx, ctes: w.ctes }, { top: false });
    q.with = w.withs;
    q.recursive = w.recursive;
    return { q, cols };
  }

  /** The top-level statement: optional CTEs, then a SELECT or a set operation. */
  top(): Query {
    const w = this.chance(35) ? this.withList({ rels: [], ctes: new Map(), depth: 0 }) : { withs: [], recursive: false, ctes: new Map<string, Col[]>() };
    const ctx: Ctx = { rels: [], ctes: w.ctes, depth: 0 };
    let q: Query;
    if (this.chance(15)) {
      const types = Array.from({ length: this.int(1, 2) }, () => this.pick<Ty>(['int', 'text', 'num']));
      const l = this.select(ctx, { top: false, types }).q;
      const r = this.select(ctx, { top: false, types }).q;
      q = { k: 'setop', op: this.pick(['union', 'intersect', 'except'] as const), all: this.chance(40), l, r, width: types.length, limit: null };
      // Printed first, a WITH on the left arm's SELECT applies to the whole set operation.
      l.with = w.withs;
      l.recursive = w.recursive;
    } else {
      const s = this.select(ctx, { top: true }).q;
      s.with = w.withs;
      s.recursive = w.recursive;
      q = s;
    }
    const hasJson = q.k === 'select' && q.items.some((i) => i.k === 'expr' && i.e.k === 'whole' && i.e.fn === 'row_to_json');
    if (!hasJson && this.chance(20)) q.limit = this.int(0, 4);
    return q;
  }
}

export interface FuzzCase {
  tenant: 1 | 2;
  /** Error-oracle traps in the statement: none may fire through sluice (sql-fuzz-trap.ts). */
  traps?: number;
  sluice: string;
  oracle: string;
  /** The statement reaches something the role may never read: both sides must refuse. */
  probe: boolean;
  query: Query;
}

/** One random read, as tenant 1 or 2. Shrinks towards short statements. */
export function pgReadCase(): fc.Arbitrary<FuzzCase> {
  return fc.gen().map((g) => {
    const tenant = g(fc.constantFrom, 1 as const, 2 as const);
    const b = new Builder(g);
    const query = b.top();
    return { tenant, sluice: withTrapMarker(printQuery(query, 'sluice'), tenant), oracle: printQuery(query, 'oracle'), probe: b.probes > 0, query, traps: b.traps };
  });
}
