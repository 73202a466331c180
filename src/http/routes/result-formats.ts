/** Rows as NDJSON or CSV lines, produced lazily so large results stream instead of one big string. */

/** What spreadsheet programs read as the start of a formula (OWASP "CSV injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;
/** A plain number is not a formula; quoting it would turn "-1.5" (pg sends numeric as text) into text. */
const PLAIN_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A cell (or header) that could run as a formula when the export is opened in a spreadsheet gets a
 * leading single quote, which spreadsheets show as text; the data itself is attacker-controllable
 * (any user can store "=HYPERLINK(…)" in a name). json and ndjson carry values unchanged.
 */
function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (FORMULA_START.test(s) && !PLAIN_NUMBER.test(s)) s = `'${s}`;
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
