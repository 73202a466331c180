import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, importPKCS8 } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import { bearerToken } from '../../src/auth/bearer.js';
import { signDevToken } from '../../src/auth/dev-token.js';
import { readClaim } from '../../src/auth/claim-lookup.js';
import { toPrincipal } from '../../src/auth/principal.js';
import { createVerifier } from '../../src/auth/verifier.js';
import { parseConfig } from '../../src/config/schema.js';
import { SluiceError } from '../../src/errors.js';
import { sluiceCodeOf } from '../helpers/sluice-code.js';

const SECRET = 'a-secret-that-is-at-least-32-chars-long';
const hsConfig = (jwt: Record<string, unknown> = {}) =>
  parseConfig({ auth: { jwt: { secret: SECRET, algorithms: ['HS256'], ...jwt } }, connections: { main: 'postgres://a@b/c' } });

const codeOf = sluiceCodeOf;

describe('createVerifier with a secret', () => {
  it('verifies a token signed with the secret', async () => {
    const cfg = hsConfig();
    const payload = await createVerifier(cfg.auth.jwt).verify(await signDevToken(cfg, { sub: 'u1', role: 'member' }));
    expect(payload).toMatchObject({ sub: 'u1', role: 'member' });
  });

  it('maps expiry to TOKEN_EXPIRED and respects clockTolerance', async () => {
    const cfg = hsConfig({ clockTolerance: 0 });
    const expired = await signDevToken(cfg, { role: 'member' }, Math.floor(Date.now() / 1000) - 10);
    expect(await codeOf(createVerifier(cfg.auth.jwt).verify(expired))).toBe('TOKEN_EXPIRED');
    const tolerant = hsConfig({ clockTolerance: 60 });
    await createVerifier(tolerant.auth.jwt).verify(expired);
  });

  it('refuses a wrong signature, garbage, and an algorithm outside the allowlist', async () => {
    const cfg = hsConfig();
    const verifier = createVerifier(cfg.auth.jwt);
    const other = hsConfig({ secret: 'another-secret-that-is-at-least-32-chars' });
    expect(await codeOf(verifier.verify(await signDevToken(other, { role: 'r' })))).toBe('TOKEN_INVALID');
    expect(await codeOf(verifier.verify('garbage'))).toBe('TOKEN_INVALID');
    const hs512 = await new SignJWT({ role: 'r' }).setProtectedHeader({ alg: 'HS512' }).sign(new TextEncoder().encode(SECRET));
    expect(await codeOf(verifier.verify(hs512))).toBe('TOKEN_INVALID');
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"role":"r"}').toString('base64url')}.`;
    expect(await codeOf(verifier.verify(unsigned))).toBe('TOKEN_INVALID');
  });

  it('checks issuer and audience when configured', async () => {
    const cfg = hsConfig({ issuer: 'https://issuer.example', audience: 'sluice' });
    const verifier = createVerifier(cfg.auth.jwt);
    await verifier.verify(await signDevToken(cfg, { role: 'r' }));
    const noIss = await signDevToken(hsConfig(), { role: 'r' });
    await expect(verifier.verify(noIss)).rejects.toMatchObject({ code: 'TOKEN_INVALID', message: expect.stringContaining('"iss"') });
  });
});

describe('createVerifier: remembered tokens', () => {
  it('answers a repeated token from the cache with the same frozen payload', async () => {
    const cfg = hsConfig();
    const verifier = createVerifier(cfg.auth.jwt);
    const token = await signDevToken(cfg, { sub: 'u1', role: 'member', tenant_id: 1 });
    const first = await verifier.verify(token);
    const again = await verifier.verify(token);
    expect(again).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('never serves a cached token past its exp', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const cfg = hsConfig({ clockTolerance: 0 });
      const verifier = createVerifier(cfg.auth.jwt);
      const exp = Math.floor(Date.now() / 1000) + 5;
      const token = await signDevToken(cfg, { role: 'member' }, exp);
      await verifier.verify(token);
      vi.setSystemTime((exp + 1) * 1000);
      expect(await codeOf(verifier.verify(token))).toBe('TOKEN_EXPIRED');
    } finally {
      vi.useRealTimers();
    }
  });

  it('re-verifies a remembered token after at most 60 s', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const cfg = hsConfig();
      const verifier = createVerifier(cfg.auth.jwt);
      const token = await signDevToken(cfg, { role: 'member' }, '2h');
      const first = await verifier.verify(token);
      vi.setSystemTime(Date.now() + 61_000);
      const later = await verifier.verify(token);
      expect(later).not.toBe(first);
      expect(later).toEqual(first);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not remember a refused token, and cacheSize 0 disables the cache', async () => {
    const cfg = hsConfig({ cacheSize: 0 });
    const verifier = createVerifier(cfg.auth.jwt);
    const token = await signDevToken(cfg, { role: 'member' });
    expect(await verifier.verify(token)).not.toBe(await verifier.verify(token));
    const forged = `${token.slice(0, -4)}AAAA`;
    const cached = createVerifier(hsConfig().auth.jwt);
    expect(await codeOf(cached.verify(forged))).toBe('TOKEN_INVALID');
    expect(await codeOf(cached.verify(forged))).toBe('TOKEN_INVALID');
  });
});

