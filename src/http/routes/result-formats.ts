/** Rows as NDJSON or CSV lines, produced lazily so large results stream instead of one big string. */

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function* ndjsonLines(rows: unknown[]): Generator<string> {
  for (const row of rows) yield `${JSON.stringify(row)}\n`;
}

/** Object rows (method "execute") get a header line from the first row's keys; array rows have none. */
export function* csvLines(rows: unknown[]): Generator<string> {
  const first = rows[0];
  const keys = first !== null && typeof first === 'object' && !Array.isArray(first) ? Object.keys(first) : undefined;
  if (keys) yield `${keys.map(csvField).join(',')}\r\n`;
  for (const row of rows) {
    const values = Array.isArray(row) ? row : keys ? keys.map((k) => (row as Record<string, unknown>)[k]) : [row];
    yield `${values.map(csvField).join(',')}\r\n`;
  }
}
