/**
 * Which statements may be sent again after a 429/503. Only reads: a write answered 503 may have
 * run (WORKER_LOST says so), and even a refused one is the app's decision to repeat. The test is
 * deliberately conservative — a false "write" only costs a retry, a false "read" could run a
 * write twice — so any data-changing keyword anywhere in the text (even inside a string literal)
 * makes the statement a write.
 */
import type { Method } from './wire.js';

const WRITE_WORD = /\b(insert|update|delete|merge|replace|upsert|into|call|do|copy|lock|set|create|alter|drop|truncate|grant|revoke)\b/i;
const READ_START = /^(select|with|values|table)\b/i;

/** Leading whitespace, comments and opening parentheses, before the first keyword. */
function firstKeywordText(sql: string): string {
  let s = sql;
  for (;;) {
    const trimmed = s.replace(/^[\s(]+/, '');
    if (trimmed.startsWith('--')) {
      const nl = trimmed.indexOf('\n');
      s = nl < 0 ? '' : trimmed.slice(nl + 1);
    } else if (trimmed.startsWith('/*')) {
      const end = trimmed.indexOf('*/');
      s = end < 0 ? '' : trimmed.slice(end + 2);
    } else return trimmed;
  }
}

export function isReadStatement(sql: string, method: Method | undefined): boolean {
  if (method === 'run') return false;
  return READ_START.test(firstKeywordText(sql)) && !WRITE_WORD.test(sql);
}
