/**
 * SELECT, FROM items and expressions of our tree, checked and rewritten in place. Each base table
 * becomes a view of what the role may see:
 *   customers AS c  →  (SELECT sluice_t.id, … FROM db.customers AS sluice_t WHERE sluice_t.tenant_id = ?) AS c
 * so `c.*`, joins, subqueries and CTE bodies can only reach permitted columns of permitted rows.
 * Base tables are always emitted schema-qualified, so a CTE can never stand in for one.
 */
import type { CompiledTable } from '../../permissions/model.js';
import { checkColumnRef, newScope, type Scope } from './scope.js';
import { cteGrowth, isCte, refuse, type Ctx } from './context.js';
import { exprGrowth, growthOf } from './expr-growth.js';
import { filterExpr } from './filter.js';
import { refuseNeverAllowed } from './function-costs.js';
import { col, type Expr, type FromItem, type OrderItem, type Select } from './ir.js';
import { countTableReference } from './statement-size.js';
import { checkGrowth, checkRecursiveGrowth, finishedRecursion, max, type Growth } from './value-growth.js';

/** The alias of the base table inside a rewritten view; unreachable from the client's SQL. */
export const INNER_ALIAS = 'sluice_t';

/** Deep expressions are refused before they exhaust a stack (ours, the parser's, the server's). */
const MAX_EXPR_DEPTH = 200;

/** Resolve a table reference to a permitted table, or refuse. */
export function lookupTable(db: string | undefined, name: string, ctx: Ctx): CompiledTable {
  const schema = db ?? ctx.schema;
  if (ctx.spec.blockedTable(schema, name)) refuse('TABLE_NOT_ALLOWED', `The table ${schema}.${name} is never reachable through the gateway`, `${schema}.${name}`);
  const key = `${schema}.${name}`;
  const table = ctx.perms.tables.get(key);
  if (!table) refuse('TABLE_NOT_ALLOWED', `The role may not use table ${key}`, key);
  ctx.tables.add(key);
  return table;
}

function tableView(item: FromItem & { k: 'table' }, ctx: Ctx, scope: Scope): FromItem {
  const table = lookupTable(item.db, item.name, ctx);
  const select = table.select;
  if (!select) refuse('OPERATION_NOT_ALLOWED', `The role may not select from ${table.schema}.${table.table}`, `${table.schema}.${table.table}`);
  const name = item.as ?? item.name;
  const columns = select.columns.names;
  const view: Select = {
    k: 'select',
    distinct: false,
    columns: columns === null ? [{ e: col('*', INNER_ALIAS) }] : [...columns].map((c) => ({ e: col(c, INNER_ALIAS) })),
    from: [{ k: 'table', db: table.schema, name: table.table, as: INNER_ALIAS }],
  };
  if (select.filter) {
    view.where = filterExpr(select.filter, INNER_ALIAS, ctx);
    const fence = ctx.spec.fence;
    ctx.fences.push(() => {
      view.limit = { k: 'num', v: fence.limit };
      if (fence.offset !== undefined) view.offset = { k: 'num', v: fence.offset };
    });
  }
  scope.items.push({ name, columns, view: `${table.schema}.${table.table}` });
  const out: FromItem = { k: 'derived', q: view, lateral: false, as: name };
  if (item.join) out.join = item.join;
  if (item.on) out.on = item.on;
  if (item.using) out.using = item.using;
  return out;
}

export function withScope<T>(ctx: Ctx, scope: Scope | null, fn: () => T): T {
  const saved = ctx.scope;
  ctx.scope = scope;
  try {
    return fn();
  } finally {
    ctx.scope = saved;
  }
}

export function fromItem(item: FromItem, ctx: Ctx, scope: Scope, outer: Scope | null): FromItem {
  ctx.tableRefs = countTableReference(ctx.tableRefs, ctx.limits);
  let out = item;
  if (item.k === 'table') {
    if (item.db === undefined && isCte(ctx, item.name)) scope.items.push({ name: item.as ?? item.name, columns: null, growth: cteGrowth(ctx, item.name) });
    else out = tableView(item, ctx, scope);
  } else if (item.k === 'derived') {
    if (item.as === undefined) refuse('CONSTRUCT_NOT_ALLOWED', 'A derived table needs an alias');
    const columns = withScope(ctx, ctx.scope, () => subquery(item.q, ctx, item.lateral ? scope : outer));
    scope.items.push({ name: item.as, columns, growth: growthOf(ctx, item.q) });
  } else {
    withScope(ctx, outer, () => expr(item.fn, ctx));
    scope.items.push({ name: item.as ?? item.fn.name, columns: null, growth: growthOf(ctx, item.fn) });
  }
  if (item.on) item.on = withScope(ctx, scope, () => expr(item.on!, ctx));
  return out;
}

function orderItems(items: OrderItem[], ctx: Ctx): void {
  for (const o of items) o.e = expr(o.e, ctx);
}

