/**
 * Value growth and short arguments (common/value-growth.ts, common/function-costs.ts) for
 * libpg-query's expression nodes: calls, casts and operators, and the two functions whose
 * arguments' roles depend on the call (format, ts_headline).
 */
import { costOf, functionGrowth, refuseNeverAllowed, requireShort, SUM, type ArgInfo, type FunctionCost, type ShortValue } from '../common/function-costs.js';
import { ATOM, LITERAL, max, sum, times, type Growth } from '../common/value-growth.js';
import { nodeType, type Body, type Node } from './ast.js';
import { refuse, type Ctx } from './context.js';
import { PG_FUNCTION_COSTS } from './function-costs.js';

export function growthOf(ctx: Ctx, node: unknown): Growth {
  return (node !== null && typeof node === 'object' && ctx.growth.get(node)) || ATOM;
}

function lastName(list: unknown): string {
  const parts = (list as Node[] | undefined) ?? [];
  return ((parts[parts.length - 1]?.String?.sval as string | undefined) ?? '').toLowerCase();
}

/** The text of a constant as Postgres reads it (empty values are omitted fields in the JSON). */
function constText(b: Body): string {
  if (b.sval !== undefined) return ((b.sval as Body).sval as string | undefined) ?? '';
  if (b.ival !== undefined) return String((b.ival as Body).ival ?? 0);
  if (b.fval !== undefined) return String((b.fval as Body).fval ?? '');
  if (b.bsval !== undefined) return String((b.bsval as Body).bsval ?? '');
  if (b.boolval !== undefined) return (b.boolval as Body).boolval === true ? 'true' : 'false';
  return '';
}

/** A string literal's value (possibly cast), else undefined. */
export function literalOf(node: unknown): string | undefined {
  const type = nodeType(node);
  const b = type ? (node as Node)[type]! : undefined;
  if (type === 'A_Const' && b!.sval !== undefined) return constText(b!);
  if (type === 'TypeCast') return literalOf(b!.arg);
  return undefined;
}

/** Functions whose result is no longer than their arguments together: they keep an argument short. */
const SHORT_PRESERVING = new Set(['concat', 'lower', 'upper', 'like_escape', 'similar_to_escape']);
/** Functions (and CURRENT_DATE & co.) whose result is a timestamp, a date or a uuid: short whatever their arguments. */
const TINY_FUNCTIONS = new Set(['now', 'clock_timestamp', 'statement_timestamp', 'transaction_timestamp', 'date_trunc', 'make_date', 'make_timestamp', 'make_timestamptz', 'to_date', 'to_timestamp', 'gen_random_uuid']);
const TINY_RESULT = 40;

function combine(parts: (ShortValue | null)[]): ShortValue | null {
  if (parts.some((p) => p === null)) return null;
  return { fixed: parts.reduce((n, p) => n + p!.fixed, 0), params: parts.flatMap((p) => p!.params) };
}

/** Literals and client parameters only (a concatenation of them, a cast of one): how long it may be. */
export function shortOf(node: unknown): ShortValue | null {
  const type = nodeType(node);
  if (!type) return null;
  const b = (node as Node)[type]!;
  switch (type) {
    case 'A_Const':
      return { fixed: constText(b).length, params: [] };
    case 'ParamRef':
      return { fixed: 0, params: [(b.number as number) - 1] };
    case 'TypeCast':
      return PADDED_TYPES.has(lastName((b.typeName as Body).names)) ? null : shortOf(b.arg);
    case 'CollateClause':
      return shortOf(b.arg);
    case 'A_ArrayExpr':
      // ARRAY['a', $1]: the elements, each quoted and separated in the array's text.
      return combine(((b.elements as Node[] | undefined) ?? []).flatMap((e) => [shortOf(e), { fixed: 3, params: [] }]));
    case 'SQLValueFunction':
      return { fixed: TINY_RESULT, params: [] };
    case 'A_Expr':
      return b.kind === 'AEXPR_OP' && lastName(b.name) === '||' && b.lexpr !== undefined ? combine([shortOf(b.lexpr), shortOf(b.rexpr)]) : null;
    case 'FuncCall': {
      const name = lastName(b.funcname);
      if (TINY_FUNCTIONS.has(name)) return { fixed: TINY_RESULT, params: [] };
      return SHORT_PRESERVING.has(name) ? combine(((b.args as Node[] | undefined) ?? []).map(shortOf)) : null;
    }
    default:
      return null;
  }
}

