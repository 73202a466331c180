/**
 * Value growth and short arguments (value-growth.ts, function-costs.ts) for expressions of our
 * tree (ir.ts), computed once an expression's children are walked and rewritten.
 */
import { refuse, type Ctx } from './context.js';
import { costOf, functionGrowth, requireShort, type ArgInfo, type ShortValue } from './function-costs.js';
import type { Expr } from './ir.js';
import { refGrowth } from './scope.js';
import { ATOM, LITERAL, max, sum, type Growth } from './value-growth.js';

export function growthOf(ctx: Ctx, node: object): Growth {
  return ctx.growth.get(node) ?? ATOM;
}

/** Functions whose result is no longer than their arguments together: they keep an argument short. */
const SHORT_PRESERVING = new Set(['concat', 'lower', 'upper', 'lcase', 'ucase']);

function combine(parts: (ShortValue | null)[]): ShortValue | null {
  if (parts.some((p) => p === null)) return null;
  return { fixed: parts.reduce((n, p) => n + p!.fixed, 0), params: parts.flatMap((p) => p!.params) };
}

/** Literals and client parameters only (a concatenation of them, a cast of one): how long it may be. */
function shortOf(e: Expr, ctx: Ctx): ShortValue | null {
  switch (e.k) {
    case 'str':
    case 'num':
      return { fixed: e.v.length, params: [] };
    case 'null':
      return { fixed: 0, params: [] };
    case 'bool':
      return { fixed: 5, params: [] };
    case 'param':
      // c<i>: the client's i-th `?`; gateway params never stand in a client's function call.
      return e.name.startsWith('c') ? { fixed: 0, params: [Number(e.name.slice(1)) - 1] } : null;
    case 'cast':
      return ctx.spec.paddedCasts.has(castType(e.type)) ? null : shortOf(e.e, ctx);
    case 'fn':
      return SHORT_PRESERVING.has(e.name) && !e.over ? combine(e.args.map((a) => shortOf(a, ctx))) : null;
    case 'bin':
      return e.op === '||' ? combine([shortOf(e.l, ctx), shortOf(e.r, ctx)]) : null;
    default:
      return null;
  }
}

function argInfo(e: Expr, ctx: Ctx): ArgInfo {
  return { growth: growthOf(ctx, e), short: shortOf(e, ctx), ...(e.k === 'str' && { literal: e.v }) };
}

function castType(type: string): string {
  return type.split('(')[0]!;
}

/** Operators whose result is a boolean, whatever their operands. */
const BOOLEAN_OPS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=', 'AND', 'OR', 'LIKE', 'NOT LIKE', 'IN', 'NOT IN', 'BETWEEN', 'NOT BETWEEN', 'IS', 'IS NOT', 'NOT']);

/** How large the value of `e` may be, its children already walked; refuses what its costs forbid. */
export function exprGrowth(e: Expr, ctx: Ctx): Growth {
  switch (e.k) {
    case 'col':
      return refGrowth(ctx.scope, e.table === undefined ? (e.name === '*' ? [] : [e.name]) : e.name === '*' ? [e.table] : [e.table, e.name], e.name === '*');
    case 'str':
    case 'num':
    case 'null':
    case 'bool':
      return LITERAL;
    case 'bin':
      if (e.op === 'LIKE' || e.op === 'NOT LIKE') requireShort(argInfo(e.r, ctx), 'The pattern of LIKE', ctx);
      if (BOOLEAN_OPS.has(e.op)) return ATOM;
      // JSON access: part of the document. + - / %: about as long as the longer operand; *: digits
      // add up; || (SQLite): the operands' lengths add up.
      if (e.op === '->' || e.op === '->>') return growthOf(ctx, e.l);
      return e.op === '*' || e.op === '||' ? sum([growthOf(ctx, e.l), growthOf(ctx, e.r)]) : max([growthOf(ctx, e.l), growthOf(ctx, e.r)]);
    case 'un':
      return e.op === 'NOT' ? ATOM : growthOf(ctx, e.e);
    case 'list':
      // IN (…) and BETWEEN lists: separate values, never one.
      return max(e.items.map((i) => growthOf(ctx, i)));
    case 'fn': {
      if (e.name === 'values' && ctx.spec.valuesFunction) return ATOM;
      const args = e.args.map((a) => (a.k === 'star' ? { growth: ATOM, short: null } : argInfo(a, ctx)));
      return functionGrowth(e.name, costOf(ctx.spec.costs, e.name), args, ctx);
    }
    case 'case':
      return max([...e.whens.map((w) => growthOf(ctx, w.result)), ...(e.else ? [growthOf(ctx, e.else)] : [])]);
    case 'cast': {
      if (!ctx.spec.paddedCasts.has(castType(e.type))) return growthOf(ctx, e.e);
      const length = Number(/\((\d+)/.exec(e.type)?.[1] ?? 1);
      if (length > ctx.limits.maxPadLength) refuse('VALUE_GROWTH_EXCEEDED', `CAST(… AS ${e.type}) pads to more than limits.maxPadLength (${ctx.limits.maxPadLength}) bytes`);
      return max([growthOf(ctx, e.e), ATOM]);
    }
    case 'sub':
      return growthOf(ctx, e.q);
    default:
      return ATOM;
  }
}