describe('createVerifier with a public key', () => {
  it('verifies RS256 and refuses the public key used as an HMAC secret', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const cfg = parseConfig({ auth: { jwt: { publicKey: pem, algorithms: ['RS256'] } }, connections: { main: 'postgres://a@b/c' } });
    const verifier = createVerifier(cfg.auth.jwt);
    const key = await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'RS256');
    const good = await new SignJWT({ role: 'member' }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('1h').sign(key);
    expect(await verifier.verify(good)).toMatchObject({ role: 'member' });
    const confused = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(pem));
    expect(await codeOf(verifier.verify(confused))).toBe('TOKEN_INVALID');
    await expect(signDevToken(cfg, { role: 'member' })).rejects.toThrow(/cannot sign/);
  });
});

describe('toPrincipal', () => {
  const claims = { role: 'role', tenant: 'tenant_id', user: 'sub' };

  it('reads user, role and tenant', () => {
    expect(toPrincipal({ sub: 'u1', role: 'member', tenant_id: 7 }, claims)).toEqual({ user: 'u1', role: 'member', tenant: 7, claims: { sub: 'u1', role: 'member', tenant_id: 7 } });
  });

  it('follows dotted paths and reads namespaced keys whole', () => {
    const payload = { app: { role: 'editor', org: { id: 'o1' } }, 'https://x.example/user': 'u9' };
    expect(toPrincipal(payload, { role: 'app.role', tenant: 'app.org.id', user: 'https://x.example/user' })).toMatchObject({ role: 'editor', tenant: 'o1', user: 'u9' });
    expect(readClaim(payload, 'app.missing.deep')).toBeUndefined();
  });

  it('refuses a token without a role', () => {
    expect(() => toPrincipal({ sub: 'u1' }, claims)).toThrow(expect.objectContaining({ code: 'TOKEN_INVALID', message: expect.stringContaining('"role"') }));
    expect(() => toPrincipal({ role: 5 }, claims)).toThrow(SluiceError);
  });

  it('gives a token whose role claim is absent or null the default role', () => {
    expect(toPrincipal({ sub: 'u1', tenant_id: 7 }, claims, 'member')).toMatchObject({ role: 'member', user: 'u1', tenant: 7 });
    expect(toPrincipal({ sub: 'u1', role: null }, claims, 'member')).toMatchObject({ role: 'member' });
    expect(toPrincipal({ sub: 'u1', app: {} }, { ...claims, role: 'app.role' }, 'member')).toMatchObject({ role: 'member' });
    // The token's own role always wins.
    expect(toPrincipal({ sub: 'u1', role: 'admin' }, claims, 'member')).toMatchObject({ role: 'admin' });
  });

  it('never turns a malformed role claim into the default role', () => {
    for (const role of ['', 5, true, ['admin'], { name: 'admin' }]) {
      expect(() => toPrincipal({ sub: 'u1', role }, claims, 'member')).toThrow(expect.objectContaining({ code: 'TOKEN_INVALID' }));
    }
    // Nor does the default cover an ambiguous token.
    expect(() => toPrincipal({ app: { role: 'admin' }, 'app.role': 'member' }, { ...claims, role: 'app.role' }, 'member')).toThrow(expect.objectContaining({ code: 'CLAIM_AMBIGUOUS' }));
  });
});

describe('createVerifier: issuer and audience lists', () => {
  const cfg = hsConfig({ issuer: ['https://id.example/', 'https://login.example.com/'], audience: ['https://api.example', 'sluice'] });
  const sign = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));

  it('accepts any listed issuer, and an aud that contains any listed audience', async () => {
    const verifier = createVerifier(cfg.auth.jwt);
    for (const iss of ['https://id.example/', 'https://login.example.com/']) {
      for (const aud of ['sluice', ['https://api.example'], ['https://id.example/userinfo', 'https://api.example']]) {
        expect(await verifier.verify(await sign({ role: 'r', iss, aud }))).toMatchObject({ iss, aud });
      }
    }
  });

  it('refuses an issuer or audience outside the lists, or missing', async () => {
    const verifier = createVerifier(cfg.auth.jwt);
    const refused = [
      { role: 'r', iss: 'https://id.example', aud: 'sluice' },
      { role: 'r', iss: 'https://evil.example/', aud: 'sluice' },
      { role: 'r', aud: 'sluice' },
      { role: 'r', iss: 'https://id.example/', aud: 'other' },
      { role: 'r', iss: 'https://id.example/', aud: ['other', 'https://id.example/userinfo'] },
      { role: 'r', iss: 'https://id.example/' },
    ];
    for (const claims of refused) expect(await codeOf(verifier.verify(await sign(claims)))).toBe('TOKEN_INVALID');
  });

  it('signs development tokens with the first issuer and every audience', async () => {
    const payload = await createVerifier(cfg.auth.jwt).verify(await signDevToken(cfg, { role: 'r' }));
    expect(payload).toMatchObject({ iss: 'https://id.example/', aud: ['https://api.example', 'sluice'] });
  });
});

describe('bearerToken', () => {
  it('extracts the token or refuses with TOKEN_MISSING', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer abc')).toBe('abc');
    for (const h of [undefined, '', 'Bearer', 'Bearer ', 'Basic abc', 'Bearer a b']) {
      expect(() => bearerToken(h)).toThrow(expect.objectContaining({ code: 'TOKEN_MISSING' }));
    }
  });
});
