/**
 * Requests Node's HTTP parser rejects before Fastify sees them (a bad chunk, Content-Length with
 * Transfer-Encoding, headers over Node's limit, a request timeout) are answered here, in the same
 * `{ error: { code, message } }` shape and with the same registry codes as everything else.
 */
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { SluiceError, type ErrorCode } from '../errors.js';

function codeFor(err: NodeJS.ErrnoException): ErrorCode {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT';
  return 'BAD_REQUEST';
}

export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const error = new SluiceError(codeFor(err), codeFor(err) === 'BAD_REQUEST' ? 'The HTTP request is malformed' : undefined);
  const body = JSON.stringify({ error: error.toBody() });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
