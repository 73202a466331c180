/**
 * Expressions: one function per node type, in a table the compiler requires to name every node
 * type of the parser (node-types.ts); a type not listed here keeps the refusing default.
 */
import type { FullTransformMap, Node } from 'sql-parser-cst';
import { SluiceError } from '../../errors.js';
import { DISTINCT_AGGREGATES } from '../common/aggregate-distinct.js';
import { DEFAULT_MARKER } from '../common/placeholders.js';
import type { Expr, Window } from '../common/ir.js';
import { loadCst } from './load.js';
import { checkName, ident } from './names.js';
import { refuseAll } from './node-types.js';
import { keywords, refuse, refuseNode } from './refuse.js';
import type { Walk } from './walk.js';

const NUMBER = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

const BINARY_OPS = new Set([
  '=', '<>', '!=', '<', '>', '<=', '>=', '+', '-', '*', '/', '%', 'AND', 'OR', 'LIKE', 'NOT LIKE', 'IS', 'IS NOT', '->', '->>',
]);

/** Aggregates that may take DISTINCT. */
const DISTINCT_OK = new Set([...DISTINCT_AGGREGATES, 'count', 'group_concat']);

function significantDigits(text: string): number {
  return text.split(/[eE]/)[0]!.replace('.', '').replace(/^0+/, '').length;
}

function isQuery(node: Node): boolean {
  return node.type === 'select_stmt' || node.type === 'compound_select_stmt';
}

/** `'…'` (and, where strings may be double-quoted, `"…"`): decoded from the text, never copied. */
function stringValue(text: string, doubleQuotedIsIdentifier: boolean): string {
  const quote = text[0];
  if (quote !== "'" && (quote !== '"' || doubleQuotedIsIdentifier)) refuse('Unexpected string literal');
  if (text.length < 2 || text[text.length - 1] !== quote) refuse('Unexpected string literal');
  if (text.includes('\\')) refuse('Backslashes in string literals are not allowed; pass the value as a parameter');
  return text.slice(1, -1).replaceAll(quote + quote, quote);
}

