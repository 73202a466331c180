/**
 * An AbortSignal that fires if the client disconnects before the response is written, so the
 * queue can drop a waiting job or cancel a running statement on the server.
 * `reply.raw` is watched, not `request.raw`: an IncomingMessage also emits 'close' once its body
 * has been read, which is normal and must not cancel anything.
 */
import type { FastifyReply } from 'fastify';

export function abortOnClientClose(reply: FastifyReply): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const res = reply.raw;
  const onClose = (): void => {
    if (!res.writableEnded) controller.abort();
  };
  if (res.destroyed || res.socket?.destroyed === true) controller.abort();
  else res.once('close', onClose);
  return { signal: controller.signal, dispose: () => res.off('close', onClose) };
}
