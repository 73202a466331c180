/**
 * node-sql-parser's MariaDB and SQLite grammars read `count(DISTINCT x)` but not `sum(DISTINCT x)`
 * (nor avg/min/max/total), which Drizzle's `sumDistinct()`/`avgDistinct()` send. Before parsing,
 * `sum(DISTINCT ` becomes `sluice_distinct_sum(`, which the converter reads back as
 * `{ fn: 'sum', distinct: true }`; the emitter prints `sum(DISTINCT …)`, and the faithfulness check
 * applies the same step to our own output. Quoted text is skipped, so only bare words change.
 */
import { SluiceError } from '../../errors.js';

export const DISTINCT_PREFIX = 'sluice_distinct_';
export const DISTINCT_AGGREGATES: ReadonlySet<string> = new Set(['sum', 'avg', 'min', 'max', 'total']);
const WORD = /[A-Za-z0-9_$\u0080-\uffff]/;

export function markDistinctAggregates(sql: string, bracketIdentifiers: boolean): string {
  if (!/distinct/i.test(sql)) return sql;
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"' || ch === '`' || (ch === '[' && bracketIdentifiers)) {
      const close = ch === '[' ? ']' : ch;
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) throw new SluiceError('SQL_PARSE_ERROR', 'Unterminated quoted text');
        if (sql[j] === close) {
          if (close !== ']' && sql[j + 1] === close) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (WORD.test(ch)) {
      let j = i;
      while (j < sql.length && WORD.test(sql[j]!)) j++;
      const word = sql.slice(i, j);
      const m = DISTINCT_AGGREGATES.has(word.toLowerCase()) && (i === 0 || sql[i - 1] !== '.') ? /^\s*\(\s*distinct(?=[\s(])/i.exec(sql.slice(j)) : null;
      if (m) {
        out += `${DISTINCT_PREFIX}${word.toLowerCase()}( `;
        i = j + m[0].length;
        continue;
      }
      out += word;
      i = j;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}
