/**
 * The end of a quoted token in SQL text, for the lexical scans that run before (or beside) a
 * parser: the statement-size bounds and the literal finder.
 */

/**
 * Index just past the quoted token opened at `i` by the quote `q` (a doubled quote escapes it;
 * with `backslash`, `\x` escapes any character too), or undefined when the text ends first.
 */
export function quotedEnd(sql: string, i: number, q: string, backslash: boolean): number | undefined {
  let j = i + 1;
  while (j < sql.length) {
    const ch = sql[j]!;
    if (backslash && ch === '\\') j += 2;
    else if (ch === q && sql[j + 1] === q) j += 2;
    else if (ch === q) return j + 1;
    else j++;
  }
  return undefined;
}
