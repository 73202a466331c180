/**
 * A client that goes away before its answer: Fastify's onResponse never fires for it, and its
 * onRequestAbort does not either once the body was read (Node marks a request aborted only while
 * its body is still arriving). A response closed before it finished is the signal that remains.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

/** `fn` runs if the response is closed before it finished. */
export function onClientGone(reply: FastifyReply, fn: () => void): void {
  const res = reply.raw;
  res.once('close', () => {
    if (!res.writableFinished) fn();
  });
}

/** ms since the request arrived (0 if unknown), for hooks that have no reply.elapsedTime. */
export function elapsedSinceStart(request: FastifyRequest): number {
  const t0 = request.sluice?.startedAt;
  return t0 === undefined ? 0 : performance.now() - t0;
}
