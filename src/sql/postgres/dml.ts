/**
 * INSERT, UPDATE, DELETE. The target table stays a real table (it has to, to be written), so:
 * columns written must be in the permission's list, gateway presets replace client values, the
 * row filter is ANDed into WHERE (and into ON CONFLICT DO UPDATE), and every column read from the
 * target — WHERE, SET values, RETURNING, correlated subqueries — must be readable (scope.ts).
 */
import type { Filter } from '../../config/types.js';
import { allows, type ColumnSet, type CompiledTable } from '../../permissions/model.js';
import { and, columnRef, nodeType, rangeVar, resTarget, star, type Body, type Node } from './ast.js';
import { onlyKeys, refuse, type Ctx } from './context.js';
import { expr, exprList } from './expressions.js';
import { filterToAst, sourceOf } from './filter-ast.js';
import { fromItem, lookupTable } from './from-clause.js';
import { sentValue } from './preset-value.js';
import { checkedReference } from './reference-check.js';
import { newScope, type Scope, type ScopeItem } from '../common/scope.js';
import { subquery, withClause } from './select.js';
import { ATOM, max, type Growth } from '../common/value-growth.js';
import { growthOf } from './growth.js';

interface Target {
  table: CompiledTable;
  /** The name the target goes by in the statement (alias or table name). */
  name: string;
  label: string;
  /** Unaliased: `schema.table.column` may name it (qualified-column.ts). */
  unaliased: boolean;
}

function target(rv: Body, ctx: Ctx): Target {
  if (rv.catalogname !== undefined) refuse('TABLE_NOT_ALLOWED', 'Cross-database references are not allowed');
  const table = lookupTable(rv, ctx);
  const alias = rv.alias as Body | undefined;
  if (alias) onlyKeys('Alias', alias, new Set(['aliasname']));
  // Pin the schema so search_path can never redirect the write.
  Object.assign(rv, rangeVar(table.schema, table.table, alias?.aliasname as string | undefined, rv.inh === true));
  return { table, name: (alias?.aliasname as string | undefined) ?? table.table, label: `${table.schema}.${table.table}`, unaliased: !alias };
}

function targetItem(t: Target): ScopeItem {
  return {
    name: t.name,
    columns: null,
    target: { readable: t.table.select?.columns, label: t.label },
    ...(t.unaliased && { relation: { schema: t.table.schema, table: t.table.table } }),
  };
}

function need<T>(value: T | undefined, what: string, t: Target): T {
  if (value === undefined) refuse('OPERATION_NOT_ALLOWED', `The role may not ${what} ${t.label}`, t.label);
  return value;
}

const FALSE: Node = { A_Const: { boolval: {} } };

/**
 * `filter AND CASE WHEN filter THEN where ELSE false END`: the caller's predicate is evaluated
 * only on the caller's rows, so it cannot raise an error (an oracle) on another tenant's row.
 */
function guarded(filter: Node, where: Node): Node {
  // The same node twice: its placeholders are numbered once and read the same params.
  return and([filter, { CaseExpr: { args: [{ CaseWhen: { expr: filter, result: where } }], defresult: FALSE } }]);
}

/**
 * AND the row filter into `container.whereClause`. The plain form lets the planner use indexes;
 * `alwaysGuard` (ON CONFLICT, one row, no plan to lose) or the fenced fallback use `guarded`.
 */
function addFilter(container: Body, filter: Filter | undefined, t: Target, ctx: Ctx, alwaysGuard = false): void {
  if (!filter) return;
  const f = filterToAst(filter, t.name, ctx);
  const where = container.whereClause as Node | undefined;
  if (!where) {
    container.whereClause = f;
    return;
  }
  if (alwaysGuard) {
    container.whereClause = guarded(f, where);
    return;
  }
  container.whereClause = and([where, f]);
  ctx.fences.push(() => {
    container.whereClause = guarded(f, where);
  });
}

const PRESET_REFUSAL = 'is set by the gateway: leave it out, send DEFAULT, or send a parameter or literal equal to the preset';

