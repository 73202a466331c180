/**
 * Expressions, walked through a table keyed by node type. A node type missing from the table is
 * refused, and so is any field a handler does not expect: the validator fails closed on syntax it
 * was not written for. Handlers may return a replacement node (placeholder casts).
 */
import { bodyOf, nodeType, typeCast, type Body, type Node } from './ast.js';
import { onlyKeys, refuse, type Ctx } from './context.js';
import { BUILTIN_TYPES, OPERATORS, SQL_VALUE_FUNCTIONS } from './allowlists.js';
import { checkColumnRef, refGrowth } from '../common/scope.js';
import { ATOM, checkGrowth, LITERAL, max, sum, times, type Growth } from '../common/value-growth.js';
import { parsedTypeName } from './parser.js';
import { unqualifyColumn } from './qualified-column.js';
import { subquery } from './select.js';
import { callGrowth, castGrowth, growthOf, operatorGrowth, refuseAmplifier } from './growth.js';

/** Deep expressions are refused before they can exhaust the stack (ours, the deparser's, the server's). */
const MAX_EXPR_DEPTH = 200;

type Handler = (body: Body, ctx: Ctx) => Node | void;
interface Spec {
  /** Fields holding one expression. */
  expr?: readonly string[];
  /** Fields holding a list of expressions. */
  list?: readonly string[];
  /** Fields that are plain values or location info. */
  plain?: readonly string[];
  /** Extra checks/rewrites, run before the fields are walked. */
  check?: Handler;
  /** How large the value may be (common/value-growth.ts), once the fields are walked; default: the sum of the fields'. */
  growth?: (body: Body, ctx: Ctx) => Growth;
}

function stringList(value: unknown): string[] {
  if (!Array.isArray(value)) refuse('CONSTRUCT_NOT_ALLOWED', 'Unexpected name list');
  return value.map((n) => {
    const s = (n as { String?: { sval?: string } }).String;
    if (!s || typeof s.sval !== 'string') refuse('CONSTRUCT_NOT_ALLOWED', 'Unexpected name in a name list');
    return s.sval;
  });
}

function checkOperator(name: unknown): void {
  const parts = stringList(name);
  if (parts.length !== 1 || !OPERATORS.has(parts[0]!)) {
    refuse('FUNCTION_NOT_ALLOWED', `Operator ${parts.join('.')} is not allowed`);
  }
}

export function checkFunctionName(funcname: unknown, ctx: Ctx): string {
  const parts = stringList(funcname);
  const name = parts[parts.length - 1]!;
  const qualifiedOk = parts.length === 1 || (parts.length === 2 && parts[0] === 'pg_catalog');
  if (!qualifiedOk || !ctx.opts.functions.has(name)) {
    refuse('FUNCTION_NOT_ALLOWED', `Function ${parts.join('.')} is not allowed`);
  }
  return name;
}

export function checkTypeName(typeName: unknown, ctx: Ctx): string {
  const t = typeName as Body;
  onlyKeys('TypeName', t, new Set(['names', 'typmods', 'typemod', 'arrayBounds', 'location']));
  const parts = stringList(t.names);
  const name = parts[parts.length - 1]!;
  const qualifiedOk = parts.length === 1 || (parts.length === 2 && parts[0] === 'pg_catalog');
  if (!qualifiedOk || !(BUILTIN_TYPES.has(name) || ctx.opts.types.has(name))) {
    refuse('TYPE_NOT_ALLOWED', `Type ${parts.join('.')} is not allowed`);
  }
  for (const m of (t.typmods as Node[] | undefined) ?? []) {
    if (nodeType(m) !== 'A_Const') refuse('CONSTRUCT_NOT_ALLOWED', 'Type modifiers must be constants');
  }
  return name;
}

