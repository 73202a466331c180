/** One statement, checked and rewritten in place. */
import type { StatementKind } from '../validator.js';
import { nodeType, type Body, type Node } from './ast.js';
import { refuse, type Ctx } from './context.js';
import { deleteStmt, insertStmt, updateStmt } from './dml.js';
import { selectBody } from './select.js';

export interface Rewritten {
  kind: StatementKind;
  readOnly: boolean;
  rowCapped: boolean;
}

/** LIMIT maxRows+1 on the outermost SELECT, so the driver can tell a truncated result. */
function capRows(s: Body, maxRows: number): void {
  const cap: Node = { A_Const: { ival: { ival: maxRows + 1 } } };
  const current = s.limitCount as Node | undefined;
  const constant = current?.A_Const;
  if (!current || constant?.isnull === true) {
    s.limitCount = cap;
    s.limitOption = s.limitOption === 'LIMIT_OPTION_WITH_TIES' ? s.limitOption : 'LIMIT_OPTION_COUNT';
    return;
  }
  const ival = (constant?.ival as { ival?: number } | undefined)?.ival;
  if (constant && (ival ?? 0) <= maxRows && constant.ival !== undefined) return;
  s.limitCount = { MinMaxExpr: { op: 'IS_LEAST', args: [current, cap] } };
}

export function rewriteStatement(stmt: Node, ctx: Ctx): Rewritten {
  const type = nodeType(stmt);
  const body = type ? stmt[type]! : {};
  ctx.topWith = body.withClause as Body | undefined;
  switch (type) {
    case 'SelectStmt': {
      selectBody(body, ctx, null);
      capRows(body, ctx.opts.limits.maxRows);
      // A data-modifying CTE makes the SELECT a write: no read-only transaction, no replica.
      return { kind: 'select', readOnly: !ctx.writes, rowCapped: true };
    }
    case 'InsertStmt':
      insertStmt(body, ctx);
      return { kind: 'insert', readOnly: false, rowCapped: false };
    case 'UpdateStmt':
      updateStmt(body, ctx);
      return { kind: 'update', readOnly: false, rowCapped: false };
    case 'DeleteStmt':
      deleteStmt(body, ctx);
      return { kind: 'delete', readOnly: false, rowCapped: false };
    default:
      return refuse('STATEMENT_NOT_ALLOWED', `${type ?? 'This statement'} is not allowed; only SELECT, INSERT, UPDATE and DELETE are`);
  }
}
