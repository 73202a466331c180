/**
 * INSERT, UPDATE, DELETE. The target stays a real table (it has to, to be written), so: columns
 * written must be in the permission's list, gateway presets replace client values, the row filter
 * is ANDed into WHERE (and guards ON DUPLICATE KEY UPDATE), and every column read from the target
 * — WHERE, SET values, RETURNING, correlated subqueries — must be readable (scope.ts).
 */
import type { Filter } from '../../config/types.js';
import { allows, type ColumnSet, type CompiledTable } from '../../permissions/model.js';
import { newScope, type Scope, type ScopeItem } from './scope.js';
import { addParam, refuse, type Ctx } from './context.js';
import { filterExpr, sourceOf } from './filter.js';
import { and, col, type Delete, type Expr, type Insert, type OnConflict, type OrderItem, type Select, type SelectColumn, type SetItem, type TableRef, type Update, type With } from './ir.js';
import { expr, fromItem, lookupTable, subquery, withClause, withScope } from './query.js';
import { sentValue } from './preset-value.js';

const FALSE: Expr = { k: 'bool', v: false };

interface Target {
  table: CompiledTable;
  name: string;
  label: string;
}

function target(t: TableRef, ctx: Ctx): Target {
  if (t.as !== undefined) refuse('CONSTRUCT_NOT_ALLOWED', 'An alias on the target of INSERT/UPDATE/DELETE is not allowed');
  const table = lookupTable(t.db, t.name, ctx);
  // Pin the schema so the write can never land elsewhere.
  t.db = table.schema;
  return { table, name: table.table, label: `${table.schema}.${table.table}` };
}

function targetItem(t: Target): ScopeItem {
  return { name: t.name, columns: null, target: { readable: t.table.select?.columns, label: t.label } };
}

function need<T>(value: T | undefined, what: string, t: Target): T {
  if (value === undefined) refuse('OPERATION_NOT_ALLOWED', `The role may not ${what} ${t.label}`, t.label);
  return value;
}

/**
 * AND the row filter into a WHERE. The fast form `filter AND (filter AND where)` lets the planner
 * use indexes on the caller's predicate; the fenced form (fallback) is `filter AND CASE WHEN filter
 * THEN where ELSE FALSE END`, which evaluates the caller's predicate only on the caller's rows.
 * The filter is written twice in both so each form binds the same `?` sequence.
 */
function withFilter(s: { where?: Expr }, filter: Filter | undefined, t: Target, ctx: Ctx): void {
  if (!filter) return;
  const where = s.where;
  if (!where) {
    s.where = filterExpr(filter, t.name, ctx);
    return;
  }
  const outer = filterExpr(filter, t.name, ctx);
  const inner = filterExpr(filter, t.name, ctx);
  s.where = and([outer, { k: 'bin', op: 'AND', l: inner, r: where }]);
  ctx.fences.push(() => {
    s.where = and([outer, { k: 'case', whens: [{ cond: inner, result: where }], else: FALSE }]);
  });
}

const PRESET_REFUSAL = 'is set by the gateway: leave it out, send DEFAULT, or send a parameter or literal equal to the preset';

/**
 * A value the client sent for a preset column: its param stays (bind time checks it and rebinds it
 * to the preset's value), a literal becomes the preset's placeholder; both are checked against the
 * preset when bound (sql/preset-check.ts). Returns the expression to write, or null for DEFAULT.
 */
function presetValue(e: Expr, column: string, t: Target, ctx: Ctx): Expr | null {
  const sent = sentValue(e, ctx.spec.nullIsDefault);
  if (sent === null) refuse('PRESET_COLUMN', `${t.label}.${column} ${PRESET_REFUSAL}`);
  if (sent.kind === 'default') return null;
  const preset = sourceOf(t.table.insert!.presets.get(column) ?? null);
  ctx.presetChecks.push({ sent, preset, column: `${t.label}.${column}` });
  return sent.kind === 'client' ? e : addParam(ctx, preset);
}

/** `excluded.<col>` / `values(<col>)`: the proposed row's own value of `column` (upserts only). */
function proposedValue(e: Expr, column: string): boolean {
  if (e.k === 'col') return e.table === 'excluded' && e.name === column;
  return e.k === 'fn' && e.name.toLowerCase() === 'values' && e.args.length === 1 && e.args[0]!.k === 'col' && e.args[0]!.name === column && e.args[0]!.table === undefined;
}

/**
 * SET of a preset column (UPDATE, upserts): only to the preset's own value, as in INSERT — a row
 * filter on that column keeps the row where it was, and a write elsewhere is refused. In an upsert,
 * the proposed row's value (whose preset the gateway wrote) is that value too.
 */
