/**
 * node-sql-parser's AST → our closed tree (ir.ts): MySQL/MariaDB, and SQLite by default (the opt-in
 * sql-parser-cst path is src/sql/cst/). Conversion is keyed by node type; a type, a key
 * or a value this file does not know is refused, so a construct the parser understands but we did
 * not plan for can never slip through. The same conversion reads the re-parsed output of our
 * emitter for the faithfulness check, so it must be deterministic and lossless for what it accepts.
 */
import { SluiceError } from '../../errors.js';
import type { Cte, Delete, Expr, FromItem, Insert, JoinKind, OnConflict, OrderItem, Select, SelectColumn, SetItem, Statement, TableRef, Update, Window } from './ir.js';
import { DISTINCT_AGGREGATES, DISTINCT_PREFIX } from './aggregate-distinct.js';
import { DEFAULT_MARKER } from './placeholders.js';

type Raw = Record<string, unknown>;

export interface ConvertOptions {
  /** SQLite: "x" is an identifier (node-sql-parser reads it as a string). MySQL: a string. */
  doubleQuotedIsIdentifier: boolean;
  /** Table-valued functions allowed in FROM (SQLite: json_each). */
  tableFunctions: ReadonlySet<string>;
  /** Cast target types, upper case. */
  castTypes: ReadonlySet<string>;
  /** RETURNING on INSERT/UPDATE/DELETE. */
  returning: ReadonlySet<'insert' | 'update' | 'delete'>;
  /** SQLite: `||` concatenates (MySQL: it is OR). Read by the sql-parser-cst walker only (node-sql-parser: refused). */
  concatOperator: boolean;
  /** SQLite: INSERT … ON CONFLICT (node-sql-parser: split off first, nsp-reader.ts). */
  upsertClause: boolean;
}

function refuse(message: string): never {
  throw new SluiceError('CONSTRUCT_NOT_ALLOWED', message);
}

function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined || v === false) return true;
  if (Array.isArray(v)) return v.every(isEmpty);
  if (typeof v === 'object') return Object.values(v as Raw).every(isEmpty);
  return false;
}

/** Every key outside `known` must be empty: unknown syntax is refused. */
function only(node: Raw, what: string, known: readonly string[]): void {
  for (const [key, value] of Object.entries(node)) {
    if (!known.includes(key) && !isEmpty(value)) refuse(`${what}: "${key}" is not supported by the gateway`);
  }
}

function obj(v: unknown, what: string): Raw {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) refuse(`Unexpected ${what}`);
  return v as Raw;
}

function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) refuse(`Unexpected ${what}`);
  return v;
}

function checkName(name: string): string {
  if (name.length === 0 || name.length > 128 || /[\u0000\\]/.test(name)) refuse('Invalid identifier');
  return name;
}

/** An identifier: a plain string or a quoted-string node the parser uses for quoted names. */
export function ident(v: unknown): string {
  if (typeof v === 'string') return checkName(v);
  const o = obj(v, 'identifier');
  only(o, 'identifier', ['type', 'value']);
  if (typeof o.value !== 'string' || !['default', 'backticks_quote_string', 'double_quote_string'].includes(o.type as string)) refuse('Unexpected identifier');
  return checkName(o.value);
}

function decodeString(raw: unknown, quote: string): string {
  if (typeof raw !== 'string') refuse('Unexpected string literal');
  if (raw.includes('\\')) refuse('Backslashes in string literals are not allowed; pass the value as a parameter');
  return raw.replaceAll(quote + quote, quote);
}

const NUMBER = /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