/**
 * A value the client sent for a preset column: its param stays (bind time checks it and rebinds it
 * to the preset's value), a literal becomes the preset's placeholder; both are checked against the
 * preset when bound (sql/preset-check.ts). Returns the node to write, or null for DEFAULT.
 */
function presetValue(n: Node, col: string, t: Target, ctx: Ctx): Node | null {
  const sent = sentValue(n);
  if (sent === null) refuse('PRESET_COLUMN', `${t.label}.${col} ${PRESET_REFUSAL}`);
  if (sent.kind === 'default') return null;
  const preset = sourceOf(t.table.insert!.presets.get(col) ?? null);
  ctx.presetChecks.push({ sent, preset, column: `${t.label}.${col}` });
  return sent.kind === 'client' ? expr(n, ctx) : ctx.add(preset);
}

/**
 * SET of a preset column (UPDATE, ON CONFLICT DO UPDATE): only to the preset's own value, as in
 * INSERT — a row filter on that column keeps the row where it was, and a write elsewhere is
 * refused. `excluded.<col>` (the proposed row, whose preset the gateway wrote) is the same value.
 */
function setPreset(rt: Body, col: string, t: Target, ctx: Ctx, excluded: boolean): void {
  if (excluded && isExcluded(rt.val as Node, col)) return;
  const value = presetValue(rt.val as Node, col, t, ctx);
  if (value === null) refuse('PRESET_COLUMN', `${t.label}.${col} ${PRESET_REFUSAL}`);
  rt.val = value;
}

function isExcluded(n: Node, col: string): boolean {
  const names = ((n.ColumnRef?.fields as Node[] | undefined) ?? []).map((f) => f.String?.sval);
  return names.length === 2 && names[0] === 'excluded' && names[1] === col;
}

/** SET col = value, … for UPDATE and ON CONFLICT DO UPDATE (`excluded`: the latter). */
function setList(list: unknown, columns: ColumnSet, t: Target, ctx: Ctx, excluded = false): Node[] {
  return (list as Node[]).map((n) => {
    if (nodeType(n) !== 'ResTarget') refuse('CONSTRUCT_NOT_ALLOWED', 'Only SET column = value is allowed');
    const rt = n.ResTarget!;
    onlyKeys('ResTarget', rt, new Set(['name', 'val', 'location']));
    const col = rt.name as string;
    if (t.table.insert?.presets.has(col)) {
      setPreset(rt, col, t, ctx, excluded);
      return n;
    }
    if (!allows(columns, col)) refuse('COLUMN_NOT_ALLOWED', `The role may not update ${t.label}.${col}`);
    if (t.table.pinned.has(col)) refuse('COLUMN_NOT_ALLOWED', `${t.label}.${col} is used by a row filter or preset and cannot be updated`);
    // `excluded.<col>` is the proposed row's value, checked (or defaulted) by the INSERT itself.
    const proposed = excluded && isExcluded(rt.val as Node, col);
    rt.val = expr(rt.val as Node, ctx);
    if (!proposed) rt.val = checkedReference(rt.val as Node, col, t.table, t.label, ctx);
    return n;
  });
}

/** RETURNING, `*` expanded to what the role may read; returns how large its values may be (a CTE's). */
function returning(clause: Body | undefined, t: Target, scope: Scope, ctx: Ctx): Growth {
  if (!clause) return ATOM;
  onlyKeys('ReturningClause', clause, new Set(['exprs']));
  const readable = need(t.table.select, 'read (RETURNING) from', t).columns;
  const out: Node[] = [];
  for (const n of clause.exprs as Node[]) {
    const rt = n.ResTarget;
    if (!rt) refuse('CONSTRUCT_NOT_ALLOWED', 'Unexpected RETURNING item');
    onlyKeys('ResTarget', rt, new Set(['name', 'val', 'location']));
    const ref = (rt.val as Node).ColumnRef;
    const fields = (ref?.fields as Node[] | undefined) ?? [];
    const isStar = fields.length > 0 && nodeType(fields[fields.length - 1]) === 'A_Star';
    const qualifier = fields.length === 2 ? (fields[0]!.String?.sval as string | undefined) : undefined;
    if (isStar && readable.names !== null && (fields.length === 1 || qualifier === t.name)) {
      // RETURNING * → the readable columns of the target (and, unqualified, every other FROM item),
      // walked like any reference so their growth is known (a data-modifying CTE's values).
      for (const c of readable.names) out.push(resTarget(expr(columnRef(t.name, c), ctx)));
      if (fields.length === 1) for (const item of scope.items) if (!item.target) out.push(resTarget(expr(star(item.name), ctx)));
      continue;
    }
    rt.val = expr(rt.val as Node, ctx);
    out.push(n);
  }
  clause.exprs = out;
  return max(out.map((n) => growthOf(ctx, n.ResTarget!.val)));
}

