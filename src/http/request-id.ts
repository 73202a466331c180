/**
 * Request ids. A client (or the proxy in front) may send `x-request-id`; it is kept when it is at
 * most 128 characters of a conservative charset (so it is safe in a header, a log line and a JSON
 * body as it is), and replaced otherwise — never trimmed or partly kept, which could make two
 * different ids collide. Without one, sluice makes one: a random per-app prefix and a counter,
 * cheaper than a UUID per request and still unique across restarts and instances.
 *
 * The id is `request.id`: Fastify puts it on every log line of the request (`reqId`), the audit
 * record carries it, the error handler puts it in error bodies, and the hook below returns it as
 * `x-request-id` on every answer.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

export const REQUEST_ID_HEADER = 'x-request-id';
export const MAX_REQUEST_ID_LENGTH = 128;
const SAFE_ID = /^[A-Za-z0-9._:@+=/-]{1,128}$/;

/** The client's id when it is acceptable, else undefined. */
export function acceptedRequestId(header: string | string[] | undefined): string | undefined {
  // Sent twice: Node hands a joined string (with ", ", not in the charset) or an array; both are replaced.
  return typeof header === 'string' && SAFE_ID.test(header) ? header : undefined;
}

/**
 * Unique ids without a UUID per call: `<prefixBytes random bytes in hex>-<counter in base 36>`.
 * The random prefix keeps them apart across restarts and instances; they are not secret.
 */
export function counterIds(prefixBytes: number): () => string {
  const prefix = randomBytes(prefixBytes).toString('hex');
  let counter = 0;
  return () => `${prefix}-${(counter++).toString(36)}`;
}

/** Fresh request ids: `<8 hex chars of this app>-<counter in base 36>`. */
export function requestIdGenerator(): () => string {
  return counterIds(4);
}

/** Fastify's genReqId: the client's id if acceptable, else a fresh one. */
export function genReqId(fresh: () => string): (req: IncomingMessage) => string {
  return (req) => acceptedRequestId(req.headers[REQUEST_ID_HEADER]) ?? fresh();
}

/** The one onRequest hook: every answer carries the id, also one a later hook or the router decides. */
export function requestIdHook(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  reply.header(REQUEST_ID_HEADER, request.id);
  done();
}
