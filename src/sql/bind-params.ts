import { SluiceError } from '../errors.js';
import { resolveClaim } from '../permissions/claims.js';
import type { CheckedStatement } from './validator.js';

/**
 * The final parameter list: the client's params, then the gateway's (claims/literals).
 * Throws PARAM_COUNT_MISMATCH (400) or CLAIM_MISSING (403).
 */
export function bindParams(checked: CheckedStatement, clientParams: unknown[], claims: Record<string, unknown>): unknown[] {
  if (clientParams.length !== checked.clientParamCount) {
    throw new SluiceError(
      'PARAM_COUNT_MISMATCH',
      `The SQL has ${checked.clientParamCount} placeholder(s) but ${clientParams.length} param(s) were sent`,
    );
  }
  if (checked.claimParams.length === 0) return clientParams;
  const out = clientParams.slice();
  for (const source of checked.claimParams) {
    out.push(source.kind === 'claim' ? resolveClaim(claims, source.path) : source.value);
  }
  return out;
}