const BINARY_OPS = new Set([
  '=', '<>', '!=', '<', '>', '<=', '>=', '+', '-', '*', '/', '%', 'AND', 'OR', 'LIKE', 'NOT LIKE', 'IN', 'NOT IN',
  'BETWEEN', 'NOT BETWEEN', 'IS', 'IS NOT', '->', '->>',
]);
const UNARY_OPS = new Set(['-', '+', 'NOT']);
/**
 * Words of join syntax that the parser takes for a table alias when it cannot read the join (its
 * SQLite grammar reads `a NATURAL JOIN b` as `a AS "natural" JOIN b`): refused as aliases, so the
 * statement we check and print is never another join than the client wrote.
 */
const JOIN_WORDS = new Set(['natural', 'left', 'right', 'full', 'inner', 'outer', 'cross', 'join', 'using', 'on']);

const JOINS: Record<string, JoinKind> = {
  'INNER JOIN': 'INNER JOIN',
  JOIN: 'INNER JOIN',
  'LEFT JOIN': 'LEFT JOIN',
  'LEFT OUTER JOIN': 'LEFT JOIN',
  'CROSS JOIN': 'CROSS JOIN',
};

export class Converter {
  /** `gatewayParams`: also accept `:g<n>` (reading our own output back). */
  constructor(
    private readonly opts: ConvertOptions,
    private readonly gatewayParams: boolean,
  ) {}

  statement(raw: unknown): Statement {
    const node = obj(raw, 'statement');
    switch (node.type) {
      case 'select':
        return this.select(node);
      case 'insert':
        return this.insert(node);
      case 'update':
        return this.update(node);
      case 'delete':
        return this.delete(node);
      default:
        throw new SluiceError('STATEMENT_NOT_ALLOWED', `${String(node.type).toUpperCase()} is not allowed; only SELECT, INSERT, UPDATE and DELETE are`);
    }
  }

  private subquery(node: Raw): Select {
    const inner = obj(node.ast, 'subquery');
    if (inner.type !== 'select') throw new SluiceError('STATEMENT_NOT_ALLOWED', 'Only SELECT is allowed in a subquery');
    return this.select(inner);
  }

  select(node: Raw): Select {
    only(node, 'SELECT', [
      'with', 'type', 'options', 'distinct', 'columns', 'into', 'from', 'where', 'groupby', 'having', 'orderby', 'limit',
      'locking_read', '_next', 'set_op', 'parentheses', 'tableList', 'columnList', 'ast',
    ]);
    if (node.type !== 'select') throw new SluiceError('STATEMENT_NOT_ALLOWED', 'Only SELECT is allowed here');
    if (!isEmpty(node.into)) refuse('SELECT … INTO is not allowed');
    if (!isEmpty(node.options)) refuse('SELECT options are not allowed');
    const out: Select = { k: 'select', distinct: false, columns: [], from: [] };
    if (!isEmpty(node.with)) out.with = this.with(arr(node.with, 'WITH'));
    if (node.distinct !== null && node.distinct !== undefined) {
      if (node.distinct !== 'DISTINCT') refuse('Unsupported DISTINCT form');
      out.distinct = true;
    }
    out.columns = this.columns(node.columns);
    if (!isEmpty(node.from)) out.from = arr(node.from, 'FROM').map((f) => this.fromItem(obj(f, 'FROM item')));
    if (!isEmpty(node.where)) out.where = this.expr(node.where);
    if (!isEmpty(node.groupby)) {
      const g = obj(node.groupby, 'GROUP BY');
      only(g, 'GROUP BY', ['columns', 'modifiers']);
      out.groupBy = arr(g.columns, 'GROUP BY').map((e) => this.expr(e));
    }
    if (!isEmpty(node.having)) out.having = this.expr(node.having);
    if (!isEmpty(node.orderby)) out.orderBy = this.orderBy(node.orderby);
    if (!isEmpty(node.limit)) Object.assign(out, this.limit(obj(node.limit, 'LIMIT')));
    if (node.locking_read !== null && node.locking_read !== undefined) {
      const lock = String(node.locking_read).toUpperCase();
      if (lock !== 'FOR UPDATE' && lock !== 'LOCK IN SHARE MODE') refuse(`${lock} is not allowed`);
      out.lock = lock;
    }
    if (!isEmpty(node._next)) {
      const op = String(node.set_op ?? '').toUpperCase();
      if (!['UNION', 'UNION ALL', 'UNION DISTINCT', 'INTERSECT', 'EXCEPT'].includes(op)) refuse(`Set operation ${op} is not allowed`);
      out.setOp = { op, next: this.select(obj(node._next, 'set operation')) };
    }
    return out;
  }