function argInfo(ctx: Ctx, node: Node): ArgInfo {
  const literal = literalOf(node);
  return { growth: growthOf(ctx, node), short: shortOf(node), ...(literal !== undefined && { literal }) };
}

/** Types a cast pads with blanks or zero bits up to its length. */
const PADDED_TYPES = new Set(['bpchar', 'char', 'character', 'bit']);

export function castGrowth(body: Body, ctx: Ctx): Growth {
  const t = body.typeName as Body;
  if (!PADDED_TYPES.has(lastName(t.names))) return growthOf(ctx, body.arg);
  const limit = ctx.opts.limits.maxPadLength;
  for (const m of (t.typmods as Node[] | undefined) ?? []) {
    const n = Number(constText(m.A_Const ?? {}));
    if (!(n <= limit)) refuse('VALUE_GROWTH_EXCEEDED', `A cast to ${lastName(t.names)}(${constText(m.A_Const ?? {})}) pads to more than limits.maxPadLength (${limit}) characters`);
  }
  return max([growthOf(ctx, body.arg), ATOM]);
}

/** Operators whose result is a boolean, whatever their operands. */
const BOOLEAN_OPS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=', '@>', '<@', '?', '?|', '?&', '&&', '@@', '@?', '-|-', '&<', '&>']);
/** LIKE and regular-expression matching: the right operand is a pattern. */
const PATTERN_OPS = new Set(['~~', '!~~', '~~*', '!~~*', '~', '~*', '!~', '!~*']);
const PATTERN_KINDS = new Set(['AEXPR_LIKE', 'AEXPR_ILIKE', 'AEXPR_SIMILAR']);
const ARITHMETIC = new Set(['+', '-', '/', '%']);
/**
 * Array and jsonb containment and overlap compare every element of one operand with every element
 * of the other, never checking for a cancel (50 000 elements each: array @> 25 s, jsonb @> 133 s,
 * ?| 47 s, ?& 37 s, jsonb - text[] 13 s past a 1 s statement_timeout): one operand must be short.
 */
const ELEMENTWISE_OPS = new Set(['@>', '<@', '&&', '?|', '?&']);

/** An array written as such: ARRAY[…], ARRAY(subquery), or a cast to an array type. */
function arraySyntax(node: unknown): boolean {
  const type = nodeType(node);
  if (type === 'A_ArrayExpr') return true;
  if (type === 'SubLink') return (node as Node).SubLink!.subLinkType === 'ARRAY_SUBLINK';
  return type === 'TypeCast' && ((node as Node).TypeCast!.typeName as Body).arrayBounds !== undefined;
}

function requireOneShort(ctx: Ctx, left: Node, right: Node, op: string): void {
  const l = argInfo(ctx, left);
  const r = argInfo(ctx, right);
  if (r.short === null && l.short !== null) requireShort(l, `The left operand of ${op}`, ctx);
  else requireShort(r, `One operand of ${op}`, ctx);
}

export function operatorGrowth(body: Body, ctx: Ctx): Growth {
  const kind = body.kind as string;
  const op = lastName(body.name);
  const binary = body.lexpr !== undefined;
  if (PATTERN_KINDS.has(kind) || (kind === 'AEXPR_OP' && binary && PATTERN_OPS.has(op))) {
    requireShort(argInfo(ctx, body.rexpr as Node), 'The pattern', ctx);
    return ATOM;
  }
  if ((kind === 'AEXPR_OP_ANY' || kind === 'AEXPR_OP_ALL') && PATTERN_OPS.has(op)) {
    // x LIKE ANY (ARRAY['a%', $1]): each element is a pattern of its own.
    const array = (body.rexpr as Node).A_ArrayExpr;
    if (!array) refuse('ARGUMENT_TOO_LONG', 'The patterns of LIKE/regex ANY/ALL must be written as ARRAY[…] of literals and parameters');
    for (const e of (array.elements as Node[] | undefined) ?? []) requireShort(argInfo(ctx, e), 'A pattern', ctx);
    return ATOM;
  }
  if (binary && (kind === 'AEXPR_OP' || kind === 'AEXPR_OP_ANY' || kind === 'AEXPR_OP_ALL')) {
    if (ELEMENTWISE_OPS.has(op) || (op === '-' && arraySyntax(body.rexpr))) requireOneShort(ctx, body.lexpr as Node, body.rexpr as Node, op);
  }
  if (kind === 'AEXPR_NULLIF') return growthOf(ctx, body.lexpr);
  if (kind !== 'AEXPR_OP' || BOOLEAN_OPS.has(op)) return ATOM;
  const operands = [...(binary ? [growthOf(ctx, body.lexpr)] : []), growthOf(ctx, body.rexpr)];
  // + - / %: a number about as long as the longer operand. Concatenation, * (numeric digits add
  // up), JSON access and the rest: at most the operands together.
  return ARITHMETIC.has(op) ? max(operands) : sum(operands);
}

