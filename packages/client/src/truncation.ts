/** `truncated: true` means rows were dropped; by default that is an error, never silence. */
import { SluiceError } from './errors.js';
import type { TruncationInfo, TruncationPolicy } from './options.js';

function rowCount(rows: unknown): number | undefined {
  if (!Array.isArray(rows)) return undefined;
  // MySQL reads arrive as [rows, fields].
  return rows.length === 2 && Array.isArray(rows[0]) && Array.isArray(rows[1]) ? rows[0].length : rows.length;
}

export function onTruncated(policy: TruncationPolicy | undefined, sql: string, rows: unknown): void {
  const info: TruncationInfo = { sql, rows: rowCount(rows) };
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
