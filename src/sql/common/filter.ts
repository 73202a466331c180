/**
 * A permission filter as an expression of our tree. Values never enter the SQL text: each literal
 * or claim becomes a gateway placeholder whose source is recorded.
 */
import type { Filter, FilterOps, FilterValue } from '../../config/types.js';
import { claimRef } from '../../permissions/claims.js';
import type { ParamSource } from '../validator.js';
import { addParam, type Ctx } from './context.js';
import { and, bin, col, type Expr } from './ir.js';

export function sourceOf(value: FilterValue): ParamSource {
  const ref = claimRef(value);
  return ref === null ? { kind: 'literal', value } : { kind: 'claim', ref };
}

const TRUE: Expr = { k: 'bool', v: true };
const FALSE: Expr = { k: 'bool', v: false };
const OPS: Record<string, string> = { eq: '=', ne: '<>', lt: '<', lte: '<=', gt: '>', gte: '>=' };

function comparison(column: Expr, key: string, value: FilterValue, ctx: Ctx): Expr {
  if (value === null) {
    if (key === 'eq') return bin('IS', column, { k: 'null' });
    if (key === 'ne') return bin('IS NOT', column, { k: 'null' });
    throw new Error(`filter operator ${key} cannot compare with null`);
  }
  // `ne` keeps NULL rows, as IS DISTINCT FROM does on Postgres.
  if (key === 'ne') return bin('OR', bin('<>', column, addParam(ctx, sourceOf(value))), bin('IS', column, { k: 'null' }));
  return bin(OPS[key]!, column, addParam(ctx, sourceOf(value)));
}

function inList(column: Expr, values: FilterValue[] | string, ctx: Ctx): Expr {
  if (typeof values === 'string') return ctx.spec.claimIn(column, addParam(ctx, sourceOf(values), true));
  if (values.length === 0) return FALSE;
  return bin('IN', column, { k: 'list', items: values.map((v) => addParam(ctx, sourceOf(v))) });
}

function columnCondition(column: Expr, spec: FilterValue | FilterOps, ctx: Ctx): Expr {
  if (spec === null || typeof spec !== 'object') return comparison(column, 'eq', spec, ctx);
  const parts: Expr[] = [];
  for (const [key, value] of Object.entries(spec)) {
    if (value === undefined) continue;
    if (key === 'in') parts.push(inList(column, value as FilterValue[] | string, ctx));
    else if (key in OPS) parts.push(comparison(column, key, value as FilterValue, ctx));
    else throw new Error(`unknown filter operator ${key}`);
  }
  if (parts.length === 0) throw new Error('empty filter operator object');
  return and(parts);
}

/** `qualifier` is the name the filtered table goes by where the filter is inserted. */
export function filterExpr(filter: Filter, qualifier: string, ctx: Ctx): Expr {
  const parts: Expr[] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (value === undefined) continue;
    if (key === 'and' || key === 'or') {
      const list = (value as Filter[]).map((f) => filterExpr(f, qualifier, ctx));
      if (list.length === 0) parts.push(key === 'and' ? TRUE : FALSE);
      else parts.push(list.reduce((acc, p) => bin(key === 'and' ? 'AND' : 'OR', acc, p)));
    } else {
      parts.push(columnCondition(col(key, qualifier), value as FilterValue | FilterOps, ctx));
    }
  }
  if (parts.length === 0) return TRUE;
  return and(parts);
}