/** ts_headline(…, options): StartSel/StopSel wrap every match, so a long options text multiplies the document. */
function tsHeadlineCost(args: Node[]): FunctionCost {
  if (args.length < 3) return SUM;
  const last = args[args.length - 1]!;
  const tsquery =
    (nodeType(last) === 'FuncCall' && /^(to|plainto|phraseto|websearch_to)_tsquery$/.test(lastName(last.FuncCall!.funcname))) ||
    (nodeType(last) === 'TypeCast' && lastName((last.TypeCast!.typeName as Body).names) === 'tsquery');
  // Three arguments are (config, document, query) or (document, query, options).
  if (args.length === 3 && tsquery) return SUM;
  return { growth: { scaled: [args.length - 1] } };
}

/** %[position$][-][width|*[n$]](s|I|L), or %%. */
const FORMAT_SPEC = /%(?:%|(?:(\d+)\$)?-?(\*(?:\d+\$)?|\d+)?([sIL]))/g;

/** format(): a literal format string, widths ≤ maxPadLength, each %s copying its argument (%I/%L quoting it). */
function formatGrowth(body: Body, args: Node[], ctx: Ctx): Growth {
  const fmt = literalOf(args[0]);
  if (body.func_variadic === true || fmt === undefined) {
    refuse('FUNCTION_NOT_ALLOWED', 'format() needs a literal format string and its arguments listed one by one: a format or a width taken from a value could pad to any size');
  }
  const parts: Growth[] = [LITERAL];
  let next = 1;
  let consumed = 0;
  for (const m of fmt.matchAll(FORMAT_SPEC)) {
    consumed += (m[0].match(/%/g) ?? []).length;
    if (m[0] === '%%') continue;
    const [, position, width, type] = m;
    if (width?.startsWith('*')) refuse('FUNCTION_NOT_ALLOWED', 'format() with a width taken from an argument (*) is not allowed');
    if (width !== undefined) {
      if (Number(width) > ctx.opts.limits.maxPadLength) refuse('VALUE_GROWTH_EXCEEDED', `format() pads to ${width} characters, more than limits.maxPadLength (${ctx.opts.limits.maxPadLength})`);
      parts.push(ATOM);
    }
    const index = position !== undefined ? Number(position) : next;
    next = index + 1;
    const arg = args[index];
    if (arg) parts.push(times(growthOf(ctx, arg), type === 's' ? 1 : 2));
  }
  if (consumed !== (fmt.match(/%/g) ?? []).length) refuse('FUNCTION_NOT_ALLOWED', 'format() has a specifier the gateway does not understand');
  return sum(parts);
}

/** Functions whose arguments' roles are positional: named arguments could move a pattern out of its place. */
function positional(cost: FunctionCost): boolean {
  return (cost.short?.length ?? 0) > 0 || (typeof cost.growth === 'object' && !('times' in cost.growth));
}

/** Refuse a function that is never allowed, whatever sql.allowFunctions says, with the reason. */
export function refuseAmplifier(funcname: unknown): void {
  refuseNeverAllowed(PG_FUNCTION_COSTS, lastName(funcname));
}

export function callGrowth(body: Body, ctx: Ctx): Growth {
  const name = lastName(body.funcname);
  const args = (body.args as Node[] | undefined) ?? [];
  if (name === 'format') return formatGrowth(body, args, ctx);
  let cost = name === 'ts_headline' ? tsHeadlineCost(args) : costOf(PG_FUNCTION_COSTS, name);
  if (positional(cost) && args.some((a) => nodeType(a) === 'NamedArgExpr')) {
    refuse('CONSTRUCT_NOT_ALLOWED', `${name}() does not take named arguments through the gateway`);
  }
  // concat_ws(sep, VARIADIC array): the separator repeats once per element.
  if (body.func_variadic === true && typeof cost.growth === 'object' && 'separator' in cost.growth) cost = { growth: { scaled: [cost.growth.separator] } };
  return functionGrowth(name, cost, args.map((a) => argInfo(ctx, a)), ctx);
}