const A_EXPR_KINDS = new Set([
  'AEXPR_OP', 'AEXPR_OP_ANY', 'AEXPR_OP_ALL', 'AEXPR_DISTINCT', 'AEXPR_NOT_DISTINCT', 'AEXPR_NULLIF', 'AEXPR_IN',
  'AEXPR_LIKE', 'AEXPR_ILIKE', 'AEXPR_SIMILAR', 'AEXPR_BETWEEN', 'AEXPR_NOT_BETWEEN', 'AEXPR_BETWEEN_SYM',
  'AEXPR_NOT_BETWEEN_SYM',
]);
/** A view has none of these; a table used as itself (from-clause.ts) must not show them either. */
const SYSTEM_COLUMNS = new Set(['ctid', 'xmin', 'xmax', 'cmin', 'cmax', 'tableoid']);
const SUBLINK_TYPES = new Set(['EXISTS_SUBLINK', 'ALL_SUBLINK', 'ANY_SUBLINK', 'EXPR_SUBLINK', 'ARRAY_SUBLINK']);

const SPECS: Record<string, Spec> = {
  A_Const: { plain: ['ival', 'fval', 'sval', 'boolval', 'bsval', 'isnull', 'location'], growth: () => LITERAL },
  ParamRef: {
    plain: ['number', 'location'],
    check(body, ctx) {
      const n = body.number;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) refuse('CONSTRUCT_NOT_ALLOWED', 'Invalid placeholder');
      if (n > ctx.opts.limits.maxParams) refuse('TOO_MANY_PARAMS', `Placeholder $${n} exceeds limits.maxParams`);
      ctx.maxClientParam = Math.max(ctx.maxClientParam, n);
      const cast = ctx.typings[n - 1];
      if (cast) return typeCast({ ParamRef: body }, parsedTypeName(cast));
    },
  },
  ColumnRef: {
    plain: ['fields', 'location'],
    check(body, ctx) {
      const fields = body.fields as Node[];
      const names: string[] = [];
      let star = false;
      fields.forEach((f, i) => {
        const t = nodeType(f);
        if (t === 'String') names.push((bodyOf(f).sval as string) ?? '');
        else if (t === 'A_Star' && i === fields.length - 1) star = true;
        else refuse('CONSTRUCT_NOT_ALLOWED', 'Unsupported column reference');
      });
      if (names.length > 3 || (star && names.length === 3)) refuse('CONSTRUCT_NOT_ALLOWED', 'Cross-database references are not allowed');
      if (!star && SYSTEM_COLUMNS.has(names[names.length - 1]!)) refuse('COLUMN_NOT_ALLOWED', `System column ${names[names.length - 1]!} is not available`);
      checkColumnRef(ctx.scope, unqualifyColumn(fields, names, star, ctx.scope), star);
    },
    growth(body, ctx) {
      const fields = body.fields as Node[];
      const star = nodeType(fields[fields.length - 1]) === 'A_Star';
      return refGrowth(ctx.scope, fields.filter((f) => nodeType(f) === 'String').map((f) => bodyOf(f).sval as string), star);
    },
  },
  A_Expr: {
    expr: ['lexpr'],
    plain: ['kind', 'name', 'location', 'rexpr', 'rexpr_list_start', 'rexpr_list_end'],
    check(body, ctx) {
      if (!A_EXPR_KINDS.has(body.kind as string)) refuse('CONSTRUCT_NOT_ALLOWED', `Operator kind ${String(body.kind)} is not allowed`);
      const k = body.kind as string;
      if (!k.includes('BETWEEN')) checkOperator(body.name);
      // rexpr is an expression, a list (IN), or a List node (BETWEEN).
      const r = body.rexpr;
      if (Array.isArray(r)) body.rexpr = r.map((n) => expr(n as Node, ctx));
      else if (r !== undefined) body.rexpr = expr(r as Node, ctx);
    },
    growth: operatorGrowth,
  },
  // IN (…) and BETWEEN lists: separate values, never one.
  List: { list: ['items'], growth: (body, ctx) => max(((body.items as Node[] | undefined) ?? []).map((n) => growthOf(ctx, n))) },
  BoolExpr: {
    growth: () => ATOM,
    plain: ['boolop', 'args', 'location'],
    check(body, ctx) {
      ctx.boolDepth++;
      if (ctx.boolDepth > ctx.opts.limits.maxFilterNesting) {
        refuse('FILTER_NESTING_EXCEEDED', `AND/OR/NOT nested deeper than ${ctx.opts.limits.maxFilterNesting}`);
      }
      try {
        body.args = (body.args as Node[]).map((n) => expr(n, ctx));
      } finally {
        ctx.boolDepth--;
      }
    },
  },
  NullTest: { expr: ['arg'], plain: ['nulltesttype', 'argisrow', 'location'], growth: () => ATOM },
  BooleanTest: { expr: ['arg'], plain: ['booltesttype', 'location'], growth: () => ATOM },
  FuncCall: {
    expr: ['agg_filter'],
    list: ['args', 'agg_order'],
    plain: ['funcname', 'over', 'agg_within_group', 'agg_star', 'agg_distinct', 'func_variadic', 'funcformat', 'location'],
    check(body, ctx) {
      refuseAmplifier(body.funcname);
      checkFunctionName(body.funcname, ctx);
      if (body.over !== undefined) windowDef(body.over as Body, ctx);
    },
    growth: callGrowth,
  },
  NamedArgExpr: { expr: ['arg'], plain: ['name', 'argnumber', 'location'] },
  TypeCast: {
    expr: ['arg'],
    plain: ['typeName', 'location'],
    check(body, ctx) {
      checkTypeName(body.typeName, ctx);
    },
    growth: castGrowth,
  },
  // A choice: the largest result, never the conditions.
  CaseExpr: {
    expr: ['arg', 'defresult'],
    list: ['args'],
    plain: ['location'],
    growth: (body, ctx) => max([...(body.args as Node[]), ...(body.defresult ? [body.defresult as Node] : [])].map((n) => growthOf(ctx, n))),
  },
  CaseWhen: { expr: ['expr', 'result'], plain: ['location'], growth: (body, ctx) => growthOf(ctx, body.result) },
  CoalesceExpr: { list: ['args'], plain: ['location'], growth: (body, ctx) => max((body.args as Node[]).map((n) => growthOf(ctx, n))) },
  MinMaxExpr: { list: ['args'], plain: ['op', 'location'], growth: (body, ctx) => max((body.args as Node[]).map((n) => growthOf(ctx, n))) },
  NullIfExpr: { list: ['args'], plain: ['location'], growth: (body, ctx) => growthOf(ctx, (body.args as Node[])[0]) },
  // Array and row values print their elements quoted and escaped: up to twice as long.
  A_ArrayExpr: {
    list: ['elements'],
    plain: ['location', 'list_start', 'list_end'],
    growth: (body, ctx) => times(sum(((body.elements as Node[] | undefined) ?? []).map((n) => growthOf(ctx, n))), 2),
  },
  A_Indirection: { expr: ['arg'], list: ['indirection'], growth: (body, ctx) => growthOf(ctx, body.arg) },
  A_Indices: { expr: ['lidx', 'uidx'], plain: ['is_slice'], growth: () => ATOM },
  String: { plain: ['sval'] }, // field selection inside A_Indirection
  RowExpr: {
    list: ['args'],
    plain: ['row_format', 'colnames', 'location'],
    growth: (body, ctx) => times(sum(((body.args as Node[] | undefined) ?? []).map((n) => growthOf(ctx, n))), 2),
  },
  SQLValueFunction: {
    plain: ['op', 'typmod', 'location'],
    check(body) {
      if (!SQL_VALUE_FUNCTIONS.has(body.op as string)) refuse('FUNCTION_NOT_ALLOWED', `${String(body.op).replace('SVFOP_', '')} is not allowed`);
    },
  },
  CollateClause: {
    expr: ['arg'],
    plain: ['collname', 'location'],
    check(body) {
      const parts = stringList(body.collname);
      if (parts.length !== 1) refuse('CONSTRUCT_NOT_ALLOWED', 'Schema-qualified collations are not allowed');
    },
  },
  SetToDefault: { plain: ['location'] },
  GroupingSet: { list: ['content'], plain: ['kind', 'location'] },
  GroupingFunc: { list: ['args'], plain: ['location'], growth: () => ATOM },
  SortBy: {
    expr: ['node'],
    plain: ['sortby_dir', 'sortby_nulls', 'useOp', 'location'],
    check(body) {
      if (body.useOp !== undefined) checkOperator(body.useOp);
    },
  },
  SubLink: {
    expr: ['testexpr'],
    plain: ['subLinkType', 'subLinkId', 'operName', 'subselect', 'location'],
    check(body, ctx) {
      if (!SUBLINK_TYPES.has(body.subLinkType as string)) refuse('CONSTRUCT_NOT_ALLOWED', `${String(body.subLinkType)} is not allowed`);
      if (body.operName !== undefined) checkOperator(body.operName);
      subquery(body.subselect as Node, ctx, ctx.scope);
    },
    growth(body, ctx) {
      const type = body.subLinkType as string;
      if (type === 'EXPR_SUBLINK') return growthOf(ctx, body.subselect);
      return type === 'ARRAY_SUBLINK' ? times(growthOf(ctx, body.subselect), 2) : ATOM;
    },
  },
};

