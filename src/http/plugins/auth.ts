/** Verify the bearer token and attach the principal. The token itself is never stored or logged. */
import type { FastifyRequest } from 'fastify';
import { bearerToken } from '../../auth/bearer.js';
import { toPrincipal } from '../../auth/principal.js';
import type { TokenVerifier } from '../../auth/verifier.js';
import type { SluiceConfig } from '../../config/types.js';

export function authHook(verifier: TokenVerifier, auth: SluiceConfig['auth']) {
  return async function authenticate(request: FastifyRequest): Promise<void> {
    const payload = await verifier.verify(bearerToken(request.headers.authorization));
    request.sluice.principal = toPrincipal(payload as Record<string, unknown>, auth.claims, auth.defaultRole);
  };
}
