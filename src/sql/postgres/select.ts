/**
 * SELECT, its WITH clause, and subqueries. Every nested query counts toward maxRelationDepth.
 */
import { nodeType, type Body, type Node } from './ast.js';
import { onlyKeys, refuse, type Ctx } from './context.js';
import { expr, exprList, windowDef } from './expressions.js';
import { fromItem } from './from-clause.js';
import { nestedWrite } from './dml.js';
import { growthOf } from './growth.js';
import { newScope, type Scope } from '../common/scope.js';
import { checkRecursiveGrowth, finishedRecursion, max, type Growth } from '../common/value-growth.js';

const SELECT_KEYS = new Set([
  'distinctClause', 'targetList', 'fromClause', 'whereClause', 'groupClause', 'groupDistinct', 'havingClause',
  'windowClause', 'valuesLists', 'sortClause', 'limitOffset', 'limitCount', 'limitOption', 'withClause', 'op', 'all',
  'larg', 'rarg',
]);

/** ResTarget in a SELECT list: an expression and an optional output name. */
function targetList(list: unknown, ctx: Ctx): Node[] {
  if (!Array.isArray(list)) refuse('CONSTRUCT_NOT_ALLOWED', 'Unexpected target list');
  return list.map((n: Node) => {
    if (nodeType(n) !== 'ResTarget') refuse('CONSTRUCT_NOT_ALLOWED', 'Unexpected select list item');
    const rt = n.ResTarget!;
    onlyKeys('ResTarget', rt, new Set(['name', 'val', 'location']));
    rt.val = expr(rt.val as Node, ctx);
    return n;
  });
}

/**
 * WITH: makes the CTE names visible for the statement body. A data-modifying CTE (INSERT/UPDATE/
 * DELETE … RETURNING) is walked exactly as the same statement at the top level (dml.ts); as in
 * Postgres, only in the statement's own, non-recursive WITH.
 */
export function withClause(clause: Body | undefined, ctx: Ctx): void {
  if (!clause) return;
  onlyKeys('WithClause', clause, new Set(['ctes', 'recursive', 'location']));
  const ctes = (clause.ctes as Node[]).map((n) => {
    if (nodeType(n) !== 'CommonTableExpr') refuse('CONSTRUCT_NOT_ALLOWED', 'Unexpected WITH item');
    return n.CommonTableExpr!;
  });
  const recursive = clause.recursive === true;
  const visible = new Map<string, Growth | undefined>();
  // RECURSIVE makes every CTE visible in every body (forward references too); otherwise a CTE
  // sees only the ones before it — never itself, where its own name still means the table.
  // Until its body is walked, a CTE's growth is unknown: a reference reads it as SELF.
  if (recursive) for (const c of ctes) visible.set(c.ctename as string, undefined);
  ctx.ctes.push(visible);
  for (const cte of ctes) {
    onlyKeys('CommonTableExpr', cte, new Set(['ctename', 'aliascolnames', 'ctematerialized', 'ctequery', 'location']));
    const q = cte.ctequery as Node;
    let growth: Growth;
    if (nodeType(q) === 'SelectStmt') growth = subquery(q, ctx, ctx.scope);
    else {
      if (clause !== ctx.topWith || recursive) {
        refuse('STATEMENT_NOT_ALLOWED', 'Data-modifying statements are allowed only in the statement\'s own WITH, and not in WITH RECURSIVE');
      }
      growth = nestedWrite(q, ctx);
    }
    checkRecursiveGrowth(growth, cte.ctename as string);
    // A recursive CTE's finished rows are like stored values: an iteration may add to a row (time
    // bounds how often), never multiply it. Databases refuse a recursive reference inside a
    // subquery, so `self` here is this list's own recursion.
    visible.set(cte.ctename as string, recursive ? finishedRecursion(growth) : growth);
  }
  // `visible` stays pushed for the statement body; the caller pops it.
}

/** Walk a SELECT (of any depth); returns how large its output values may be. */
export function selectBody(s: Body, ctx: Ctx, outer: Scope | null): Growth {
  onlyKeys('SelectStmt', s, SELECT_KEYS);
  const ctesBefore = ctx.ctes.length;
  withClause(s.withClause as Body | undefined, ctx);
  const saved = ctx.scope;
  let output: Growth;
  try {
    if (s.op !== undefined && s.op !== 'SETOP_NONE') {
      // Set operation: both sides are queries at this depth; ORDER BY/LIMIT see only the output.
      ctx.scope = outer;
      output = max([selectBody(s.larg as Body, ctx, outer), selectBody(s.rarg as Body, ctx, outer)]);
      ctx.scope = newScope(outer);
    } else {
      const scope = newScope(outer);
      const from = s.fromClause as Node[] | undefined;
      if (from) {
        s.fromClause = from.map((item) => {
          ctx.scope = scope;
          return fromItem(item, ctx, scope, outer);
        });
      }
      ctx.scope = scope;
      if (s.targetList) s.targetList = targetList(s.targetList, ctx);
      if (s.whereClause) s.whereClause = expr(s.whereClause as Node, ctx);
      if (s.groupClause) s.groupClause = exprList(s.groupClause, ctx);
      if (s.havingClause) s.havingClause = expr(s.havingClause as Node, ctx);
      if (s.distinctClause) s.distinctClause = exprList(s.distinctClause, ctx);
      for (const w of (s.windowClause as Node[] | undefined) ?? []) {
        if (nodeType(w) !== 'WindowDef') refuse('CONSTRUCT_NOT_ALLOWED', 'Unexpected WINDOW item');
        windowDef(w.WindowDef!, ctx);
      }
      if (s.valuesLists) s.valuesLists = exprList(s.valuesLists, ctx);
      const values = ((s.valuesLists as Node[] | undefined) ?? []).flatMap((row) => (row.List?.items as Node[] | undefined) ?? []);
      const targets = ((s.targetList as Node[] | undefined) ?? []).map((t) => t.ResTarget?.val);
      output = max([...targets, ...values].map((n) => growthOf(ctx, n)));
    }
    if (s.sortClause) s.sortClause = exprList(s.sortClause, ctx);
    if (s.limitCount) s.limitCount = expr(s.limitCount as Node, ctx);
    if (s.limitOffset) s.limitOffset = expr(s.limitOffset as Node, ctx);
  } finally {
    ctx.scope = saved;
    ctx.ctes.length = ctesBefore;
  }
  return output;
}

/** A nested query (subquery, CTE body, INSERT's SELECT): one level deeper. Its growth is also recorded for `node`. */
export function subquery(node: Node, ctx: Ctx, outer: Scope | null): Growth {
  if (nodeType(node) !== 'SelectStmt') refuse('STATEMENT_NOT_ALLOWED', 'Only SELECT is allowed in a subquery');
  if (++ctx.relDepth > ctx.opts.limits.maxRelationDepth) {
    refuse('RELATION_DEPTH_EXCEEDED', `Subqueries nested deeper than ${ctx.opts.limits.maxRelationDepth}`);
  }
  const savedBool = ctx.boolDepth;
  ctx.boolDepth = 0;
  try {
    const growth = selectBody(node.SelectStmt!, ctx, outer);
    ctx.growth.set(node, growth);
    return growth;
  } finally {
    ctx.relDepth--;
    ctx.boolDepth = savedBool;
  }
}
