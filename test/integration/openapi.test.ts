/**
 * GET /openapi.json against the routes the engine really registers (issue 14 §3): every route is
 * described and every described operation exists; request schemas are the routes' own; every
 * registry code is listed, each under its status; every schema compiles as JSON Schema 2020-12
 * (what OpenAPI 3.1 uses); and real answers — 200s, 202s and errors — validate against the
 * response schemas of their operation and status.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/engine.js';
import { ERRORS } from '../../src/errors.js';
import { UNROUTED_CODES } from '../../src/http/openapi/error-codes.js';
import { toOpenApiSchema } from '../../src/http/openapi/json-schema.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { describeIfPg } from '../helpers/services.js';
import { send, type PostResult } from '../helpers/sluice-harness.js';
import { testConfig } from '../helpers/test-config.js';
import { makeTokens, type TestTokens } from '../helpers/tokens.js';
import { waitUntil } from '../helpers/wait-until.js';

type Json = Record<string, any>;
const DOC_ID = 'urn:sluice:openapi';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const ADMIN_TOKEN = 'a'.repeat(40);

/** Fastify's /jobs/:id → OpenAPI's /jobs/{id}. */
const toTemplate = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
/** A JSON pointer segment. */
const esc = (s: string): string => s.replaceAll('~', '~0').replaceAll('/', '~1');