function setPreset(item: SetItem, t: Target, ctx: Ctx, upsert: boolean): void {
  if (upsert && proposedValue(item.e, item.column)) return;
  const value = presetValue(item.e, item.column, t, ctx);
  if (value === null) refuse('PRESET_COLUMN', `${t.label}.${item.column} ${PRESET_REFUSAL}`);
  item.e = value;
}

function setList(items: SetItem[], columns: ColumnSet, t: Target, ctx: Ctx, upsert = false): void {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.column)) refuse('CONSTRUCT_NOT_ALLOWED', 'A column is set twice');
    seen.add(item.column);
    if (t.table.insert?.presets.has(item.column)) {
      setPreset(item, t, ctx, upsert);
      continue;
    }
    if (!allows(columns, item.column)) refuse('COLUMN_NOT_ALLOWED', `The role may not update ${t.label}.${item.column}`);
    if (t.table.pinned.has(item.column)) refuse('COLUMN_NOT_ALLOWED', `${t.label}.${item.column} is used by a row filter or preset and cannot be updated`);
    item.e = expr(item.e, ctx);
  }
}

function returning(cols: SelectColumn[] | undefined, t: Target, ctx: Ctx): SelectColumn[] | undefined {
  if (!cols) return undefined;
  const readable = need(t.table.select, 'read (RETURNING) from', t).columns;
  const out: SelectColumn[] = [];
  for (const c of cols) {
    const star = c.e.k === 'col' && c.e.name === '*' && (c.e.table === undefined || c.e.table === t.name);
    if (star && readable.names !== null) {
      // RETURNING * → the readable columns of the target.
      for (const name of readable.names) out.push({ e: col(name, t.name) });
      continue;
    }
    c.e = expr(c.e, ctx);
    out.push(c);
  }
  return out;
}

/**
 * WITH on a write (SQLite): the CTEs are walked as reads (each table in them a filtered view) and
 * stay in reach of the statement's subqueries while `fn` walks it. The target is always a table:
 * a CTE of the same name is refused rather than guessed at.
 */
function withCtes(w: With | undefined, t: TableRef, ctx: Ctx, fn: () => void): void {
  if (!w) return fn();
  if (w.ctes.some((c) => c.name.toLowerCase() === t.name.toLowerCase())) {
    refuse('CONSTRUCT_NOT_ALLOWED', `"${t.name}" names both a CTE and the table written to`);
  }
  const before = ctx.ctes.length;
  try {
    withClause(w, ctx);
    fn();
  } finally {
    ctx.ctes.length = before;
  }
}

/** SQLite's UPDATE/DELETE … ORDER BY … LIMIT: applied after WHERE (the row filter included). */
function writeLimit(s: { orderBy?: OrderItem[]; limit?: Expr }, ctx: Ctx): void {
  if (s.orderBy) for (const o of s.orderBy) o.e = expr(o.e, ctx);
  if (!s.limit) return;
  if (s.limit.k === 'num' ? !/^\d+$/.test(s.limit.v) : s.limit.k !== 'param') refuse('CONSTRUCT_NOT_ALLOWED', 'LIMIT must be a non-negative integer or a placeholder');
}

export function updateStmt(s: Update, ctx: Ctx): void {
  const t = target(s.table, ctx);
  noReferences(t);
  const perm = need(t.table.update, 'update', t);
  withCtes(s.with, s.table, ctx, () => {
    const scope = newScope(null);
    scope.items.push(targetItem(t));
    // UPDATE … FROM (SQLite): each FROM item walked as in a SELECT — a table becomes its filtered
    // view — before SET and WHERE, which may read it. (The printer lists placeholders SET first.)
    if (s.from) s.from = s.from.map((item) => withScope(ctx, scope, () => fromItem(item, ctx, scope, null)));
    withScope(ctx, scope, () => {
      setList(s.set, perm.columns, t, ctx);
      if (s.where) s.where = expr(s.where, ctx);
      withFilter(s, perm.filter, t, ctx);
      const ret = returning(s.returning, t, ctx);
      if (ret) s.returning = ret;
      writeLimit(s, ctx);
    });
  });
}

export function deleteStmt(s: Delete, ctx: Ctx): void {
  const t = target(s.table, ctx);
  const perm = need(t.table.delete, 'delete from', t);
  withCtes(s.with, s.table, ctx, () => {
    const scope = newScope(null);
    scope.items.push(targetItem(t));
    withScope(ctx, scope, () => {
      if (s.where) s.where = expr(s.where, ctx);
      withFilter(s, perm.filter, t, ctx);
      const ret = returning(s.returning, t, ctx);
      if (ret) s.returning = ret;
      writeLimit(s, ctx);
    });
  });
}

