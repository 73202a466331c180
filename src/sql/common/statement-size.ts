/**
 * What validating a statement may cost. Parsing, walking, rewriting, printing and re-parsing cost
 * about as much per token as any statement of the same size — except where the count of a
 * construct multiplies it (every table reference becomes a view, printed and parsed again; set
 * operations nest one level per arm in the parsers and printers) — so the client's SQL is bounded:
 *   1. before parsing, a linear scan counts tokens, set-operation keywords and JOINs
 *      (limits.maxSqlTokens, maxSetOperations, maxTableReferences);
 *   2. after parsing, the parsed tree's nodes and set operations (limits.maxSqlNodes,
 *      maxSetOperations);
 *   3. while walking, every FROM item (limits.maxTableReferences).
 * The scan only measures: it never decides what reaches the database, and a miscount is caught by
 * the counts after parsing.
 */
import type { Limits } from '../../config/types.js';
import { SluiceError } from '../../errors.js';
import { quotedEnd } from '../quoted-end.js';

export interface ScanSyntax {
  /** Postgres: $tag$…$tag$ strings, E'…' strings with backslash escapes, nested block comments. */
  postgres: boolean;
  /** MySQL: `#` starts a comment. */
  hashComments: boolean;
  /** SQLite: `[name]` is a quoted identifier. */
  bracketIdentifiers: boolean;
}

export interface SqlMeasure {
  tokens: number;
  setOperations: number;
  joins: number;
}

type SizeLimits = Pick<Limits, 'maxSqlTokens' | 'maxSqlNodes' | 'maxSetOperations' | 'maxTableReferences'>;

function tooComplex(message: string): never {
  throw new SluiceError('SQL_TOO_COMPLEX', message);
}

const WORD = /[A-Za-z0-9_$\u0080-\uffff]/;
const SET_OPERATIONS = new Set(['union', 'intersect', 'except']);

/** Index just past a quoted token opened at `i` by `q` (doubled to escape; `backslash`: \x too). */
function skipQuoted(sql: string, i: number, q: string, backslash: boolean): number {
  return quotedEnd(sql, i, q, backslash) ?? sql.length;
}

function skipBlockComment(sql: string, i: number, nested: boolean): number {
  let depth = 0;
  let j = i;
  while (j < sql.length) {
    if (sql.startsWith('/*', j) && (nested || depth === 0)) {
      depth++;
      j += 2;
    } else if (sql.startsWith('*/', j)) {
      j += 2;
      if (--depth === 0) return j;
    } else j++;
  }
  return sql.length;
}

/** The end of a quoted token, comment or word starting at `i`, or -1 for a single character. */
function skipToken(sql: string, i: number, syntax: ScanSyntax): number {
  const ch = sql[i]!;
  const next = sql[i + 1];
  if ((ch === '-' && next === '-') || (ch === '#' && syntax.hashComments)) {
    const end = sql.indexOf('\n', i);
    return end === -1 ? sql.length : end + 1;
  }
  if (ch === '/' && next === '*') return skipBlockComment(sql, i, syntax.postgres);
  if (ch === "'" || ch === '"' || ch === '`') return skipQuoted(sql, i, ch, false);
  if (ch === '[' && syntax.bracketIdentifiers) {
    const close = sql.indexOf(']', i);
    return close === -1 ? sql.length : close + 1;
  }
  if (syntax.postgres && (ch === 'E' || ch === 'e') && next === "'" && !WORD.test(sql[i - 1] ?? '')) return skipQuoted(sql, i + 1, "'", true);
  if (syntax.postgres && ch === '$') {
    const tag = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(i, i + 64));
    if (tag && !WORD.test(sql[i - 1] ?? '')) {
      const end = sql.indexOf(tag[0], i + tag[0].length);
      return end === -1 ? sql.length : end + tag[0].length;
    }
  }
  return -1;
}

/** Tokens (words, numbers, quoted texts, punctuation), UNION/INTERSECT/EXCEPT and JOIN outside quotes and comments. */
export function measureSql(sql: string, syntax: ScanSyntax): SqlMeasure {
  const m: SqlMeasure = { tokens: 0, setOperations: 0, joins: 0 };
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (ch === ' ' || ch === '\n' || ch === '\t' || ch === '\r') {
      i++;
      continue;
    }
    const end = skipToken(sql, i, syntax);
    if (end !== -1) {
      if (!(ch === '-' || ch === '#' || (ch === '/' && sql[i + 1] === '*'))) m.tokens++;
      i = end;
      continue;
    }
    m.tokens++;
    if (!WORD.test(ch)) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < sql.length && WORD.test(sql[j]!)) j++;
    if (j - i <= 9) {
      const word = sql.slice(i, j).toLowerCase();
      if (SET_OPERATIONS.has(word)) m.setOperations++;
      else if (word === 'join') m.joins++;
    }
    i = j;
  }
  return m;
}

export function checkSetOperations(count: number, limits: SizeLimits): void {
  if (count > limits.maxSetOperations) tooComplex(`The statement has ${count} UNION/INTERSECT/EXCEPT; the limit is limits.maxSetOperations (${limits.maxSetOperations})`);
}

/** The first bound, before parsing. */
export function checkSqlText(sql: string, syntax: ScanSyntax, limits: SizeLimits): void {
  const m = measureSql(sql, syntax);
  if (m.tokens > limits.maxSqlTokens) tooComplex(`The statement has ${m.tokens} tokens; the limit is limits.maxSqlTokens (${limits.maxSqlTokens})`);
  checkSetOperations(m.setOperations, limits);
  if (m.joins > limits.maxTableReferences) tooComplex(`The statement has ${m.joins} JOINs; the limit is limits.maxTableReferences (${limits.maxTableReferences})`);
}

/**
 * The second bound, on the parsed tree (any JSON): refuses more than maxSqlNodes objects, or more
 * set operations than maxSetOperations (`isSetOperation` recognizes one in the parser's tree).
 */
export function checkParsedSize(tree: unknown, isSetOperation: (node: Record<string, unknown>) => boolean, limits: SizeLimits): void {
  let nodes = 0;
  let setOperations = 0;
  const stack: unknown[] = [tree];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
      continue;
    }
    const node = v as Record<string, unknown>;
    if (++nodes > limits.maxSqlNodes) tooComplex(`The statement has more than limits.maxSqlNodes (${limits.maxSqlNodes}) parsed nodes`);
    if (isSetOperation(node)) setOperations++;
    for (const k in node) stack.push(node[k]);
  }
  checkSetOperations(setOperations, limits);
}

/** One more FROM item walked (a table, CTE, derived table or table function): returns the new count. */
export function countTableReference(count: number, limits: SizeLimits): number {
  if (count + 1 > limits.maxTableReferences) tooComplex(`The statement has more than limits.maxTableReferences (${limits.maxTableReferences}) table references`);
  return count + 1;
}