  private with(list: unknown[]): NonNullable<Select['with']> {
    let recursive = false;
    const ctes: Cte[] = list.map((c, i) => {
      const cte = obj(c, 'WITH item');
      only(cte, 'WITH', ['name', 'stmt', 'columns', 'recursive']);
      if (cte.recursive === true) {
        if (i !== 0) refuse('Unexpected RECURSIVE');
        recursive = true;
      }
      const out: Cte = { name: ident(cte.name), q: this.subquery(obj(cte.stmt, 'WITH query')) };
      if (!isEmpty(cte.columns)) out.columns = arr(cte.columns, 'WITH columns').map((x) => this.plainColumn(x));
      return out;
    });
    return { recursive, ctes };
  }

  /** A bare column name (CTE column list). */
  private plainColumn(x: unknown): string {
    const e = this.expr(x);
    if (e.k !== 'col' || e.table !== undefined || e.name === '*') refuse('Unexpected column name');
    return e.name;
  }

  columns(raw: unknown): SelectColumn[] {
    return arr(raw, 'select list').map((c) => {
      const item = obj(c, 'select list item');
      only(item, 'select list item', ['expr', 'as', 'type']);
      const out: SelectColumn = { e: this.expr(item.expr) };
      if (item.as !== null && item.as !== undefined) out.as = ident(item.as);
      return out;
    });
  }

  private orderBy(raw: unknown): OrderItem[] {
    return arr(raw, 'ORDER BY').map((o) => {
      const item = obj(o, 'ORDER BY item');
      only(item, 'ORDER BY', ['expr', 'type']);
      const out: OrderItem = { e: this.expr(item.expr) };
      if (item.type !== null && item.type !== undefined) {
        const dir = String(item.type).toUpperCase();
        if (dir !== 'ASC' && dir !== 'DESC') refuse('Unexpected ORDER BY direction');
        out.dir = dir;
      }
      return out;
    });
  }

  private limit(node: Raw): { limit?: Expr; offset?: Expr } {
    only(node, 'LIMIT', ['seperator', 'value']);
    const values = arr(node.value, 'LIMIT').map((v) => this.expr(v));
    const sep = node.seperator;
    if (values.length === 1 && (sep === '' || sep === undefined)) return { limit: values[0]! };
    if (values.length === 2 && sep === 'offset') return { limit: values[0]!, offset: values[1]! };
    if (values.length === 2 && sep === ',') return { offset: values[0]!, limit: values[1]! };
    return refuse('Unexpected LIMIT');
  }

