/** The shared parts of the OpenAPI description: security schemes, headers, response shapes, the code list. */
import { ERRORS } from '../../errors.js';
import { UNROUTED_CODES } from './error-codes.js';

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

const rows = { description: 'Shaped as the native driver returns them (docs/dialects.md)', type: ['array', 'object', 'null'] };

export const components: Json = {
  securitySchemes: {
    bearerJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
    metricsToken: { type: 'http', scheme: 'bearer', description: 'observability.metrics.token, when set' },
    adminToken: { type: 'http', scheme: 'bearer', description: 'server.adminToken' },
  },
  headers: {
    'X-Request-Id': { description: "The request's id: the client's x-request-id if it is 1–128 characters of [A-Za-z0-9._:@+=/-], else one sluice made", schema: { type: 'string', maxLength: 128 } },
    'Retry-After': { description: 'Seconds', schema: { type: 'integer', minimum: 1 } },
    'RateLimit-Limit': { description: 'Requests per window of the limit closest to exhaustion (draft-ietf-httpapi-ratelimit-headers-06)', schema: { type: 'integer', minimum: 1 } },
    'RateLimit-Remaining': { description: 'Requests left in the window', schema: { type: 'integer', minimum: 0 } },
    'RateLimit-Reset': { description: 'Seconds until the window ends', schema: { type: 'integer', minimum: 1 } },
    'RateLimit-Policy': { description: '<limit>;w=<window seconds>', schema: { type: 'string' } },
  },
  schemas: {
    ErrorCode: {
      type: 'string',
      enum: Object.keys(ERRORS),
      description: `Stable codes (docs/errors.md). ${UNROUTED_CODES.map((c) => `\`${c}\``).join(' and ')} are no operation's answer: the first is only logged, the second answers any path that is not an operation.`,
    },
    Error: {
      type: 'object',
      required: ['error'],
      properties: {
        error: {
          type: 'object',
          required: ['code', 'message'],
          properties: {
            code: ref('ErrorCode'),
            message: { type: 'string' },
            sqlstate: { type: 'string', description: 'When the database produced the error' },
            requestId: { type: 'string', description: 'As the X-Request-Id header' },
          },
        },
      },
    },
    DataResult: {
      type: 'object',
      required: ['rows', 'rowCount', 'truncated'],
      properties: { rows, rowCount: { type: ['integer', 'null'] }, truncated: { type: 'boolean', description: 'Rows beyond limits.maxRows or limits.maxResponseBytes were dropped' } },
    },
    BatchResult: {
      type: 'object',
      required: ['results', 'truncated'],
      properties: { results: { type: 'array', items: { description: 'A DataResult, or for method "run" the run result object itself', type: ['object', 'null'] } }, truncated: { type: 'boolean' } },
    },
    JobStatus: {
      type: 'object',
      required: ['id', 'state', 'href'],
      properties: {
        id: { type: 'string' },
        state: { type: 'string', enum: ['queued', 'running', 'completed', 'failed', 'cancelled'] },
        href: { type: 'string' },
        error: { type: 'object', description: 'A failed job: its error, as in Error.error' },
      },
    },
  },
};
