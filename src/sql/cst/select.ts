/** SELECT and set operations → our Select (a set operation is a chain: `setOp.next`). */
import type { Node, OrderByClause, SelectStmt, WithClause } from 'sql-parser-cst';
import { SluiceError } from '../../errors.js';
import type { Cte, OrderItem, Select, SelectColumn } from '../common/ir.js';
import { fromItems } from './from-clause.js';
import { ident, nameList } from './names.js';
import { keywords, refuse } from './refuse.js';
import type { Walk } from './walk.js';

const SET_OPS = new Set(['UNION', 'UNION ALL', 'UNION DISTINCT', 'INTERSECT', 'EXCEPT']);

export function orderBy(node: OrderByClause, w: Walk): OrderItem[] {
  if (node.withRollupKw) refuse('WITH ROLLUP is not allowed');
  return node.specifications.items.map((s) => {
    // A bare name comes as an identifier, anything else as a sort specification.
    if (s.type === 'identifier') return { e: w.expr(s) };
    if (s.type !== 'sort_specification' || s.nullHandlingKw) refuse('Unexpected ORDER BY item');
    const out: OrderItem = { e: w.expr(s.expr) };
    if (s.direction?.type === 'sort_direction_asc') out.dir = 'ASC';
    else if (s.direction?.type === 'sort_direction_desc') out.dir = 'DESC';
    else if (s.direction) refuse('Unexpected ORDER BY direction');
    return out;
  });
}

export function selectColumns(node: Node | undefined, w: Walk): SelectColumn[] {
  if (node?.type !== 'list_expr') return refuse('Unexpected select list');
  return node.items.map((item): SelectColumn => {
    if (item.type === 'all_columns') return { e: { k: 'col', name: '*' } };
    if (item.type === 'alias') {
      if (item.columnAliases) refuse('Unexpected alias');
      return { e: w.expr(item.expr), as: ident(item.alias) };
    }
    return { e: w.expr(item) };
  });
}

export function withClause(node: WithClause, w: Walk): NonNullable<Select['with']> {
  const ctes = node.tables.items.map((c): Cte => {
    if (c.materializedKw || c.search || c.cycle) refuse('Unexpected WITH option');
    const body = c.expr.expr;
    if (body.type !== 'select_stmt' && body.type !== 'compound_select_stmt') {
      throw new SluiceError('STATEMENT_NOT_ALLOWED', 'Only SELECT is allowed in a WITH query');
    }
    const out: Cte = { name: ident(c.table), q: w.query(body) };
    if (c.columns) out.columns = nameList(c.columns);
    return out;
  });
  return { recursive: node.recursiveKw !== undefined, ctes };
}

function limit(node: Node, out: Select, w: Walk): void {
  if (node.type !== 'limit_clause' || node.rowsExamined || !node.count || node.count.type === 'limit_all') refuse('Unexpected LIMIT');
  out.limit = w.expr(node.count);
  if (node.offset) out.offset = w.expr(node.offset);
}

function simpleSelect(node: SelectStmt, w: Walk): Select {
  const out: Select = { k: 'select', distinct: false, columns: [], from: [] };
  const seen = new Set<string>();
  let hasSelect = false;
  for (const clause of node.clauses) {
    if (seen.has(clause.type)) refuse('Unexpected repeated clause');
    seen.add(clause.type);
    switch (clause.type) {
      case 'with_clause':
        out.with = withClause(clause, w);
        break;
      case 'select_clause':
        hasSelect = true;
        for (const m of clause.modifiers) {
          if (m.type === 'select_distinct' && keywords(m.distinctKw) === 'DISTINCT') out.distinct = true;
          else if (m.type !== 'select_all') refuse('SELECT options are not allowed');
        }
        out.columns = selectColumns(clause.columns, w);
        break;
      case 'from_clause':
        if (clause.expr.type === 'dual_table') refuse('FROM DUAL is not supported');
        out.from = fromItems(clause.expr, w);
        break;
      case 'where_clause':
        out.where = w.expr(clause.expr);
        break;
      case 'group_by_clause':
        if (clause.distinctKw || clause.withRollupKw) refuse('Unexpected GROUP BY');
        out.groupBy = clause.columns.items.map((e) => w.expr(e));
        break;
      case 'having_clause':
        out.having = w.expr(clause.expr);
        break;
      case 'order_by_clause':
        out.orderBy = orderBy(clause, w);
        break;
      case 'limit_clause':
        limit(clause, out, w);
        break;
      case 'for_clause': {
        if (clause.tables || clause.waitingKw || keywords(clause.lockStrengthKw) !== 'UPDATE') refuse('Only FOR UPDATE is allowed');
        out.lock = 'FOR UPDATE';
        break;
      }
      case 'lock_in_share_mode_clause':
        out.lock = 'LOCK IN SHARE MODE';
        break;
      default:
        refuse(`${clause.type.replaceAll('_', ' ')} is not supported by the gateway`);
    }
  }
  if (!hasSelect) refuse('Unexpected SELECT');
  return out;
}

/** The members of a set operation, left to right (the grammar nests them to the left). */
function chain(node: Node, w: Walk): Select {
  if (node.type === 'select_stmt') return simpleSelect(node, w);
  if (node.type !== 'compound_select_stmt') return refuse('Unexpected set operation member');
  const op = keywords(node.operator);
  if (!SET_OPS.has(op)) refuse(`Set operation ${op} is not allowed`);
  if (node.right.type !== 'select_stmt') refuse('Parenthesized set operation members are not supported');
  const first = chain(node.left, w);
  let last = first;
  while (last.setOp) last = last.setOp.next;
  const next = simpleSelect(node.right, w);
  if (next.with) refuse('WITH belongs at the start of a set operation');
  last.setOp = { op, next };
  return first;
}

export function query(node: Node, w: Walk): Select {
  if (node.type === 'paren_expr') return query(node.expr, w);
  if (node.type !== 'select_stmt' && node.type !== 'compound_select_stmt') throw new SluiceError('STATEMENT_NOT_ALLOWED', 'Only SELECT is allowed here');
  return chain(node, w);
}

