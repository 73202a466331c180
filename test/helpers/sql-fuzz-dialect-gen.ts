/**
 * Random reads over the fuzz fixture (sql-fuzz-dialect.ts) in MariaDB's or SQLite's syntax, within
 * what the gateway's MySQL/SQLite validator claims to support — plus a small share of constructs
 * it refuses (NATURAL joins, RIGHT/FULL joins and INTERSECT/EXCEPT where the grammar has none,
 * NOT (…), SQLite window functions), so
 * the refusal counts show where the grammar ends.
 *
 * Determinism rules, so that "same statement" means "same rows": LIMIT only under an ORDER BY of
 * every output column; scalar subqueries are aggregates without GROUP BY (or `ORDER BY 1 LIMIT 1`); window
 * functions order by the table's primary key; `group_concat` orders by its argument; derived
 * tables and CTE bodies never correlate (neither database has LATERAL). Every random choice goes
 * through fast-check's `gen` and shrinks towards the first alternative.
 */
import fc from 'fast-check';
import {
  TABLE_NAMES,
  printAll,
  printQuery,
  permittedCols,
  type Col,
  type Cte,
  type Dialect,
  type Expr,
  type From,
  type Item,
  type JoinType,
  type Query,
  type Select,
  type SetOp,
  type TableName,
  type Printed,
  type Ty,
} from './sql-fuzz-dialect.js';

export interface Profile {
  dialect: Dialect;
  /** The gateway reads OVER (PARTITION BY … ORDER BY …) (MariaDB grammar only). */
  windows: boolean;
  setOps: SetOp['op'][];
  /** Set operations the gateway's grammar cannot read on this dialect (generated rarely). */
  refusedSetOps: SetOp['op'][];
  /** SQLite: every CTE of a WITH list is visible in every body (MariaDB: only the earlier ones). */
  cteForward: boolean;
  /** SQLite: a nested WITH's CTE bodies see outer WITH lists (MariaDB: there the names mean tables). */
  cteBodiesSeeOuterCtes: boolean;
  /** The gateway's grammar reads `a JOIN b ON …, c` (not SQLite's: there a comma item comes first). */
  commaAfterJoin: boolean;
  ifFn: 'if' | 'iif';
  /**
   * SQLite on the opt-in sql-parser-cst: RIGHT/FULL joins accepted, and writes with UPDATE/DELETE
   * … ORDER BY … LIMIT, UPDATE … FROM and a chained ON CONFLICT generated (sql-fuzz-dialect-writes.ts).
   */
  fullGrammar: boolean;
}

export const MYSQL_PROFILE: Profile = { dialect: 'mysql', windows: true, setOps: ['union', 'union all', 'intersect', 'except'], refusedSetOps: [], cteForward: false, cteBodiesSeeOuterCtes: false, commaAfterJoin: true, ifFn: 'if', fullGrammar: false };
export const SQLITE_PROFILE: Profile = { dialect: 'sqlite', windows: false, setOps: ['union', 'union all'], refusedSetOps: ['intersect', 'except'], cteForward: true, cteBodiesSeeOuterCtes: true, commaAfterJoin: false, ifFn: 'iif', fullGrammar: false };
/** SQLite read by the opt-in sql-parser-cst (`sql.sqliteParser`). */
export const SQLITE_CST_PROFILE: Profile = { ...SQLITE_PROFILE, setOps: ['union', 'union all', 'intersect', 'except'], refusedSetOps: [], fullGrammar: true };

export interface Rel {
  alias: string;
  cols: Col[];
  /** A base table (not a CTE or derived table): window functions order by its `id`. */
  table: TableName | null;
  /** The target of a write: the real table (hidden columns and all) for the oracle too. */
  target?: boolean;
}

export interface CteInfo {
  /** As declared (may differ in case from how it is referenced). */
  declared: string;
  /** The oracle's unique name for it. */
  oracle: string;
  cols: Col[];
}

export interface Ctx {
  /** Relations visible here: this level's FROM first, then the outer levels' (correlation). */
  rels: Rel[];
  /** CTEs in scope, by lower-case name (both databases match CTE names case-insensitively). */
  ctes: Map<string, CteInfo>;
  /** Lower-case names that may not be written bare here (a SQLite CTE's own or a later sibling's). */
  banned: Set<string>;
  depth: number;
}

export const LITERALS: Record<Ty, string[]> = {
  int: ['1', '2', '3', '0', '4', '5', '7', '-1', '101'],
  text: ["'T1 Alice'", "'open'", "'T2 Bob'", "'T1-SKU-A'", "'shipped'", "'x'", "'T2-open'", "'alice@t1.example'", "''"],
  // Binary-exact values, so SQLite's REAL sums do not depend on the order rows are added in.
  num: ['10.5', '20.25', '0', '2000.5', '30.75'],
  ts: ["'2024-02-01 00:00:00'", "'2024-01-03 00:00:00'", "'2024-03-01 08:30:00'"],
};

