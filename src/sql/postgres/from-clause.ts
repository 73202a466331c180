/**
 * FROM items. Each base table becomes a view of what the role may see:
 *   customers AS c  →  (SELECT id, tenant_id, name FROM app.customers AS sluice_t WHERE sluice_t.tenant_id = $n) AS c
 * so whole-row references, `c.*`, joins and correlated subqueries can only ever reach permitted
 * columns of permitted rows. Postgres flattens such subqueries, so plans stay as good.
 */
import { nodeType, rangeVar, resTarget, columnRef, star, type Body, type Node } from './ast.js';
import { cteGrowth, isCte, onlyKeys, refuse, type Ctx } from './context.js';
import { checkFunctionName, expr } from './expressions.js';
import { filterToAst } from './filter-ast.js';
import { growthOf } from './growth.js';
import { newScope, type Scope, type ScopeItem } from '../common/scope.js';
import { countTableReference } from '../common/statement-size.js';
import { ATOM, max, sum, type Growth } from '../common/value-growth.js';
import { subquery } from './select.js';
import type { CompiledTable } from '../../permissions/model.js';

/** The alias of the base table inside a rewritten view; unreachable from the client's SQL. */
export const INNER_ALIAS = 'sluice_t';

function aliasOf(body: Body): { name?: string; colnames?: ReadonlySet<string> } {
  const alias = body.alias as Body | undefined;
  if (!alias) return {};
  onlyKeys('Alias', alias, new Set(['aliasname', 'colnames']));
  const colnames = alias.colnames as Node[] | undefined;
  return {
    name: alias.aliasname as string,
    ...(colnames && { colnames: new Set(colnames.map((c) => (c.String?.sval as string) ?? '')) }),
  };
}

/** Resolve a RangeVar to a permitted table, or refuse. Also records it for the logs. */
export function lookupTable(rv: Body, ctx: Ctx): CompiledTable {
  onlyKeys('RangeVar', rv, new Set(['schemaname', 'relname', 'inh', 'relpersistence', 'alias', 'location']));
  if (rv.relpersistence !== 'p') refuse('CONSTRUCT_NOT_ALLOWED', 'Temporary/unlogged table syntax is not allowed');
  const schema = (rv.schemaname as string | undefined) ?? ctx.schema;
  const key = `${schema}.${rv.relname as string}`;
  const table = ctx.perms.tables.get(key);
  if (!table) refuse('TABLE_NOT_ALLOWED', `The role may not use table ${key}`, key);
  ctx.tables.add(key);
  return table;
}

function tableView(rv: Body, ctx: Ctx, scope: Scope): Node {
  const table = lookupTable(rv, ctx);
  const select = table.select;
  if (!select) refuse('OPERATION_NOT_ALLOWED', `The role may not select from ${table.schema}.${table.table}`, `${table.schema}.${table.table}`);
  const alias = aliasOf(rv);
  const name = alias.name ?? (rv.relname as string);
  // Postgres allows two unaliased tables of the same name from different schemas side by side; as
  // views both would be aliased by that name, and references could not be kept apart.
  if (scope.items.some((i) => i.name === name)) refuse('CONSTRUCT_NOT_ALLOWED', `Two items named ${name} in one FROM: give one of them an alias`);
  const relation = rv.alias ? {} : { relation: { schema: table.schema, table: table.table } };
  const columns = select.columns.names;
  if (columns === null && !select.filter) {
    // Every row and every column: the table itself is exactly the view, and keeps what a view would
    // lose — Postgres' functional dependencies (GROUP BY the primary key, selecting other columns).
    // Only the schema is pinned, so search_path cannot redirect it; system columns are refused by
    // name (expressions.ts), as a view would not have them.
    scope.items.push({ name, columns: alias.colnames ?? null, ...relation });
    const plain = rangeVar(table.schema, table.table, undefined, rv.inh === true);
    if (rv.alias) plain.alias = rv.alias;
    return { RangeVar: plain };
  }
  const view: Body = {
    targetList: columns === null ? [resTarget(star(INNER_ALIAS))] : [...columns].map((c) => resTarget(columnRef(INNER_ALIAS, c))),
    fromClause: [{ RangeVar: rangeVar(table.schema, table.table, INNER_ALIAS, rv.inh === true) }],
    ...(select.filter && { whereClause: filterToAst(select.filter, INNER_ALIAS, ctx) }),
    limitOption: 'LIMIT_OPTION_DEFAULT',
    op: 'SETOP_NONE',
  };
  ctx.fences.push(() => {
    // OFFSET 0 keeps Postgres from pushing the caller's predicates below the row filter.
    view.limitOffset = { A_Const: { ival: {} } };
    view.limitOption = 'LIMIT_OPTION_COUNT';
  });
  scope.items.push({ name, columns: alias.colnames ?? columns, view: `${table.schema}.${table.table}`, ...relation });
  const outAlias: Body = { aliasname: name };
  if (rv.alias && (rv.alias as Body).colnames) outAlias.colnames = (rv.alias as Body).colnames;
  return { RangeSubselect: { subquery: { SelectStmt: view }, alias: outAlias } };
}