const KEYS = new Map(
  Object.entries(SPECS).map(([type, s]) => [type, new Set([...(s.expr ?? []), ...(s.list ?? []), ...(s.plain ?? [])])]),
);

export function windowDef(def: Body, ctx: Ctx): void {
  onlyKeys('WindowDef', def, new Set(['name', 'refname', 'partitionClause', 'orderClause', 'frameOptions', 'startOffset', 'endOffset', 'location']));
  if (def.partitionClause) def.partitionClause = exprList(def.partitionClause, ctx);
  if (def.orderClause) def.orderClause = exprList(def.orderClause, ctx);
  if (def.startOffset) def.startOffset = expr(def.startOffset as Node, ctx);
  if (def.endOffset) def.endOffset = expr(def.endOffset as Node, ctx);
}

export function expr(node: Node, ctx: Ctx): Node {
  const type = nodeType(node);
  if (type === null) {
    // `SELECT DISTINCT` is encoded as a list holding one empty object.
    if (node && typeof node === 'object' && Object.keys(node).length === 0) return node;
    refuse('CONSTRUCT_NOT_ALLOWED', 'Unexpected syntax');
  }
  const spec = SPECS[type];
  if (!spec) refuse('CONSTRUCT_NOT_ALLOWED', `${type} is not allowed`);
  const body = node[type]!;
  onlyKeys(type, body, KEYS.get(type)!);
  if (++ctx.exprDepth > MAX_EXPR_DEPTH) refuse('FILTER_NESTING_EXCEEDED', 'The expression is nested too deeply');
  try {
    const replacement = spec.check?.(body, ctx);
    for (const f of spec.expr ?? []) if (body[f] !== undefined) body[f] = expr(body[f] as Node, ctx);
    for (const f of spec.list ?? []) if (body[f] !== undefined) body[f] = exprList(body[f], ctx);
    const out = replacement ?? node;
    const growth = spec.growth ? spec.growth(body, ctx) : fieldsGrowth(spec, body, ctx);
    ctx.growth.set(out, checkGrowth(growth, ctx.opts.limits.maxValueGrowth, 'The expression'));
    return out;
  } finally {
    ctx.exprDepth--;
  }
}

/** The default: at most the sum of what the fields hold. */
function fieldsGrowth(spec: Spec, body: Body, ctx: Ctx): Growth {
  const parts: Growth[] = [];
  for (const f of spec.expr ?? []) if (body[f] !== undefined) parts.push(growthOf(ctx, body[f]));
  for (const f of spec.list ?? []) for (const n of (body[f] as Node[] | undefined) ?? []) parts.push(growthOf(ctx, n));
  return sum(parts);
}

export function exprList(list: unknown, ctx: Ctx): Node[] {
  if (!Array.isArray(list)) refuse('CONSTRUCT_NOT_ALLOWED', 'Unexpected syntax (expected a list)');
  return list.map((n) => expr(n as Node, ctx));
}