function fromList(list: unknown, ctx: Ctx, scope: Scope): Node[] | undefined {
  if (list === undefined) return undefined;
  return (list as Node[]).map((item) => {
    ctx.scope = scope;
    return fromItem(item, ctx, scope, null);
  });
}

export function updateStmt(s: Body, ctx: Ctx): Growth {
  onlyKeys('UpdateStmt', s, new Set(['relation', 'targetList', 'whereClause', 'fromClause', 'returningClause', 'withClause']));
  withClause(s.withClause as Body | undefined, ctx);
  const t = target(s.relation as Body, ctx);
  const perm = need(t.table.update, 'update', t);
  const scope = newScope(null);
  scope.items.push(targetItem(t));
  const from = fromList(s.fromClause, ctx, scope);
  if (from) s.fromClause = from;
  ctx.scope = scope;
  s.targetList = setList(s.targetList, perm.columns, t, ctx);
  if (s.whereClause) s.whereClause = expr(s.whereClause as Node, ctx);
  addFilter(s, perm.filter, t, ctx);
  return returning(s.returningClause as Body | undefined, t, scope, ctx);
}

export function deleteStmt(s: Body, ctx: Ctx): Growth {
  onlyKeys('DeleteStmt', s, new Set(['relation', 'usingClause', 'whereClause', 'returningClause', 'withClause']));
  withClause(s.withClause as Body | undefined, ctx);
  const t = target(s.relation as Body, ctx);
  const perm = need(t.table.delete, 'delete from', t);
  const scope = newScope(null);
  scope.items.push(targetItem(t));
  const using = fromList(s.usingClause, ctx, scope);
  if (using) s.usingClause = using;
  ctx.scope = scope;
  if (s.whereClause) s.whereClause = expr(s.whereClause as Node, ctx);
  addFilter(s, perm.filter, t, ctx);
  return returning(s.returningClause as Body | undefined, t, scope, ctx);
}

const isDefault = (n: Node | undefined): boolean => nodeType(n) === 'SetToDefault';

/** INSERT … VALUES: check each column, replace DEFAULT in preset columns with the preset. */
function insertValues(s: Body, cols: string[], t: Target, ctx: Ctx): void {
  const perm = t.table.insert!;
  const rows = (s.valuesLists as Node[]).map((r) => {
    const items = r.List?.items as Node[] | undefined;
    if (!items || items.length !== cols.length) refuse('CONSTRUCT_NOT_ALLOWED', 'Each VALUES row must have one value per listed column');
    return items;
  });
  const presetIndexes: number[] = [];
  cols.forEach((col, i) => {
    if (perm.presets.has(col)) presetIndexes.push(i);
    else if (!allows(perm.columns, col) && !rows.every((r) => isDefault(r[i]))) {
      refuse('COLUMN_NOT_ALLOWED', `The role may not insert into ${t.label}.${col}`);
    }
  });
  ctx.scope = newScope(null); // VALUES cannot see the target
  for (const r of rows) {
    const sent = new Map(presetIndexes.map((i) => [i, r[i]!]));
    const others = exprList(r.filter((_, i) => !sent.has(i)), ctx);
    // Each preset column: DEFAULT → the preset; a param or literal equal to it → checked when bound.
    const out: Node[] = [];
    r.forEach((_, i) => {
      const value = sent.get(i);
      if (value === undefined) out.push(others.shift()!);
      else out.push(presetValue(value, cols[i]!, t, ctx) ?? ctx.add(sourceOf(perm.presets.get(cols[i]!) ?? null)));
    });
    out.forEach((v, i) => {
      out[i] = checkedReference(v, cols[i]!, t.table, t.label, ctx);
    });
    r.splice(0, r.length, ...out);
  }
  for (const [col, value] of perm.presets) {
    if (cols.includes(col)) continue;
    cols.push(col);
    for (const r of rows) r.push(ctx.add(sourceOf(value)));
  }
}

