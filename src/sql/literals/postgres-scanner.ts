/**
 * The literal scanner for Postgres: Postgres' own lexer (libpg-query's scanSync, the scanner its
 * parser reads tokens from), so every constant the parser sees is found, E'…', U&'…', B'…', X'…' and
 * $tag$…$tag$ included, and nothing inside a comment or a quoted identifier is. Token numbers
 * differ between grammar versions, so they are learned from the lexer itself on first use.
 */
import { scanSync, type ScanToken } from 'libpg-query';
import { SluiceError } from '../../errors.js';
import { parsePostgres } from '../postgres/parser.js';
import { DATE_TIME_WORDS, type Literal, type LiteralKind } from './literal.js';

interface TokenKinds {
  byType: Map<number, LiteralKind>;
}

let kinds: TokenKinds | undefined;

/** One sample per kind of constant; the lexer says which token number each one is. */
const SAMPLES: [string, LiteralKind][] = [
  ["'s'", 'string'],
  ["U&'s'", 'string'],
  ["B'1'", 'bit string'],
  ["X'1'", 'hex string'],
  ['1', 'integer'],
  ['1.5', 'decimal'],
];

function tokenKinds(): TokenKinds {
  if (kinds) return kinds;
  const byType = new Map<number, LiteralKind>();
  for (const [text, kind] of SAMPLES) {
    const tokens = scanSync(`SELECT ${text}`).tokens;
    if (tokens.length !== 2) throw new Error(`the Postgres lexer read ${text} as ${tokens.length - 1} tokens`);
    byType.set(tokens[1]!.tokenType, kind);
  }
  kinds = { byType };
  return kinds;
}

/** Maps the lexer's UTF-8 byte offsets to 1-based code-point positions. */
function positionsOf(sql: string): (byteOffset: number) => number {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(sql)) return (b) => b + 1;
  const starts: number[] = [];
  let bytes = 0;
  for (const ch of sql) {
    starts.push(bytes);
    bytes += Buffer.byteLength(ch, 'utf8');
  }
  return (b) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= b) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

function scan(sql: string): ScanToken[] {
  try {
    return scanSync(sql).tokens;
  } catch {
    // An unterminated string or comment, or trailing junk: the parser says where.
    parsePostgres(sql);
    throw new SluiceError('SQL_PARSE_ERROR', 'The SQL does not scan (an unterminated quoted string, identifier or comment?)');
  }
}

/**
 * `'[]'::json` (or `::jsonb`): the empty array Drizzle's relational queries fall back to
 * (`coalesce(json_agg(…), '[]'::json)`). It is the ORM's constant, carries no value, and is not
 * reported.
 */
function emptyJsonArray(tokens: ScanToken[], i: number): boolean {
  const cast = tokens[i + 1];
  const type = tokens[i + 2]?.text.toLowerCase();
  return tokens[i]!.text === "'[]'" && cast?.text === '::' && (type === 'json' || type === 'jsonb');
}

/** Every constant of `sql` in order (load the parser first: loadPostgresParser). */
export function scanPostgresLiterals(sql: string): Literal[] {
  const { byType } = tokenKinds();
  const position = positionsOf(sql);
  const out: Literal[] = [];
  let prev: ScanToken | undefined;
  const tokens = scan(sql).filter((t) => t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT');
  for (const [i, token] of tokens.entries()) {
    let kind = byType.get(token.tokenType);
    if (kind !== undefined && !emptyJsonArray(tokens, i)) {
      if (kind === 'string' && prev !== undefined && DATE_TIME_WORDS.has(prev.text.toLowerCase())) kind = 'date/time string';
      const literal: Literal = { kind, position: position(token.start) };
      if (kind === 'integer') literal.zeroOrOne = token.text === '0' || token.text === '1';
      out.push(literal);
    }
    prev = token;
  }
  return out;
}

/**
 * False when `sql` cannot hold a quoted constant: every Postgres string, bit-string and hex
 * constant has a quote ('…', E'…', B'…', X'…', U&'…') or a dollar quote ($$…$$, $tag$…$tag$), and
 * placeholders are $ and digits. Postgres' lexer costs ~45 µs per 1 000 characters, so a
 * statement of placeholders (Drizzle's 10 000-row insert) skips it under refuse-strings.
 */
export function mayHoldQuotedConstant(sql: string): boolean {
  return sql.includes("'") || /\$(?![0-9])/.test(sql);
}
