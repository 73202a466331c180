/** Who is asking: the claims config maps payload paths to user / role / tenant. */
import type { SluiceConfig } from '../config/types.js';
import { SluiceError } from '../errors.js';

export interface Principal {
  /** For rate limits and logs; undefined when the token has no user claim. */
  user: string | undefined;
  role: string;
  /** For logs only; row filters read the claims themselves. */
  tenant: string | number | undefined;
  claims: Record<string, unknown>;
}

/**
 * A claim by path. A key that itself contains dots (namespaced claims such as
 * "https://example.com/role") is matched whole before the path is split.
 */
export function claimAt(payload: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(payload, path)) return payload[path];
  let cur: unknown = payload;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function scalar(v: unknown): string | number | undefined {
  return typeof v === 'string' || typeof v === 'number' ? v : undefined;
}

export function toPrincipal(payload: Record<string, unknown>, claims: SluiceConfig['auth']['claims']): Principal {
  const role = claimAt(payload, claims.role);
  if (typeof role !== 'string' || role === '') {
    throw new SluiceError('TOKEN_INVALID', `The token has no "${claims.role}" claim naming its role`);
  }
  const user = scalar(claimAt(payload, claims.user));
  return {
    user: user === undefined ? undefined : String(user),
    role,
    tenant: scalar(claimAt(payload, claims.tenant)),
    claims: payload,
  };
}
