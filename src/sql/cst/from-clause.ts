/** FROM: a left-deep join tree flattened into our list of items; nested joins are refused. */
import type { Node } from 'sql-parser-cst';
import { SluiceError } from '../../errors.js';
import type { FromItem, JoinKind } from '../common/ir.js';
import { entityName, ident } from './names.js';
import { keywords, refuse } from './refuse.js';
import type { Walk } from './walk.js';

const JOINS: Record<string, JoinKind> = {
  JOIN: 'INNER JOIN',
  'INNER JOIN': 'INNER JOIN',
  'LEFT JOIN': 'LEFT JOIN',
  'LEFT OUTER JOIN': 'LEFT JOIN',
  'CROSS JOIN': 'CROSS JOIN',
  // Safe under any join: every table is replaced by its filtered view (common/query.ts).
  'RIGHT JOIN': 'RIGHT JOIN',
  'RIGHT OUTER JOIN': 'RIGHT JOIN',
  'FULL JOIN': 'FULL JOIN',
  'FULL OUTER JOIN': 'FULL JOIN',
};

/** Join words are never aliases (a grammar that misreads a join must not turn it into another). */
const JOIN_WORDS = new Set(['natural', 'left', 'right', 'full', 'inner', 'outer', 'cross', 'join', 'using', 'on']);

function factor(node: Node, w: Walk): FromItem {
  if (node.type === 'alias') {
    if (node.columnAliases) refuse('Column aliases on a FROM item are not allowed');
    const as = ident(node.alias);
    if (JOIN_WORDS.has(as.toLowerCase())) refuse(`"${as}" is not allowed as an alias (NATURAL and other join forms are not supported)`);
    if (node.expr.type === 'alias') refuse('Unexpected FROM item');
    return { ...factor(node.expr, w), as };
  }
  switch (node.type) {
    case 'identifier':
    case 'member_expr':
      return { k: 'table', ...entityName(node) };
    case 'paren_expr':
      if (node.expr.type !== 'select_stmt' && node.expr.type !== 'compound_select_stmt') return refuse('Nested joins are not allowed');
      return { k: 'derived', q: w.query(node.expr), lateral: false };
    case 'lateral_derived_table':
      if (node.expr.type !== 'paren_expr') return refuse('Only LATERAL (SELECT …) is allowed');
      return { k: 'derived', q: w.query(node.expr.expr), lateral: true };
    case 'func_call': {
      const fn = w.expr(node);
      if (fn.k !== 'fn' || fn.bare || !w.opts.tableFunctions.has(fn.name)) throw new SluiceError('FUNCTION_NOT_ALLOWED', 'This table function is not allowed');
      return { k: 'tablefn', fn };
    }
    default:
      return refuse(`${node.type.replaceAll('_', ' ')} is not allowed in FROM`);
  }
}

export function fromItems(node: Node, w: Walk): FromItem[] {
  if (node.type !== 'join_expr') return [factor(node, w)];
  const items = fromItems(node.left, w);
  const right = factor(node.right, w);
  if (node.operator !== ',') {
    const op = keywords(node.operator);
    const join = JOINS[op];
    if (!join) refuse(`${op} is not allowed`);
    right.join = join;
  }
  const spec = node.specification;
  if (spec?.type === 'join_on_specification') right.on = w.expr(spec.expr);
  else if (spec?.type === 'join_using_specification') right.using = spec.expr.expr.items.map((u) => ident(u));
  if (spec && node.operator === ',') refuse('Unexpected join condition');
  items.push(right);
  return items;
}
