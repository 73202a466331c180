/**
 * The OpenAPI 3.1 description of the HTTP API, served at GET /openapi.json. Request schemas are the
 * routes' own (schemas/), response shapes are written here; error answers list the registry codes
 * each operation can give (error-codes.ts). test/integration/openapi.test.ts checks it against the
 * routes the app registers: every route described, every request schema the route's own.
 */
import { sluiceVersion } from '../../cli/version.js';
import { ERRORS, type ErrorCode } from '../../errors.js';
import { components } from './components.js';
import { dataBodySchema } from '../schemas/data-body.js';
import { jobIdParams, jobResultQuery } from '../schemas/jobs.js';
import { ADMIN_CODES, AUTH_CODES, BODY_CODES, HTTP_CODES, JOB_CODES, QUERY_CODES, SUBMIT_CODES } from './error-codes.js';
import { toOpenApiSchema } from './json-schema.js';

export interface OpenApiOptions {
  /** GET /metrics is registered (observability.metrics.enabled). */
  metrics: boolean;
  /** The operator console (GET /admin, /admin/api/state) is registered (server.adminToken). */
  console: boolean;
  /** POST /admin/reload is registered (server.adminToken and a config source). */
  admin: boolean;
}

type Json = Record<string, unknown>;


const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const header = (name: string): Json => ({ $ref: `#/components/headers/${name}` });
const json = (schema: Json): Json => ({ 'application/json': { schema } });

const RATE_HEADERS = { 'RateLimit-Limit': header('RateLimit-Limit'), 'RateLimit-Remaining': header('RateLimit-Remaining'), 'RateLimit-Reset': header('RateLimit-Reset'), 'RateLimit-Policy': header('RateLimit-Policy') };

/** Path and query parameters from a route's params/querystring schema. */
function parameters(where: 'path' | 'query', schema: { properties: Record<string, unknown>; required?: readonly string[] }): Json[] {
  const s = toOpenApiSchema(schema) as { properties: Record<string, Json> };
  return Object.entries(s.properties).map(([name, p]) => ({ name, in: where, required: where === 'path' || (schema.required ?? []).includes(name), schema: p }));
}

