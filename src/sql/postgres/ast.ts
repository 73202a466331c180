/**
 * Minimal typing and builders for libpg-query's JSON AST. A node is `{ TypeName: body }`; fields
 * declared with a concrete struct type in Postgres (e.g. InsertStmt.relation) appear unwrapped.
 */
export type Body = Record<string, unknown>;
export type Node = Record<string, Body>;

export function nodeType(node: unknown): string | null {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return null;
  const keys = Object.keys(node);
  return keys.length === 1 ? keys[0]! : null;
}

export function bodyOf(node: Node): Body {
  return Object.values(node)[0]!;
}

export const str = (sval: string): Node => ({ String: { sval } });

export function columnRef(...names: string[]): Node {
  return { ColumnRef: { fields: names.map(str) } };
}

export function paramRef(number: number): Node {
  return { ParamRef: { number } };
}

export function typeCast(arg: Node, typeName: unknown): Node {
  return { TypeCast: { arg, typeName } };
}

export function op(symbol: string, lexpr: Node, rexpr: Node, kind = 'AEXPR_OP'): Node {
  return { A_Expr: { kind, name: [str(symbol)], lexpr, rexpr } };
}

export function boolExpr(boolop: 'AND_EXPR' | 'OR_EXPR' | 'NOT_EXPR', args: Node[]): Node {
  return { BoolExpr: { boolop, args } };
}

export function nullTest(arg: Node, isNull: boolean): Node {
  return { NullTest: { arg, nulltesttype: isNull ? 'IS_NULL' : 'IS_NOT_NULL' } };
}

/** ANDs the parts, splicing in the arguments of parts that are ANDs themselves (as the parser does). */
export function and(parts: Node[]): Node {
  const flat = parts.flatMap((p) => {
    const b = p.BoolExpr as Body | undefined;
    return b?.boolop === 'AND_EXPR' ? (b.args as Node[]) : [p];
  });
  if (flat.length === 1) return flat[0]!;
  return boolExpr('AND_EXPR', flat);
}

/** `inh` false is ONLY, which the parser writes as an absent field (so must we, for the re-parse check). */
export function rangeVar(schema: string, relname: string, alias?: string, inh = true): Body {
  return { schemaname: schema, relname, ...(inh && { inh }), relpersistence: 'p', ...(alias !== undefined && { alias: { aliasname: alias } }) };
}

export function resTarget(val: Node, name?: string): Node {
  return { ResTarget: { ...(name !== undefined && { name }), val } };
}

export function star(...qualifier: string[]): Node {
  return { ColumnRef: { fields: [...qualifier.map(str), { A_Star: {} }] } };
}

const POSITION_KEYS = new Set(['location', 'stmt_len', 'stmt_location', 'list_start', 'list_end', 'rexpr_list_start', 'rexpr_list_end']);

/**
 * `a AND (b AND c)` and `a AND b AND c` mean the same (AND and OR are associative, also with NULLs),
 * and the deparser does not always keep such parentheses: compare them flattened.
 */
function flattenBool(b: Body): Body {
  const op = b.boolop;
  if (op !== 'AND_EXPR' && op !== 'OR_EXPR') return b;
  const args = (b.args as Node[]).flatMap((a) => {
    const inner = a.BoolExpr as Body | undefined;
    return inner?.boolop === op ? (flattenBool(inner).args as Node[]) : [a];
  });
  return { ...b, args };
}

/** Canonical form for comparing two ASTs by meaning: no source positions, keys sorted. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const src = value as Record<string, unknown>;
  const body = 'BoolExpr' in src && src.BoolExpr !== null && typeof src.BoolExpr === 'object' ? { ...src, BoolExpr: flattenBool(src.BoolExpr as Body) } : src;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(body).sort()) {
    if (POSITION_KEYS.has(k)) continue;
    out[k] = canonical(body[k]);
  }
  return out;
}
