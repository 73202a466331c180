/**
 * Answers given before the request body has been read — 401 (auth runs in onRequest, before the
 * body is parsed), 429 (rate limits), 503 (shutting down), 413 (Content-Length over bodyLimit, or
 * the limit reached mid-body), 415, 404, a GET that carries a body — must reach the client, also a
 * keep-alive one. Left alone, Node either closes the socket as soon as the answer is written (413:
 * Fastify asks for Connection: close), so a client still writing gets a reset instead of the
 * answer, or it keeps reading the rest of the body without any bound (Fastify sets no request
 * timeout) to keep the connection alive.
 *
 * So before such an answer leaves, the rest of the body is read and discarded, within drain.ts's
 * bound. If it ends in time the connection stays as Fastify would leave it (kept alive unless the
 * answer already says close); if not, the answer says `Connection: close` and Node closes the
 * connection after writing it.
 */
import type { FastifyInstance } from 'fastify';
import { discardUntilEnd, drainBound } from './drain.js';

export function registerEarlyAnswers(app: FastifyInstance, bodyLimit: number): void {
  const bound = drainBound(bodyLimit);
  // Callback-style: the usual answer (body read in full) costs no promise.
  app.addHook('onSend', (request, reply, payload, done) => {
    const req = request.raw;
    // complete: Node's parser has seen the whole message; what it buffered Node discards itself.
    if (req.complete) return done(null, payload);
    const declared = Number(req.headers['content-length']);
    if (declared > bound.maxBytes) {
      reply.header('connection', 'close');
      return done(null, payload);
    }
    discardUntilEnd(req, bound).then(
      (drained) => {
        if (!drained) reply.header('connection', 'close');
        done(null, payload);
      },
      (err: Error) => done(err),
    );
  });
}