/** Output column names when they are all known (for the scope of a derived table), else null. */
function outputColumns(s: Select, scope: Scope): ReadonlySet<string> | null {
  const names = new Set<string>();
  for (const c of s.columns) {
    if (c.as !== undefined) names.add(c.as);
    else if (c.e.k === 'col' && c.e.name !== '*') names.add(c.e.name);
    else if (c.e.k === 'col') {
      const table = c.e.table;
      const items = table === undefined ? scope.items : scope.items.filter((i) => i.name === table);
      if (items.length === 0 || items.some((i) => i.columns === null)) return null;
      for (const i of items) for (const n of i.columns!) names.add(n);
    } else return null;
  }
  return names;
}

function selectCore(s: Select, ctx: Ctx, outer: Scope | null): ReadonlySet<string> | null {
  const scope = newScope(outer);
  s.from = s.from.map((item) => withScope(ctx, scope, () => fromItem(item, ctx, scope, outer)));
  ctx.aliases.push(new Set(s.columns.flatMap((c) => (c.as === undefined ? [] : [c.as]))));
  return withScope(ctx, scope, () => {
    for (const c of s.columns) c.e = expr(c.e, ctx);
    if (s.where) s.where = expr(s.where, ctx);
    if (s.groupBy) s.groupBy = s.groupBy.map((e) => expr(e, ctx));
    if (s.having) s.having = expr(s.having, ctx);
    if (s.orderBy) orderItems(s.orderBy, ctx);
    if (s.limit) s.limit = expr(s.limit, ctx);
    if (s.offset) s.offset = expr(s.offset, ctx);
    if (s.lock) ctx.locks = true;
    ctx.aliases.pop();
    ctx.growth.set(s, max(s.columns.map((c) => growthOf(ctx, c.e))));
    return outputColumns(s, scope);
  });
}

/** Walk a WITH list and leave its frame on ctx.ctes (the caller restores ctx.ctes after the statement). */
export function withClause(w: Select['with'], ctx: Ctx): void {
  if (!w) return;
  const visible = new Set<string>();
  // RECURSIVE makes every CTE visible in every body; otherwise a CTE sees only the ones before
  // it — never itself, where its own name still means the (filtered, qualified) table (isCte).
  if (w.recursive) for (const c of w.ctes) visible.add(c.name);
  const growth = new Map<string, Growth>();
  const frame = { names: w.ctes.map((c) => c.name), visible, growth, inBody: false };
  ctx.ctes.push(frame);
  for (const cte of w.ctes) {
    frame.inBody = true;
    try {
      subquery(cte.q, ctx, ctx.scope);
    } finally {
      frame.inBody = false;
    }
    visible.add(cte.name);
    const g = growthOf(ctx, cte.q);
    checkRecursiveGrowth(g, cte.name);
    // A finished recursive CTE's rows are like stored values: an iteration may add to a row (time
    // bounds how often), never multiply it. Databases refuse a recursive reference inside a
    // subquery, so `self` here is this list's own recursion.
    growth.set(cte.name, w.recursive ? finishedRecursion(g) : g);
  }
}

/** A SELECT (and the rest of its set-operation chain) at the current depth; its output's growth is recorded for `s`. */
export function selectBody(s: Select, ctx: Ctx, outer: Scope | null): ReadonlySet<string> | null {
  const ctesBefore = ctx.ctes.length;
  try {
    withClause(s.with, ctx);
    const columns = selectCore(s, ctx, outer);
    const arms = [growthOf(ctx, s)];
    for (let next = s.setOp?.next; next; next = next.setOp?.next) {
      if (next.with) refuse('CONSTRUCT_NOT_ALLOWED', 'WITH inside a set operation is not allowed');
      selectCore(next, ctx, outer);
      arms.push(growthOf(ctx, next));
    }
    ctx.growth.set(s, max(arms));
    return s.setOp ? null : columns;
  } finally {
    ctx.ctes.length = ctesBefore;
  }
}

/** A nested query (subquery, derived table, CTE body): one level deeper. */
export function subquery(s: Select, ctx: Ctx, outer: Scope | null): ReadonlySet<string> | null {
  if (++ctx.relDepth > ctx.limits.maxRelationDepth) {
    refuse('RELATION_DEPTH_EXCEEDED', `Subqueries nested deeper than ${ctx.limits.maxRelationDepth}`);
  }
  const savedBool = ctx.boolDepth;
  ctx.boolDepth = 0;
  try {
    return selectBody(s, ctx, outer);
  } finally {
    ctx.relDepth--;
    ctx.boolDepth = savedBool;
  }
}