function rangeFunction(body: Body, ctx: Ctx, scope: Scope): Node {
  onlyKeys('RangeFunction', body, new Set(['lateral', 'ordinality', 'is_rowsfrom', 'functions', 'alias', 'coldeflist']));
  if (body.coldeflist) refuse('CONSTRUCT_NOT_ALLOWED', 'Column definition lists are not allowed');
  let firstName = '';
  const calls: Node[] = [];
  for (const pair of body.functions as Node[]) {
    const items = (pair.List?.items as Node[] | undefined) ?? [];
    const call = items[0];
    if (!call || nodeType(call) !== 'FuncCall') refuse('CONSTRUCT_NOT_ALLOWED', 'Only function calls are allowed in FROM');
    if (items[1] && Object.keys(items[1]).length > 0) refuse('CONSTRUCT_NOT_ALLOWED', 'Column definition lists are not allowed');
    firstName ||= checkFunctionName(call.FuncCall!.funcname, ctx);
    items[0] = expr(call, ctx);
    calls.push(items[0]);
  }
  const alias = aliasOf(body);
  scope.items.push({ name: alias.name ?? firstName, columns: alias.colnames ?? null, growth: sum(calls.map((c) => growthOf(ctx, c))) });
  return { RangeFunction: body };
}

function join(body: Body, ctx: Ctx, scope: Scope, outer: Scope | null): Node {
  onlyKeys('JoinExpr', body, new Set(['jointype', 'isNatural', 'larg', 'rarg', 'usingClause', 'join_using_alias', 'quals', 'alias', 'rtindex']));
  const alias = aliasOf(body);
  // A join alias hides the names inside it; collect those into a throwaway scope in that case.
  const inner = alias.name ? newScope(scope.parent) : scope;
  if (alias.name) inner.items = scope.items.slice();
  body.larg = fromItem(body.larg as Node, ctx, inner, outer);
  body.rarg = fromItem(body.rarg as Node, ctx, inner, outer);
  if (body.quals) {
    const saved = ctx.scope;
    ctx.scope = inner;
    try {
      body.quals = expr(body.quals as Node, ctx);
    } finally {
      ctx.scope = saved;
    }
  }
  if (body.join_using_alias) aliasOf({ alias: body.join_using_alias });
  if (alias.name) {
    const joined = inner.items.slice(scope.items.length).map((i) => i.growth ?? ATOM);
    scope.items.push({ name: alias.name, columns: alias.colnames ?? null, growth: max(joined) });
  }
  return { JoinExpr: body };
}

/**
 * Walk one FROM item, adding what it defines to `scope`. `outer` is the scope a non-LATERAL
 * subquery sees (it cannot see its siblings).
 */
export function fromItem(node: Node, ctx: Ctx, scope: Scope, outer: Scope | null): Node {
  const type = nodeType(node);
  const body = type ? node[type]! : {};
  if (type !== 'JoinExpr') ctx.tableRefs = countTableReference(ctx.tableRefs, ctx.opts.limits);
  switch (type) {
    case 'RangeVar': {
      if (body.schemaname === undefined && isCte(ctx, body.relname as string)) {
        onlyKeys('RangeVar', body, new Set(['relname', 'inh', 'relpersistence', 'alias', 'location']));
        const alias = aliasOf(body);
        const item: ScopeItem = { name: alias.name ?? (body.relname as string), columns: alias.colnames ?? null, growth: cteGrowth(ctx, body.relname as string) };
        scope.items.push(item);
        return node;
      }
      if (body.catalogname !== undefined) refuse('TABLE_NOT_ALLOWED', 'Cross-database references are not allowed');
      return tableView(body, ctx, scope);
    }
    case 'RangeSubselect': {
      onlyKeys('RangeSubselect', body, new Set(['lateral', 'subquery', 'alias']));
      const saved = ctx.scope;
      let growth: Growth;
      try {
        growth = subquery(body.subquery as Node, ctx, body.lateral === true ? scope : outer);
      } finally {
        ctx.scope = saved;
      }
      const alias = aliasOf(body);
      if (alias.name) scope.items.push({ name: alias.name, columns: alias.colnames ?? null, growth });
      return node;
    }
    case 'RangeFunction':
      return rangeFunction(body, ctx, scope);
    case 'JoinExpr':
      return join(body, ctx, scope, outer);
    default:
      return refuse('CONSTRUCT_NOT_ALLOWED', `${type ?? 'This'} is not allowed in FROM`);
  }
}

