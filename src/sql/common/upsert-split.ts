/**
 * SQLite upserts (`INSERT … VALUES … ON CONFLICT [(cols)] DO NOTHING | DO UPDATE SET … [WHERE …]
 * [RETURNING …]`), which node-sql-parser's SQLite grammar cannot read. This scanner cuts the ON
 * CONFLICT clause out of the (placeholder-named) text so each piece can be parsed on its own: the
 * INSERT without the clause, the conflict target as a SELECT list, the DO UPDATE part as an
 * UPDATE's SET/WHERE. The validator checks the pieces and prints the whole statement itself, then
 * splits and parses its own output again to prove it reads back as the same trees.
 *
 * The scanner only finds clause boundaries at parenthesis depth 0 outside quoted text; anything it
 * cannot place with certainty (a second ON CONFLICT, a target WHERE, comments, stray text between
 * the keywords) is refused.
 */
import { SluiceError } from '../../errors.js';

export interface UpsertSplit {
  /** The statement without its ON CONFLICT clause (INSERT … VALUES … [RETURNING …]). */
  insert: string;
  /** The text inside ON CONFLICT ( … ); undefined when the clause names no target. */
  target?: string;
  action: 'nothing' | 'update';
  /** DO UPDATE: the text after UPDATE (`SET … [WHERE …]`). */
  update?: string;
}

interface Word {
  word: string;
  start: number;
  end: number;
  depth: number;
}

function refuse(message: string): never {
  throw new SluiceError('CONSTRUCT_NOT_ALLOWED', message);
}

const WORD = /[A-Za-z0-9_$\u0080-\uffff]/;

/** Bare words (outside quotes) with their parenthesis depth, and where each depth-0 `(` closes. */
function scan(sql: string, bracketIdentifiers: boolean): { words: Word[]; closeOf: Map<number, number> } {
  const words: Word[] = [];
  const closeOf = new Map<number, number>();
  const open: number[] = [];
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"' || ch === '`') {
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) throw new SluiceError('SQL_PARSE_ERROR', 'Unterminated quoted text');
        if (sql[j] === ch) {
          if (sql[j + 1] === ch) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      i = j + 1;
      continue;
    }
    if (ch === '[' && bracketIdentifiers) {
      const close = sql.indexOf(']', i);
      if (close === -1) throw new SluiceError('SQL_PARSE_ERROR', 'Unterminated [identifier]');
      i = close + 1;
      continue;
    }
    if ((ch === '-' && sql[i + 1] === '-') || (ch === '/' && sql[i + 1] === '*')) refuse('Comments are not allowed around ON CONFLICT');
    if (ch === '(') open.push(i);
    else if (ch === ')') {
      const at = open.pop();
      if (at === undefined) throw new SluiceError('SQL_PARSE_ERROR', 'Unbalanced parentheses');
      closeOf.set(at, i);
    } else if (WORD.test(ch)) {
      let j = i;
      while (j < sql.length && WORD.test(sql[j]!)) j++;
      // `:c1`-style placeholders and `x.y` parts are words too; only bare keywords matter here.
      words.push({ word: sql.slice(i, j).toLowerCase(), start: i, end: j, depth: open.length });
      i = j;
      continue;
    }
    i++;
  }
  if (open.length > 0) throw new SluiceError('SQL_PARSE_ERROR', 'Unbalanced parentheses');
  return { words, closeOf };
}

const blank = (s: string): boolean => s.trim() === '';

/** Split off the ON CONFLICT clause of an INSERT; undefined when there is none. */
export function splitUpsert(sql: string, bracketIdentifiers: boolean): UpsertSplit | undefined {
  const { words, closeOf } = scan(sql, bracketIdentifiers);
  if (words[0]?.word !== 'insert') return undefined;
  const top = words.filter((w) => w.depth === 0);
  const ons = top.flatMap((w, i) => (w.word === 'on' && top[i + 1]?.word === 'conflict' && blank(sql.slice(w.end, top[i + 1]!.start)) ? [i] : []));
  if (ons.length === 0) {
    if (top.some((w) => w.word === 'conflict')) refuse('Unexpected CONFLICT');
    return undefined;
  }
  if (ons.length > 1) refuse('Only one ON CONFLICT clause is allowed');
  const onIdx = ons[0]!;
  const on = top[onIdx]!;
  let pos = top[onIdx + 1]!.end;
  // Expect the next depth-0 words in order, with only blanks (or the target list) between them.
  let next = onIdx + 2;
  const expectWord = (...allowed: string[]): Word => {
    const w = top[next];
    if (!w || !allowed.includes(w.word) || !blank(sql.slice(pos, w.start))) refuse(`Unexpected text in ON CONFLICT (expected ${allowed.join(' or ').toUpperCase()})`);
    next++;
    pos = w.end;
    return w;
  };
  let target: string | undefined;
  const afterConflict = sql.slice(pos).trimStart();
  if (afterConflict.startsWith('(')) {
    const open = sql.length - afterConflict.length;
    const close = closeOf.get(open)!;
    target = sql.slice(open + 1, close);
    if (blank(target)) refuse('Empty ON CONFLICT target');
    pos = close + 1;
    if (top[next]?.word === 'where') refuse('ON CONFLICT (…) WHERE (a partial-index target) is not supported');
  }
  expectWord('do');
  const action = expectWord('nothing', 'update');
  const returningIdx = top.findIndex((w, i) => i >= next && w.word === 'returning');
  const tailStart = returningIdx === -1 ? sql.length : top[returningIdx]!.start;
  const insert = `${sql.slice(0, on.start)} ${sql.slice(tailStart)}`;
  if (action.word === 'nothing') {
    if (!blank(sql.slice(pos, tailStart).replace(/;\s*$/, ''))) refuse('Unexpected text after DO NOTHING');
    return { insert, ...(target !== undefined && { target }), action: 'nothing' };
  }
  const update = sql.slice(pos, tailStart);
  if (top[next]?.word !== 'set' || !blank(sql.slice(pos, top[next]!.start))) refuse('Expected SET after DO UPDATE');
  return { insert, ...(target !== undefined && { target }), action: 'update', update };
}
