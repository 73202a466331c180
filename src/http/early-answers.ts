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
 * connection after writing it. A body that has already arrived in full (Content-Length, all of it
 * buffered and unread: the usual small request) has nothing left to drain; the answer goes at
 * once and Node discards the buffer (test/integration/http-overload.test.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { discardUntilEnd, drainBound } from './drain.js';

/**
 * The whole declared body has arrived and nothing has read it (a small body refused in onRequest):
 * nothing of this message is left on the wire, and Node discards the buffer itself once the answer
 * is written (IncomingMessage#_dump), keeping the connection. There is no drain to wait for.
 */
function bufferedInFull(req: IncomingMessage, declared: number): boolean {
  return req.complete || (req.readableLength >= declared && req.readableFlowing === null);
}

export function registerEarlyAnswers(app: FastifyInstance, bodyLimit: number): void {
  const bound = drainBound(bodyLimit);
  function drain(req: IncomingMessage, reply: FastifyReply, payload: unknown, done: (err: Error | null, payload?: unknown) => void): void {
    discardUntilEnd(req, bound).then(
      (drained) => {
        if (!drained) reply.header('connection', 'close');
        done(null, payload);
      },
      (err: Error) => done(err),
    );
  }
  // Callback-style: the usual answer (body read in full) costs no promise.
  app.addHook('onSend', (request, reply, payload, done) => {
    const req = request.raw;
    // complete: Node's parser has seen the whole message; what it buffered Node discards itself.
    if (req.complete) return done(null, payload);
    const declared = Number(req.headers['content-length']);
    if (bufferedInFull(req, declared)) return done(null, payload);
    if (declared > bound.maxBytes) {
      reply.header('connection', 'close');
      return done(null, payload);
    }
    if (!Number.isFinite(declared)) return drain(req, reply, payload, done);
    // An answer decided while Node's parser is still on the request's head (every onRequest hook
    // ran synchronously): a body that came in the same packet is pushed once the parser returns,
    // before any microtask runs. Look again then; drain only what is really still to come.
    queueMicrotask(() => (bufferedInFull(req, declared) ? done(null, payload) : drain(req, reply, payload, done)));
  });
}