type G = fc.GeneratorValue;

const lit = (sql: string): Expr => ({ k: 'lit', sql });

export class Builder {
  private aliasN = 0;
  /**
   * Statements reaching something the role may never read where the oracle could (an unpermitted
   * table, another database, a hidden column of a write's target): sluice must refuse them. A
   * hidden column of a read's table is no probe: the oracle's view lacks it as sluice's does.
   */
  probes = 0;
  /** Table names already used as an alias or written bare: once per statement, so no level repeats one. */
  private readonly usedNames = new Set<string>();

  constructor(
    private readonly g: G,
    readonly profile: Profile,
  ) {}

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

  /** Usually `aN`; sometimes a table's name (an alias that shadows a table). */
  alias(): string {
    const n = ++this.aliasN;
    if (this.chance(8)) {
      const name = this.pick(TABLE_NAMES);
      if (!this.usedNames.has(name)) {
        this.usedNames.add(name);
        return name;
      }
    }
    return `a${n}`;
  }
  nextName(prefix: string): string {
    return `${prefix}${++this.aliasN}`;
  }

  colsOf(ctx: Ctx, ty: Ty, localOnly = false): Expr[] {
    const rels = localOnly ? ctx.rels.slice(0, 1) : ctx.rels;
    // A name no other visible relation has may be written unqualified (both databases resolve it the same).
    const seen = new Map<string, number>();
    for (const r of ctx.rels) for (const c of r.cols) seen.set(c.name, (seen.get(c.name) ?? 0) + 1);
    const aliases = new Map<string, number>();
    for (const r of ctx.rels) aliases.set(r.alias, (aliases.get(r.alias) ?? 0) + 1);
    return rels.flatMap((r) =>
      r.cols
        .filter((c) => c.ty === ty)
        // An alias used twice (a shadowing alias in a nested level) is not a safe qualifier.
        .filter((c) => aliases.get(r.alias) === 1 || seen.get(c.name) === 1)
        .map((c): Expr => ({ k: 'col', rel: seen.get(c.name) === 1 && (aliases.get(r.alias) !== 1 || this.chance(30)) ? '' : r.alias, col: c.name })),
    );
  }

  literal(ty: Ty): Expr {
    return lit(this.pick(LITERALS[ty]));
  }

  scalar(ctx: Ctx, ty: Ty, depth = 2): Expr {
    const cols = this.colsOf(ctx, ty);
    const roll = this.int(0, depth > 0 ? 11 : 3);
    if (roll <= 3 || (roll <= 5 && depth === 0)) return cols.length > 0 && roll !== 3 ? this.pick(cols) : this.literal(ty);
    if (roll === 4) return this.literal(ty);
    if (roll === 10) {
      const cond = this.predicate(ctx, 0);
      return { k: 'case', when: cond, then: this.scalar(ctx, ty, depth - 1), else: this.literal(ty) };
    }
    if (roll === 11) return { k: 'fn', name: this.profile.ifFn, args: [this.predicate(ctx, 0), this.scalar(ctx, ty, depth - 1), this.literal(ty)] };
    switch (ty) {
      case 'int': {
        const r = this.int(0, 4);
        if (r === 0) return { k: 'op', op: this.pick(['+', '-', '*']), l: this.scalar(ctx, 'int', depth - 1), r: this.literal('int') };
        if (r === 1) return { k: 'fn', name: 'length', args: [this.scalar(ctx, 'text', depth - 1)] };
        if (r === 2) return { k: 'fn', name: this.pick(['coalesce', 'ifnull']), args: [this.scalar(ctx, 'int', depth - 1), this.literal('int')] };
        if (r === 3) return { k: 'fn', name: 'abs', args: [{ k: 'neg', e: this.scalar(ctx, 'int', depth - 1) }] };
        return this.scalarSubquery(ctx, 'int');
      }
      case 'text': {
        const r = this.int(0, 3);
        if (r === 0) return { k: 'fn', name: this.pick(['lower', 'upper']), args: [this.scalar(ctx, 'text', depth - 1)] };
        if (r === 1) {
          // SQLite on sql-parser-cst: `||` as well (the default profile draws nothing more: seeds replay).
          if (this.profile.fullGrammar && this.chance(50)) return { k: 'op', op: '||', l: this.scalar(ctx, 'text', depth - 1), r: this.literal('text') };
          return { k: 'fn', name: 'concat', args: [this.scalar(ctx, 'text', depth - 1), this.literal('text')] };
        }
        if (r === 2) return { k: 'fn', name: 'coalesce', args: [this.scalar(ctx, 'text', depth - 1), this.literal('text')] };
        return this.scalarSubquery(ctx, 'text');
      }
      case 'num': {
        const r = this.int(0, 1);
        if (r === 0) return { k: 'op', op: this.pick(['+', '*']), l: this.scalar(ctx, 'num', depth - 1), r: this.literal('num') };
        return this.scalarSubquery(ctx, 'num');
      }
      case 'ts': {
        if (this.chance(50)) return this.scalarSubquery(ctx, 'ts');
        return cols.length > 0 ? this.pick(cols) : this.literal('ts');
      }
    }
  }

