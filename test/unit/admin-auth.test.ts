/** The admin guard (http/admin/admin-auth.ts): bearer token and the board pass. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createAdminAuth } from '../../src/http/admin/admin-auth.js';

const TOKEN = 'admin-token-0123456789abcdef0123456789';
const req = (headers: Record<string, string>, protocol = 'http') => ({ headers, protocol }) as unknown as FastifyRequest;
const codeOf = (fn: () => void): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

function issue(now: number, protocol = 'http'): string {
  let cookie = '';
  const reply = { header: (_: string, v: string) => (cookie = v) } as unknown as FastifyReply;
  createAdminAuth(TOKEN, () => now).issueBoardPass(req({}, protocol), reply);
  return cookie;
}

describe('admin auth', () => {
  const auth = createAdminAuth(TOKEN);

  it('takes the bearer token, and only it', () => {
    expect(codeOf(() => auth.requireBearer(req({ authorization: `Bearer ${TOKEN}` })))).toBeUndefined();
    expect(codeOf(() => auth.requireBearer(req({ authorization: `bearer  ${TOKEN} ` })))).toBeUndefined();
    expect(codeOf(() => auth.requireBearer(req({})))).toBe('TOKEN_MISSING');
    expect(codeOf(() => auth.requireBearer(req({ authorization: `Bearer ${TOKEN}x` })))).toBe('TOKEN_INVALID');
    expect(codeOf(() => auth.requireBearer(req({ authorization: `Basic ${TOKEN}` })))).toBe('TOKEN_INVALID');
    expect(codeOf(() => auth.requireBearer(req({ authorization: TOKEN })))).toBe('TOKEN_INVALID');
  });

  it('issues a board pass the board accepts and the API does not', () => {
    const cookie = issue(Date.now());
    expect(cookie).toMatch(/^sluice_board=\d+\.[\w-]{43}; Path=\/admin\/queues; Max-Age=28800; HttpOnly; SameSite=Strict$/);
    const pass = cookie.split(';')[0]!;
    expect(codeOf(() => auth.requireBoardAccess(req({ cookie: `other=1; ${pass}` })))).toBeUndefined();
    expect(codeOf(() => auth.requireBearer(req({ cookie: pass })))).toBe('TOKEN_MISSING');
    expect(issue(Date.now(), 'https')).toMatch(/; Secure$/);
  });

  it('refuses an expired, altered or foreign pass', () => {
    const expired = issue(Date.now() - 9 * 3600 * 1000).split(';')[0]!;
    expect(codeOf(() => auth.requireBoardAccess(req({ cookie: expired })))).toBe('TOKEN_INVALID');
    const pass = issue(Date.now()).split(';')[0]!;
    const [name, value] = pass.split('=') as [string, string];
    const [expiry, mac] = value.split('.') as [string, string];
    // A later expiry with the same MAC.
    expect(codeOf(() => auth.requireBoardAccess(req({ cookie: `${name}=${Number(expiry) + 3600}.${mac}` })))).toBe('TOKEN_INVALID');
    const foreign = createAdminAuth(`${TOKEN}-other`);
    expect(codeOf(() => foreign.requireBoardAccess(req({ cookie: pass })))).toBe('TOKEN_INVALID');
    expect(codeOf(() => auth.requireBoardAccess(req({ cookie: 'sluice_board=garbage' })))).toBe('TOKEN_INVALID');
    expect(codeOf(() => auth.requireBoardAccess(req({})))).toBe('TOKEN_MISSING');
    // A wrong bearer with a valid pass still gets in through the pass.
    expect(codeOf(() => auth.requireBoardAccess(req({ authorization: 'Bearer nope', cookie: pass })))).toBeUndefined();
  });
});
