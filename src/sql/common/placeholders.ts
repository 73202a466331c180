/**
 * Before parsing, each `?` placeholder of the client's SQL becomes a named one (`:c1`, `:c2`, … in
 * order of appearance), so every parameter keeps its identity through the rewrite and the emitter
 * can say where each value goes (positional `?` binds by order). MySQL's DEFAULT keyword, which the
 * parser cannot read in VALUES, becomes the marker `:sluice_default`.
 *
 * This scanner only decides where placeholders are; it never decides what reaches the database
 * (the emitter prints the checked tree). Where it might disagree with the parser it refuses:
 * backslashes in quoted text (MySQL and SQLite disagree on them, and so might the parser),
 * numbered or named placeholders of the client's own.
 */
import { SluiceError } from '../../errors.js';

export interface PlaceholderSyntax {
  /** MySQL: `#` starts a comment. */
  hashComments: boolean;
  /** SQLite: `[name]` is a quoted identifier. */
  bracketIdentifiers: boolean;
  /** MySQL: rewrite the DEFAULT keyword to the marker. */
  defaultMarker: boolean;
}

export const DEFAULT_MARKER = 'sluice_default';

export interface NamedSql {
  sql: string;
  /** How many `?` the client wrote. */
  count: number;
}

const IDENT = /[A-Za-z0-9_$\u0080-\uffff]/;

function refuse(message: string): never {
  throw new SluiceError('CONSTRUCT_NOT_ALLOWED', message);
}

/** Index just past the quoted token starting at `i` (quote char `q`, doubled to escape). */
function skipQuoted(sql: string, i: number, q: string): number {
  let j = i + 1;
  for (;;) {
    if (j >= sql.length) throw new SluiceError('SQL_PARSE_ERROR', 'Unterminated quoted text');
    const ch = sql[j]!;
    if (ch === '\\') refuse('Backslashes in quoted text are not allowed; pass the value as a parameter');
    if (ch === q) {
      if (sql[j + 1] === q) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
}

/**
 * Comments the database reads differently from the parser (parsers.md, "Lexical traps"): MySQL's
 * `--` needs whitespace after it to start a comment (`1--1` is 2) and it executes the text of
 * comments opened by `/*!` and MariaDB's `/*M!`; SQLite has no `#` comment. Refused, so the statement we
 * check is the one the client meant.
 */
function refuseLexicalTraps(sql: string, i: number, syntax: PlaceholderSyntax): void {
  const ch = sql[i]!;
  const next = sql[i + 1];
  if (syntax.hashComments) {
    const after = sql[i + 2];
    if (ch === '-' && next === '-' && after !== undefined && !/\s/.test(after)) refuse('In MySQL `--` starts a comment only when followed by a space; write `- -` or `-- `');
    if (ch === '/' && next === '*' && (sql[i + 2] === '!' || sql.startsWith('M!', i + 2))) refuse('Executable comments (/*! and /*M!) are not allowed');
  } else if (ch === '#') refuse('`#` is not a comment in SQLite; use -- or /* */');
}

function skipComment(sql: string, i: number, syntax: PlaceholderSyntax): number {
  const ch = sql[i]!;
  const next = sql[i + 1];
  refuseLexicalTraps(sql, i, syntax);
  const lineComment = (ch === '-' && next === '-') || (ch === '#' && syntax.hashComments);
  if (lineComment) {
    const end = sql.indexOf('\n', i);
    return end === -1 ? sql.length : end + 1;
  }
  if (ch === '/' && next === '*') {
    const end = sql.indexOf('*/', i + 2);
    if (end === -1) throw new SluiceError('SQL_PARSE_ERROR', 'Unterminated comment');
    return end + 2;
  }
  return i;
}

export function namePlaceholders(sql: string, syntax: PlaceholderSyntax): NamedSql {
  let out = '';
  let count = 0;
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    const afterComment = skipComment(sql, i, syntax);
    if (afterComment !== i) {
      out += ' ';
      i = afterComment;
      continue;
    }
    let end = i;
    if (ch === "'" || ch === '"' || ch === '`') end = skipQuoted(sql, i, ch);
    else if (ch === '[' && syntax.bracketIdentifiers) {
      const close = sql.indexOf(']', i);
      if (close === -1) throw new SluiceError('SQL_PARSE_ERROR', 'Unterminated [identifier]');
      end = close + 1;
    }
    if (end !== i) {
      out += sql.slice(i, end);
      i = end;
      continue;
    }
    if (ch === '?') {
      if (/[0-9]/.test(sql[i + 1] ?? '')) refuse('Numbered placeholders (?NNN) are not allowed; use ?');
      count++;
      out += ` :c${count} `;
      i++;
      continue;
    }
    if (ch === ':' && IDENT.test(sql[i + 1] ?? '')) refuse('Named placeholders are not allowed; use ?');
    if (IDENT.test(ch)) {
      let j = i;
      while (j < sql.length && IDENT.test(sql[j]!)) j++;
      const word = sql.slice(i, j);
      const prev = sql.slice(0, i).trimEnd().slice(-1);
      if (syntax.defaultMarker && word.toLowerCase() === 'default' && prev !== '.' && prev !== ':') out += `:${DEFAULT_MARKER}`;
      else out += word;
      i = j;
      continue;
    }
    out += ch;
    i++;
  }
  return { sql: out, count };
}
