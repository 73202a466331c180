/**
 * Who may use /admin: whoever presents server.adminToken. The JSON API and POST /admin/reload take
 * it as `Authorization: Bearer <adminToken>`, which a browser never sends on its own, so no page of
 * another site can make a logged-in operator's browser call them (no cookies → no CSRF).
 *
 * The BullMQ board (/admin/queues, queue mode) is a page of its own whose requests cannot carry a
 * header, so it also accepts a short-lived board pass in a cookie: `<expiry>.<HMAC(adminToken,
 * expiry)>`, issued by POST /admin/api/board-session to a caller with the bearer token, scoped to
 * Path=/admin/queues, HttpOnly, SameSite=Strict (Secure over HTTPS). The pass is stateless, so any
 * instance sharing the token accepts it; rotating the token voids every pass. The board is mounted
 * read-only and the guard answers only GET/HEAD there, so even a forged cross-site request could
 * change nothing. Every comparison is over digests, in constant time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SluiceError } from '../../errors.js';

export const BOARD_PATH = '/admin/queues';
export const BOARD_COOKIE = 'sluice_board';
/** A board pass lasts this long; the console issues a new one each time the board is opened. */
export const BOARD_PASS_SECONDS = 8 * 3600;

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const PASS = /^(\d{10,13})\.([A-Za-z0-9_-]{43})$/;

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export interface AdminAuth {
  /** Throws TOKEN_MISSING / TOKEN_INVALID (401) unless the request carries the bearer token. */
  requireBearer(request: FastifyRequest): void;
  /** The bearer token or a valid board pass; throws like requireBearer. */
  requireBoardAccess(request: FastifyRequest): void;
  /** Sets a fresh board pass cookie on the reply. */
  issueBoardPass(request: FastifyRequest, reply: FastifyReply): void;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function createAdminAuth(token: string, now: () => number = Date.now): AdminAuth {
  const expected = digest(token);
  const sign = (expiry: string): string => createHmac('sha256', token).update(`sluice-board-pass:${expiry}`).digest('base64url');

  function bearerOk(request: FastifyRequest): boolean | undefined {
    const header = request.headers.authorization;
    if (header === undefined) return undefined;
    const given = BEARER.exec(header)?.[1];
    return given !== undefined && timingSafeEqual(digest(given), expected);
  }

  function passOk(request: FastifyRequest): boolean | undefined {
    const pass = cookieValue(request.headers.cookie, BOARD_COOKIE);
    if (pass === undefined) return undefined;
    const m = PASS.exec(pass);
    if (!m) return false;
    const [, expiry, mac] = m as unknown as [string, string, string];
    const ok = timingSafeEqual(digest(mac), digest(sign(expiry)));
    return ok && Number(expiry) * 1000 > now();
  }

  return {
    requireBearer(request) {
      const ok = bearerOk(request);
      if (ok === undefined) throw new SluiceError('TOKEN_MISSING', 'Authorization: Bearer <server.adminToken> is required');
      if (!ok) throw new SluiceError('TOKEN_INVALID', 'The admin token is invalid');
    },
    requireBoardAccess(request) {
      const bearer = bearerOk(request);
      if (bearer === true) return;
      const pass = passOk(request);
      if (pass === true) return;
      if (bearer === undefined && pass === undefined) throw new SluiceError('TOKEN_MISSING', 'Open the queue board from the console (/admin), or send Authorization: Bearer <server.adminToken>');
      throw new SluiceError('TOKEN_INVALID', 'The admin token or board pass is invalid or expired; open the board from the console again');
    },
    issueBoardPass(request, reply) {
      const expiry = String(Math.floor(now() / 1000) + BOARD_PASS_SECONDS);
      const secure = request.protocol === 'https' ? '; Secure' : '';
      reply.header('set-cookie', `${BOARD_COOKIE}=${expiry}.${sign(expiry)}; Path=${BOARD_PATH}; Max-Age=${BOARD_PASS_SECONDS}; HttpOnly; SameSite=Strict${secure}`);
    },
  };
}