  private fromItem(item: Raw): FromItem {
    only(item, 'FROM item', ['db', 'table', 'as', 'expr', 'prefix', 'join', 'on', 'using']);
    const base: Partial<FromItem> = {};
    if (item.as !== null && item.as !== undefined) base.as = ident(item.as);
    if (base.as !== undefined && JOIN_WORDS.has(base.as.toLowerCase())) refuse(`"${base.as}" is not allowed as an alias (NATURAL and other join forms are not supported)`);
    if (item.join !== null && item.join !== undefined) {
      const join = JOINS[String(item.join).toUpperCase()];
      if (!join) refuse(`${String(item.join)} is not allowed`);
      base.join = join;
    }
    if (!isEmpty(item.on)) base.on = this.expr(item.on);
    if (!isEmpty(item.using)) base.using = arr(item.using, 'USING').map((u) => ident(u));
    if (item.table !== null && item.table !== undefined) {
      if (!isEmpty(item.expr) || !isEmpty(item.prefix)) refuse('Unexpected FROM item');
      const out = { ...base, k: 'table', name: ident(item.table) } as FromItem & { k: 'table' };
      if (item.db !== null && item.db !== undefined) out.db = ident(item.db);
      return out;
    }
    const expr = obj(item.expr, 'FROM item');
    if (!isEmpty(item.db)) refuse('Unexpected FROM item');
    if (Object.hasOwn(expr, 'ast')) {
      const prefix = item.prefix === null || item.prefix === undefined ? '' : String(item.prefix).toLowerCase();
      if (prefix !== '' && prefix !== 'lateral') refuse(`${prefix} is not allowed`);
      return { ...base, k: 'derived', q: this.subquery(expr), lateral: prefix === 'lateral' } as FromItem;
    }
    if (expr.type === 'function') {
      const fn = this.expr(expr);
      if (fn.k !== 'fn' || !this.opts.tableFunctions.has(fn.name)) throw new SluiceError('FUNCTION_NOT_ALLOWED', 'This table function is not allowed');
      if (!isEmpty(item.prefix)) refuse('Unexpected FROM item');
      return { ...base, k: 'tablefn', fn } as FromItem;
    }
    return refuse('Nested joins and this kind of FROM item are not allowed');
  }

  private window(raw: unknown): Window {
    const w = obj(raw, 'OVER');
    only(w, 'OVER', ['type', 'as_window_specification']);
    if (w.type !== 'window') refuse('Unexpected OVER');
    const spec = obj(w.as_window_specification, 'OVER');
    only(spec, 'OVER', ['window_specification', 'parentheses']);
    const ws = obj(spec.window_specification, 'window');
    only(ws, 'window', ['partitionby', 'orderby', 'name']);
    if (!isEmpty(ws.name)) refuse('Named windows are not allowed');
    return {
      partitionBy: isEmpty(ws.partitionby) ? [] : arr(ws.partitionby, 'PARTITION BY').map((p) => this.expr(obj(p, 'PARTITION BY').expr)),
      orderBy: isEmpty(ws.orderby) ? [] : this.orderBy(ws.orderby),
    };
  }

  private functionCall(node: Raw): Expr {
    // `parentheses` is grouping only: we print every compound expression parenthesized anyway.
    only(node, 'function', ['type', 'name', 'args', 'over', 'args_parentheses', 'suffix', 'parentheses']);
    const name = obj(node.name, 'function name');
    only(name, 'function name', ['name', 'schema']);
    const parts = arr(name.name, 'function name');
    if (parts.length !== 1 || !isEmpty(name.schema)) throw new SluiceError('FUNCTION_NOT_ALLOWED', 'Qualified function names are not allowed');
    const part = obj(parts[0], 'function name');
    only(part, 'function name', ['type', 'value']);
    if (typeof part.value !== 'string') refuse('Unexpected function name');
    const fname = part.value.toLowerCase();
    if (node.args === undefined || node.args === null) {
      // CURRENT_TIMESTAMP and friends, written without parentheses.
      if (part.type !== 'origin' || !isEmpty(node.over)) refuse('Unexpected function call');
      return { k: 'fn', name: fname, args: [], bare: true };
    }
    const argsNode = obj(node.args, 'function arguments');
    only(argsNode, 'function arguments', ['type', 'value']);
    if (argsNode.type !== 'expr_list') refuse('Unexpected function arguments');
    const rawArgs = arr(argsNode.value, 'function arguments');
    if (fname === 'exists') {
      if (rawArgs.length !== 1 || !Object.hasOwn(obj(rawArgs[0], 'EXISTS'), 'ast')) refuse('Unexpected EXISTS');
      return { k: 'exists', q: this.subquery(obj(rawArgs[0], 'EXISTS')), not: false };
    }
    const out: Expr = { k: 'fn', name: fname, args: rawArgs.map((a) => this.expr(a)) };
    if (fname.startsWith(DISTINCT_PREFIX)) {
      // `sum(DISTINCT x)`, marked before parsing (aggregate-distinct.ts).
      out.name = fname.slice(DISTINCT_PREFIX.length);
      if (rawArgs.length !== 1 || !DISTINCT_AGGREGATES.has(out.name)) refuse('Unexpected DISTINCT aggregate');
      out.distinct = true;
    }
    if (!isEmpty(node.over)) out.over = this.window(node.over);
    return out;
  }

