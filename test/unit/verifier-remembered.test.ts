/**
 * TokenVerifier.remembered: the synchronous cache lookup the /data hook uses before it falls back
 * to verify(). It must never answer for a token verify() has not accepted, nor for one past the
 * cache's own bounds (60 s, the token's exp).
 */
import { describe, expect, it, vi } from 'vitest';
import { signDevToken } from '../../src/auth/dev-token.js';
import { createVerifier } from '../../src/auth/verifier.js';
import { parseConfig } from '../../src/config/schema.js';
import { sluiceCodeOf } from '../helpers/sluice-code.js';

const SECRET = 'a-secret-that-is-at-least-32-chars-long';
const hsConfig = (jwt: Record<string, unknown> = {}) =>
  parseConfig({ auth: { jwt: { secret: SECRET, algorithms: ['HS256'], ...jwt } }, connections: { main: 'postgres://a@b/c' } });

describe('TokenVerifier.remembered', () => {
  it('knows a token only once verify() accepted it, and then gives the same payload', async () => {
    const cfg = hsConfig();
    const verifier = createVerifier(cfg.auth.jwt);
    const token = await signDevToken(cfg, { sub: 'u1', role: 'member' }, '2h');
    expect(verifier.remembered!(token)).toBeUndefined();
    const payload = await verifier.verify(token);
    expect(verifier.remembered!(token)).toBe(payload);
    // Another token (here: the same claims, forged signature) is not known because its claims are.
    const forged = `${token.slice(0, -4)}AAAA`;
    expect(verifier.remembered!(forged)).toBeUndefined();
    expect(await sluiceCodeOf(verifier.verify(forged))).toBe('TOKEN_INVALID');
    expect(verifier.remembered!(forged)).toBeUndefined();
    // Without a cache nothing is known, whatever was verified.
    const uncached = createVerifier(hsConfig({ cacheSize: 0 }).auth.jwt);
    await uncached.verify(token);
    expect(uncached.remembered?.(token)).toBeUndefined();
  });

  it('forgets a token after 60 s and at its exp (then verify() decides again)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const cfg = hsConfig({ clockTolerance: 0 });
      const verifier = createVerifier(cfg.auth.jwt);
      const long = await signDevToken(cfg, { role: 'member' }, '2h');
      const short = await signDevToken(cfg, { role: 'member' }, Math.floor(Date.now() / 1000) + 30);
      await verifier.verify(long);
      await verifier.verify(short);
      vi.setSystemTime(Date.now() + 31_000);
      expect(verifier.remembered!(short)).toBeUndefined();
      expect(await sluiceCodeOf(verifier.verify(short))).toBe('TOKEN_EXPIRED');
      expect(verifier.remembered!(long)).toBeDefined();
      vi.setSystemTime(Date.now() + 30_000);
      expect(verifier.remembered!(long)).toBeUndefined();
      await verifier.verify(long);
      expect(verifier.remembered!(long)).toBeDefined();
    } finally {
      vi.useRealTimers();
    }
  });
});
