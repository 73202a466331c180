/** `truncated: true` means rows were dropped; by default that is an error, never silence. */
import { SluiceError } from './errors.js';
import type { TruncationInfo, TruncationPolicy } from './options.js';

/** `rowCount` is the answer's count of the rows it carries (a MySQL read's `rows` is `[rows, fields]`). */
export function onTruncated(policy: TruncationPolicy | undefined, sql: string, rowCount: number | null | undefined): void {
  const info: TruncationInfo = { sql, rows: typeof rowCount === 'number' ? rowCount : undefined };
  const p = policy ?? 'throw';
  if (p === 'ignore') return;
  if (typeof p === 'function') return p(info);
  const message = `sluice: the gateway cut the result at ${info.rows ?? 'some'} rows (limits.maxRows / maxResponseBytes) for: ${sql.slice(0, 200)}`;
  if (p === 'warn') {
    console.warn(message);
    return;
  }
  throw new SluiceError({ code: 'TRUNCATED', status: 0, message: `${message}; page the query (limit/offset) or set onTruncated` });
}