describeIfPg('GET /openapi.json', () => {
  let fixture: PgFixture;
  let engine: Engine;
  let url: string;
  let tokens: TestTokens;
  let doc: Json;
  let ajv: Ajv2020;
  const routes: RouteOptions[] = [];

  beforeAll(async () => {
    fixture = await createPgFixture();
    const config = { ...testConfig(fixture.schema), server: { host: '127.0.0.1', port: 0, adminToken: ADMIN_TOKEN } };
    // With a config source, POST /admin/reload exists.
    engine = createEngine(config, { logger: false, configSource: () => config });
    // Plugins register their routes when the app loads (listen): every one passes through here.
    engine.app.addHook('onRoute', (route) => void routes.push(route));
    ({ url } = await engine.listen({ host: '127.0.0.1', port: 0 }));
    tokens = await makeTokens();
    const res = await send(url, '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    doc = JSON.parse(res.text) as Json;
    ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ ...doc, $id: DOC_ID });
  }, 60_000);
  afterAll(async () => {
    await engine?.close();
    await fixture?.drop();
  }, 30_000);

  function operations(): Array<{ path: string; method: string; op: Json }> {
    return Object.entries(doc.paths as Json).flatMap(([path, item]) =>
      METHODS.filter((m) => (item as Json)[m] !== undefined).map((method) => ({ path, method, op: (item as Json)[method] as Json })),
    );
  }

  function validator(pointer: string): ValidateFunction {
    const v = ajv.getSchema(`${DOC_ID}#${pointer}`);
    if (!v) throw new Error(`no schema at ${pointer}`);
    return v;
  }

  /** The validator of an operation's answer with this status and media type. */
  function responseValidator(path: string, method: string, status: number, media = 'application/json'): ValidateFunction {
    expect(doc.paths[path][method].responses[String(status)], `${method} ${path} documents ${status}`).toBeDefined();
    return validator(`/paths/${esc(path)}/${method}/responses/${status}/content/${esc(media)}/schema`);
  }

  function expectValid(path: string, method: string, res: PostResult): void {
    const validate = responseValidator(path, method, res.status);
    expect(validate(res.body), `${method} ${path} ${res.status} ${res.text}: ${JSON.stringify(validate.errors)}`).toBe(true);
  }

  it('is an OpenAPI 3.1 document whose every $ref resolves and every schema compiles', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'sluice', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    const refs: string[] = [];
    const walk = (n: unknown): void => {
      if (Array.isArray(n)) n.forEach(walk);
      else if (n !== null && typeof n === 'object') {
        for (const [k, v] of Object.entries(n)) {
          if (k === '$ref') refs.push(v as string);
          else walk(v);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) {
      expect(ref, 'only local refs').toMatch(/^#\//);
      let node: unknown = doc;
      for (const seg of ref.slice(2).split('/')) node = (node as Json | undefined)?.[seg.replaceAll('~1', '/').replaceAll('~0', '~')];
      expect(node, ref).toBeDefined();
    }
    for (const name of Object.keys(doc.components.schemas)) expect(() => validator(`/components/schemas/${name}`), name).not.toThrow();
    const ids = new Set<string>();
    for (const { path, method, op } of operations()) {
      expect(op.operationId, `${method} ${path}`).toMatch(/^[A-Za-z]+$/);
      expect(ids.has(op.operationId), `operationId ${op.operationId} is unique`).toBe(false);
      ids.add(op.operationId);
      expect(Object.keys(op.responses).some((s) => /^2\d\d$/.test(s)), `${method} ${path} has a success answer`).toBe(true);
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = ((op.parameters ?? []) as Json[]).filter((p) => p.in === 'path').map((p) => p.name).sort();
      expect(declared, `${method} ${path}: path parameters`).toEqual(templated);
      for (const [status, r] of Object.entries(op.responses as Json)) {
        for (const media of Object.keys((r as Json).content ?? {})) {
          expect(() => responseValidator(path, method, Number(status), media), `${method} ${path} ${status} ${media}`).not.toThrow();
        }
      }
      if (op.requestBody) expect(() => validator(`/paths/${esc(path)}/${method}/requestBody/content/application~1json/schema`)).not.toThrow();
    }
  });

  it('describes every route the app registers, and nothing else', () => {
    const registered = routes
      .flatMap((r) => (Array.isArray(r.method) ? r.method : [r.method]).map((m) => ({ method: m.toLowerCase(), path: toTemplate(r.url) })))
      // HEAD routes are Fastify's automatic twins of GET routes.
      .filter((r) => r.method !== 'head');
    expect(registered.length).toBeGreaterThanOrEqual(10);
    const described = operations().map(({ path, method }) => `${method} ${path}`).sort();
    expect(registered.map((r) => `${r.method} ${r.path}`).sort()).toEqual(described);
  });

  it("uses each route's own request schemas", () => {
    let checked = 0;
    for (const r of routes) {
      const methods = (Array.isArray(r.method) ? r.method : [r.method]).map((m) => m.toLowerCase()).filter((m) => m !== 'head');
      for (const method of methods) {
        const op = doc.paths[toTemplate(r.url)][method] as Json;
        const schema = (r.schema ?? {}) as Json;
        if (schema.body) {
          expect(op.requestBody.content['application/json'].schema, `${method} ${r.url} body`).toEqual(toOpenApiSchema(schema.body));
          checked++;
        } else expect(op.requestBody, `${method} ${r.url} takes no body`).toBeUndefined();
        for (const [where, key] of [['path', 'params'], ['query', 'querystring']] as const) {
          const declared = ((op.parameters ?? []) as Json[]).filter((p) => p.in === where);
          const own = schema[key] as Json | undefined;
          if (!own) {
            expect(declared.filter((p) => where === 'query'), `${method} ${r.url}: no query schema, no query parameters`).toEqual([]);
            continue;
          }
          const props = toOpenApiSchema(own).properties as Json;
          expect(Object.fromEntries(declared.map((p) => [p.name, p.schema])), `${method} ${r.url} ${key}`).toEqual(props);
          checked++;
        }
      }
    }
    // The /data and /jobs bodies, the id of the three /jobs/:id routes, the result's query.
    expect(checked).toBeGreaterThanOrEqual(6);
  });

  it('lists every registry code, each under the status the registry gives it', () => {
    expect([...doc.components.schemas.ErrorCode.enum].sort()).toEqual(Object.keys(ERRORS).sort());
    const seen = new Set<string>();
    for (const { path, method, op } of operations()) {
      for (const [status, r] of Object.entries(op.responses as Json)) {
        if (Number(status) < 400) continue;
        const schema = (r as Json).content['application/json'].schema as Json;
        const codes = schema.allOf[1].properties.error.properties.code.enum as string[];
        expect(codes.length, `${method} ${path} ${status}`).toBeGreaterThan(0);
        for (const code of codes) {
          expect(ERRORS[code as keyof typeof ERRORS]?.status, `${code} under ${status} of ${method} ${path}`).toBe(Number(status));
          seen.add(code);
        }
      }
    }
    const missing = Object.keys(ERRORS).filter((c) => !seen.has(c) && !UNROUTED_CODES.includes(c as never));
    expect(missing, 'codes no operation lists').toEqual([]);
  });

  it('real answers validate against their operation and status', async () => {
    const auth = { authorization: `Bearer ${tokens.tenant1}` };
    const json = { ...auth, 'content-type': 'application/json' };
    const postJson = (path: string, body: unknown, headers: Record<string, string> = json): Promise<PostResult> => send(url, path, { method: 'POST', headers, body: JSON.stringify(body) });

    expectValid('/data', 'post', await postJson('/data', { sql: 'select id, name from customers order by id', method: 'all' }));
    expectValid('/data', 'post', await postJson('/data', { batch: [{ sql: 'select id from customers' }, { sql: 'select count(*) from orders' }] }));
    const refused = [
      await postJson('/data', { sql: 'select 1' }, { 'content-type': 'application/json' }),
      await postJson('/data', { sql: 'select id from audit_secrets' }),
      await postJson('/data', { sql: 'selec 1' }),
      await postJson('/data', { sql: 'select 1', nope: 1 }),
      await postJson('/data', { sql: 'insert into customers (id, tenant_id, name) values (1, 1, $1)', params: ['x'] }),
    ];
    expect(refused.map((r) => r.status)).toEqual([401, 403, 400, 400, 403]);
    for (const r of refused) expectValid('/data', 'post', r);

    const submitted = await postJson('/jobs', { sql: 'select id from customers order by id' });
    expect(submitted.status).toBe(202);
    expectValid('/jobs', 'post', submitted);
    const id = submitted.body.id as string;
    let status: PostResult | undefined;
    await waitUntil('the job completes', async () => {
      status = await send(url, `/jobs/${id}`, { headers: auth });
      return status.body.state === 'completed';
    }, 20_000);
    expectValid('/jobs/{id}', 'get', status!);
    expectValid('/jobs/{id}/result', 'get', await send(url, `/jobs/${id}/result`, { headers: auth }));
    const csv = await send(url, `/jobs/${id}/result?format=csv`, { headers: auth });
    expect(csv.status).toBe(200);
    expect(Object.keys(doc.paths['/jobs/{id}/result'].get.responses['200'].content)).toContain(csv.headers.get('content-type')!.split(';')[0]);
    expectValid('/jobs/{id}', 'get', await send(url, '/jobs/not-a-job', { headers: auth }));
    expectValid('/jobs/{id}', 'delete', await send(url, '/jobs/not-a-job', { method: 'DELETE', headers: auth }));
    expectValid('/jobs/{id}/result', 'get', await send(url, `/jobs/${id}/result?format=xml`, { headers: auth }));

    expectValid('/healthz', 'get', await send(url, '/healthz'));
    expectValid('/readyz', 'get', await send(url, '/readyz'));
    expectValid('/openapi.json', 'get', await send(url, '/openapi.json'));
    expectValid('/admin/reload', 'post', await send(url, '/admin/reload', { method: 'POST' }));
    const metrics = await send(url, '/metrics');
    expect(metrics.status).toBe(200);
    expect(doc.paths['/metrics'].get.responses['200'].content['text/plain']).toBeDefined();
  }, 60_000);

  it('an answer that breaks its schema is caught (the check can fail)', () => {
    const validate = responseValidator('/data', 'post', 403);
    expect(validate({ error: { code: 'TABLE_NOT_ALLOWED', message: 'x', requestId: 'r' } })).toBe(true);
    // A code of another status, and a body without the error object.
    expect(validate({ error: { code: 'RATE_LIMITED', message: 'x' } })).toBe(false);
    expect(validate({ code: 'TABLE_NOT_ALLOWED' })).toBe(false);
    expect(responseValidator('/data', 'post', 200)({ rows: [], truncated: false })).toBe(false);
  });
});