/** DEFAULT, or (SQLite, where Drizzle sends null for a default) NULL. */
function notSupplied(e: Expr | undefined, ctx: Ctx): boolean {
  return e?.k === 'default' || (ctx.spec.nullIsDefault && e?.k === 'null');
}

/**
 * INSERT … VALUES: check each column; a preset column may only hold DEFAULT (it gets the preset);
 * a column the role may not write may only hold DEFAULT (it is dropped, so the database default
 * applies); missing presets are appended.
 */
function insertValues(s: Insert, t: Target, ctx: Ctx): void {
  const perm = t.table.insert!;
  if (new Set(s.columns).size !== s.columns.length) refuse('CONSTRUCT_NOT_ALLOWED', 'A column is listed twice');
  for (const r of s.rows) {
    if (r.length !== s.columns.length) refuse('CONSTRUCT_NOT_ALLOWED', 'Each VALUES row must have one value per listed column');
  }
  const keep: number[] = [];
  const presetAt: number[] = [];
  s.columns.forEach((column, i) => {
    if (perm.presets.has(column)) {
      presetAt.push(i);
      keep.push(i);
    } else if (allows(perm.columns, column)) keep.push(i);
    else if (!s.rows.every((r) => notSupplied(r[i], ctx))) refuse('COLUMN_NOT_ALLOWED', `The role may not insert into ${t.label}.${column}`);
  });
  const saved = ctx.scope;
  ctx.scope = newScope(null); // VALUES cannot see the target
  try {
    for (const r of s.rows) {
      r.forEach((v, i) => {
        if (v.k !== 'default' && !presetAt.includes(i)) r[i] = expr(v, ctx);
      });
    }
  } finally {
    ctx.scope = saved;
  }
  const columns = keep.map((i) => s.columns[i]!);
  const rows = s.rows.map((r) => keep.map((i) => r[i]!));
  // Gateway placeholders go in only after the client's expressions were walked. Each preset
  // column: DEFAULT → the preset; a param or literal equal to it → checked when bound.
  for (const i of presetAt) {
    const at = keep.indexOf(i);
    const source = sourceOf(perm.presets.get(s.columns[i]!) ?? null);
    for (const r of rows) r[at] = presetValue(r[at]!, s.columns[i]!, t, ctx) ?? addParam(ctx, source);
  }
  for (const [column, value] of perm.presets) {
    if (columns.includes(column)) continue;
    columns.push(column);
    for (const r of rows) r.push(addParam(ctx, sourceOf(value)));
  }
  if (columns.length === 0) refuse('CONSTRUCT_NOT_ALLOWED', 'The INSERT writes no column the role may write');
  s.columns = columns;
  s.rows = rows;
}

/**
 * ON DUPLICATE KEY UPDATE has no WHERE: each assignment becomes `col = IF(filter, new, col)`, so an
 * existing row outside the caller's filter is left exactly as it was.
 */
function onDuplicate(s: Insert, t: Target, ctx: Ctx): void {
  if (!s.onDuplicate) return;
  const perm = need(t.table.update, 'update (ON DUPLICATE KEY UPDATE)', t);
  const scope = newScope(null);
  scope.items.push(targetItem(t));
  ctx.insertValues = { table: t.name, columns: insertedColumns(t).names };
  try {
    withScope(ctx, scope, () => setList(s.onDuplicate!, perm.columns, t, ctx, true));
  } finally {
    ctx.insertValues = undefined;
  }
  if (!perm.filter) return;
  for (const item of s.onDuplicate) {
    const guard = filterExpr(perm.filter, t.name, ctx);
    item.e = { k: 'fn', name: 'if', args: [guard, item.e, col(item.column, t.name)] };
  }
}

/**
 * `filter AND CASE WHEN filter THEN where ELSE FALSE END`: the caller's predicate is evaluated only
 * on the caller's rows, so it cannot raise an error (an oracle) on another tenant's row.
 */
function guarded(filter: Filter, where: Expr, t: Target, ctx: Ctx): Expr {
  const first = filterExpr(filter, t.name, ctx);
  return and([first, { k: 'case', whens: [{ cond: filterExpr(filter, t.name, ctx), result: where }], else: FALSE }]);
}

/** Columns `excluded.<col>` / `values(<col>)` may name: what the role inserts, presets or reads. */
function insertedColumns(t: Target): ColumnSet {
  const ins = t.table.insert!;
  return { names: ins.columns.names === null ? null : new Set([...ins.columns.names, ...ins.presets.keys(), ...(t.table.select?.columns.names ?? [])]) };
}

/**
 * SQLite's ON CONFLICT DO UPDATE, with Postgres' semantics: SET only the role's update columns
 * (never a preset or filter column), read `excluded.<col>` only for columns the role inserts,
 * presets or reads, and update the existing row only when it passes the role's update filter —
 * always in the guarded form (one row, no plan to lose). SQLite evaluates the DO UPDATE WHERE
 * before the SET values, so those never run on another tenant's row either.
 */
