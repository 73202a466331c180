/** Claim references in permissions: the string "$claims.a.b" names payload.a.b. */
import type { FilterValue } from '../config/types.js';
import { SluiceError } from '../errors.js';

const PREFIX = '$claims.';

export function claimPath(value: FilterValue): string[] | null {
  if (typeof value !== 'string' || !value.startsWith(PREFIX)) return null;
  return value.slice(PREFIX.length).split('.');
}

/**
 * The claim's value, or CLAIM_MISSING (403). A missing claim must never turn into an unfiltered
 * query, so null/undefined/objects are all refused; arrays are allowed (for `in`).
 */
export function resolveClaim(claims: Record<string, unknown>, path: readonly string[]): string | number | boolean | unknown[] {
  let cur: unknown = claims;
  for (const part of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, part)) {
      throw new SluiceError('CLAIM_MISSING', `The token lacks the claim "${path.join('.')}" that the permissions need`);
    }
    cur = (cur as Record<string, unknown>)[part];
  }
  if (typeof cur === 'string' || typeof cur === 'number' || typeof cur === 'boolean') return cur;
  if (Array.isArray(cur) && cur.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) return cur;
  throw new SluiceError('CLAIM_MISSING', `The claim "${path.join('.')}" is missing or not a scalar`);
}
