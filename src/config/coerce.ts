/**
 * Numbers and booleans may arrive as strings because `${PORT}` interpolation always yields a
 * string. Only exact numeric / boolean spellings are converted; anything else fails validation.
 */
import { z } from 'zod';

export function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.preprocess(
    (v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v),
    z.number().int().min(min).max(max),
  );
}

export function bool() {
  return z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
}
