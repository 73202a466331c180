/**
 * INSERT, UPDATE, DELETE. The target stays a real table (it has to, to be written), so: columns
 * written must be in the permission's list, gateway presets replace client values, the row filter
 * is ANDed into WHERE (and guards ON DUPLICATE KEY UPDATE), and every column read from the target
 * — WHERE, SET values, RETURNING, correlated subqueries — must be readable (postgres/scope.ts).
 */
import type { Filter } from '../../config/types.js';
import { allows, type ColumnSet, type CompiledTable } from '../../permissions/model.js';
import { newScope, type Scope, type ScopeItem } from '../postgres/scope.js';
import { addParam, refuse, type Ctx } from './context.js';
import { filterExpr, sourceOf } from './filter.js';
import { and, col, type Delete, type Expr, type Insert, type SelectColumn, type SetItem, type TableRef, type Update } from './ir.js';
import { expr, lookupTable } from './query.js';

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
  if (value === undefined) refuse('OPERATION_NOT_ALLOWED', `The role may not ${what} ${t.label}`);
  return value;
}

function inScope<T>(ctx: Ctx, scope: Scope, fn: () => T): T {
  const saved = ctx.scope;
  ctx.scope = scope;
  try {
    return fn();
  } finally {
    ctx.scope = saved;
  }
}

function withFilter(where: Expr | undefined, filter: Filter | undefined, t: Target, ctx: Ctx): Expr | undefined {
  if (!filter) return where;
  const f = filterExpr(filter, t.name, ctx);
  return where ? and([where, f]) : f;
}

function setList(items: SetItem[], columns: ColumnSet, t: Target, ctx: Ctx): void {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.column)) refuse('CONSTRUCT_NOT_ALLOWED', 'A column is set twice');
    seen.add(item.column);
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

export function updateStmt(s: Update, ctx: Ctx): void {
  const t = target(s.table, ctx);
  const perm = need(t.table.update, 'update', t);
  const scope = newScope(null);
  scope.items.push(targetItem(t));
  inScope(ctx, scope, () => {
    setList(s.set, perm.columns, t, ctx);
    if (s.where) s.where = expr(s.where, ctx);
    const where = withFilter(s.where, perm.filter, t, ctx);
    if (where) s.where = where;
    const ret = returning(s.returning, t, ctx);
    if (ret) s.returning = ret;
  });
}

export function deleteStmt(s: Delete, ctx: Ctx): void {
  const t = target(s.table, ctx);
  const perm = need(t.table.delete, 'delete from', t);
  const scope = newScope(null);
  scope.items.push(targetItem(t));
  inScope(ctx, scope, () => {
    if (s.where) s.where = expr(s.where, ctx);
    const where = withFilter(s.where, perm.filter, t, ctx);
    if (where) s.where = where;
    const ret = returning(s.returning, t, ctx);
    if (ret) s.returning = ret;
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
    const allDefault = s.rows.every((r) => notSupplied(r[i], ctx));
    if (perm.presets.has(column)) {
      if (!allDefault) refuse('PRESET_COLUMN', `${t.label}.${column} is set by the gateway and cannot be supplied`);
      presetAt.push(i);
      keep.push(i);
    } else if (allows(perm.columns, column)) keep.push(i);
    else if (!allDefault) refuse('COLUMN_NOT_ALLOWED', `The role may not insert into ${t.label}.${column}`);
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
  // Gateway placeholders go in only after the client's expressions were walked.
  for (const i of presetAt) {
    const at = keep.indexOf(i);
    const source = sourceOf(perm.presets.get(s.columns[i]!) ?? null);
    for (const r of rows) r[at] = addParam(ctx, source);
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
  const ins = t.table.insert!;
  const scope = newScope(null);
  scope.items.push(targetItem(t));
  ctx.insertValues =
    ins.columns.names === null ? null : new Set([...ins.columns.names, ...ins.presets.keys(), ...(t.table.select?.columns.names ?? [])]);
  try {
    inScope(ctx, scope, () => setList(s.onDuplicate!, perm.columns, t, ctx));
  } finally {
    ctx.insertValues = undefined;
  }
  if (!perm.filter) return;
  for (const item of s.onDuplicate) {
    const guard = filterExpr(perm.filter, t.name, ctx);
    item.e = { k: 'fn', name: 'if', args: [guard, item.e, col(item.column, t.name)] };
  }
}

export function insertStmt(s: Insert, ctx: Ctx): void {
  const t = target(s.table, ctx);
  need(t.table.insert, 'insert into', t);
  insertValues(s, t, ctx);
  onDuplicate(s, t, ctx);
  const scope = newScope(null);
  scope.items.push(targetItem(t));
  inScope(ctx, scope, () => {
    const ret = returning(s.returning, t, ctx);
    if (ret) s.returning = ret;
  });
}
