/** Who is asking: the claims config maps claim references to user / role / tenant. */
import type { SluiceConfig } from '../config/types.js';
import { SluiceError } from '../errors.js';
import { assertUnambiguousClaims, readClaim } from './claim-lookup.js';

export interface Principal {
  /** For rate limits and logs; undefined when the token has no user claim. */
  user: string | undefined;
  role: string;
  /** Routing, fair-queue line, job owner and logs; row filters read the claims themselves (same lookup). */
  tenant: string | number | undefined;
  claims: Record<string, unknown>;
}

function scalar(v: unknown): string | number | undefined {
  return typeof v === 'string' || typeof v === 'number' ? v : undefined;
}

/**
 * Throws TOKEN_INVALID (no role) or CLAIM_AMBIGUOUS: a token any reference reads two ways is
 * refused here, at authentication, before any routing, queueing or lease — whatever the config
 * reads from it now or after a reload.
 */
export function toPrincipal(payload: Record<string, unknown>, claims: SluiceConfig['auth']['claims']): Principal {
  assertUnambiguousClaims(payload);
  const role = readClaim(payload, claims.role);
  if (typeof role !== 'string' || role === '') {
    throw new SluiceError('TOKEN_INVALID', `The token has no "${claims.role}" claim naming its role`);
  }
  const user = scalar(readClaim(payload, claims.user));
  return {
    user: user === undefined ? undefined : String(user),
    role,
    tenant: scalar(readClaim(payload, claims.tenant)),
    claims: payload,
  };
}
