/**
 * Claim references in permissions: the string "$claims.<ref>" names the claim <ref>, read with the
 * one lookup (auth/claim-lookup.ts): "$claims.org.id" is payload.org.id,
 * "$claims.https://app.example/tenant" the namespaced key of that name.
 */
import { readClaim } from '../auth/claim-lookup.js';
import type { FilterValue } from '../config/types.js';
import { SluiceError } from '../errors.js';

const PREFIX = '$claims.';

/** The reference of a "$claims.…" value, or null for a literal. */
export function claimRef(value: FilterValue): string | null {
  if (typeof value !== 'string' || !value.startsWith(PREFIX)) return null;
  return value.slice(PREFIX.length);
}

/**
 * The claim's value, or CLAIM_MISSING (403). A missing claim must never turn into an unfiltered
 * query, so null/undefined/objects are all refused; arrays are allowed (for `in`). A reference the
 * token answers two ways is CLAIM_AMBIGUOUS (403).
 */
export function resolveClaim(claims: Record<string, unknown>, ref: string): string | number | boolean | unknown[] {
  const value = readClaim(claims, ref);
  if (value === undefined) throw new SluiceError('CLAIM_MISSING', `The token lacks the claim "${ref}" that the permissions need`);
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) return value;
  throw new SluiceError('CLAIM_MISSING', `The claim "${ref}" is missing or not a scalar`);
}