function checkFunction(e: Expr & { k: 'fn' }, ctx: Ctx): void {
  if (e.name === 'values' && ctx.spec.valuesFunction) {
    // ON DUPLICATE KEY UPDATE … values(col) or values(target.col), as Drizzle writes it: the value
    // the INSERT tried to write — never another table's (its only FROM item is the target).
    const arg = e.args[0];
    const inserted = ctx.insertValues;
    if (inserted === undefined || e.args.length !== 1 || arg?.k !== 'col' || arg.name === '*' || (arg.table !== undefined && arg.table !== inserted.table)) {
      refuse('FUNCTION_NOT_ALLOWED', 'values() is only allowed as values(column) or values(table.column) of the target in ON DUPLICATE KEY UPDATE');
    }
    if (inserted.columns !== null && !inserted.columns.has(arg.name)) refuse('COLUMN_NOT_ALLOWED', `The role may not use values(${arg.name})`);
    return;
  }
  refuseNeverAllowed(ctx.spec.costs, e.name);
  if (!ctx.functions.has(e.name)) refuse('FUNCTION_NOT_ALLOWED', `Function ${e.name} is not allowed`);
}

/**
 * An unqualified name must be a column some FROM item in reach exposes (or an output alias), unless
 * an item's columns are unknown. So a hidden column, or a "string" SQLite might read as one, is
 * refused here rather than left to the database.
 */
function resolvable(name: string, ctx: Ctx): boolean {
  for (let s = ctx.scope; s; s = s.parent) {
    for (const item of s.items) if (item.target || item.excluded || item.columns === null || item.columns.has(name)) return true;
  }
  return ctx.aliases.some((a) => a.has(name));
}

/** `t.name` into a derived table or CTE whose columns are known must name one of them. */
function knownColumn(table: string, name: string, ctx: Ctx): void {
  for (let s = ctx.scope; s; s = s.parent) {
    const item = s.items.find((i) => i.name === table);
    if (!item) continue;
    if (!item.target && !item.excluded && item.columns !== null && !item.columns.has(name)) {
      refuse('COLUMN_NOT_ALLOWED', `The role may not read ${table}.${name} (or it does not exist)`);
    }
    return;
  }
}

const BOOL_OPS = new Set(['AND', 'OR', 'NOT']);

function walk(e: Expr, ctx: Ctx): Expr {
  switch (e.k) {
    case 'col':
      checkColumnRef(ctx.scope, e.table === undefined ? (e.name === '*' ? [] : [e.name]) : e.name === '*' ? [e.table] : [e.table, e.name], e.name === '*');
      if (e.table !== undefined && e.name !== '*') knownColumn(e.table, e.name, ctx);
      if (e.table === undefined && e.name !== '*' && !resolvable(e.name, ctx)) {
        refuse('COLUMN_NOT_ALLOWED', `"${e.name}" is not a column the role may read here`);
      }
      return e;
    case 'star':
    case 'num':
    case 'str':
    case 'null':
    case 'bool':
    case 'param':
      return e;
    case 'default':
      return refuse('CONSTRUCT_NOT_ALLOWED', 'DEFAULT is only allowed as an INSERT value');
    case 'bin':
      e.l = expr(e.l, ctx);
      e.r = expr(e.r, ctx);
      return e;
    case 'un':
      e.e = expr(e.e, ctx);
      return e;
    case 'list':
      e.items = e.items.map((i) => expr(i, ctx));
      return e;
    case 'fn':
      checkFunction(e, ctx);
      if (e.name === 'values' && ctx.spec.valuesFunction) return e;
      e.args = e.args.map((a) => (a.k === 'star' ? a : expr(a, ctx)));
      if (e.orderBy) orderItems(e.orderBy, ctx);
      if (e.over) {
        e.over.partitionBy = e.over.partitionBy.map((p) => expr(p, ctx));
        orderItems(e.over.orderBy, ctx);
      }
      return e;
    case 'case':
      for (const w of e.whens) {
        w.cond = expr(w.cond, ctx);
        w.result = expr(w.result, ctx);
      }
      if (e.else) e.else = expr(e.else, ctx);
      return e;
    case 'cast':
      e.e = expr(e.e, ctx);
      return e;
    case 'sub':
    case 'exists':
      subquery(e.q, ctx, ctx.scope);
      return e;
  }
}

export function expr(e: Expr, ctx: Ctx): Expr {
  if (++ctx.exprDepth > MAX_EXPR_DEPTH) refuse('FILTER_NESTING_EXCEEDED', 'The expression is nested too deeply');
  const op = (e.k === 'bin' || e.k === 'un') && BOOL_OPS.has(e.op) ? e.op : undefined;
  // The parser nests `a AND b AND c` as ((a AND b) AND c): only a change of operator is a level.
  const level = op !== undefined && (op === 'NOT' || op !== ctx.boolParent);
  if (level && ++ctx.boolDepth > ctx.limits.maxFilterNesting) {
    refuse('FILTER_NESTING_EXCEEDED', `AND/OR/NOT nested deeper than ${ctx.limits.maxFilterNesting}`);
  }
  const savedParent = ctx.boolParent;
  ctx.boolParent = op;
  try {
    const out = walk(e, ctx);
    ctx.growth.set(out, checkGrowth(exprGrowth(out, ctx), ctx.limits.maxValueGrowth, 'The expression'));
    return out;
  } finally {
    ctx.exprDepth--;
    ctx.boolParent = savedParent;
    if (level) ctx.boolDepth--;
  }
}
