/**
 * A sluice engine with one permissive role, as a new user would first try it: every corpus table
 * with all columns and no row filter (views: select only). DDL never goes through it.
 */
import { createEngine, type Engine } from '../../../src/engine.js';
import { signToken, TEST_JWT_SECRET } from '../tokens.js';

export const CORPUS_ROLE = 'corpus';

export function permissiveRole(tables: readonly string[], views: readonly string[] = []): Record<string, unknown> {
  const everything = { select: { columns: '*' }, insert: { columns: '*' }, update: { columns: '*' }, delete: {} };
  return Object.fromEntries([...tables.map((t) => [t, everything]), ...views.map((v) => [v, { select: { columns: '*' } }])]);
}

export interface CorpusGateway {
  engine: Engine;
  url: string;
  token: string;
  close(): Promise<void>;
}

export async function startCorpusGateway(connection: unknown, tables: Record<string, unknown>): Promise<CorpusGateway> {
  const engine = createEngine(
    {
      server: { host: '127.0.0.1', port: 0 },
      auth: { jwt: { secret: TEST_JWT_SECRET, algorithms: ['HS256'] } },
      connections: { main: connection },
      limits: { rateLimitPerUser: 0, rateLimitPerIP: 0 },
      workers: { threads: 1 },
      logging: { level: 'silent' },
      permissions: { [CORPUS_ROLE]: { main: tables } },
    },
    { logger: false },
  );
  try {
    const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
    const token = await signToken({ sub: `corpus-${Math.random().toString(36).slice(2, 8)}`, role: CORPUS_ROLE });
    return { engine, url, token, close: () => engine.close() };
  } catch (err) {
    await engine.close().catch(() => undefined);
    throw err;
  }
}
