/**
 * JWT settings. The algorithm allowlist is explicit and tied to the key material: `none` is never
 * accepted, and HMAC algorithms are refused next to a public key so a token signed with the public
 * key as an HMAC secret (the classic algorithm-confusion attack) can never verify.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { int } from './coerce.js';

export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const ASYMMETRIC_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA',
] as const;
const ALL = new Set<string>([...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS]);
const HMAC = new Set<string>(HMAC_ALGORITHMS);

export const MIN_SECRET_LENGTH = 32;

/** Which key types can verify each algorithm (Node's asymmetricKeyType / namedCurve). */
function keyFits(alg: string, key: KeyObject): boolean {
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (alg.startsWith('RS')) return type === 'rsa';
  if (alg.startsWith('PS')) return type === 'rsa' || type === 'rsa-pss';
  if (alg === 'ES256') return type === 'ec' && curve === 'prime256v1';
  if (alg === 'ES384') return type === 'ec' && curve === 'secp384r1';
  if (alg === 'ES512') return type === 'ec' && curve === 'secp521r1';
  if (alg === 'EdDSA') return type === 'ed25519' || type === 'ed448';
  return false;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

/** `iss` / `aud`: one value or a list (any one of them is accepted), as jose takes them. */
function oneOrList(claim: string) {
  const message = `must be a non-empty string or a non-empty list of them (the token's "${claim}")`;
  return z
    .union([z.string().min(1, message), z.array(z.string().min(1, message)).min(1, message)], { error: message })
    .superRefine((v, ctx) => {
      if (!Array.isArray(v)) return;
      v.forEach((x, i) => {
        if (v.indexOf(x) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `"${x}" is listed twice` });
      });
    });
}

export const jwtSchema = z
  .strictObject({
    secret: z.string().min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`).optional(),
    publicKey: z.string().optional(),
    jwksUrl: z.string().optional(),
    algorithms: z.array(z.string()).min(1, 'list at least one algorithm (e.g. ["HS256"])'),
    issuer: oneOrList('iss').optional(),
    audience: oneOrList('aud').optional(),
    clockTolerance: int(0, 3600).default(5),
    cacheSize: int(0, 1_000_000).default(10_000),
  })
  .superRefine((jwt, ctx) => {
    const sources = (['secret', 'publicKey', 'jwksUrl'] as const).filter((k) => jwt[k] !== undefined);
    if (sources.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: sources.length > 1 ? [sources[1]!] : [],
        message:
          sources.length === 0
            ? 'set exactly one of secret, publicKey or jwksUrl'
            : `set exactly one of secret, publicKey or jwksUrl (found ${sources.join(' and ')})`,
      });
      return;
    }
    let key: KeyObject | undefined;
    if (jwt.publicKey !== undefined) {
      try {
        key = createPublicKey(jwt.publicKey);
      } catch {
        ctx.addIssue({ code: 'custom', path: ['publicKey'], message: 'is not a PEM public key (-----BEGIN PUBLIC KEY-----)' });
      }
    }
    if (jwt.jwksUrl !== undefined) {
      let url: URL | undefined;
      try {
        url = new URL(jwt.jwksUrl);
      } catch {
        ctx.addIssue({ code: 'custom', path: ['jwksUrl'], message: 'is not a URL' });
      }
      if (url && url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
        ctx.addIssue({ code: 'custom', path: ['jwksUrl'], message: 'must be https:// (http:// only for localhost)' });
      }
    }
    const seen = new Set<string>();
    jwt.algorithms.forEach((alg, i) => {
      const path = ['algorithms', i];
      if (alg.toLowerCase() === 'none') {
        ctx.addIssue({ code: 'custom', path, message: '"none" is not allowed' });
      } else if (!ALL.has(alg)) {
        ctx.addIssue({ code: 'custom', path, message: `"${alg}" is not a supported algorithm (${[...ALL].join(', ')})` });
      } else if (seen.has(alg)) {
        ctx.addIssue({ code: 'custom', path, message: `"${alg}" is listed twice` });
      } else if (HMAC.has(alg) && jwt.secret === undefined) {
        ctx.addIssue({ code: 'custom', path, message: `"${alg}" needs auth.jwt.secret; with publicKey/jwksUrl use RS*, PS*, ES* or EdDSA` });
      } else if (!HMAC.has(alg) && jwt.secret !== undefined) {
        ctx.addIssue({ code: 'custom', path, message: `"${alg}" needs auth.jwt.publicKey or auth.jwt.jwksUrl; with a secret use HS256, HS384 or HS512` });
      } else if (key && !keyFits(alg, key)) {
        ctx.addIssue({ code: 'custom', path, message: `"${alg}" cannot be verified with the configured publicKey (a ${key.asymmetricKeyType} key)` });
      }
      seen.add(alg);
    });
  });