  /** `(select agg(b.col) from t b where <correlated>)`: always one row. */
  scalarSubquery(ctx: Ctx, ty: Ty): Expr {
    if (ctx.depth >= 2) return this.literal(ty);
    const { from, rel } = this.baseFrom(ctx);
    const inner: Ctx = { ...ctx, rels: [rel, ...ctx.rels], depth: ctx.depth + 1 };
    const cols = this.colsOf(inner, ty, true);
    // Without a column to aggregate, a plain `(select <lit> from t)` could return several rows.
    if (cols.length === 0 && ty !== 'int') return this.literal(ty);
    const agg: Expr =
      ty === 'int' && (cols.length === 0 || this.chance(40))
        ? { k: 'fn', name: 'count', args: [], star: true }
        : { k: 'fn', name: ty === 'ts' || ty === 'text' ? this.pick(['max', 'min']) : this.pick(['max', 'min', 'sum']), args: [this.pick(cols)] };
    const where = this.correlation(inner) ?? (this.chance(70) ? this.predicate(inner, 1) : null);
    if (cols.length > 0 && this.chance(15)) {
      // `(select col … order by 1 limit 1)`: one row at most, the same on both sides.
      const q = this.simpleSelect([{ k: 'expr', e: this.pick(cols), as: null }], [from], where);
      q.orderAll = 1;
      q.limit = 1;
      return { k: 'sub', q };
    }
    return { k: 'sub', q: this.simpleSelect([{ k: 'expr', e: agg, as: null }], [from], where) };
  }

  /** Error-oracle traps placed so far (sql-fuzz-trap.ts). */
  traps = 0;

  /** A trap over a text column of a base table in scope (qualified by an alias used once), or null. */
  trap(ctx: Ctx): Expr | null {
    const aliases = new Map<string, number>();
    for (const r of ctx.rels) aliases.set(r.alias, (aliases.get(r.alias) ?? 0) + 1);
    const texts = ctx.rels
      .filter((r) => r.table !== null && aliases.get(r.alias) === 1)
      .flatMap((r) => r.cols.filter((c) => c.ty === 'text').map((c): Expr => ({ k: 'col', rel: r.alias, col: c.name })));
    if (texts.length === 0) return null;
    this.traps++;
    return { k: 'trap', e: this.pick(texts) };
  }

  predicate(ctx: Ctx, depth: number): Expr {
    if (this.chance(8)) {
      const t = this.trap(ctx);
      if (t) return t;
    }
    const roll = this.int(0, depth > 0 ? 15 : 6);
    if (roll <= 2) {
      const ty = this.pick<Ty>(['int', 'text', 'num', 'ts']);
      return { k: 'op', op: this.pick(['=', '<>', '<', '>', '<=', '>=', '!=']), l: this.scalar(ctx, ty, 1), r: this.scalar(ctx, ty, 1) };
    }
    if (roll === 3) return { k: 'isnull', e: this.scalar(ctx, this.pick<Ty>(['int', 'text']), 1), not: this.chance(50) };
    if (roll === 4) {
      const n = this.int(1, 3);
      return { k: 'inlist', e: this.scalar(ctx, 'int', 0), list: Array.from({ length: n }, () => this.literal('int')), not: this.chance(25) };
    }
    if (roll === 5) {
      const texts = this.colsOf(ctx, 'text');
      const e = texts.length > 0 ? this.pick(texts) : this.literal('text');
      return { k: 'like', e, pattern: this.pick(['T1%', '%open%', 'T2%', '%@t1.example', '_1%']), not: this.chance(25) };
    }
    if (roll === 6) {
      const ty = this.pick<Ty>(['int', 'num']);
      return { k: 'between', e: this.scalar(ctx, ty, 0), lo: this.literal(ty), hi: this.literal(ty) };
    }
    if (roll <= 9) return { k: 'op', op: this.pick(['and', 'or']), l: this.predicate(ctx, depth - 1), r: this.predicate(ctx, depth - 1) };
    // NOT (…) is not in the gateway's grammar: rare, counted as a refusal.
    if (roll === 10 && this.chance(15)) return { k: 'not', e: this.predicate(ctx, depth - 1) };
    if (roll === 11 && ctx.depth < 2) return this.existsPredicate(ctx);
    if (roll === 12 && ctx.depth < 2) return this.inSubquery(ctx);
    if (roll === 13) {
      // Division by zero on some row (another tenant's, perhaps): the error-oracle probe (a
      // MariaDB write raises it; a read answers NULL).
      const ints = this.colsOf(ctx, 'int');
      const c = ints.length > 0 ? this.pick(ints) : lit('1');
      return { k: 'op', op: '>', l: { k: 'op', op: '/', l: lit('10'), r: { k: 'op', op: '-', l: c, r: this.literal('int') } }, r: lit('0') };
    }
    if (roll === 14 && this.chance(30)) return this.probe(ctx);
    return { k: 'op', op: '=', l: this.scalar(ctx, 'int', 0), r: this.scalar(ctx, 'int', 0) };
  }

