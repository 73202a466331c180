/**
 * A gateway over one connection of any dialect (a SQLite file, `{ url, max }` for MySQL…) with the
 * `member` role of the public contract, listening on a free port, and the test tokens.
 */
import { createEngine, type Engine } from '../../src/engine.js';
import { memberPermissions } from './test-config.js';
import { TEST_JWT_SECRET, makeTokens, type TestTokens } from './tokens.js';

export interface DialectEngine {
  engine: Engine;
  url: string;
  tokens: TestTokens;
}

export async function startDialectEngine(
  connection: unknown,
  o: { permissions?: Record<string, unknown>; limits?: Record<string, unknown>; threads?: number } = {},
): Promise<DialectEngine> {
  const engine = createEngine(
    {
      server: { host: '127.0.0.1', port: 0 },
      auth: { jwt: { secret: TEST_JWT_SECRET, algorithms: ['HS256'] } },
      connections: { main: connection },
      limits: { rateLimitPerUser: 0, rateLimitPerIP: 0, ...o.limits },
      workers: { threads: o.threads ?? 1 },
      logging: { level: 'silent' },
      permissions: o.permissions ?? memberPermissions(),
    },
    { logger: false },
  );
  try {
    const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
    return { engine, url, tokens: await makeTokens() };
  } catch (err) {
    await engine.close().catch(() => undefined);
    throw err;
  }
}
