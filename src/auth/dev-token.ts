/** Mint a token for development (`sluice token`, the demo). HMAC configs only. */
import { SignJWT } from 'jose';
import type { SluiceConfig } from '../config/types.js';

export async function signDevToken(config: Readonly<SluiceConfig>, claims: Record<string, unknown>, expiresIn: string | number = '1h'): Promise<string> {
  const { secret, algorithms, issuer, audience } = config.auth.jwt;
  const alg = algorithms.find((a) => a.startsWith('HS'));
  if (secret === undefined || alg === undefined) {
    throw new Error(
      'cannot sign a token: this config verifies with a public key or JWKS (auth.jwt.publicKey / jwksUrl), ' +
        'and sluice never holds the private key. Get a token from your identity provider instead.',
    );
  }
  let jwt = new SignJWT({ ...claims }).setProtectedHeader({ alg, typ: 'JWT' }).setIssuedAt().setExpirationTime(expiresIn);
  // A token has one issuer: the first accepted one. Its audience may be the whole list.
  if (issuer !== undefined) jwt = jwt.setIssuer(typeof issuer === 'string' ? issuer : issuer[0]!);
  if (audience !== undefined) jwt = jwt.setAudience(typeof audience === 'string' ? audience : [...audience]);
  return jwt.sign(new TextEncoder().encode(secret));
}
