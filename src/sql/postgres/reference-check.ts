/**
 * Foreign keys across tenants (config `references`): a value written into a referencing column must
 * name a row the caller can see. The value becomes
 *
 *   CASE WHEN CAST(CASE WHEN EXISTS (SELECT 1 FROM <referenced table> AS sluice_ref
 *                                    WHERE sluice_ref.<column> = v AND <caller's select filter>)
 *                            OR v IS NULL
 *                       THEN 'true' ELSE '<marker>' END AS boolean)
 *        THEN v END
 *
 * A row that is missing and a row of another tenant fail alike — the cast of the marker raises a
 * data exception that the driver maps to 409 FOREIGN_KEY_VIOLATION (sql/reference-marker.ts) —
 * so the answer never tells the two apart. The inner CASE is not constant, so the planner cannot
 * fold the failing cast in early; the EXISTS comes first so it types an untyped parameter from the
 * referenced column before the value position does. `v` appears three times, so it must be
 * deterministic: a parameter or a literal (with any cast); anything else is refused.
 */
import { refuse, type Ctx } from './context.js';
import { boolExpr, columnRef, nodeType, nullTest, op, resTarget, typeCast, and, type Node } from './ast.js';
import { filterToAst } from './filter-ast.js';
import { parsedTypeName } from './parser.js';
import type { CompiledTable } from '../../permissions/model.js';
import { referenceMarker } from '../reference-marker.js';

const ALIAS = 'sluice_ref';

const text = (sval: string): Node => ({ A_Const: { sval: { sval } } });

function deterministic(n: Node): boolean {
  switch (nodeType(n)) {
    case 'ParamRef':
    case 'A_Const':
      return true;
    case 'TypeCast':
      return deterministic(n.TypeCast!.arg as Node);
    default:
      return false;
  }
}

function isNull(n: Node): boolean {
  return nodeType(n) === 'A_Const' && n.A_Const!.isnull === true;
}

/**
 * `value` (already walked) as written into `column` of `table`, checked against the row it
 * references when the table declares one; unchanged otherwise. DEFAULT and NULL need no check.
 */
export function checkedReference(value: Node, column: string, table: CompiledTable, label: string, ctx: Ctx): Node {
  const ref = table.references.get(column);
  if (ref === undefined || nodeType(value) === 'SetToDefault' || isNull(value)) return value;
  if (!deterministic(value)) {
    refuse('CONSTRUCT_NOT_ALLOWED', `${label}.${column} references ${ref.key}.${ref.column}: send its value as a parameter or a literal`);
  }
  const target = ctx.perms.tables.get(ref.key);
  // The config check makes this unreachable; fail closed if it ever is not.
  if (!target?.select) refuse('TABLE_NOT_ALLOWED', `${label}.${column} references ${ref.key}, which the role may not read`);
  const v = (): Node => structuredClone(value);
  const dot = ref.key.indexOf('.');
  const match = op('=', columnRef(ALIAS, ref.column), v());
  const where = target.select.filter ? and([match, filterToAst(target.select.filter, ALIAS, ctx)]) : match;
  const exists: Node = {
    SubLink: {
      subLinkType: 'EXISTS_SUBLINK',
      subselect: {
        SelectStmt: {
          targetList: [resTarget({ A_Const: { ival: { ival: 1 } } })],
          fromClause: [{ RangeVar: { schemaname: ref.key.slice(0, dot), relname: ref.key.slice(dot + 1), inh: true, relpersistence: 'p', alias: { aliasname: ALIAS } } }],
          whereClause: where,
          limitOption: 'LIMIT_OPTION_DEFAULT',
          op: 'SETOP_NONE',
        },
      },
    },
  };
  const verdict: Node = {
    CaseExpr: {
      args: [{ CaseWhen: { expr: boolExpr('OR_EXPR', [exists, nullTest(v(), true)]), result: text('true') } }],
      defresult: text(referenceMarker(`${label}.${column}`)),
    },
  };
  return { CaseExpr: { args: [{ CaseWhen: { expr: typeCast(verdict, parsedTypeName('boolean')), result: v() } }] } };
}