  /** Something the role may never read: a hidden column, an unpermitted table, another database. */
  probe(ctx: Ctx): Expr {
    const hidden = ctx.rels.find((r) => r.table === 'customers' || r.table === 'order_items');
    if (hidden && this.chance(50)) {
      const col = hidden.table === 'customers' ? 'secret_note' : 'internal_code';
      const bare = this.chance(30);
      if (hidden.target || (bare && ctx.rels.some((r) => r.target))) this.probes++;
      return { k: 'isnull', e: { k: 'col', rel: bare ? '' : hidden.alias, col }, not: true };
    }
    this.probes++;
    const alias = this.alias();
    const other = this.profile.dialect === 'mysql' && this.chance(30);
    const table: From = other ? { k: 'table', table: 'customers', alias, qualified: true, otherDb: true } : { k: 'table', table: 'audit_secrets', alias, qualified: this.chance(30) };
    return { k: 'exists', not: false, q: this.simpleSelect([{ k: 'expr', e: lit('1'), as: null }], [table], null) };
  }

  existsPredicate(ctx: Ctx): Expr {
    const { from, rel } = this.baseFrom(ctx);
    const inner: Ctx = { ...ctx, rels: [rel, ...ctx.rels], depth: ctx.depth + 1 };
    const where = this.correlation(inner) ?? this.predicate(inner, 1);
    return { k: 'exists', not: this.chance(30), q: this.simpleSelect([{ k: 'expr', e: lit('1'), as: null }], [from], where) };
  }

  inSubquery(ctx: Ctx): Expr {
    const not = this.chance(25);
    if (this.chance(12)) {
      // A WITH inside the subquery: its names shadow outer CTEs and tables only there.
      const w = this.withQuery({ ...ctx, rels: [], depth: ctx.depth + 1 }, ['int']);
      return { k: 'insub', e: this.scalar(ctx, 'int', 0), not, q: w.q };
    }
    // (Nothing generated is dropped: a dropped probe would still count as one.)
    const { from, rel } = this.baseFrom(ctx);
    const inner: Ctx = { ...ctx, rels: [rel, ...ctx.rels], depth: ctx.depth + 1 };
    const cols = this.colsOf(inner, 'int', true);
    const e: Expr = cols.length > 0 ? this.pick(cols) : lit('1');
    const where = this.chance(60) ? (this.correlation(inner) ?? this.predicate(inner, 1)) : null;
    const q: Select = this.simpleSelect([{ k: 'expr', e, as: null }], [from], where);
    if (this.chance(20)) {
      const r = this.select({ ...ctx, depth: ctx.depth + 1 }, { top: false, types: ['int'] }).q;
      return { k: 'insub', e: this.scalar(ctx, 'int', 0), not, q: { k: 'setop', op: this.setOp(), l: q, r, orderAll: null, limit: null } };
    }
    return { k: 'insub', e: this.scalar(ctx, 'int', 0), not, q };
  }

  setOp(): SetOp['op'] {
    const refused = this.profile.refusedSetOps;
    if (refused.length > 0 && this.chance(2)) return this.pick(refused);
    return this.pick(this.profile.setOps);
  }

  /** An equality between an int column of the innermost relation and one of an outer relation. */
  correlation(ctx: Ctx): Expr | null {
    const mine = this.colsOf(ctx, 'int', true);
    const inner = ctx.rels[0]!.alias;
    const outer = ctx.rels
      .slice(1)
      .filter((r) => r.alias !== inner)
      .flatMap((r) => r.cols.filter((c) => c.ty === 'int').map((c): Expr => ({ k: 'col', rel: r.alias, col: c.name })));
    if (mine.length === 0 || outer.length === 0 || this.chance(20)) return null;
    return { k: 'op', op: '=', l: this.pick(mine), r: this.pick(outer) };
  }