function onConflict(c: OnConflict, t: Target, ctx: Ctx): void {
  if (c.action === 'nothing') return;
  const perm = need(t.table.update, 'update (ON CONFLICT DO UPDATE)', t);
  const scope = newScope(null);
  scope.items.push(targetItem(t), { name: 'excluded', columns: null, excluded: insertedColumns(t) });
  withScope(ctx, scope, () => {
    setList(c.set ?? [], perm.columns, t, ctx, true);
    if (c.where) c.where = expr(c.where, ctx);
  });
  if (perm.filter) c.where = c.where ? guarded(perm.filter, c.where, t, ctx) : filterExpr(perm.filter, t.name, ctx);
}

/** Output expressions of every member of a set-operation chain. */
function outputLists(q: Select): SelectColumn[][] {
  const lists: SelectColumn[][] = [];
  for (let m: Select | undefined = q; m; m = m.setOp?.next) lists.push(m.columns);
  return lists;
}

/**
 * INSERT … SELECT: every listed column must be insertable (never a preset); the query is walked
 * like any read (each table a filtered view), and the presets are appended by wrapping it:
 * `SELECT sluice_s.*, <preset>… FROM (query) AS sluice_s`. The query must list its output columns
 * (no `*`), one per INSERT column, so that wrapping cannot shift values into other columns.
 */
function insertSelect(s: Insert, source: Select, t: Target, ctx: Ctx): void {
  const perm = t.table.insert!;
  if (new Set(s.columns).size !== s.columns.length) refuse('CONSTRUCT_NOT_ALLOWED', 'A column is listed twice');
  if (s.onDuplicate || s.onConflict) refuse('CONSTRUCT_NOT_ALLOWED', 'INSERT … SELECT cannot be combined with ON DUPLICATE KEY UPDATE / ON CONFLICT');
  for (const column of s.columns) {
    if (perm.presets.has(column)) refuse('PRESET_COLUMN', `${t.label}.${column} is set by the gateway and cannot be supplied`);
    if (!allows(perm.columns, column)) refuse('COLUMN_NOT_ALLOWED', `The role may not insert into ${t.label}.${column}`);
  }
  for (const list of outputLists(source)) {
    if (list.some((c) => c.e.k === 'col' && c.e.name === '*')) refuse('CONSTRUCT_NOT_ALLOWED', 'INSERT … SELECT must list its columns (no *)');
    if (list.length !== s.columns.length) refuse('CONSTRUCT_NOT_ALLOWED', 'INSERT … SELECT must select one value per listed column');
  }
  const saved = ctx.scope;
  ctx.scope = null; // the query cannot see the target
  try {
    subquery(source, ctx, null);
  } finally {
    ctx.scope = saved;
  }
  if (perm.presets.size === 0) return;
  // A derived table needs distinct column names (`SELECT 1, 1` has two columns named "1").
  source.columns.forEach((c, i) => {
    if (c.as === undefined) c.as = `${INSERT_SOURCE}_${i + 1}`;
  });
  const columns: SelectColumn[] = [{ e: col('*', INSERT_SOURCE) }];
  for (const [column, value] of perm.presets) {
    s.columns.push(column);
    columns.push({ e: addParam(ctx, sourceOf(value)) });
  }
  s.source = { k: 'select', distinct: false, columns, from: [{ k: 'derived', q: source, lateral: false, as: INSERT_SOURCE }] };
}

/** The alias of the wrapped query of INSERT … SELECT; unreachable from the client's SQL. */
const INSERT_SOURCE = 'sluice_s';

/** Reference checks (config `references`) are a Postgres rewrite; the config refuses them elsewhere. */
function noReferences(t: Target): void {
  if (t.table.references.size > 0) refuse('CONSTRUCT_NOT_ALLOWED', `${t.label} declares reference checks, which only Postgres connections support`);
}

export function insertStmt(s: Insert, ctx: Ctx): void {
  const t = target(s.table, ctx);
  noReferences(t);
  need(t.table.insert, 'insert into', t);
  withCtes(s.with, s.table, ctx, () => {
    if (s.source) insertSelect(s, s.source, t, ctx);
    else insertValues(s, t, ctx);
    onDuplicate(s, t, ctx);
    // Chained ON CONFLICT clauses: each DO UPDATE guarded on its own.
    for (const c of s.onConflict ?? []) onConflict(c, t, ctx);
    const scope = newScope(null);
    scope.items.push(targetItem(t));
    withScope(ctx, scope, () => {
      const ret = returning(s.returning, t, ctx);
      if (ret) s.returning = ret;
    });
  });
}