/** One response per status the codes map to, each naming its codes. */
function errorResponses(codes: readonly ErrorCode[], rateLimited: boolean): Json {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const { status } = ERRORS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Json = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const headers: Json = { 'X-Request-Id': header('X-Request-Id'), ...(rateLimited && RATE_HEADERS) };
    if (status === 429 || status === 503) headers['Retry-After'] = header('Retry-After');
    out[String(status)] = {
      description: `Error: ${list.map((c) => `\`${c}\``).join(', ')}`,
      headers,
      content: json({ allOf: [ref('Error'), { properties: { error: { properties: { code: { enum: list } } } } }] }),
    };
  }
  return out;
}

function ok(description: string, content: Json, rateLimited: boolean): Json {
  return { description, headers: { 'X-Request-Id': header('X-Request-Id'), ...(rateLimited && RATE_HEADERS) }, content };
}

const bearer = [{ bearerJwt: [] }];

function dataOperations(): Json {
  const body = toOpenApiSchema(dataBodySchema);
  const jobStatus = (d: string): Json => ok(d, json(ref('JobStatus')), true);
  const id = parameters('path', jobIdParams);
  return {
    '/data': {
      post: {
        operationId: 'runData',
        summary: 'Run one statement, or a batch in one transaction, as the token\'s role',
        security: bearer,
        requestBody: { required: true, content: json(body) },
        responses: {
          '200': ok('The rows (a single statement) or one result per statement (a batch)', json({ oneOf: [ref('DataResult'), ref('BatchResult')] }), true),
          ...errorResponses([...HTTP_CODES, ...BODY_CODES, ...AUTH_CODES, ...SUBMIT_CODES, ...QUERY_CODES], true),
        },
      },
    },
    '/jobs': {
      post: {
        operationId: 'submitJob',
        summary: 'Submit the same body as POST /data as an async job',
        security: bearer,
        requestBody: { required: true, content: json(body) },
        responses: {
          '202': ok('Queued', json(ref('JobStatus')), true),
          ...errorResponses([...HTTP_CODES, ...BODY_CODES, ...AUTH_CODES, ...SUBMIT_CODES, 'JOB_QUOTA_EXCEEDED'], true),
        },
      },
    },
    '/jobs/{id}': {
      get: { operationId: 'getJob', summary: "A job's state", security: bearer, parameters: id, responses: { '200': jobStatus('The job'), ...errorResponses([...HTTP_CODES, ...AUTH_CODES, 'JOB_NOT_FOUND'], true) } },
      delete: { operationId: 'cancelJob', summary: 'Cancel a job (a running statement is cancelled on the server)', security: bearer, parameters: id, responses: { '200': jobStatus('The job, cancelled'), ...errorResponses([...HTTP_CODES, ...AUTH_CODES, 'JOB_NOT_FOUND'], true) } },
    },
    '/jobs/{id}/result': {
      get: {
        operationId: 'getJobResult',
        summary: "A finished job's rows; a failed job answers with its error",
        security: bearer,
        parameters: [...id, ...parameters('query', jobResultQuery)],
        responses: {
          '200': ok(
            'format=json: as POST /data; ndjson: one row per line; csv: a header line (object rows), then one line per row. ndjson and csv carry X-Sluice-Truncated.',
            {
              ...json({ oneOf: [ref('DataResult'), ref('BatchResult')] }),
              'application/x-ndjson': { schema: { type: 'string' } },
              'text/csv': { schema: { type: 'string' } },
            },
            true,
          ),
          ...errorResponses([...HTTP_CODES, ...AUTH_CODES, ...JOB_CODES.filter((c) => c !== 'JOB_QUOTA_EXCEEDED'), ...SUBMIT_CODES, ...QUERY_CODES], true),
        },
      },
    },
  };
}

function operatorOperations(o: OpenApiOptions): Json {
  const paths: Json = {
    '/healthz': { get: { operationId: 'liveness', summary: 'The process answers', security: [], responses: { '200': ok('Alive', json({ type: 'object', required: ['status'], properties: { status: { const: 'ok' } } }), false) } } },
    '/readyz': {
      get: {
        operationId: 'readiness',
        summary: 'Every connection answers a ping and the gateway is not draining',
        security: [],
        responses: {
          '200': ok('Ready', json({ type: 'object', required: ['status'], properties: { status: { const: 'ready' }, connections: { type: 'object' } } }), false),
          ...errorResponses(['DATABASE_UNAVAILABLE', 'SHUTTING_DOWN'], false),
        },
      },
    },
    '/openapi.json': { get: { operationId: 'openapi', summary: 'This description', security: [], responses: { '200': ok('OpenAPI 3.1', json({ type: 'object' }), false) } } },
  };
  if (o.metrics) {
    paths['/metrics'] = {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus text format (observability.metrics)',
        security: [{ metricsToken: [] }, {}],
        responses: { '200': ok('Metrics', { 'text/plain': { schema: { type: 'string' } } }, false), ...errorResponses(['TOKEN_MISSING', 'TOKEN_INVALID'], false) },
      },
    };
  }
  if (o.console) {
    // The page itself: HTML, open (it asks for the token and sends it only to /admin/api/*).
    const page = { get: { operationId: 'consolePage', summary: 'The operator console (docs/console.md)', security: [], responses: { '200': ok('The console page', { 'text/html': { schema: { type: 'string' } } }, false) } } };
    paths['/admin'] = page;
    paths['/admin/'] = { get: { ...page.get, operationId: 'consolePageSlash' } };
    paths['/admin/api/state'] = {
      get: {
        operationId: 'consoleState',
        summary: 'What the console shows: tenants, pools, breakers, queue waits, recent refusals, async jobs',
        security: [{ adminToken: [] }],
        responses: { '200': ok('State', json({ type: 'object' }), false), ...errorResponses(['TOKEN_MISSING', 'TOKEN_INVALID'], false) },
      },
    };
    // In queue mode the read-only BullMQ board (/admin/api/board-session, /admin/queues/*) is
    // bull-board's own UI and is left out of this description.
  }
  if (o.admin) {
    paths['/admin/reload'] = {
      post: {
        operationId: 'reloadConfig',
        summary: 'Re-read the config source and apply it',
        security: [{ adminToken: [] }],
        responses: {
          '200': ok('Applied', json({ type: 'object', required: ['reloaded', 'generation'], properties: { reloaded: { const: true }, generation: { type: 'integer' } } }), false),
          ...errorResponses([...HTTP_CODES, 'TOKEN_MISSING', 'TOKEN_INVALID', ...ADMIN_CODES], false),
        },
      },
    };
  }
  return paths;
}

export function openApiDocument(o: OpenApiOptions): Json {
  return {
    openapi: '3.1.0',
    info: { title: 'sluice', version: sluiceVersion(), description: 'Multi-tenant SQL gateway: parameterized SQL with a JWT in, rows of the caller\'s tenant out.' },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: bearer,
    paths: { ...dataOperations(), ...operatorOperations(o) },
    components,
  };
}
