/**
 * The text a failed reference check makes the database quote back (sql/postgres/reference-check.ts):
 * the check casts it to boolean, which fails with a data exception naming it, and the driver's error
 * mapping turns that into FOREIGN_KEY_VIOLATION.
 *
 * The marker carries a random part drawn once per thread (the validator that writes it and the
 * driver that reads the error run on the same thread): the caller's own SQL cannot produce it, so
 * a data error of the caller's expression — evaluated, in the fast form, on another tenant's row —
 * can never pass for a reference refusal and skip the fenced retry that keeps it from being an oracle.
 */
import { randomBytes } from 'node:crypto';

const MARKER = `sluice_reference_${randomBytes(12).toString('hex')}`;

/** The text for a refused reference of `column` ("schema.table.column"). */
export function referenceMarker(column: string): string {
  return `${MARKER} ${column}`;
}

/** The column a database error message names through the marker, or null when it is no reference refusal. */
export function refusedReference(message: string): string | null {
  const at = message.indexOf(`${MARKER} `);
  if (at === -1) return null;
  const m = /^[A-Za-z0-9_.]{1,400}/.exec(message.slice(at + MARKER.length + 1));
  return m ? m[0] : '';
}