  private aggregate(node: Raw): Expr {
    only(node, 'aggregate', ['type', 'name', 'args', 'over', 'parentheses']);
    if (typeof node.name !== 'string') refuse('Unexpected aggregate');
    const args = obj(node.args, 'aggregate arguments');
    only(args, 'aggregate arguments', ['expr', 'distinct', 'orderby', 'separator']);
    const arg = obj(args.expr, 'aggregate argument');
    const out: Expr = { k: 'fn', name: node.name.toLowerCase(), args: [arg.type === 'star' ? { k: 'star' } : this.expr(arg)] };
    if (arg.type === 'star') only(arg, 'aggregate argument', ['type', 'value']);
    if (args.distinct !== null && args.distinct !== undefined) {
      if (args.distinct !== 'DISTINCT') refuse('Unexpected aggregate modifier');
      out.distinct = true;
    }
    if (!isEmpty(args.orderby)) out.orderBy = this.orderBy(args.orderby);
    if (!isEmpty(args.separator)) {
      const sep = obj(args.separator, 'SEPARATOR');
      only(sep, 'SEPARATOR', ['keyword', 'value']);
      const lit = this.expr(sep.value);
      if (lit.k !== 'str') refuse('SEPARATOR must be a string');
      out.separator = lit.v;
    }
    if (!isEmpty(node.over)) out.over = this.window(node.over);
    return out;
  }

  private cast(node: Raw): Expr {
    only(node, 'CAST', ['type', 'keyword', 'expr', 'symbol', 'target', 'parentheses']);
    if (String(node.keyword).toLowerCase() !== 'cast' || String(node.symbol).toLowerCase() !== 'as') refuse('Only CAST(x AS type) is allowed');
    const targets = arr(node.target, 'CAST');
    if (targets.length !== 1) refuse('Unexpected CAST');
    const t = obj(targets[0], 'CAST type');
    only(t, 'CAST type', ['dataType', 'length', 'scale', 'parentheses', 'suffix']);
    const dataType = String(t.dataType).toUpperCase();
    if (!this.opts.castTypes.has(dataType)) throw new SluiceError('TYPE_NOT_ALLOWED', `CAST to ${dataType} is not allowed`);
    const dims = [t.length, t.scale].filter((d) => d !== undefined && d !== null);
    if (!dims.every((d) => Number.isInteger(d) && (d as number) >= 0 && (d as number) <= 65535)) refuse('Unexpected type size');
    return { k: 'cast', e: this.expr(node.expr), type: dims.length > 0 ? `${dataType}(${dims.join(',')})` : dataType };
  }

  private caseExpr(node: Raw): Expr {
    only(node, 'CASE', ['type', 'args', 'parentheses']);
    const out: Expr & { k: 'case' } = { k: 'case', whens: [] };
    for (const a of arr(node.args, 'CASE')) {
      const arm = obj(a, 'CASE arm');
      if (arm.type === 'when') {
        only(arm, 'WHEN', ['type', 'cond', 'result']);
        out.whens.push({ cond: this.expr(arm.cond), result: this.expr(arm.result) });
      } else if (arm.type === 'else' && out.else === undefined) {
        only(arm, 'ELSE', ['type', 'result']);
        out.else = this.expr(arm.result);
      } else refuse('Unexpected CASE arm');
    }
    if (out.whens.length === 0) refuse('Unexpected CASE');
    return out;
  }

