/**
 * The literal scanner for MySQL and SQLite: a lexical pass over the client's SQL that finds every
 * quoted string and number the database could read as a value, with its position (node-sql-parser's
 * own locations are not reliable enough to name one). It decides only refusals, so where the
 * readers of the text could disagree it leans to finding a literal: `--` not followed by a space is
 * no comment on MySQL, so what follows is scanned; the body of a MySQL executable comment
 * (`/*! … *\/`) is scanned as SQL; a word starting with a digit is a number. Text it cannot close
 * (an unterminated string, identifier or comment) is refused.
 */
import { SluiceError } from '../../errors.js';
import { codePointPosition, DATE_TIME_WORDS, type Literal, type LiteralKind } from './literal.js';
import { quotedEnd } from '../quoted-end.js';

export interface TextScanSyntax {
  /** MySQL: `#` starts a comment, `--` only when followed by a space, `/*! … *\/` is SQL, `"…"` is a string, `\` escapes in strings, `0x…`/`0b…` are strings. */
  mysql: boolean;
  /** SQLite: `[name]` is a quoted identifier. */
  bracketIdentifiers: boolean;
}

const WORD = /[A-Za-z0-9_$\u0080-\uffff]/;
const DIGIT = /[0-9]/;
const LINE_BREAK = /[\n\r\v\f\u0085\u2028\u2029]/g;

function unterminated(sql: string, index: number, what: string): never {
  throw new SluiceError('SQL_PARSE_ERROR', `Unterminated ${what} at character ${codePointPosition(sql, index)}`);
}

/** Index just past the quoted text opened at `i` (doubled quote escapes; `backslash`: \x too). */
function closeQuoted(sql: string, i: number, q: string, backslash: boolean, what: string): number {
  return quotedEnd(sql, i, q, backslash) ?? unterminated(sql, i, what);
}

function wordEnd(sql: string, i: number): number {
  let j = i;
  while (j < sql.length && WORD.test(sql[j]!)) j++;
  return j;
}

/** The kind of a token that starts with a digit or `.digit` (the whole word, e.g. `0x1F`, `1e5`, `12abc`). */
function numberKind(text: string, syntax: TextScanSyntax): LiteralKind {
  if (syntax.mysql && /^0x[0-9a-f]+$/i.test(text)) return 'hex string';
  if (syntax.mysql && /^0b[01]+$/i.test(text)) return 'bit string';
  if (/^\d+$/.test(text) || /^0x[0-9a-f]+$/i.test(text)) return 'integer';
  return 'decimal';
}

class Scan {
  readonly literals: Literal[] = [];
  /** The last word outside quotes, lower-cased (a string after DATE is a date). */
  private lastWord = '';

  constructor(
    private readonly sql: string,
    private readonly syntax: TextScanSyntax,
  ) {}

  private add(kind: LiteralKind, index: number, text?: string): void {
    const literal: Literal = { kind, position: codePointPosition(this.sql, index) };
    if (kind === 'integer') literal.zeroOrOne = text === '0' || text === '1';
    this.literals.push(literal);
  }

  private string(i: number, kind: LiteralKind): number {
    this.add(kind === 'string' && DATE_TIME_WORDS.has(this.lastWord) ? 'date/time string' : kind, i);
    this.lastWord = '';
    const quote = this.sql[i]!;
    return closeQuoted(this.sql, i, quote, this.syntax.mysql, 'quoted text');
  }

  /** Scans sql[from, to); returns nothing, collects literals. */
  run(from: number, to: number): void {
    const { sql, syntax } = this;
    let i = from;
    while (i < to) {
      const ch = sql[i]!;
      const next = sql[i + 1] ?? '';
      if (ch === '#' && syntax.mysql) {
        i = this.lineEnd(i);
      } else if (ch === '-' && next === '-' && (!syntax.mysql || i + 2 >= sql.length || /\s/.test(sql[i + 2]!))) {
        i = this.lineEnd(i);
      } else if (ch === '/' && next === '*') {
        const close = sql.indexOf('*/', i + 2);
        if (close === -1 || close + 2 > to) unterminated(sql, i, 'comment');
        const executable = syntax.mysql && /^\/\*M?!\d*/.exec(sql.slice(i, close));
        if (executable) this.run(i + executable[0].length, close);
        i = close + 2;
      } else if (ch === "'") {
        i = this.string(i, 'string');
      } else if (ch === '"') {
        if (syntax.mysql) i = this.string(i, 'string');
        else i = closeQuoted(sql, i, '"', false, 'quoted identifier');
      } else if (ch === '`') {
        i = closeQuoted(sql, i, '`', false, 'quoted identifier');
      } else if (ch === '[' && syntax.bracketIdentifiers) {
        const close = sql.indexOf(']', i);
        if (close === -1) unterminated(sql, i, '[identifier]');
        i = close + 1;
      } else if (DIGIT.test(ch) || (ch === '.' && DIGIT.test(next) && !WORD.test(sql[i - 1] ?? ''))) {
        i = this.number(i);
      } else if (WORD.test(ch)) {
        i = this.word(i);
      } else {
        if (!/\s/.test(ch)) this.lastWord = '';
        i++;
      }
    }
  }

  /** A line comment ends at the first character any reader could take for a line break: scanning more is safe. */
  private lineEnd(i: number): number {
    LINE_BREAK.lastIndex = i;
    const end = LINE_BREAK.exec(this.sql);
    return end === null ? this.sql.length : end.index + 1;
  }

  private number(i: number): number {
    const { sql } = this;
    // 1.5, 1.5e-3, .5: the fraction and a signed exponent belong to the number.
    let j = wordEnd(sql, sql[i] === '.' ? i + 1 : i);
    if (sql[j] === '.' && sql[i] !== '.') j = wordEnd(sql, j + 1);
    if ((sql[j] === '+' || sql[j] === '-') && /[eE]$/.test(sql.slice(i, j)) && DIGIT.test(sql[j + 1] ?? '')) j = wordEnd(sql, j + 1);
    const text = sql.slice(i, j);
    this.add(numberKind(text, this.syntax), i, text);
    this.lastWord = '';
    return j;
  }

  private word(i: number): number {
    const { sql, syntax } = this;
    const j = wordEnd(sql, i);
    const word = sql.slice(i, j);
    if (sql[j] === "'" && j - i === 1) {
      // X'…' (hex), B'…' (bits, MySQL), N'…' (national string): one literal with its prefix.
      const prefix = word.toLowerCase();
      const kind: LiteralKind | undefined = prefix === 'x' ? 'hex string' : prefix === 'b' && syntax.mysql ? 'bit string' : prefix === 'n' && syntax.mysql ? 'string' : undefined;
      if (kind !== undefined) {
        this.add(kind, i);
        this.lastWord = '';
        return closeQuoted(sql, j, "'", syntax.mysql, 'quoted text');
      }
    }
    this.lastWord = word.toLowerCase();
    return j;
  }
}

/** Every literal of `sql` in order; throws SQL_PARSE_ERROR for text it cannot close. */
export function scanTextLiterals(sql: string, syntax: TextScanSyntax): Literal[] {
  const scan = new Scan(sql, syntax);
  scan.run(0, sql.length);
  return scan.literals;
}
