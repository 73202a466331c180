/**
 * Presets with row-level security `WITH CHECK` semantics: a client may send a preset column
 * (Drizzle sends every notNull column) as long as the value is exactly the preset's. Validation is
 * pure over (role, SQL), so the walk records where the value came from and the comparison happens
 * here, when the params are bound and the claims are known.
 *
 * Fail closed twice over: a value that does not match is refused (PRESET_COLUMN), and one that does
 * is still never written as sent — a literal was already replaced by the gateway's placeholder, and
 * a client param is rebound to the preset's own value, so what reaches the column is the preset.
 */
import { SluiceError } from '../errors.js';
import type { ParamSource, PresetCheck } from './validator.js';

type Scalar = string | number | boolean | null;

const CANONICAL_INTEGER = /^-?(?:0|[1-9][0-9]*)$/;

/**
 * Equal as a preset value: the same JSON type and value, or a safe integer and its canonical
 * decimal text (`1` and `"1"`, never `"01"`, `"1.0"`, `" 1"` or an integer beyond 2^53 as a number).
 * Strings compare exactly (no trimming, no case folding); booleans only with booleans; null only
 * with null; anything else (objects, arrays, binary) never matches.
 */
export function presetMatches(sent: unknown, preset: unknown): boolean {
  if (!isScalar(sent) || !isScalar(preset)) return false;
  if (sent === null || preset === null) return sent === preset;
  if (typeof sent === typeof preset) return typeof sent === 'number' ? Number.isFinite(sent) && sent === preset : sent === preset;
  if (typeof sent === 'number' && typeof preset === 'string') return integerText(sent, preset);
  if (typeof sent === 'string' && typeof preset === 'number') return integerText(preset, sent);
  return false;
}

function isScalar(v: unknown): v is Scalar {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function integerText(n: number, s: string): boolean {
  return Number.isSafeInteger(n) && CANONICAL_INTEGER.test(s) && String(n) === s;
}

/**
 * Check every preset value the client sent; returns the client params with each checked one
 * replaced by the preset's own value (the array is copied only when something is replaced).
 */
export function applyPresetChecks(
  checks: readonly PresetCheck[],
  clientParams: unknown[],
  preset: (source: ParamSource) => unknown,
): unknown[] {
  let out = clientParams;
  for (const check of checks) {
    const expected = preset(check.preset);
    const sent = check.sent.kind === 'client' ? clientParams[check.sent.index] : check.sent.value;
    if (!presetMatches(sent, expected)) {
      throw new SluiceError(
        'PRESET_COLUMN',
        `${check.column} is set by the gateway: leave it out, send DEFAULT, or send exactly the preset's value (the value sent is not it)`,
      );
    }
    if (check.sent.kind === 'client') {
      if (out === clientParams) out = clientParams.slice();
      out[check.sent.index] = expected;
    }
  }
  return out;
}