  private binary(node: Raw): Expr {
    only(node, 'operator', ['type', 'operator', 'left', 'right', 'parentheses']);
    const op = String(node.operator).toUpperCase();
    if (!BINARY_OPS.has(op)) throw new SluiceError('FUNCTION_NOT_ALLOWED', `Operator ${op} is not allowed`);
    const l = this.expr(node.left);
    const right = obj(node.right, 'operand');
    if (op === 'IN' || op === 'NOT IN' || op === 'BETWEEN' || op === 'NOT BETWEEN') {
      if (right.type !== 'expr_list') refuse(`Unexpected ${op}`);
      only(right, op, ['type', 'value', 'parentheses']);
      const values = arr(right.value, op);
      const single = values.length === 1 ? obj(values[0], op) : null;
      if (single && Object.hasOwn(single, 'ast') && op.endsWith('IN')) return { k: 'bin', op, l, r: { k: 'sub', q: this.subquery(single) } };
      const items = values.map((v) => this.expr(v));
      if (op.endsWith('BETWEEN') && items.length !== 2) refuse('Unexpected BETWEEN');
      if (items.length === 0) refuse('Empty IN list');
      return { k: 'bin', op, l, r: { k: 'list', items } };
    }
    return { k: 'bin', op, l, r: this.expr(right) };
  }

  expr(raw: unknown): Expr {
    const node = obj(raw, 'expression');
    if (Object.hasOwn(node, 'ast')) return { k: 'sub', q: this.subquery(node) };
    switch (node.type) {
      case 'column_ref': {
        only(node, 'column', ['type', 'table', 'column', 'collate', 'parentheses']);
        const column = typeof node.column === 'string' ? node.column : ident(obj(obj(node.column, 'column').expr, 'column'));
        const name = column === '*' ? '*' : checkName(column);
        return node.table === null || node.table === undefined ? { k: 'col', name } : { k: 'col', table: ident(node.table), name };
      }
      case 'number': {
        only(node, 'number', ['type', 'value', 'parentheses']);
        const v = String(node.value);
        if (!NUMBER.test(v)) refuse('Unexpected number');
        // The parser reads literals as JS numbers: beyond 15 significant digits the value we
        // would print may differ from what the client wrote.
        if (v.split(/[eE]/)[0]!.replace(/[-.]/g, '').replace(/^0+/, '').length > 15) refuse('Numeric literal too long; pass it as a parameter');
        return { k: 'num', v };
      }
      case 'bigint': {
        // Literals beyond a JS number's precision: the parser keeps their text, exactly.
        only(node, 'number', ['type', 'value', 'parentheses']);
        if (typeof node.value !== 'string' || !NUMBER.test(node.value)) refuse('Unexpected number');
        return { k: 'num', v: node.value };
      }
      case 'single_quote_string':
        only(node, 'string', ['type', 'value', 'parentheses']);
        return { k: 'str', v: decodeString(node.value, "'") };
      case 'double_quote_string':
        only(node, 'string', ['type', 'value', 'parentheses']);
        if (this.opts.doubleQuotedIsIdentifier) return { k: 'col', name: checkName(String(node.value)) };
        return { k: 'str', v: decodeString(node.value, '"') };
      case 'null':
        only(node, 'NULL', ['type', 'value', 'parentheses']);
        return { k: 'null' };
      case 'bool':
        only(node, 'boolean', ['type', 'value', 'parentheses']);
        if (typeof node.value !== 'boolean') refuse('Unexpected boolean');
        return { k: 'bool', v: node.value };
      case 'param': {
        only(node, 'parameter', ['type', 'value', 'parentheses']);
        const name = String(node.value);
        if (name === DEFAULT_MARKER) return { k: 'default' };
        if (!(this.gatewayParams ? /^[cg][1-9]\d*$/ : /^c[1-9]\d*$/).test(name)) refuse('Unexpected parameter');
        return { k: 'param', name };
      }
      case 'binary_expr':
        return this.binary(node);
      case 'unary_expr': {
        only(node, 'operator', ['type', 'operator', 'expr', 'parentheses']);
        const op = String(node.operator).toUpperCase();
        if (op === 'NOT EXISTS') {
          const sub = obj(node.expr, 'NOT EXISTS');
          if (!Object.hasOwn(sub, 'ast')) refuse('Unexpected NOT EXISTS');
          return { k: 'exists', q: this.subquery(sub), not: true };
        }
        if (!UNARY_OPS.has(op)) throw new SluiceError('FUNCTION_NOT_ALLOWED', `Operator ${op} is not allowed`);
        return { k: 'un', op, e: this.expr(node.expr) };
      }
      case 'function':
        return this.functionCall(node);
      case 'aggr_func':
        return this.aggregate(node);
      case 'cast':
        return this.cast(node);
      case 'case':
        return this.caseExpr(node);
      default:
        return refuse(`${String(node.type ?? 'This expression')} is not allowed`);
    }
  }

