/**
 * The response budget every driver counts rows against (limits.maxResponseBytes) and the binary
 * wire form. The size of a row must be exactly what the HTTP thread will write for it, or the cap
 * would be off by the escaping (a string of quotes or control characters grows up to six-fold).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createResponseBudget, jsonBytes, refuseEmptyTruncation } from '../../src/drivers/common/response-budget.js';
import { binaryFromWire, wireBinary } from '../../src/drivers/common/wire-binary.js';
import { SluiceError } from '../../src/errors.js';

const written = (v: unknown): number => Buffer.byteLength(JSON.stringify(v), 'utf8');

/** Strings with what JSON escapes or encodes in several bytes: quotes, backslashes, control characters, non-ASCII, lone surrogates. */
const nasty = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '\u2028', 'é', '€', '😀', '\ud800', '\udfff', 'a') }),
);

describe('jsonBytes: the exact UTF-8 length of the JSON the HTTP thread writes', () => {
  it('for any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => {
        expect(jsonBytes(v)).toBe(written(v));
      }), { numRuns: 500 });
  });

  it('for strings that need escapes or several bytes per character', () => {
    fc.assert(fc.property(nasty, (s) => {
        expect(jsonBytes(s)).toBe(written(s));
      }), { numRuns: 1000 });
    fc.assert(fc.property(fc.array(nasty), fc.dictionary(nasty, nasty), (a, o) => {
        expect(jsonBytes([a, o])).toBe(written([a, o]));
      }), { numRuns: 300 });
  });

  it('for what drivers produce besides JSON values: undefined, non-finite numbers, dates', () => {
    const row = { a: undefined, b: Number.NaN, c: -Infinity, d: new Date(0), e: [undefined, 1e21, -0] };
    expect(jsonBytes(row)).toBe(written(row));
  });

  it('counts a binary value as the wire form it becomes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const wire = wireBinary(bytes);
        expect(jsonBytes(bytes)).toBe(written(wire));
        // A Node Buffer writes itself in the same form.
        expect(written(Buffer.from(bytes))).toBe(written(wire));
        expect(jsonBytes([bytes, 'x'])).toBe(written([wire, 'x']));
      }),
      { numRuns: 200 },
    );
  });
});

describe('createResponseBudget', () => {
  it('admits rows while their bytes (and separators) fit, then drops every later row', () => {
    const rows = [['aaaa'], ['b'], ['cccccccc'], ['d']];
    // Each row costs its JSON plus one separator: 9, 6, 13, 6.
    const budget = createResponseBudget(9 + 6 + 12);
    expect(rows.map((r) => budget.admit(r))).toEqual([true, true, false, false]);
    expect(budget.exhausted).toBe(true);
  });

  it('a row that exactly fills what is left is admitted', () => {
    const budget = createResponseBudget(jsonBytes(['abc']) + 1);
    expect(budget.admit(['abc'])).toBe(true);
    expect(budget.exhausted).toBe(false);
    expect(budget.admit([])).toBe(false);
  });

  it('rewrites the binary values of an admitted row to the wire form, and leaves a dropped row alone', () => {
    const budget = createResponseBudget(1000);
    const row: unknown[] = [1, new Uint8Array([0, 255]), Buffer.from('hi')];
    expect(budget.admit(row)).toBe(true);
    expect(row).toEqual([1, { type: 'Buffer', data: [0, 255] }, { type: 'Buffer', data: [104, 105] }]);
    const obj: Record<string, unknown> = { blob: new Uint8Array([7]) };
    expect(budget.admit(obj)).toBe(true);
    expect(obj).toEqual({ blob: { type: 'Buffer', data: [7] } });
    const big = [new Uint8Array(2000)];
    expect(budget.admit(big)).toBe(false);
    expect(big[0]).toBeInstanceOf(Uint8Array);
  });
});

describe('refuseEmptyTruncation', () => {
  it('refuses a read statement that kept no row, and nothing else', () => {
    const ok = { rows: [[1]], truncated: true };
    const empty = { rows: [], truncated: true };
    const none = { rows: [], truncated: false };
    expect(() => refuseEmptyTruncation([ok, none], true)).not.toThrow();
    expect(() => refuseEmptyTruncation([ok, empty], false)).not.toThrow();
    const err = (() => {
      try {
        refuseEmptyTruncation([ok, empty], true);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).code).toBe('RESULT_TOO_LARGE');
    expect((err as SluiceError).status).toBe(400);
  });
});

describe('binaryFromWire: only the exact JSON form of a Buffer is binary', () => {
  it('round-trips any bytes through JSON', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const back = binaryFromWire(JSON.parse(JSON.stringify(Buffer.from(bytes))));
        expect(back).toBeInstanceOf(Buffer);
        expect([...back!]).toEqual([...bytes]);
      }),
    );
  });

  it.each([
    ['another type', { type: 'Blob', data: [1] }],
    ['a third key', { type: 'Buffer', data: [1], x: 1 }],
    ['a value over 255', { type: 'Buffer', data: [256] }],
    ['a negative value', { type: 'Buffer', data: [-1] }],
    ['a fraction', { type: 'Buffer', data: [1.5] }],
    ['a string byte', { type: 'Buffer', data: ['1'] }],
    ['data not an array', { type: 'Buffer', data: '0102' }],
    ['an array', ['Buffer', [1]]],
    ['a string', 'Buffer'],
    ['null', null],
  ])('not %s', (_name, value) => {
    expect(binaryFromWire(value)).toBeUndefined();
  });
});
