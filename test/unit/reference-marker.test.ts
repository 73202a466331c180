import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { mapPgError } from '../../src/drivers/pg/pg-errors.js';
import { referenceMarker, refusedReference } from '../../src/sql/reference-marker.js';

function dataError(message: string): pg.DatabaseError {
  const e = new pg.DatabaseError(message, message.length, 'error');
  e.code = '22P02';
  return e;
}

describe('reference refusals (sql/reference-marker.ts)', () => {
  it("maps the check's own cast failure to 409 FOREIGN_KEY_VIOLATION naming the column only", () => {
    const err = mapPgError(dataError(`invalid input syntax for type boolean: "${referenceMarker('app.orders.customer_id')}"`));
    expect(err.code).toBe('FOREIGN_KEY_VIOLATION');
    expect(err.status).toBe(409);
    expect(err.message).toBe('app.orders.customer_id: the referenced row does not exist or is not visible to the caller');
    expect(err.message).not.toMatch(/sluice_reference_/);
  });

  it("a marker without this thread's random part is the caller's own data error (INVALID_INPUT, fenced retry)", () => {
    expect(refusedReference('invalid input syntax for type boolean: "sluice_reference_000000000000000000000000 app.orders.customer_id"')).toBeNull();
    const err = mapPgError(dataError('invalid input syntax for type boolean: "sluice_reference_ app.x.y"'));
    expect(err.code).toBe('INVALID_INPUT');
  });
});