  private tableRef(raw: unknown, what: string): TableRef {
    const list = arr(raw, what);
    if (list.length !== 1) refuse(`${what} must name exactly one table`);
    const t = obj(list[0], what);
    only(t, what, ['db', 'table', 'as', 'addition']);
    const out: TableRef = { name: ident(t.table) };
    if (t.db !== null && t.db !== undefined) out.db = ident(t.db);
    if (t.as !== null && t.as !== undefined) out.as = ident(t.as);
    return out;
  }

  private setList(raw: unknown): SetItem[] {
    return arr(raw, 'SET').map((s) => {
      const item = obj(s, 'SET item');
      only(item, 'SET', ['column', 'value', 'table']);
      if (!isEmpty(item.table)) refuse('Qualified SET columns are not allowed');
      return { column: ident(item.column), e: this.expr(item.value) };
    });
  }

  private returning(raw: unknown, kind: 'insert' | 'update' | 'delete'): SelectColumn[] | undefined {
    if (isEmpty(raw)) return undefined;
    if (!this.opts.returning.has(kind)) refuse('RETURNING is not supported on this connection');
    const r = obj(raw, 'RETURNING');
    only(r, 'RETURNING', ['type', 'columns']);
    return this.columns(r.columns);
  }

  private insert(node: Raw): Insert {
    only(node, 'INSERT', ['type', 'table', 'columns', 'values', 'prefix', 'or', 'on_duplicate_update', 'returning', 'partition']);
    if (!isEmpty(node.partition)) refuse('PARTITION is not allowed');
    let verb: Insert['verb'] = 'INSERT';
    const prefix = String(node.prefix ?? 'into').toLowerCase();
    if (prefix === 'ignore into') verb = 'INSERT IGNORE';
    else if (prefix !== 'into') refuse(`INSERT ${prefix} is not allowed`);
    if (!isEmpty(node.or)) {
      const words = arr(node.or, 'INSERT OR').map((w) => String(obj(w, 'INSERT OR').value).toLowerCase());
      if (words.join(' ') !== 'or ignore') refuse(`INSERT ${words.join(' ').toUpperCase()} is not allowed`);
      verb = 'INSERT OR IGNORE';
    }
    const columns = arr(node.columns, 'INSERT columns').map((c) => ident(c));
    if (columns.length === 0) refuse('INSERT must list its columns');
    const values = obj(node.values, 'INSERT source');
    if (values.type === 'select') {
      // `INSERT … (SELECT …)`: the parentheses are grouping only.
      const { parentheses_symbol: _grouping, ...query } = values;
      const out: Insert = { k: 'insert', verb, table: this.tableRef(node.table, 'INSERT'), columns, rows: [], source: this.select(query) };
      if (!isEmpty(node.on_duplicate_update)) refuse('INSERT … SELECT … ON DUPLICATE KEY UPDATE is not supported');
      const ret = this.returning(node.returning, 'insert');
      if (ret) out.returning = ret;
      return out;
    }
    only(values, 'VALUES', ['type', 'values']);
    if (values.type !== 'values') refuse('Only INSERT … VALUES and INSERT … SELECT are allowed');
    const rows = arr(values.values, 'VALUES').map((r) => {
      const row = obj(r, 'VALUES row');
      only(row, 'VALUES row', ['type', 'value', 'prefix']);
      if (row.type !== 'expr_list') refuse('Unexpected VALUES row');
      return arr(row.value, 'VALUES row').map((v) => this.expr(v));
    });
    const out: Insert = { k: 'insert', verb, table: this.tableRef(node.table, 'INSERT'), columns, rows };
    if (!isEmpty(node.on_duplicate_update)) {
      const dup = obj(node.on_duplicate_update, 'ON DUPLICATE KEY UPDATE');
      only(dup, 'ON DUPLICATE KEY UPDATE', ['keyword', 'set']);
      out.onDuplicate = this.setList(dup.set);
    }
    const returning = this.returning(node.returning, 'insert');
    if (returning) out.returning = returning;
    return out;
  }

