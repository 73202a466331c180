/**
 * JWT verification with jose. The algorithm allowlist from the config is always passed, so the
 * token's own `alg` header never chooses how it is verified.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors, importSPKI, jwtVerify, type CryptoKey, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { LRUCache } from 'lru-cache';
import { deepFreeze } from '../config/deep-freeze.js';
import type { JwtConfig } from '../config/types.js';
import { SluiceError } from '../errors.js';
import { JSON_DEPTH_CAP, exceedsJsonDepth } from '../json-depth.js';

export interface TokenVerifier {
  /** The verified payload, or a SluiceError (TOKEN_EXPIRED / TOKEN_INVALID). */
  verify(token: string): Promise<JWTPayload>;
  /**
   * The payload verify() would give at once because it remembers the token (auth.jwt.cacheSize),
   * or undefined (then call verify()). Synchronous: a request whose token is remembered needs no
   * promise to be authenticated. Optional: a verifier without a cache leaves it out.
   */
  remembered?(token: string): JWTPayload | undefined;
}

type Key = KeyObject | JWTVerifyGetKey;

/** A remembered token is re-verified at least this often (bounds how long a rotated-out key is honoured). */
const CACHE_TTL_MS = 60_000;

function publicKeyGetter(pem: string): JWTVerifyGetKey {
  // One CryptoKey per algorithm: WebCrypto keys are bound to the algorithm they were imported for.
  const byAlg = new Map<string, Promise<CryptoKey>>();
  return (header) => {
    const alg = header.alg;
    let key = byAlg.get(alg);
    if (!key) {
      key = importSPKI(pem, alg);
      byAlg.set(alg, key);
    }
    return key;
  };
}

function keyFor(jwt: JwtConfig): Key {
  // A KeyObject, not bytes: jose converts it to a WebCrypto key once and remembers it, where raw
  // bytes would be imported again on every verification.
  if (jwt.secret !== undefined) return createSecretKey(Buffer.from(jwt.secret, 'utf8'));
  if (jwt.publicKey !== undefined) return publicKeyGetter(jwt.publicKey);
  if (jwt.jwksUrl !== undefined) return createRemoteJWKSet(new URL(jwt.jwksUrl));
  throw new Error('auth.jwt has no key (parseConfig should have refused this)');
}

/** Messages are ours, not jose's: they must not describe key material or the JWKS endpoint. */
function toSluiceError(e: unknown): SluiceError {
  if (e instanceof errors.JWTExpired) return new SluiceError('TOKEN_EXPIRED');
  if (e instanceof errors.JWTClaimValidationFailed) {
    return new SluiceError('TOKEN_INVALID', `The token's "${e.claim}" claim is not accepted`);
  }
  if (e instanceof errors.JOSEAlgNotAllowed) return new SluiceError('TOKEN_INVALID', 'The token is signed with an algorithm that is not allowed');
  if (e instanceof errors.JWSSignatureVerificationFailed) return new SluiceError('TOKEN_INVALID', 'The token signature does not verify');
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid) return new SluiceError('TOKEN_INVALID', 'The token is malformed');
  if (e instanceof errors.JWKSNoMatchingKey) return new SluiceError('TOKEN_INVALID', 'No key matches the token');
  return new SluiceError('TOKEN_INVALID');
}

/**
 * `maxJsonDepth` (limits.maxJsonDepth): claims nested deeper are refused like any other bad token.
 * They travel with every job (structured clone to a thread, JSON in Redis, JSON.stringify into the
 * pg context), and each of those recurses once per level.
 */
export function createVerifier(jwt: JwtConfig, maxJsonDepth = JSON_DEPTH_CAP): TokenVerifier {
  const key = keyFor(jwt);
  const options: JWTVerifyOptions = { algorithms: [...jwt.algorithms], clockTolerance: jwt.clockTolerance };
  // Copies: the config is frozen, and a list means "any one of these" to jose.
  if (jwt.issuer !== undefined) options.issuer = typeof jwt.issuer === 'string' ? jwt.issuer : [...jwt.issuer];
  if (jwt.audience !== undefined) options.audience = typeof jwt.audience === 'string' ? jwt.audience : [...jwt.audience];
  // Only successful verifications are remembered, keyed by the whole token, and only until the
  // token's own exp (nbf was already checked, and time only moves forward).
  const cache = jwt.cacheSize > 0 ? new LRUCache<string, { payload: JWTPayload; until: number }>({ max: jwt.cacheSize }) : undefined;
  function remembered(token: string): JWTPayload | undefined {
    const hit = cache?.get(token);
    if (!hit) return undefined;
    if (Date.now() < hit.until) return hit.payload;
    cache!.delete(token);
    return undefined;
  }
  return {
    remembered,
    async verify(token) {
      const hit = remembered(token);
      if (hit) return hit;
      let payload: JWTPayload;
      try {
        // Two overloads (key vs. key getter) that TypeScript will not unify on a union.
        ({ payload } = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options));
      } catch (e) {
        throw toSluiceError(e);
      }
      if (exceedsJsonDepth(payload, maxJsonDepth)) throw new SluiceError('TOKEN_INVALID', `The token's claims nest deeper than limits.maxJsonDepth (${maxJsonDepth})`);
      if (cache) {
        const now = Date.now();
        const expiry = typeof payload.exp === 'number' ? (payload.exp + jwt.clockTolerance) * 1000 : Infinity;
        const until = Math.min(now + CACHE_TTL_MS, expiry);
        // Shared by every request with this token: nothing downstream may change it.
        if (until > now) cache.set(token, { payload: deepFreeze(payload), until });
      }
      return payload;
    },
  };
}
