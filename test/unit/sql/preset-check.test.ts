import { describe, expect, it } from 'vitest';
import { applyPresetChecks, presetMatches } from '../../../src/sql/preset-check.js';
import { SluiceError } from '../../../src/errors.js';
import type { PresetCheck } from '../../../src/sql/validator.js';

describe('presetMatches: the one rule for "exactly the preset value"', () => {
  it.each([
    [1, 1],
    ['1', 1],
    [1, '1'],
    [-7, '-7'],
    ['acme', 'acme'],
    ['9007199254740993', '9007199254740993'],
    [true, true],
    [null, null],
    [0, '0'],
  ])('%j matches %j', (sent, preset) => expect(presetMatches(sent, preset)).toBe(true));

  it.each([
    [2, 1],
    ['01', 1],
    ['1.0', 1],
    [' 1', 1],
    ['1 ', 1],
    ['+1', 1],
    ['-0', 0],
    [1.5, '1.5'],
    ['ACME', 'acme'],
    ['acme ', 'acme'],
    [9007199254740992, '9007199254740993'],
    [9007199254740993, '9007199254740993'],
    [true, 1],
    ['true', true],
    [1, true],
    [null, 1],
    [1, null],
    [undefined, undefined],
    [Number.NaN, Number.NaN],
    [[1], 1],
    [{ id: 1 }, 1],
    [1, [1]],
    [new Uint8Array([49]), '1'],
  ])('%j does not match %j', (sent, preset) => expect(presetMatches(sent, preset)).toBe(false));
});

describe('applyPresetChecks', () => {
  const check = (sent: PresetCheck['sent']): PresetCheck => ({ sent, preset: { kind: 'claim', ref: 't' }, column: 's.t.tenant_id' });

  it('rebinds a matching client param to the preset value and leaves the input untouched', () => {
    const params = ['x', '1'];
    expect(applyPresetChecks([check({ kind: 'client', index: 1 })], params, () => 1)).toEqual(['x', 1]);
    expect(params).toEqual(['x', '1']);
  });

  it('refuses a mismatch with PRESET_COLUMN (403), without echoing either value', () => {
    try {
      applyPresetChecks([check({ kind: 'literal', value: 22 })], [], () => 11);
      throw new Error('expected a refusal');
    } catch (e) {
      expect(e).toBeInstanceOf(SluiceError);
      expect((e as SluiceError).code).toBe('PRESET_COLUMN');
      expect((e as SluiceError).message).not.toMatch(/11|22/);
    }
  });
});