export function expressionTable(w: Walk): FullTransformMap<Expr> {
  const window = (node: Node): Window => {
    if (node.type !== 'over_arg' || node.window.type !== 'paren_expr') refuse('Named windows are not allowed');
    const def = node.window.expr;
    if (def.baseWindowName || def.frame) refuse('Window frames and named windows are not allowed');
    return {
      partitionBy: def.partitionBy ? def.partitionBy.specifications.items.map((e) => w.expr(e)) : [],
      orderBy: def.orderBy ? w.orderBy(def.orderBy) : [],
    };
  };

  return {
    ...refuseAll<Expr>(refuseNode),

    identifier: (node) => ({ k: 'col', name: checkName(node.name) }),

    member_expr: (node) => {
      if (node.object.type !== 'identifier') refuse('Schema-qualified column references are not allowed');
      const table = ident(node.object);
      if (node.property.type === 'all_columns') return { k: 'col', table, name: '*' };
      return { k: 'col', table, name: ident(node.property) };
    },

    number_literal: (node) => {
      if (!NUMBER.test(node.text)) refuse('Unexpected number');
      // Beyond 15 significant digits a decimal is rounded differently by each database: a
      // parameter says what it means. (Integers are exact; MySQL's fence is LIMIT 2^64-1.)
      if (!/^\d+$/.test(node.text) && significantDigits(node.text) > 15) refuse('Numeric literal too long; pass it as a parameter');
      return { k: 'num', v: node.text };
    },

    string_literal: (node) => ({ k: 'str', v: stringValue(node.text, w.opts.doubleQuotedIsIdentifier) }),
    null_literal: () => ({ k: 'null' }),
    boolean_literal: (node) => ({ k: 'bool', v: node.value }),

    parameter: (node) => {
      const name = node.text.slice(1);
      if (!node.text.startsWith(':')) refuse('Unexpected parameter');
      if (name === DEFAULT_MARKER) return { k: 'default' };
      if (!(w.gatewayParams ? /^[cg][1-9]\d*$/ : /^c[1-9]\d*$/).test(name)) refuse('Unexpected parameter');
      return { k: 'param', name };
    },

    paren_expr: (node) => {
      if (isQuery(node.expr)) return { k: 'sub', q: w.query(node.expr) };
      if (node.expr.type === 'list_expr') refuse('Row values are not allowed');
      return w.expr(node.expr);
    },

    binary_expr: (node) => {
      const op = keywords(node.operator as string | { name: string } | { name: string }[]);
      if (op === 'IN' || op === 'NOT IN') {
        const l = w.expr(node.left);
        const right = node.right;
        if (right.type !== 'paren_expr') refuse(`Unexpected ${op}`);
        if (isQuery(right.expr)) return { k: 'bin', op, l, r: { k: 'sub', q: w.query(right.expr) } };
        const items = right.expr.type === 'list_expr' ? right.expr.items : [right.expr];
        if (items.length === 0) refuse('Empty IN list');
        return { k: 'bin', op, l, r: { k: 'list', items: items.map((i) => w.expr(i)) } };
      }
      if (!BINARY_OPS.has(op) && !(op === '||' && w.opts.concatOperator)) throw new SluiceError('FUNCTION_NOT_ALLOWED', `Operator ${op} is not allowed`);
      return { k: 'bin', op, l: w.expr(node.left), r: w.expr(node.right) };
    },

    between_expr: (node) => {
      const op = keywords(node.betweenKw);
      if (op !== 'BETWEEN' && op !== 'NOT BETWEEN') refuse(`${op} is not allowed`);
      return { k: 'bin', op, l: w.expr(node.left), r: { k: 'list', items: [w.expr(node.begin), w.expr(node.end)] } };
    },

    prefix_op_expr: (node) => {
      const op = keywords(node.operator as string | { name: string });
      if (op === 'EXISTS') {
        if (node.expr.type !== 'paren_expr' || !isQuery(node.expr.expr)) refuse('Unexpected EXISTS');
        return { k: 'exists', q: w.query(node.expr.expr), not: false };
      }
      if (op === 'NOT' && node.expr.type === 'prefix_op_expr' && keywords(node.expr.operator as string | { name: string }) === 'EXISTS') {
        const inner = w.expr(node.expr);
        return { ...(inner as Expr & { k: 'exists' }), not: true };
      }
      // A negative number is one literal (the fenced LIMIT -1 must read back as what it was).
      if (op === '-' && node.expr.type === 'number_literal') {
        const n = w.expr(node.expr);
        // SQLite reads 9223372036854775808 as a REAL but -9223372036854775808 as an integer.
        if (n.k === 'num' && significantDigits(n.v) > 15) refuse('Numeric literal too long; pass it as a parameter');
        if (n.k === 'num') return { k: 'num', v: `-${n.v}` };
      }
      if (op !== '-' && op !== '+' && op !== 'NOT') throw new SluiceError('FUNCTION_NOT_ALLOWED', `Operator ${op} is not allowed`);
      return { k: 'un', op, e: w.expr(node.expr) };
    },

    func_call: (node) => {
      if (node.name.type !== 'identifier') throw new SluiceError('FUNCTION_NOT_ALLOWED', 'Qualified function names are not allowed');
      const name = node.name.name.toLowerCase();
      if (node.filter) refuse('FILTER is not allowed');
      // CURRENT_TIMESTAMP and friends, written without parentheses.
      if (!node.args) {
        if (node.over) refuse('Unexpected function call');
        return { k: 'fn', name, args: [], bare: true };
      }
      const a = node.args.expr;
      if (a.nullHandlingKw || a.limit || a.having) refuse('Unexpected function arguments');
      const items = a.args.items;
      const args: Expr[] = items.map((item) => {
        if (item.type === 'all_columns') {
          if (name !== 'count' || items.length !== 1) refuse('Unexpected *');
          return { k: 'star' };
        }
        return w.expr(item);
      });
      const out: Expr & { k: 'fn' } = { k: 'fn', name, args };
      if (a.distinctKw) {
        if (!DISTINCT_OK.has(name)) refuse('Unexpected DISTINCT');
        out.distinct = true;
      }
      if (a.orderBy) out.orderBy = w.orderBy(a.orderBy);
      if (node.over) out.over = window(node.over);
      return out;
    },

    cast_expr: (node) => {
      if (keywords(node.castKw) !== 'CAST') refuse('Only CAST(x AS type) is allowed');
      const arg = node.args.expr;
      if (arg.format) refuse('Only CAST(x AS type) is allowed');
      let dataType = arg.dataType;
      let dims: string[] = [];
      if (dataType.type === 'modified_data_type') {
        const mods = dataType.modifiers;
        if (mods?.type !== 'paren_expr') refuse('Unexpected type');
        dims = mods.expr.items.map((d) => {
          if (d.type !== 'number_literal' || !/^\d{1,5}$/.test(d.text) || Number(d.text) > 65535) refuse('Unexpected type size');
          return d.text;
        });
        dataType = dataType.dataType;
      }
      if (dataType.type !== 'data_type_name') refuse('Unexpected type');
      const type = keywords(dataType.name);
      if (!w.opts.castTypes.has(type)) throw new SluiceError('TYPE_NOT_ALLOWED', `CAST to ${type} is not allowed`);
      return { k: 'cast', e: w.expr(arg.expr), type: dims.length > 0 ? `${type}(${dims.join(',')})` : type };
    },

    case_expr: (node) => {
      if (node.expr) refuse('CASE with an operand is not allowed; write CASE WHEN x = … THEN');
      const out: Expr & { k: 'case' } = { k: 'case', whens: [] };
      for (const c of node.clauses) {
        if (c.type === 'case_when') {
          if (out.else !== undefined) refuse('Unexpected CASE');
          out.whens.push({ cond: w.expr(c.condition), result: w.expr(c.result) });
        } else out.else = w.expr(c.result);
      }
      if (out.whens.length === 0) refuse('Unexpected CASE');
      return out;
    },
  };
}

export function expressionWalker(w: Walk): (node: Node) => Expr {
  return loadCst().cstTransformer(expressionTable(w));
}
