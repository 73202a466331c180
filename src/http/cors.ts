/**
 * CORS for browser apps (server.cors; off without it). @fastify/cors answers preflights in its own
 * onRequest hook — before authentication and rate limits, which a browser's preflight (no
 * Authorization header) would fail — and adds Access-Control-* headers to the real answers.
 *
 * An origin not in the list gets no Access-Control-* header (a preflight from it: 404 NOT_FOUND),
 * so the browser refuses to send the call or to hand the answer to the page. CORS is not access control: the token still decides what a call may do.
 */
import fastifyCors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import type { CorsConfig } from '../config/types.js';
import { RATE_LIMIT_HEADERS } from './rate-limit/rate-limit-headers.js';
import { REQUEST_ID_HEADER } from './request-id.js';

/** Headers a page may send: a token, a JSON body, its own request id. */
export const CORS_ALLOWED_HEADERS = ['authorization', 'content-type', REQUEST_ID_HEADER];
/** Headers a page may read besides the CORS-safelisted ones. */
export const CORS_EXPOSED_HEADERS = [REQUEST_ID_HEADER, 'retry-after', ...RATE_LIMIT_HEADERS, 'x-sluice-truncated'];

export function registerCors(app: FastifyInstance, cors: CorsConfig): void {
  const allowed = new Set(cors.origins);
  app.register(fastifyCors, {
    // A function rather than the list: for an origin not listed the plugin then adds no CORS
    // header at all, and a preflight from it gets the same 404 as with CORS off.
    origin: allowed.has('*') ? '*' : (origin, done) => done(null, origin !== undefined && allowed.has(origin)),
    credentials: cors.credentials,
    maxAge: cors.maxAge,
    methods: ['GET', 'HEAD', 'POST', 'DELETE'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    // Strict mode answers an OPTIONS without Origin in text/plain, outside the error shape; without
    // it such a request gets a 204 with no Allow-Origin, which no browser acts on.
    strictPreflight: false,
  });
}
