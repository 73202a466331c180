/** Test tokens, signed directly with jose (never through the CLI). */
import { createHmac } from 'node:crypto';
import { SignJWT, base64url } from 'jose';

export const TEST_JWT_SECRET = 'sluice-integration-test-secret-0123456789abcdef';
const key = new TextEncoder().encode(TEST_JWT_SECRET);

export type Claims = Record<string, unknown>;

export async function signToken(claims: Claims, opts: { expiresIn?: string | number; secret?: string } = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt();
  jwt.setExpirationTime(opts.expiresIn ?? '1h');
  return jwt.sign(opts.secret === undefined ? key : new TextEncoder().encode(opts.secret));
}

/** An unsigned token: the classic `alg: none` bypass. */
export function unsignedToken(claims: Claims): string {
  const enc = (o: unknown): string => base64url.encode(JSON.stringify(o));
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ ...claims, exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
}

/**
 * A token signed by hand (HMAC-SHA512 when the header says HS512, else SHA-256), for headers,
 * claims and secrets jose refuses to produce: `crit`, an `nbf` of any type, an empty secret.
 */
export function handSignedToken(header: Record<string, unknown>, payload: unknown, secret = TEST_JWT_SECRET): string {
  return signPayloadText(header, JSON.stringify(payload), secret);
}

/** handSignedToken over payload JSON written by hand (nested too deep for JSON.stringify to produce). */
export function signPayloadText(header: Record<string, unknown>, payloadJson: string, secret = TEST_JWT_SECRET): string {
  const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(payloadJson)}`;
  const hash = header.alg === 'HS512' ? 'sha512' : 'sha256';
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

/** A valid token re-labelled with another header, its signature kept (so it no longer matches). */
export function relabelToken(token: string, header: Record<string, unknown>): string {
  const [, payload, sig] = token.split('.');
  return `${base64url.encode(JSON.stringify(header))}.${payload}.${sig}`;
}

export interface TestTokens {
  tenant1: string;
  tenant2: string;
  noTenant: string;
  unknownRole: string;
  expired: string;
  algNone: string;
  wrongSecret: string;
}

/** `suffix` keeps `sub` unique per suite so per-user rate limits never leak between files. */
export async function makeTokens(suffix = Math.random().toString(36).slice(2, 8)): Promise<TestTokens> {
  const member = (tenant: number): Claims => ({ sub: `user-t${tenant}-${suffix}`, role: 'member', tenant_id: tenant });
  return {
    tenant1: await signToken(member(1)),
    tenant2: await signToken(member(2)),
    noTenant: await signToken({ sub: `user-none-${suffix}`, role: 'member' }),
    unknownRole: await signToken({ sub: `user-x-${suffix}`, role: 'superuser', tenant_id: 1 }),
    expired: await signToken(member(1), { expiresIn: Math.floor(Date.now() / 1000) - 3600 }),
    algNone: unsignedToken(member(1)),
    wrongSecret: await signToken(member(1), { secret: 'a-completely-different-secret-of-enough-length' }),
  };
}
