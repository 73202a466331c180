import type { CheckedStatement } from './validator.js';

/**
 * The final parameter list: the client's params, then the gateway's (claims/literals).
 * Throws PARAM_COUNT_MISMATCH (400) or CLAIM_MISSING (403).
 */
export function bindParams(_checked: CheckedStatement, _clientParams: unknown[], _claims: Record<string, unknown>): unknown[] {
  throw new Error('not implemented yet');
}