/** INSERT … SELECT: presets are appended by wrapping the query. */
function insertSelect(s: Body, cols: string[], t: Target, ctx: Ctx): Node {
  const perm = t.table.insert!;
  for (const col of cols) {
    if (perm.presets.has(col)) refuse('PRESET_COLUMN', `${t.label}.${col} is set by the gateway and cannot be supplied`);
    if (!allows(perm.columns, col)) refuse('COLUMN_NOT_ALLOWED', `The role may not insert into ${t.label}.${col}`);
    if (t.table.references.has(col)) refuse('CONSTRUCT_NOT_ALLOWED', `${t.label}.${col} references another table: insert it with VALUES, not INSERT … SELECT`);
  }
  const query = { SelectStmt: s };
  subquery(query, ctx, null);
  if (perm.presets.size === 0) return query;
  const targetList = [resTarget(star('sluice_s'))];
  for (const [col, value] of perm.presets) {
    cols.push(col);
    targetList.push(resTarget(ctx.add(sourceOf(value))));
  }
  return {
    SelectStmt: {
      targetList,
      fromClause: [{ RangeSubselect: { subquery: query, alias: { aliasname: 'sluice_s' } } }],
      limitOption: 'LIMIT_OPTION_DEFAULT',
      op: 'SETOP_NONE',
    },
  };
}

function onConflict(clause: Body | undefined, t: Target, ctx: Ctx): void {
  if (!clause) return;
  onlyKeys('OnConflictClause', clause, new Set(['action', 'infer', 'targetList', 'whereClause', 'location']));
  const infer = clause.infer as Body | undefined;
  if (infer) {
    onlyKeys('InferClause', infer, new Set(['indexElems', 'conname', 'location']));
    for (const e of (infer.indexElems as Node[] | undefined) ?? []) {
      const ie = e.IndexElem;
      if (!ie) refuse('CONSTRUCT_NOT_ALLOWED', 'Unexpected ON CONFLICT target');
      onlyKeys('IndexElem', ie, new Set(['name', 'ordering', 'nulls_ordering']));
    }
  }
  if (clause.action === 'ONCONFLICT_NOTHING') return;
  if (clause.action !== 'ONCONFLICT_UPDATE') refuse('CONSTRUCT_NOT_ALLOWED', 'Unsupported ON CONFLICT action');
  const perm = need(t.table.update, 'update (ON CONFLICT DO UPDATE)', t);
  const ins = t.table.insert!;
  const excludedCols: ColumnSet = {
    names:
      ins.columns.names === null
        ? null
        : new Set([...ins.columns.names, ...ins.presets.keys(), ...(t.table.select?.columns.names ?? [])]),
  };
  const scope = newScope(null);
  scope.items.push(targetItem(t), { name: 'excluded', columns: null, excluded: excludedCols });
  ctx.scope = scope;
  clause.targetList = setList(clause.targetList, perm.columns, t, ctx, true);
  if (clause.whereClause) clause.whereClause = expr(clause.whereClause as Node, ctx);
  // The existing row must belong to the caller, or it is left alone.
  addFilter(clause, perm.filter, t, ctx, true);
}

