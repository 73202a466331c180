/**
 * Turns a permission filter into a Postgres expression. Values never enter the SQL text: each
 * literal or claim becomes a placeholder whose source is recorded, so the rewritten statement
 * depends only on (role, SQL) and can be cached.
 */
import type { Filter, FilterOps, FilterValue } from '../../config/types.js';
import { claimRef } from '../../permissions/claims.js';
import type { ParamSource } from '../validator.js';
import { and, boolExpr, columnRef, nullTest, op, type Node } from './ast.js';

export interface ParamSink {
  /** Returns a placeholder node bound to `source`. */
  add(source: ParamSource): Node;
}

export function sourceOf(value: FilterValue): ParamSource {
  const ref = claimRef(value);
  return ref === null ? { kind: 'literal', value } : { kind: 'claim', ref };
}

// Shaped exactly as the parser emits them, so the deparse round trip compares equal.
const TRUE: Node = { A_Const: { boolval: { boolval: true } } };
const FALSE: Node = { A_Const: { boolval: {} } };

const OPS: Record<string, string> = { eq: '=', ne: '<>', lt: '<', lte: '<=', gt: '>', gte: '>=' };

function comparison(column: Node, key: string, value: FilterValue, sink: ParamSink): Node {
  if (value === null) {
    if (key === 'eq') return nullTest(column, true);
    if (key === 'ne') return nullTest(column, false);
    throw new Error(`filter operator ${key} cannot compare with null`);
  }
  // IS DISTINCT FROM for `ne` so that NULL rows are not silently excluded or included by surprise.
  if (key === 'ne') return op('=', column, sink.add(sourceOf(value)), 'AEXPR_DISTINCT');
  return op(OPS[key]!, column, sink.add(sourceOf(value)));
}

function inList(column: Node, values: FilterValue[] | string, sink: ParamSink): Node {
  if (typeof values === 'string') {
    // One claim holding an array: column = ANY($n)
    return op('=', column, sink.add(sourceOf(values)), 'AEXPR_OP_ANY');
  }
  if (values.length === 0) return FALSE;
  return { A_Expr: { kind: 'AEXPR_IN', name: [{ String: { sval: '=' } }], lexpr: column, rexpr: { List: { items: values.map((v) => sink.add(sourceOf(v))) } } } };
}

function columnCondition(column: Node, spec: FilterValue | FilterOps, sink: ParamSink): Node {
  if (spec === null || typeof spec !== 'object') return comparison(column, 'eq', spec, sink);
  const parts: Node[] = [];
  for (const [key, value] of Object.entries(spec)) {
    if (value === undefined) continue;
    if (key === 'in') parts.push(inList(column, value as FilterValue[] | string, sink));
    else if (key in OPS) parts.push(comparison(column, key, value as FilterValue, sink));
    else throw new Error(`unknown filter operator ${key}`);
  }
  if (parts.length === 0) throw new Error('empty filter operator object');
  return and(parts);
}

/** `qualifier` is the name the filtered table goes by at the point the filter is inserted. */
export function filterToAst(filter: Filter, qualifier: string, sink: ParamSink): Node {
  const parts: Node[] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (value === undefined) continue;
    if (key === 'and' || key === 'or') {
      const list = (value as Filter[]).map((f) => filterToAst(f, qualifier, sink));
      if (list.length === 0) parts.push(key === 'and' ? TRUE : FALSE);
      else parts.push(list.length === 1 ? list[0]! : boolExpr(key === 'and' ? 'AND_EXPR' : 'OR_EXPR', list));
    } else {
      parts.push(columnCondition(columnRef(qualifier, key), value as FilterValue | FilterOps, sink));
    }
  }
  if (parts.length === 0) return TRUE;
  return and(parts);
}
