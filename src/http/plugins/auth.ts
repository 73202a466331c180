/** Verify the bearer token and attach the principal. The token itself is never stored or logged. */
import type { FastifyRequest } from 'fastify';
import type { JWTPayload } from 'jose';
import { bearerToken } from '../../auth/bearer.js';
import { toPrincipal } from '../../auth/principal.js';
import type { TokenVerifier } from '../../auth/verifier.js';
import type { SluiceConfig } from '../../config/types.js';

function attach(request: FastifyRequest, payload: JWTPayload, auth: SluiceConfig['auth']): void {
  request.sluice.principal = toPrincipal(payload as Record<string, unknown>, auth.claims, auth.defaultRole);
}

export function authHook(verifier: TokenVerifier, auth: SluiceConfig['auth']) {
  return async function authenticate(request: FastifyRequest): Promise<void> {
    attach(request, await verifier.verify(bearerToken(request.headers.authorization)), auth);
  };
}

/**
 * The synchronous half of authHook: attaches the principal and returns true when the verifier
 * remembers the token (TokenVerifier.remembered), false when authHook must verify it. Throws what
 * authHook rejects with for a missing or malformed header, or a remembered token's bad claims.
 */
export function rememberedAuth(verifier: TokenVerifier, auth: SluiceConfig['auth']) {
  return function authenticateRemembered(request: FastifyRequest): boolean {
    const payload = verifier.remembered?.(bearerToken(request.headers.authorization));
    if (payload === undefined) return false;
    attach(request, payload, auth);
    return true;
  };
}
