/**
 * sql-parser-cst's tree → our closed tree (common/ir.ts). Every node type is decided: the
 * expression table names them all (node-types.ts), the statement and clause walkers switch on the
 * types they support and refuse the rest. The same conversion reads the re-parsed output of our
 * emitter for the faithfulness check, so it is deterministic and lossless for what it accepts.
 */
import type { DialectName, Node } from 'sql-parser-cst';
import { SluiceError } from '../../errors.js';
import type { ConvertOptions } from '../common/from-parser.js';
import type { Statement } from '../common/ir.js';
import { expressionWalker } from './expressions.js';
import { parseOne } from './parse.js';
import { orderBy, query } from './select.js';
import type { Walk } from './walk.js';
import { deleteStmt, insertStmt, updateStmt } from './writes.js';

function walker(opts: ConvertOptions, gatewayParams: boolean): Walk {
  const w: Walk = {
    opts,
    gatewayParams,
    expr: (node) => expr(node),
    query: (node) => query(node, w),
    orderBy: (node) => orderBy(node, w),
  };
  const expr = expressionWalker(w);
  return w;
}

function statement(node: Node, w: Walk): Statement {
  switch (node.type) {
    case 'select_stmt':
    case 'compound_select_stmt':
      return query(node, w);
    case 'insert_stmt':
      return insertStmt(node, w);
    case 'update_stmt':
      return updateStmt(node, w);
    case 'delete_stmt':
      return deleteStmt(node, w);
    default:
      throw new SluiceError('STATEMENT_NOT_ALLOWED', `${node.type.replace(/_stmt$/, '').replaceAll('_', ' ').toUpperCase()} is not allowed; only SELECT, INSERT, UPDATE and DELETE are`);
  }
}

/** Reads one (placeholder-named) statement into our tree. */
export function cstReader(dialect: DialectName, opts: ConvertOptions, gatewayParams: boolean): (sql: string) => Statement {
  const w = walker(opts, gatewayParams);
  return (sql) => statement(parseOne(sql, dialect), w);
}
