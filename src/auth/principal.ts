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
 * The role a token names, or `defaultRole` (auth.defaultRole) when it names none: the role claim is
 * absent or null (identity providers write a missing value either way). Any other value that is not
 * a non-empty string is a malformed token, never the default: an array of roles or a number must not
 * quietly become the default role.
 */
function roleOf(payload: Record<string, unknown>, ref: string, defaultRole: string | undefined): string {
  const role = readClaim(payload, ref);
  if (typeof role === 'string' && role !== '') return role;
  if ((role === undefined || role === null) && defaultRole !== undefined) return defaultRole;
  throw new SluiceError('TOKEN_INVALID', `The token has no "${ref}" claim naming its role`);
}

/**
 * Throws TOKEN_INVALID (no role, and no auth.defaultRole) or CLAIM_AMBIGUOUS: a token any reference
 * reads two ways is refused here, at authentication, before any routing, queueing or lease —
 * whatever the config reads from it now or after a reload.
 */
export function toPrincipal(payload: Record<string, unknown>, claims: SluiceConfig['auth']['claims'], defaultRole?: string): Principal {
  assertUnambiguousClaims(payload);
  const role = roleOf(payload, claims.role, defaultRole);
  const user = scalar(readClaim(payload, claims.user));
  return {
    user: user === undefined ? undefined : String(user),
    role,
    tenant: scalar(readClaim(payload, claims.tenant)),
    claims: payload,
  };
}
