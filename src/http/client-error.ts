/**
 * Requests Node's HTTP parser rejects before Fastify sees them (a bad chunk, Content-Length with
 * Transfer-Encoding, headers over Node's limit, a request timeout) are answered here, in the same
 * `{ error: { code, message } }` shape and with the same registry codes as everything else.
 *
 * Like every answer sent before the body is read (early-answers.ts), the answer is followed by a
 * bounded drain rather than an immediate close: the socket is half-closed after the answer and
 * what the client still sends is discarded until it closes its side or the bound is reached, so a
 * client still writing its body reads the answer instead of a reset.
 */
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { SluiceError, type ErrorCode } from '../errors.js';
import { discardUntilEnd, drainBound } from './drain.js';

function codeFor(err: NodeJS.ErrnoException): ErrorCode {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT';
  return 'BAD_REQUEST';
}

/** `requestId`: a fresh id per answer (the request's own header was not parsed, so it is not trusted). */
export function createClientErrorHandler(bodyLimit: number, requestId: () => string): (err: NodeJS.ErrnoException, socket: Socket) => void {
  const bound = drainBound(bodyLimit);
  return (err, socket) => {
    // A reset connection has nobody left to answer. Once answered (writableEnded), Node's parser
    // reports every further chunk of the broken request again: those are being drained.
    if (err.code === 'ECONNRESET' || socket.destroyed || socket.writableEnded) return;
    if (!socket.writable) {
      socket.destroy(err);
      return;
    }
    const error = new SluiceError(codeFor(err), codeFor(err) === 'BAD_REQUEST' ? 'The HTTP request is malformed' : undefined);
    const id = requestId();
    const body = JSON.stringify({ error: { ...error.toBody(), requestId: id } });
    socket.end(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nX-Request-Id: ${id}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    void discardUntilEnd(socket, bound).then(() => socket.destroy());
  };
}