  simpleSelect(items: Item[], from: From[], where: Expr | null): Select {
    return { k: 'select', with: [], recursive: false, distinct: false, items, from, where, groupBy: [], having: null, orderAll: null, limit: null };
  }

  /** A base table or, where a CTE is in scope under that name, the CTE. */
  baseFrom(ctx: Ctx): { from: From; rel: Rel } {
    const names = [...TABLE_NAMES.filter((t) => !ctx.banned.has(t)), ...[...ctx.ctes.keys()].filter((n) => !(TABLE_NAMES as string[]).includes(n))];
    const name = this.pick(names);
    const cte = ctx.ctes.get(name);
    const isTable = (TABLE_NAMES as string[]).includes(name);
    // A schema-qualified name is always the table, even where a CTE of that name is in scope.
    const qualified = isTable && this.chance(cte ? 40 : 10);
    // Unaliased (`from customers`, referenced as `customers.id`), once per name and statement.
    const bare = this.chance(15) && !this.usedNames.has(name);
    if (bare) this.usedNames.add(name);
    const alias = bare ? null : this.alias();
    const relAlias = alias ?? name;
    if (cte && !qualified) return { from: { k: 'cte', name, alias, oracle: cte.oracle }, rel: { alias: relAlias, cols: cte.cols, table: null } };
    const table = name as TableName;
    return { from: { k: 'table', table, alias, qualified }, rel: { alias: relAlias, cols: permittedCols(table), table } };
  }

  /** A derived table, a set operation or a WITH query in FROM; it cannot see the outer levels. */
  derived(ctx: Ctx): { from: From; rels: Rel[] } {
    const alias = this.alias();
    const inner: Ctx = { ...ctx, rels: [], depth: ctx.depth + 1 };
    const kind = this.int(0, ctx.depth === 0 ? 3 : 1);
    if (kind === 3) {
      const types = Array.from({ length: this.int(1, 2) }, () => this.pick<Ty>(['int', 'text']));
      const l = this.select(inner, { top: false, types });
      const r = this.select(inner, { top: false, types });
      const q: SetOp = { k: 'setop', op: this.setOp(), l: l.q, r: r.q, orderAll: null, limit: null };
      return { from: { k: 'sub', q, alias }, rels: [{ alias, cols: l.cols, table: null }] };
    }
    const { q, cols } = kind === 2 ? this.withQuery(inner) : this.select(inner, { top: false });
    if (!q.items.some((i) => i.k === 'star') && this.chance(10)) {
      // ORDER BY every column, then LIMIT: the same rows on both sides.
      q.orderAll = q.items.length;
      q.limit = this.int(0, 3);
    }
    return { from: { k: 'sub', q, alias }, rels: [{ alias, cols, table: null }] };
  }

  joinType(): JoinType {
    // NATURAL joins, and RIGHT/FULL ones where the grammar lacks them, are refused by the gateway:
    // rare, to count the refusal.
    if (this.chance(1)) {
      if (this.profile.fullGrammar) return 'natural';
      return this.pick(this.profile.dialect === 'sqlite' ? (['right', 'full', 'natural'] as const) : (['right', 'natural'] as const));
    }
    // SQLite on sql-parser-cst: RIGHT and FULL joins accepted.
    if (this.profile.fullGrammar && this.chance(10)) return this.pick(['right', 'full'] as const);
    return this.pick(['inner', 'left', 'cross'] as const);
  }