export function insertStmt(s: Body, ctx: Ctx): Growth {
  onlyKeys('InsertStmt', s, new Set(['relation', 'cols', 'selectStmt', 'onConflictClause', 'returningClause', 'withClause', 'override']));
  // OVERRIDING SYSTEM VALUE lets the listed values reach GENERATED ALWAYS identity columns; the
  // listed columns are checked against insert.columns as always. USER VALUE would let the sequence
  // replace a written value (a preset among them), so it stays refused.
  if (s.override !== 'OVERRIDING_NOT_SET' && s.override !== 'OVERRIDING_SYSTEM_VALUE') refuse('CONSTRUCT_NOT_ALLOWED', 'OVERRIDING USER VALUE is not allowed');
  withClause(s.withClause as Body | undefined, ctx);
  const t = target(s.relation as Body, ctx);
  const perm = need(t.table.insert, 'insert into', t);
  const cols = ((s.cols as Node[] | undefined) ?? []).map((n) => {
    const rt = n.ResTarget;
    if (!rt) refuse('CONSTRUCT_NOT_ALLOWED', 'Unexpected INSERT column');
    onlyKeys('ResTarget', rt, new Set(['name', 'location']));
    return rt.name as string;
  });
  if (new Set(cols).size !== cols.length) refuse('CONSTRUCT_NOT_ALLOWED', 'A column is listed twice');
  const sel = s.selectStmt as Node | undefined;
  if (!sel) {
    // DEFAULT VALUES: only the presets are written.
    if (perm.presets.size > 0) {
      const items: Node[] = [];
      for (const [col, value] of perm.presets) {
        cols.push(col);
        items.push(ctx.add(sourceOf(value)));
      }
      s.selectStmt = { SelectStmt: { valuesLists: [{ List: { items } }], limitOption: 'LIMIT_OPTION_DEFAULT', op: 'SETOP_NONE' } };
    }
  } else {
    if (cols.length === 0) refuse('CONSTRUCT_NOT_ALLOWED', 'INSERT must list its columns');
    const body = sel.SelectStmt;
    if (!body) refuse('CONSTRUCT_NOT_ALLOWED', 'Unexpected INSERT source');
    const plainValues = body.valuesLists !== undefined && Object.keys(body).every((k) => ['valuesLists', 'limitOption', 'op'].includes(k));
    if (plainValues) insertValues(body, cols, t, ctx);
    else s.selectStmt = insertSelect(body, cols, t, ctx);
  }
  if (cols.length > 0) s.cols = cols.map((name) => ({ ResTarget: { name } }));
  onConflict(s.onConflictClause as Body | undefined, t, ctx);
  const scope = newScope(null);
  scope.items.push(targetItem(t));
  ctx.scope = scope;
  return returning(s.returningClause as Body | undefined, t, scope, ctx);
}

const WRITES: Readonly<Record<string, (s: Body, ctx: Ctx) => Growth>> = { InsertStmt: insertStmt, UpdateStmt: updateStmt, DeleteStmt: deleteStmt };

/**
 * A data-modifying CTE: the same walk as the statement at the top level (targets, columns,
 * presets, WITH CHECK, references, RETURNING, row filters and their fences), one level deeper.
 * Returns the growth of its RETURNING values.
 */
export function nestedWrite(node: Node, ctx: Ctx): Growth {
  const type = nodeType(node);
  const walk = type !== null && Object.hasOwn(WRITES, type) ? WRITES[type] : undefined;
  if (!walk) refuse('STATEMENT_NOT_ALLOWED', `${type ?? 'This statement'} is not allowed in WITH`);
  if (++ctx.relDepth > ctx.opts.limits.maxRelationDepth) {
    refuse('RELATION_DEPTH_EXCEEDED', `Subqueries nested deeper than ${ctx.opts.limits.maxRelationDepth}`);
  }
  const saved = { scope: ctx.scope, ctes: ctx.ctes.length, bool: ctx.boolDepth };
  ctx.boolDepth = 0;
  try {
    const growth = walk(node[type!]!, ctx);
    ctx.writes = true;
    return growth;
  } finally {
    ctx.relDepth--;
    ctx.scope = saved.scope;
    ctx.ctes.length = saved.ctes;
    ctx.boolDepth = saved.bool;
  }
}
