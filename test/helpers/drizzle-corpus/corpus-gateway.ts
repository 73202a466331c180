/**
 * A sluice engine with one permissive role, as a new user would first try it: every corpus table
 * with all columns and no row filter (views: select only). DDL never goes through it.
 */
import { createEngine, type Engine } from '../../../src/engine.js';
import { signToken, TEST_JWT_SECRET } from '../tokens.js';
import { SQLITE_PARSER } from '../sqlite-parser.js';

export const CORPUS_ROLE = 'corpus';

/**
 * The corpus test mode for sql.literals: `SLUICE_CORPUS_LITERALS=refuse-strings` (or `refuse`) runs
 * the gateway so, and the suite expects LITERAL_NOT_ALLOWED from exactly the cases
 * literal-cases.ts lists for that mode. Unset: `allow`, the corpus as recorded.
 */
export function corpusLiteralMode(): 'allow' | 'refuse-strings' | 'refuse' {
  const mode = process.env.SLUICE_CORPUS_LITERALS ?? 'allow';
  if (mode !== 'allow' && mode !== 'refuse-strings' && mode !== 'refuse') throw new Error(`SLUICE_CORPUS_LITERALS must be allow, refuse-strings or refuse, not ${mode}`);
  return mode;
}

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
      sql: { literals: corpusLiteralMode(), sqliteParser: SQLITE_PARSER },
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