  /**
   * SQLite's ON CONFLICT, from its separately parsed pieces (upsert-split.ts): the target read as
   * a SELECT list of plain columns (optionally qualified by the INSERT's table, as Drizzle writes
   * them), and DO UPDATE read as `UPDATE <placeholder> SET … [WHERE …]`.
   */
  onConflict(insert: Insert, target: unknown, update: unknown, placeholderTable: string): OnConflict {
    const out: OnConflict = { action: update === undefined ? 'nothing' : 'update' };
    if (insert.verb !== 'INSERT') refuse(`${insert.verb} cannot be combined with ON CONFLICT`);
    if (target !== undefined) {
      const s = this.select(obj(target, 'ON CONFLICT target'));
      if (s.distinct || s.from.length > 0 || s.with || s.where || s.groupBy || s.having || s.orderBy || s.limit || s.offset || s.lock || s.setOp) {
        refuse('Unexpected ON CONFLICT target');
      }
      out.target = s.columns.map((c) => {
        const e = c.e;
        if (c.as !== undefined || e.k !== 'col' || e.name === '*' || (e.table !== undefined && e.table !== insert.table.name)) {
          refuse('The ON CONFLICT target must list plain column names');
        }
        return e.name;
      });
    }
    if (update !== undefined) {
      const u = this.update(obj(update, 'DO UPDATE'));
      if (u.table.name !== placeholderTable || u.table.db !== undefined || u.table.as !== undefined || u.returning) refuse('Unexpected DO UPDATE');
      out.set = u.set;
      if (u.where) out.where = u.where;
    }
    return out;
  }

  private update(node: Raw): Update {
    only(node, 'UPDATE', ['type', 'table', 'set', 'where', 'returning']);
    const out: Update = { k: 'update', table: this.tableRef(node.table, 'UPDATE'), set: this.setList(node.set) };
    if (!isEmpty(node.where)) out.where = this.expr(node.where);
    const returning = this.returning(node.returning, 'update');
    if (returning) out.returning = returning;
    return out;
  }

  private delete(node: Raw): Delete {
    only(node, 'DELETE', ['type', 'table', 'from', 'where', 'returning']);
    const from = this.tableRef(node.from, 'DELETE');
    const named = this.tableRef(node.table, 'DELETE');
    if (named.name !== from.name || named.db !== from.db) refuse('Multi-table DELETE is not allowed');
    const out: Delete = { k: 'delete', table: from };
    if (!isEmpty(node.where)) out.where = this.expr(node.where);
    const returning = this.returning(node.returning, 'delete');
    if (returning) out.returning = returning;
    return out;
  }
}
