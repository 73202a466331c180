/**
 * Every error leaves as `{ error: { code, message, sqlstate?, requestId } }` with the registry's
 * status and the request id also in the `x-request-id` header (request-id.ts).
 * Fastify's own 4xx errors are translated to registry codes; anything else is a bug in sluice:
 * logged in full, answered with a bare INTERNAL_ERROR.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, SluiceError, isSluiceError, type ErrorBody, type ErrorCode } from '../../errors.js';
import { REQUEST_ID_HEADER } from '../request-id.js';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_NOT_FOUND: 'NOT_FOUND',
};

const BY_STATUS: Record<number, ErrorCode> = { 404: 'NOT_FOUND', 413: 'BODY_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' };

interface FrameworkError {
  code?: unknown;
  statusCode?: unknown;
  validation?: unknown;
  message?: unknown;
}

/** Translate anything thrown during a request; `unexpected` marks errors worth a stack trace. */
export function toSluiceError(error: unknown, bodyLimit: number): { error: SluiceError; unexpected: boolean } {
  if (isSluiceError(error)) return { error, unexpected: false };
  const e = (typeof error === 'object' && error !== null ? error : {}) as FrameworkError;
  const message = typeof e.message === 'string' ? e.message : undefined;
  if (e.validation !== undefined) return { error: new SluiceError('BAD_REQUEST', message), unexpected: false };
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  const known = typeof e.code === 'string' ? FASTIFY_CODES[e.code] : undefined;
  const code = known ?? BY_STATUS[status] ?? (status >= 400 && status < 500 ? 'BAD_REQUEST' : undefined);
  if (code === undefined) return { error: new SluiceError('INTERNAL_ERROR'), unexpected: true };
  if (code === 'BODY_TOO_LARGE') return { error: new SluiceError(code, `The request body is larger than ${bodyLimit} bytes`), unexpected: false };
  if (code === 'BAD_REQUEST' && e.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { error: new SluiceError(code, 'The request body is not valid JSON'), unexpected: false };
  }
  // Fastify's 4xx messages describe the request, not the server, so they are safe to return.
  return { error: new SluiceError(code, code === 'BAD_REQUEST' ? message : undefined), unexpected: false };
}

/**
 * Answers `error` in the error shape. A SluiceError, or the ErrorBody of one (a queue's refusal
 * outcome): the status comes from the registry either way, so no Error has to be built for it.
 */
export function sendError(reply: FastifyReply, error: SluiceError | ErrorBody): FastifyReply {
  const status = ERRORS[error.code].status;
  if (error.retryAfter !== undefined && (status === 429 || status === 503)) {
    reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfter))));
  }
  const body: { code: string; message: string; sqlstate?: string; requestId?: string } = { code: error.code, message: error.message };
  if (error.sqlstate !== undefined) body.sqlstate = error.sqlstate;
  body.requestId = reply.request.id;
  // Also here: an error decided before the onRequest hooks ran (routing, closing) still carries it.
  reply.header(REQUEST_ID_HEADER, reply.request.id);
  return reply.code(status).type('application/json; charset=utf-8').send({ error: body });
}

/** sendError, with the code recorded as the request's verdict (metrics, audit record). */
export function answerError(request: FastifyRequest, reply: FastifyReply, error: SluiceError | ErrorBody): FastifyReply {
  if (request.sluice) request.sluice.verdict = error.code;
  return sendError(reply, error);
}

export function registerErrorHandler(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { error, unexpected } = toSluiceError(err, bodyLimit);
    if (unexpected) request.log.error({ err }, 'unexpected error');
    return answerError(request, reply, error);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, new SluiceError('NOT_FOUND', `No route ${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 200)}`)));
}
