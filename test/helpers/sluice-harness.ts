/**
 * One running sluice engine over a fresh fixture schema, plus what tests need to talk to it:
 * tokens, a raw `post`, and a Drizzle pg-proxy client per token.
 */
import { drizzle, type PgRemoteDatabase } from 'drizzle-orm/pg-proxy';
import { createEngine, type Engine } from '../../src/engine.js';
import { clientSchema } from './drizzle-schema.js';
import { parseBody } from './raw-http.js';
import { createPgFixture, type PgFixture } from './pg-fixture.js';
import { memberPermissions, testConfig, type ConfigOverrides } from './test-config.js';
import { makeTokens, TEST_JWT_SECRET, type TestTokens } from './tokens.js';

export type ClientDb = PgRemoteDatabase<typeof clientSchema>;

export interface PostResult {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the raw text when the body is not JSON. */
  body: any;
  text: string;
}

/** Any request to the gateway; the answer's body parsed when it is JSON, else its text. */
export async function send(url: string, path: string, init: RequestInit = {}): Promise<PostResult> {
  const res = await fetch(`${url}${path}`, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: parseBody(text), text };
}

export async function post(url: string, token: string | undefined, body: unknown, init: { signal?: AbortSignal; headers?: Record<string, string> } = {}): Promise<PostResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return send(url, '/data', {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(init.signal ? { signal: init.signal } : {}),
  });
}

/** The exact callback shape the Drizzle docs give for pg-proxy, pointed at sluice. */
export function drizzleClient(url: string, token: string): ClientDb {
  return drizzle(
    async (sql, params, method, typings) => {
      const res = await post(url, token, typings === undefined ? { sql, params, method } : { sql, params, method, typings });
      if (res.status !== 200) {
        const err = new Error(`sluice ${res.status} ${res.body?.error?.code ?? ''}: ${res.body?.error?.message ?? res.text}`) as Error & { status?: number; code?: string };
        err.status = res.status;
        err.code = res.body?.error?.code;
        throw err;
      }
      return res.body as { rows: any[] };
    },
    { schema: clientSchema },
  );
}

export interface Sluice {
  engine: Engine;
  url: string;
  close(): Promise<void>;
}

/** Start an engine over an existing fixture schema (several engines may share one fixture). */
export async function startSluice(schema: string, o: ConfigOverrides = {}): Promise<Sluice> {
  return listen(testConfig(schema, o));
}

/**
 * Start an engine over any one connection (a MariaDB URL, a SQLite file, …) as `main`, with the
 * `member` role unless `permissions` says otherwise, rate limits off and logging silent.
 */
export async function startGateway(
  connection: unknown,
  o: { limits?: Record<string, unknown>; workers?: Record<string, unknown>; permissions?: unknown } = {},
): Promise<Sluice> {
  return listen({
    server: { host: '127.0.0.1', port: 0 },
    auth: { jwt: { secret: TEST_JWT_SECRET, algorithms: ['HS256'] } },
    connections: { main: connection },
    limits: { rateLimitPerUser: 0, rateLimitPerIP: 0, ...o.limits },
    workers: { threads: 2, ...o.workers },
    logging: { level: 'silent' },
    permissions: o.permissions ?? memberPermissions(),
  });
}

async function listen(config: Record<string, unknown>): Promise<Sluice> {
  const engine = createEngine(config, { logger: false });
  try {
    const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
    return { engine, url, close: () => engine.close() };
  } catch (err) {
    await engine.close().catch(() => undefined);
    throw err;
  }
}

export interface Harness extends Sluice {
  fixture: PgFixture;
  schema: string;
  tokens: TestTokens;
  post(token: string | undefined, body: unknown, init?: { signal?: AbortSignal }): Promise<PostResult>;
  db(token: string): ClientDb;
  /** Close the engine and drop the schemas. */
  teardown(): Promise<void>;
}

export async function startHarness(o: ConfigOverrides = {}): Promise<Harness> {
  const fixture = await createPgFixture();
  let sluice: Sluice;
  try {
    sluice = await startSluice(fixture.schema, o);
  } catch (err) {
    await fixture.drop();
    throw err;
  }
  const tokens = await makeTokens();
  return {
    ...sluice,
    fixture,
    schema: fixture.schema,
    tokens,
    post: (token, body, init) => post(sluice.url, token, body, init),
    db: (token) => drizzleClient(sluice.url, token),
    async teardown() {
      try {
        await sluice.close();
      } finally {
        await fixture.drop();
      }
    },
  };
}