  /** A FROM item and the relations it brings into scope (for joins: every side). */
  fromItem(ctx: Ctx, depth: number): { from: From; rels: Rel[] } {
    const roll = this.int(0, depth > 0 ? 6 : 1);
    if (roll <= 1 || (roll === 2 && ctx.depth >= 2)) {
      const { from, rel } = this.baseFrom(ctx);
      return { from, rels: [rel] };
    }
    if (roll === 2) return this.derived(ctx);
    const left = this.fromItem(ctx, depth - 1);
    // Left-deep only: the gateway refuses nested join groups.
    const right = this.chance(80) || ctx.depth >= 2 ? (({ from, rel }) => ({ from, rels: [rel] }))(this.baseFrom(ctx)) : this.derived(ctx);
    const rels = [...left.rels, ...right.rels];
    const type = this.joinType();
    let on: Expr | null = null;
    let using: string[] | null = null;
    if (type !== 'cross' && type !== 'natural') {
      const common = left.rels.length === 1 ? left.rels[0]!.cols.filter((c) => right.rels[0]!.cols.some((d) => d.name === c.name && d.ty === c.ty)) : [];
      if (common.length > 0 && this.chance(15)) using = [this.pick(common).name];
      else on = this.joinCondition(left.rels, right.rels) ?? this.predicate({ ...ctx, rels: [...rels, ...ctx.rels] }, 1);
    }
    return { from: { k: 'join', type, l: left.from, r: right.from, on, using }, rels };
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

  /** A SELECT and its output columns. `types` forces the output shape (set operations, IN). */
  select(ctx: Ctx, opts: { top: boolean; types?: Ty[] }): { q: Select; cols: Col[] } {
    const outer = ctx.rels;
    const froms: From[] = [];
    const local: Rel[] = [];
    const nFrom = this.chance(15) ? 2 : 1;
    for (let i = 0; i < nFrom; i++) {
      const last = i === nFrom - 1;
      const f = this.fromItem(ctx, !last && !this.profile.commaAfterJoin ? 0 : ctx.depth === 0 ? 2 : 1);
      froms.push(f.from);
      local.push(...f.rels);
    }
    const here: Ctx = { ...ctx, rels: [...local, ...outer] };
    const where = this.chance(60) ? this.predicate(here, 2) : null;
    const items: Item[] = [];
    const cols: Col[] = [];
    const add = (e: Expr, ty: Ty): void => {
      const as = `c${items.length + 1}`;
      items.push({ k: 'expr', e, as });
      cols.push({ name: as, ty });
    };
    const q: Select = { ...this.simpleSelect(items, froms, where) };

    if (opts.types) {
      for (const ty of opts.types) add(this.scalar(here, ty, 1), ty);
      return { q, cols };
    }
    const localCtx: Ctx = { ...here, rels: local };
    const shape = this.int(0, 4);
    if (shape === 1) {
      // Aggregates with GROUP BY / HAVING.
      const keyTy = this.pick<Ty>(['int', 'text', 'ts']);
      const keys = this.colsOf(localCtx, keyTy);
      if (keys.length > 0 && this.chance(80)) {
        const key = this.pick(keys);
        q.groupBy.push(key);
        add(key, keyTy);
      }
      add({ k: 'fn', name: 'count', args: [], star: true }, 'int');
      const nums = [...this.colsOf(localCtx, 'num'), ...this.colsOf(localCtx, 'int')];
      if (nums.length > 0 && this.chance(60)) add({ k: 'fn', name: this.pick(['sum', 'max', 'min', 'avg']), args: [this.pick(nums)], distinct: this.chance(15) }, 'num');
      const any = [...nums, ...this.colsOf(localCtx, 'text')];
      if (any.length > 0 && this.chance(30)) add({ k: 'fn', name: 'count', args: [this.pick(any)], distinct: this.chance(40) }, 'int');
      const texts = this.colsOf(localCtx, 'text');
      if (texts.length > 0 && this.chance(25)) {
        const t = this.pick(texts);
        add({ k: 'fn', name: 'group_concat', args: [t], order: [t], sep: '|' }, 'text');
      }
      if (this.chance(40)) q.having = { k: 'op', op: this.pick(['>', '>=', '=']), l: { k: 'fn', name: 'count', args: [], star: true }, r: lit(this.pick(['0', '1', '2'])) };
      return { q, cols };
    }
    if (shape === 2 && local.length === 1 && local[0]!.table !== null && (this.profile.windows || this.chance(5))) {
      // Window functions over one base table, ordered by its primary key: deterministic.
      const rel = local[0]!;
      const part: Expr = { k: 'col', rel: rel.alias, col: this.pick(rel.cols).name };
      const pk: Expr = { k: 'col', rel: rel.alias, col: 'id' };
      add(pk, 'int');
      const w = this.int(0, 3);
      if (w === 0) add({ k: 'win', fn: 'row_number', args: [], partition: [part], order: [pk] }, 'int');
      else if (w === 1) {
        const c = this.pick(rel.cols);
        add({ k: 'win', fn: this.pick(['lag', 'lead', 'first_value']), args: [{ k: 'col', rel: rel.alias, col: c.name }], partition: [], order: [pk] }, c.ty);
      } else if (w === 2) {
        const ints = this.colsOf(localCtx, 'int');
        add({ k: 'win', fn: 'sum', args: [this.pick(ints)], partition: [part], order: [] }, 'num');
      } else add({ k: 'win', fn: this.pick(['rank', 'dense_rank']), args: [], partition: [], order: [part] }, 'int');
      return { q, cols };
    }
    if (shape === 3) {
      // Stars: at the top any, elsewhere one relation's (a derived table needs distinct names).
      if (opts.top && this.chance(30)) {
        items.push({ k: 'star', rel: null });
        return { q, cols: [] };
      }
      if (opts.top || local.length === 1) {
        const rel = this.pick(local);
        items.push({ k: 'star', rel: rel.alias });
        if (opts.top && this.chance(40)) add(this.scalar(here, 'int', 1), 'int');
        return { q, cols: opts.top ? [] : rel.cols };
      }
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
   * A recursive CTE: a counter, or a walk along ids of a table (schema-qualified when a CTE of
   * that name is in scope, since there the bare name means the CTE).
   */
  recursiveCte(name: string, oracle: string, shadowed: (n: string) => boolean): Query {
    const self: From = { k: 'cte', name, alias: 'r', oracle };
    const n: Expr = { k: 'col', rel: 'r', col: 'n' };
    if (this.chance(50)) {
      const base = this.simpleSelect([{ k: 'expr', e: lit('1'), as: 'n' }], [], null);
      const step = this.simpleSelect([{ k: 'expr', e: { k: 'op', op: '+', l: n, r: lit('1') }, as: null }], [self], { k: 'op', op: '<', l: n, r: lit(String(this.int(1, 6))) });
      return { k: 'setop', op: 'union all', l: base, r: step, orderAll: null, limit: null };
    }
    const table = this.pick(TABLE_NAMES);
    const qualified = shadowed(table);
    const a = this.alias();
    const b = this.nextName('b');
    const base = this.simpleSelect([{ k: 'expr', e: { k: 'col', rel: a, col: 'id' }, as: 'n' }], [{ k: 'table', table, alias: a, qualified }], {
      k: 'op',
      op: '=',
      l: { k: 'col', rel: a, col: 'id' },
      r: this.literal('int'),
    });
    const join: From = {
      k: 'join',
      type: 'inner',
      l: { k: 'table', table, alias: b, qualified },
      r: self,
      on: { k: 'op', op: '=', l: { k: 'col', rel: b, col: 'id' }, r: { k: 'op', op: '+', l: n, r: lit('1') } },
      using: null,
    };
    const step = this.simpleSelect([{ k: 'expr', e: { k: 'col', rel: b, col: 'id' }, as: null }], [join], null);
    return { k: 'setop', op: this.chance(50) ? 'union' : 'union all', l: base, r: step, orderAll: null, limit: null };
  }

  cteName(): string {
    // Named like a table (it shadows it); now and then in another case, which both databases
    // still match to the CTE.
    const name = this.chance(50) ? this.pick(TABLE_NAMES) : this.nextName('w');
    return this.chance(3) ? name[0]!.toUpperCase() + name.slice(1) : name;
  }

  /**
   * A WITH list and the CTEs it adds. Where a body sees only the earlier CTEs (MariaDB without
   * RECURSIVE), bodies are generated in list order and the body's own name and the later ones mean
   * the table. Where every name of the list is in scope in every body (SQLite, or RECURSIVE), they
   * are generated in a random order, each sees the ones generated before it (forward references),
   * and may not write bare a name whose CTE's columns are not known yet (or its own).
   */
  withList(ctx: Ctx): { ctes: Cte[]; recursive: boolean; scope: Map<string, CteInfo>; banned: Set<string> } {
    const recursive = this.chance(20);
    const names: string[] = [];
    if (recursive) names.push(this.chance(50) ? this.pick(TABLE_NAMES) : 'r1');
    for (let i = this.int(recursive ? 0 : 1, 2); i > 0; i--) {
      const name = this.cteName();
      if (!names.some((n) => n.toLowerCase() === name.toLowerCase())) names.push(name);
    }
    const lower = names.map((n) => n.toLowerCase());
    const oracles = lower.map((n) => this.nextName('q') + `_${n}`);
    const ctes: (Cte | undefined)[] = names.map(() => undefined);
    const done = new Map<string, CteInfo>();
    const allVisible = recursive || this.profile.cteForward;
    // MariaDB: in a nested WITH's bodies the outer CTEs are out of reach (their names mean tables).
    const outer = this.profile.cteBodiesSeeOuterCtes ? ctx.ctes : new Map<string, CteInfo>();
    if (recursive) {
      ctes[0] = { name: names[0]!, oracle: oracles[0]!, columns: null, q: this.recursiveCte(names[0]!, oracles[0]!, (t) => outer.has(t) || lower.includes(t)) };
      done.set(lower[0]!, { declared: names[0]!, oracle: oracles[0]!, cols: [{ name: 'n', ty: 'int' }] });
    }
    const order = names.map((_, i) => i).filter((i) => !(recursive && i === 0));
    // In list order where a body sees only the earlier CTEs (so each has its columns by then).
    for (let i = allVisible ? order.length - 1 : 0; i > 0; i--) {
      const j = this.int(0, i);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const i of order) {
      const scope = new Map(outer);
      const banned = new Set(ctx.banned);
      lower.forEach((n, j) => {
        const info = done.get(n);
        if (info && (allVisible || j < i)) scope.set(n, info);
        else if (allVisible) {
          // The database resolves the name to this WITH list's CTE, but its columns are unknown
          // (or it is the body's own, a recursive reference): never written bare here.
          scope.delete(n);
          banned.add(n);
        } else if (j >= i) {
          // MariaDB: the body's own name and the later ones mean the table here, even where an
          // outer WITH has a CTE of that name.
          scope.delete(n);
        }
      });
      const { q, cols } = this.select({ rels: [], ctes: scope, banned, depth: ctx.depth + 1 }, { top: false });
      const renamed = cols.length > 0 && this.chance(15) ? cols.map((c, k) => ({ name: `k${k + 1}`, ty: c.ty })) : null;
      ctes[i] = { name: names[i]!, oracle: oracles[i]!, columns: renamed ? renamed.map((c) => c.name) : null, q };
      done.set(lower[i]!, { declared: names[i]!, oracle: oracles[i]!, cols: renamed ?? cols });
    }
    const scope = new Map(ctx.ctes);
    for (const [n, info] of done) scope.set(n, info);
    const banned = new Set([...ctx.banned].filter((n) => !done.has(n)));
    return { ctes: ctes as Cte[], recursive, scope, banned };
  }

  /** A SELECT with its own WITH (in a derived table: the CTE names are visible only inside it). */
  withQuery(ctx: Ctx, types?: Ty[]): { q: Select; cols: Col[] } {
    const w = this.withList(ctx);
    const { q, cols } = this.select({ ...ctx, ctes: w.scope, banned: w.banned }, { top: false, ...(types && { types }) });
    q.with = w.ctes;
    q.recursive = w.recursive;
    return { q, cols };
  }

  /** The top-level statement: optional CTEs, then a SELECT or a set operation; maybe ORDER BY/LIMIT. */
  top(): Query {
    const base: Ctx = { rels: [], ctes: new Map(), banned: new Set(), depth: 0 };
    const w = this.chance(35) ? this.withList(base) : null;
    const ctx: Ctx = w ? { ...base, ctes: w.scope, banned: w.banned } : base;
    let q: Query;
    let width: number | null;
    if (this.chance(15)) {
      const types = Array.from({ length: this.int(1, 2) }, () => this.pick<Ty>(['int', 'text', 'num']));
      const l = this.select(ctx, { top: false, types }).q;
      const r = this.select(ctx, { top: false, types }).q;
      q = { k: 'setop', op: this.setOp(), l, r, orderAll: null, limit: null };
      if (w) {
        // Printed first, a WITH on the left arm's SELECT applies to the whole set operation.
        l.with = w.ctes;
        l.recursive = w.recursive;
      }
      width = types.length;
    } else {
      const s = this.select(ctx, { top: true });
      if (w) {
        s.q.with = w.ctes;
        s.q.recursive = w.recursive;
      }
      q = s.q;
      width = s.q.items.some((i) => i.k === 'star') ? null : s.q.items.length;
    }
    if (width !== null && this.chance(30)) {
      q.orderAll = width;
      if (this.chance(60)) q.limit = this.int(0, 4);
    }
    return q;
  }
}

export interface ReadCase extends Printed {
  tenant: 1 | 2;
  /** Error-oracle traps in the statement: none may fire through sluice (sql-fuzz-trap.ts). */
  traps: number;
  /** Reaches a hidden column, an unpermitted table or another database: sluice must refuse. */
  probe: boolean;
  /** Ordered by every output column: the row order must match too. */
  ordered: boolean;
  query: Query;
}

/** One random read, as tenant 1 or 2; one in ten quotes every identifier, three in ten pass literals as parameters. */
export function readCase(profile: Profile): fc.Arbitrary<ReadCase> {
  return fc.gen().map((g) => {
    const tenant = g(fc.constantFrom, 1 as const, 2 as const);
    const quoted = g(fc.integer, { min: 0, max: 99 }) >= 90;
    const withParams = g(fc.integer, { min: 0, max: 99 }) >= 70;
    const b = new Builder(g, profile);
    const query = b.top();
    return { tenant, probe: b.probes > 0, traps: b.traps, ordered: query.orderAll !== null, query, ...printAll((o) => printQuery(query, o), profile.dialect, tenant, quoted, withParams) };
  });
}
