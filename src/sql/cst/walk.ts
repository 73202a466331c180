/** What the expression, query and write walkers share (they call each other for subqueries). */
import type { Node, OrderByClause } from 'sql-parser-cst';
import type { ConvertOptions } from '../common/from-parser.js';
import type { Expr, OrderItem, Select } from '../common/ir.js';

export interface Walk {
  readonly opts: ConvertOptions;
  /** Also accept `:g<n>` (reading our own output back). */
  readonly gatewayParams: boolean;
  expr(node: Node): Expr;
  /** A SELECT, a set operation, or one in parentheses. */
  query(node: Node): Select;
  orderBy(node: OrderByClause): OrderItem[];
}
